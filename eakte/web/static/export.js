// Progressive enhancement of the auditors' export (search/index.html, form[data-export]): the form is sent with
// fetch; the ZIP comes with its Content-Length, so a progress bar shows the bytes received. When the last byte is
// in, the file is saved from a Blob and the export's receipt (JSON) gives the SHA-256 the server recorded for the
// bytes it sent; where the browser can hash (a secure context), the file received is checked against it.
// Without this file the form posts normally, the browser downloads the ZIP and "Ihre letzten Exporte" lists it.
(function () {
  "use strict";

  function megabytes(bytes) {
    return (bytes / 1048576).toLocaleString(document.documentElement.lang || undefined,
      {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  function filename(header) {
    var star = /filename\*=UTF-8''([^;]+)/i.exec(header || "");
    if (star) {
      try { return decodeURIComponent(star[1]); } catch (e) { /* the ASCII fallback below */ }
    }
    var plain = /filename="([^"]+)"/i.exec(header || "");
    return plain ? plain[1] : "export.zip";
  }

  function wait(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  // The server records the checksum just after its last byte has gone out: ask again briefly until it is there.
  function receipt(url, tries) {
    return fetch(url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if ((data && data.complete) || tries <= 1) { return data; }
        return wait(300).then(function () { return receipt(url, tries - 1); });
      });
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function sha256(blob) {
    if (!window.crypto || !window.crypto.subtle || !blob.arrayBuffer) { return Promise.resolve(null); }
    return blob.arrayBuffer().then(function (buf) { return window.crypto.subtle.digest("SHA-256", buf); })
      .then(hex, function () { return null; });
  }

  function save(blob, name) {
    var url = URL.createObjectURL(blob);
    var link = document.createElement("a");
    link.href = url;
    link.download = name;
    link.hidden = true;
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
  }

  var IN_MEMORY_LIMIT = 512 * 1024 * 1024;

  function read(response, onChunk) {
    var reader = response.body.getReader();
    var chunks = [];
    function next() {
      return reader.read().then(function (step) {
        if (step.done) { return chunks; }
        chunks.push(step.value);
        onChunk(step.value.length);
        return next();
      });
    }
    return next();
  }

  // What the server answers instead of a ZIP (a message about the choice, the login page) is best shown as the
  // plain form would show it: send the form again without this script.
  function submitPlainly(form, submitter) {
    if (submitter && submitter.name) {
      var scope = document.createElement("input");
      scope.type = "hidden";
      scope.name = submitter.name;
      scope.value = submitter.value;
      form.appendChild(scope);
    }
    form.submit();
  }

  function run(form, submitter) {
    var progress = form.querySelector("[data-export-progress]");
    var bar = progress.querySelector("progress");
    var bytes = form.querySelector("[data-export-bytes]");
    var done = form.querySelector("[data-export-done]");
    var message = form.querySelector("[data-export-message]");
    var buttons = form.querySelectorAll("button[type=submit]");
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }

    function show(text, receiptUrl) {
      message.textContent = text;
      if (receiptUrl) {
        var link = done.querySelector("[data-export-receipt]").cloneNode(true);
        link.href = receiptUrl;
        message.appendChild(document.createTextNode(" "));
        message.appendChild(link);
      }
      message.hidden = false;
    }
    function finish() {
      Array.prototype.forEach.call(buttons, function (b) { b.disabled = false; });
    }

    done.hidden = true;
    message.hidden = true;
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = true; });
    fetch(form.action, {method: "POST", body: data, credentials: "same-origin"}).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/zip") !== 0 || !response.body) {
        submitPlainly(form, submitter);
        return null;
      }
      var total = parseInt(response.headers.get("Content-Length") || "", 10);
      if (!(total > 0) || total > IN_MEMORY_LIMIT) {
        // The progress view holds the package in the tab's memory; a large (or unsized) one is left to the
        // browser's own download, which streams to disk.
        response.body.cancel();
        submitPlainly(form, submitter);
        return null;
      }
      var received = 0;
      var template = form.getAttribute("data-progress-text") || "{received} / {total}";
      progress.hidden = false;
      if (total > 0) { bar.max = total; bar.value = 0; } else { bar.removeAttribute("value"); }
      function update(n) {
        received += n;
        if (total > 0) { bar.value = received; }
        bytes.textContent = template.replace("{received}", megabytes(received))
          .replace("{total}", total > 0 ? megabytes(total) : "?");
      }
      update(0);
      var name = filename(response.headers.get("Content-Disposition"));
      var receiptUrl = response.headers.get("X-Export-Receipt");
      return read(response, update).then(function (chunks) {
        var blob = new Blob(chunks, {type: "application/zip"});
        save(blob, name);
        return Promise.all([receiptUrl ? receipt(receiptUrl, 20) : null, sha256(blob)]);
      }).then(function (results) {
        var answer = results[0], local = results[1];
        var link = done.querySelector("[data-export-receipt]");
        if (answer && answer.complete) {
          done.querySelector("[data-export-sha]").textContent = answer.sha256;
          link.href = answer.url;
          done.hidden = false;
          if (local && local !== answer.sha256) { show(form.getAttribute("data-mismatch-text")); }
        } else {
          show(form.getAttribute("data-pending-text"), receiptUrl);
        }
        finish();
      });
    }).catch(function () {
      show(form.getAttribute("data-failed-text"));
      finish();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.fetch || !window.FormData || !window.Blob || !window.URL || !URL.createObjectURL) { return; }
    document.querySelectorAll("form[data-export]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        run(form, ev.submitter);
      });
    });
  });
})();
