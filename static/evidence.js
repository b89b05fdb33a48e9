/* cbassess: evidence files. Each chosen or dropped file is sent on its own request through
 * htmx (so each has a progress bar, from htmx's upload progress events); the reply is that
 * file's status, and the answer's list of files is swapped out of band. Without JavaScript
 * the same controls submit a plain multipart form. No inline script (strict CSP).
 */
(function () {
  "use strict";

  function messagesOf(region) {
    try { return JSON.parse(region.getAttribute("data-upload-messages") || "{}"); }
    catch (e) { return {}; }
  }

  function upload(region, files) {
    var url = region.getAttribute("data-upload-url");
    var list = region.querySelector(".evidence__uploads");
    var messages = messagesOf(region);
    Array.prototype.forEach.call(files, function (file) {
      var row = document.createElement("li");
      row.className = "upload";
      // Only this file goes: not the answer form the controls sit in.
      row.setAttribute("hx-encoding", "multipart/form-data");
      row.setAttribute("hx-params", "files");
      var name = document.createElement("span");
      name.className = "upload__name";
      name.textContent = file.name;
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", (messages.progress || "%(name)s").replace("%(name)s", file.name));
      var status = document.createElement("span");
      status.className = "upload__status";
      status.setAttribute("role", "status");
      status.textContent = messages.uploading || "";
      row.appendChild(name);
      row.appendChild(bar);
      row.appendChild(status);
      list.appendChild(row);
      row.addEventListener("htmx:xhr:progress", function (event) {
        if (event.detail.lengthComputable && event.detail.total > 0) {
          bar.value = Math.round(100 * event.detail.loaded / event.detail.total);
        }
      });
      row.addEventListener("htmx:afterRequest", function (event) {
        bar.value = 100;
        row.classList.add(event.detail.successful ? "upload--done" : "upload--failed");
      });
      row.addEventListener("htmx:sendError", function () {
        status.textContent = messages.failed || "";
      });
      htmx.ajax("POST", url, {
        source: row, target: status, swap: "innerHTML", values: { files: file },
      });
    });
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-evidence] input[type=file]")) return;
    var region = input.closest("[data-evidence]");
    if (input.files.length) upload(region, input.files);
    input.value = "";
  });

  function dropzoneOf(event) {
    return event.target.closest ? event.target.closest("[data-evidence] [data-dropzone]") : null;
  }

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = dropzoneOf(event);
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("evidence__attach--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropzoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("evidence__attach--over");
  });
  document.addEventListener("drop", function (event) {
    var zone = dropzoneOf(event);
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("evidence__attach--over");
    if (event.dataTransfer && event.dataTransfer.files.length) {
      upload(zone.closest("[data-evidence]"), event.dataTransfer.files);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // With JavaScript a file uploads as soon as it is chosen: the plain button is not needed.
    document.querySelectorAll("[data-evidence]").forEach(function (region) {
      region.classList.add("evidence--live");
    });
  });
})();
