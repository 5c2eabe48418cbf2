// The search as one types: a search the network loses, or that a gateway answers with a page
// of its own (API Gateway's 504 after 29 s), leaves the results as they were and says so.
// Swapped in, a gateway's page would take the results' place, where no later search finds it.
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
  // htmx tells the target (the results), not the form, about the answer it is to swap in.
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.requestConfig?.elt !== form) return;
    const answer = event.detail.xhr;
    // Brygge's own answers: the results (a value refused is 422), or its error page, which
    // names where it goes (HX-Retarget).
    if (!event.detail.isError || answer.status === 422 || answer.getResponseHeader("HX-Retarget")) return;
    event.detail.shouldSwap = false;
    say(`The search failed (the server answered ${answer.status})`);
  });
});
