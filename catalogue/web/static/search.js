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
  form.addEventListener("htmx:sendError", () => say("The search could not reach the server"));
  // An error page from elsewhere on the way, which answers.js keeps out of the results.
  form.addEventListener("brygge:failed", (event) => {
    say(`The search failed (the server answered ${event.detail.status})`);
  });
});
