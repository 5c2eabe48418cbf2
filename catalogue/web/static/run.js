// Says when the run shown changes status, in a live region the page keeps: the run's section
// is replaced at each poll (htmx), and a live region that arrives with its content announces
// nothing. A poll that finds the status unchanged says nothing.
document.addEventListener("DOMContentLoaded", () => {
  const status = document.getElementById("run-status");
  if (!status) return;
  const current = () => document.getElementById("run")?.dataset.status;
  let shown = current();
  document.body.addEventListener("htmx:afterSettle", () => {
    const now = current();
    if (!now || now === shown) return;
    shown = now;
    status.textContent = `The run's status is now ${now}`;
  });
});
