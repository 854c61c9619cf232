// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    // Errors: move focus to the summary at the top of a form, so screen readers announce it.
    var summary = document.querySelector("[data-focus-on-load]");
    if (summary) { summary.focus(); }
    // Confirmation of final actions where the server asks for it (data-confirm on the form).
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
  });
})();
