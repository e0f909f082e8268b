// Collection page: drag and drop, the upload with a progress bar, and the size limit checked
// before anything is sent. Without this script the form posts as usual.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var zone = document.getElementById("dropzone"), input = document.getElementById("file");
  var bar = document.getElementById("upload-progress"), status = document.getElementById("upload-status");
  var button = document.getElementById("upload-button");
  var limit = parseInt(form.dataset.maxBytes, 10);

  // As Django's filesizeformat, so the sizes read as the server's messages do.
  function sizeLabel(bytes) {
    var units = ["KB", "MB", "GB", "TB", "PB"], value = bytes, unit = -1;
    if (bytes < 1024) return bytes + "\u00a0bytes";
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return value.toFixed(1) + "\u00a0" + units[unit];
  }
  function tooLargeMessage(size) {
    var sizes = sizeLabel(size) === sizeLabel(limit)
      ? size.toLocaleString("en-GB") + " bytes; the limit is " + limit.toLocaleString("en-GB") + " bytes (" + sizeLabel(limit) + ")"
      : sizeLabel(size) + "; the limit is " + sizeLabel(limit);
    return "The file is " + sizes + ". Check it is the right file; a larger one cannot be uploaded.";
  }

  ["dragenter", "dragover"].forEach(function (e) { zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.add("dragover"); }); });
  ["dragleave", "drop"].forEach(function (e) { zone.addEventListener(e, function (ev) { ev.preventDefault(); zone.classList.remove("dragover"); }); });
  zone.addEventListener("drop", function (ev) { if (ev.dataTransfer.files.length) { input.files = ev.dataTransfer.files; status.textContent = input.files[0].name + " ready to upload."; } });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!input.files.length) { status.textContent = "Choose a file first."; return; }
    if (limit && input.files[0].size > limit) { status.textContent = tooLargeMessage(input.files[0].size); return; }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    bar.hidden = false; button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); status.textContent = "Uploading… " + bar.value + "%"; } });
    xhr.addEventListener("load", function () {
      var body = {}; try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: say the status */ }
      if (xhr.status === 202) { status.textContent = "Uploaded. Opening the submission…"; window.location = body.url; }
      else { status.textContent = body.detail || "The upload failed (" + xhr.status + ")."; bar.hidden = true; button.disabled = false; }
    });
    xhr.addEventListener("error", function () { status.textContent = "The upload failed: check your connection and try again."; button.disabled = false; });
    xhr.send(new FormData(form));
  });
})();
