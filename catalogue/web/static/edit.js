// Keeps what an owner types into the edit form, in this tab, until it is saved: a save the
// server refuses because the session ended (signed out in another tab, the cookie gone)
// loses nothing. The draft is kept with the ETag the form was read with and given back only
// to a form of that same version: once saved, the dataset's ETag changes and it is dropped.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("edit");
  if (!form) return;
  const key = `brygge-edit:${form.dataset.dataset}`;
  const etag = form.elements.etag.value;
  const skipped = new Set(["csrf", "etag", "token"]);
  const fields = [...form.elements].filter((field) => field.name && !skipped.has(field.name));
  // A box's name may hold many (the themes): its value is the list of the ticked ones.
  const valueOf = (field) =>
    field.type === "checkbox"
      ? fields.filter((box) => box.name === field.name && box.checked).map((box) => box.value)
      : field.value;
  const values = () => Object.fromEntries(fields.map((field) => [field.name, valueOf(field)]));
  const same = (one, other) => JSON.stringify(one) === JSON.stringify(other);
  const put = (field, value) => {
    if (field.type === "checkbox") field.checked = value.includes(field.value);
    else field.value = value;
  };
  // Storage may be off (a private window's settings): the form then works as without script.
  const storage = (() => {
    try {
      return window.sessionStorage;
    } catch {
      return null;
    }
  })();
  if (!storage) return;
  const keep = () => {
    try {
      storage.setItem(key, JSON.stringify({ etag, values: values() }));
    } catch {
      // Storage full: the form still saves; only the copy in this tab is not kept.
    }
  };
  const drop = () => storage.removeItem(key);
  let draft = null;
  try {
    draft = JSON.parse(storage.getItem(key));
  } catch {
    draft = null;
  }
  if (draft && draft.etag !== etag) {
    drop();
    draft = null;
  }
  // Only a form showing the dataset as saved takes the draft back: a form the server sent
  // again (a refused value, a conflict) already holds what was typed.
  if (draft && form.dataset.saved === "true") {
    const saved = values();
    const changed = fields.filter(
      (field) =>
        typeof draft.values[field.name] === typeof saved[field.name] &&
        !same(draft.values[field.name], saved[field.name]),
    );
    if (changed.length) {
      for (const field of changed) put(field, draft.values[field.name]);
      const notice = document.getElementById("draft-notice").content.firstElementChild.cloneNode(true);
      form.before(notice);
      notice.querySelector("#draft-discard").addEventListener("click", () => {
        for (const field of fields) put(field, saved[field.name]);
        drop();
        notice.remove();
        form.elements.title.focus();
      });
    }
  }
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  document.getElementById("edit-cancel").addEventListener("click", drop);
});
