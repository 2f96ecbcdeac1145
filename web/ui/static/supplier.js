// The supplier pages' enhancements; every page works without them.
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector("input[name=csrf_token]");
    return field ? field.value : "";
  }

  // A checkbox marked data-select-all="name" ticks every box of that name in its form.
  function selectAll() {
    document.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        var name = box.getAttribute("data-select-all");
        box.form.querySelectorAll("input[name='" + name + "']").forEach(function (other) {
          other.checked = box.checked;
        });
      });
    });
  }

  // "/" jumps to the search field (data-shortcut), unless the user is typing somewhere.
  function shortcuts() {
    document.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (target.closest && target.closest("input, textarea, select, [contenteditable]")) { return; }
      var field = document.querySelector("[data-shortcut='/']");
      if (field) { event.preventDefault(); field.focus(); field.select(); }
    });
  }

  // The import's progress page posts the next batch as soon as the previous one is written.
  function importSteps() {
    var box = document.getElementById("import-progress");
    var url = box && box.getAttribute("data-step-url");
    if (!url) { return; }
    var bar = document.getElementById("import-bar");
    function show(progress) {
      bar.value = progress.percent;
      bar.textContent = progress.percent + " %";
      Object.keys(progress).forEach(function (key) {
        var cell = box.querySelector("[data-field='" + key + "']");
        if (cell) { cell.textContent = progress[key]; }
      });
    }
    function step() {
      fetch(url, {method: "POST", credentials: "same-origin",
                  headers: {"X-CSRF-Token": csrfToken(), "Accept": "application/json"}})
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (progress) {
          show(progress);
          if (progress.state === "running") { step(); } else { window.location.reload(); }
        })
        .catch(function () {
          // Show the no-script button so that the user can continue by hand.
          document.documentElement.classList.remove("js");
        });
    }
    step();
  }

  document.addEventListener("DOMContentLoaded", function () {
    selectAll();
    shortcuts();
    importSteps();
  });
})();
