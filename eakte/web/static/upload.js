// Progressive enhancement of the upload form (documents/_upload.html): drag and drop onto the drop zone, one
// request per file with its own progress bar, a status line for screen readers, then the document list reloads.
// Without this file the form posts all files at once and the page answers with a message per file.
(function () {
  "use strict";

  function uploadOne(form, file, list) {
    return new Promise(function (resolve) {
      var item = document.createElement("div");
      item.className = "kern-progress upload__item";
      var label = document.createElement("label");
      label.className = "kern-label";
      var bar = document.createElement("progress");
      bar.max = 100; bar.value = 0;
      bar.id = "upload-progress-" + Math.random().toString(36).slice(2);
      label.htmlFor = bar.id;
      label.textContent = file.name;
      item.appendChild(label); item.appendChild(bar);
      list.appendChild(item);

      var data = new FormData();
      data.append("csrf_token", form.querySelector("input[name=csrf_token]").value);
      var title = form.querySelector("input[name=title]");
      if (title && title.value) { data.append("title", title.value); }
      var kind = form.querySelector("select[name=kind]");
      if (kind) { data.append("kind", kind.value); }
      var procedure = form.querySelector("input[name=procedure_id]"); // the procedure page's form files into it
      if (procedure) { data.append("procedure_id", procedure.value); }
      data.append("file", file, file.name);

      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (ev) {
        if (ev.lengthComputable) { bar.value = Math.round(100 * ev.loaded / ev.total); }
      });
      xhr.addEventListener("load", function () {
        var answer = null;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
        var result = answer && answer.files && answer.files[0];
        bar.value = 100;
        var text = document.createElement("p");
        text.className = result && result.ok ? "kern-body" : "kern-error";
        text.textContent = result ? result.message : (answer && answer.message) || form.getAttribute("data-failed") || String(xhr.status);
        item.appendChild(text);
        resolve(result ? result.ok : false);
      });
      xhr.addEventListener("error", function () { resolve(false); });
      xhr.send(data);
    });
  }

  function uploadAll(form, files) {
    var list = form.querySelector("[data-upload-progress]");
    var status = form.querySelector("[data-upload-status]");
    var total = files.length, done = 0;
    status.textContent = form.getAttribute("data-uploading") || ("0 / " + total);
    var chain = Promise.resolve();
    Array.prototype.forEach.call(files, function (file) {
      chain = chain.then(function () {
        return uploadOne(form, file, list).then(function () {
          done += 1;
          status.textContent = done + " / " + total;
        });
      });
    });
    // The server has flashed each file's outcome: the reloaded page lists the new documents and the messages.
    chain.then(function () { window.location.reload(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-upload]").forEach(function (form) {
      var input = form.querySelector("input[type=file]");
      var zone = form.querySelector("[data-dropzone]");
      if (!input || !window.FormData || !window.XMLHttpRequest) { return; }
      if (zone) {
        zone.hidden = false;
        zone.addEventListener("dragover", function (ev) { ev.preventDefault(); zone.classList.add("upload__dropzone--active"); });
        zone.addEventListener("dragleave", function () { zone.classList.remove("upload__dropzone--active"); });
        zone.addEventListener("drop", function (ev) {
          ev.preventDefault();
          zone.classList.remove("upload__dropzone--active");
          if (ev.dataTransfer && ev.dataTransfer.files.length) { uploadAll(form, ev.dataTransfer.files); }
        });
      }
      form.addEventListener("submit", function (ev) {
        if (!input.files || !input.files.length) { return; } // let the server answer "choose a file"
        ev.preventDefault();
        uploadAll(form, input.files);
      });
    });
  });
})();
