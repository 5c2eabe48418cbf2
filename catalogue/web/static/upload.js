// Upload a file straight to its upload URL with a progress bar, then open the run's page.
// Step one asks this site for the URL (the form's CSRF token proves the page); step two
// posts the file with the URL's fields, as to an S3 presigned POST.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload");
  if (!form) return;
  // The form needs this script: without it the page offers only the command line.
  form.hidden = false;
  document.getElementById("upload-needs-script").hidden = true;
  const progress = document.getElementById("progress");
  const status = document.getElementById("upload-status");
  const button = form.querySelector("button[type=submit]");
  // One file, one upload: a second click (or Enter) while one is going sends nothing.
  let sending = false;
  const done = (message) => {
    status.textContent = message;
    sending = false;
    button.disabled = false;
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const file = document.getElementById("file").files[0];
    if (!file) return;
    sending = true;
    button.disabled = true;
    const ask = new FormData();
    ask.append("csrf", form.elements.csrf.value);
    ask.append("filename", file.name);
    ask.append("size", String(file.size));
    if (file.type) ask.append("contentType", file.type);
    status.textContent = "Asking for an upload URL…";
    const answer = await fetch(form.action, { method: "POST", body: ask, headers: { Accept: "application/json" } })
      .catch(() => null);
    if (!answer) {
      done("The upload failed: no connection.");
      return;
    }
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      done(body.message || `The upload was refused (${answer.status}).`);
      return;
    }
    const send = new FormData();
    for (const [name, value] of Object.entries(body.upload.fields || {})) send.append(name, value);
    send.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", body.upload.url);
    request.upload.addEventListener("progress", (progressEvent) => {
      if (!progressEvent.lengthComputable) return;
      const percent = Math.round((100 * progressEvent.loaded) / progressEvent.total);
      progress.value = percent;
      progress.textContent = `${percent}%`;
      status.textContent = `Uploading: ${percent}%`;
    });
    request.addEventListener("load", () => {
      if (request.status >= 200 && request.status < 300) {
        progress.value = 100;
        status.textContent = "Uploaded: the pipeline runs now.";
        window.location.assign(body.runPage);
      } else {
        done(`The upload failed (${request.status}): ${request.responseText}`);
      }
    });
    request.addEventListener("error", () => done("The upload failed: no connection."));
    request.send(send);
  });
});
