// Account page: copy a new API token to the clipboard. Progressive enhancement: the key is
// selectable without this.
(function () {
  "use strict";
  var input = document.getElementById("new-token");
  var button = document.getElementById("copy-token");
  if (!navigator.clipboard || !input || !button) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
  });
  input.addEventListener("focus", function () { input.select(); });
})();
