// htmx swaps error answers in (base.html's htmx-config): Brygge's error pages say how they
// are swapped (HX-Reswap, and HX-Retarget when not in place), and a value refused (422)
// comes back as the part it belongs in. An error page of something else on the way, such
// as API Gateway's 504 after 29 s, is not swapped: in the place of the results or of a run
// that polls itself, it would stay there and stop the page. The element that asked is told
// instead ("brygge:failed", with the status).
document.addEventListener("DOMContentLoaded", () => {
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const answer = event.detail.xhr;
    if (!event.detail.isError || answer.status === 422 || answer.getResponseHeader("HX-Reswap")) return;
    event.detail.shouldSwap = false;
    const asker = event.detail.requestConfig?.elt;
    asker?.dispatchEvent(new CustomEvent("brygge:failed", { bubbles: true, detail: { status: answer.status } }));
  });
});
