// The search as one types: a search the network loses, or that a gateway answers with a page
// of its own (API Gateway's 504 after 29 s), leaves the results as they were and says so.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("search");
  const failed = document.getElementById("search-failed");
  if (!form || !failed) return;
  const say = (cause) => {
    failed.textContent = `${cause}: the results below are of the search before. Search again.`;
    failed.hidden = false;
  };
  form.addEventListener("htmx:beforeRequest", () => {
    failed.hidden = true;
  });
  // A value the search refuses is read with its control, as on the page the server draws
  // (search.html): each reason in the new results names its control (data-control). The
  // form is not swapped (that would take the focus from the search box), so its controls
  // are marked, or cleared, here.
  const tie = () => {
    for (const control of form.querySelectorAll("#q, select")) {
      const reasons = [...document.querySelectorAll("#results [data-control]")].filter(
        (reason) => reason.dataset.control === control.id,
      );
      if (reasons.length) {
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", reasons.map((reason) => reason.id).join(" "));
      } else {
        control.removeAttribute("aria-invalid");
        control.removeAttribute("aria-describedby");
      }
    }
  };
  // htmx tells the elements it swapped in (the new results), not the form that asked.
  document.body.addEventListener("htmx:afterSwap", tie);
  form.addEventListener("htmx:sendError", () => say("The search could not reach the server"));
  // An error page from elsewhere on the way, which answers.js keeps out of the results.
  form.addEventListener("brygge:failed", (event) => {
    say(`The search failed (the server answered ${event.detail.status})`);
  });
});
