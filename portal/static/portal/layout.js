// Page layout helpers loaded on every page; each does nothing a page without JavaScript needs.
(function () {
  "use strict";

  // The main navigation folds behind a "Menu" button on narrow screens (portal.css decides
  // when). Without JavaScript the button stays hidden and the links wrap instead.
  var button = document.querySelector(".menu-toggle");
  var nav = document.getElementById("main-nav");
  if (button && nav) {
    document.documentElement.classList.add("js-nav");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("open", open);
    });
  }

  // A table wider than the screen scrolls in its own box (portal.css); a keyboard user must be
  // able to focus that box to scroll it.
  function markScrollables() {
    document.querySelectorAll("main table, .table-scroll, main pre").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  markScrollables();
  window.addEventListener("resize", markScrollables);
})();
