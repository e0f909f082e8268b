// Submission page: poll the pipeline's progress while the submission is in flight, then reload.
(function () {
  "use strict";
  var section = document.getElementById("pipeline");
  if (!section || section.dataset.inFlight !== "1") return;
  var bar = document.getElementById("pipeline-progress"), stage = document.getElementById("pipeline-stage");
  function poll() {
    fetch(section.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.progress;
        stage.textContent = s.stage_label + " · " + s.progress + "%" + (s.message ? " · " + s.message : "");
        if (s.in_flight) { setTimeout(poll, 1000); } else { window.location.reload(); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
