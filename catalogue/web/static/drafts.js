// Keeps what an owner types into a form (form[data-draft]: edit, pipeline, grants) in this
// tab until it is saved: a save the server refuses because the session ended (signed out in
// another tab, the cookie gone) loses nothing. Every page loads this script: the page a sent
// form comes back to says whether it was saved, and signing out forgets every form kept.
//
// A draft is kept with the version of what its form was read from (data-draft-version: an
// ETag, or what the server names so) and given back only to a form of that same version that
// shows what is saved (data-saved="true"); once saved, the version changes and it is dropped.
// Sending a form marks its draft sent. The page a save leads to (data-draft-saved-at) drops
// it when the save's redirect leads there; Brygge's error page, or the same form sent back
// (data-saved="false"), say it was not saved. Any other page decides nothing: a page left
// before its script ran (the error page, read in a hurry) loses no draft.
(() => {
  const PREFIX = "brygge-draft:";
  // What the edit form kept before every form did: forgotten at sign-out too.
  const OLD_PREFIX = "brygge-edit:";
  const SKIPPED = new Set(["csrf", "etag", "token", "show"]);
  // Storage may be off (a private window's settings): the forms then work as without script.
  const storage = (() => {
    try {
      return window.sessionStorage;
    } catch {
      return null;
    }
  })();
  if (!storage) return;

  const keyOf = (form) => PREFIX + form.dataset.draft;
  const fieldsOf = (form) =>
    [...form.elements].filter(
      (field) => field.name && !SKIPPED.has(field.name) && !["submit", "button"].includes(field.type),
    );
  // Boxes of one name (themes, scopes) keep the list of the ticked ones.
  const valuesOf = (form) => {
    const values = {};
    for (const field of fieldsOf(form)) {
      if (field.type !== "checkbox") values[field.name] = field.value;
      else {
        values[field.name] ??= [];
        if (field.checked) values[field.name].push(field.value);
      }
    }
    return values;
  };
  const put = (field, value) => {
    if (field.type === "checkbox") field.checked = Array.isArray(value) && value.includes(field.value);
    else if (typeof value === "string") field.value = value;
  };
  const same = (one, other) => JSON.stringify(one) === JSON.stringify(other);
  const read = (key) => {
    try {
      return JSON.parse(storage.getItem(key));
    } catch {
      return null;
    }
  };
  const write = (key, draft) => {
    try {
      storage.setItem(key, JSON.stringify(draft));
    } catch {
      // Storage full: the form still saves; only the copy in this tab is not kept.
    }
  };
  // A form sent back to sign in again names no version (the server read nothing): the
  // draft keeps the one it was read with.
  const keep = (form, sent = false) => {
    const key = keyOf(form);
    const version = form.dataset.draftVersion ?? read(key)?.version ?? "";
    write(key, { version, values: valuesOf(form), sent, savedAt: form.dataset.draftSavedAt });
  };
  const forget = () => {
    for (const key of Object.keys(storage)) {
      if (key.startsWith(PREFIX) || key.startsWith(OLD_PREFIX)) storage.removeItem(key);
    }
  };

  // A page after a form was sent: does it say whether it was saved?
  const settle = () => {
    const refused = document.querySelector("main .error[role=alert]") !== null;
    // A save leads to its page through a redirect (the 303 after the POST). The same page
    // opened otherwise says nothing of the save: the grants form is its own save's page, and
    // opened again after a refusal left before its script ran, it must not drop the draft.
    const redirected = (performance.getEntriesByType?.("navigation")[0]?.redirectCount ?? 0) > 0;
    const sentBack = new Set(
      [...document.querySelectorAll("form[data-draft]")]
        .filter((form) => form.dataset.saved !== "true")
        .map(keyOf),
    );
    for (const key of Object.keys(storage).filter((name) => name.startsWith(PREFIX))) {
      const draft = read(key);
      if (!draft?.sent) continue;
      if (refused || sentBack.has(key)) write(key, { ...draft, sent: false });
      else if (redirected && window.location.pathname === draft.savedAt) storage.removeItem(key);
    }
  };

  const restore = (form) => {
    const key = keyOf(form);
    const draft = read(key);
    if (!draft || typeof draft.values !== "object") return;
    if (draft.version !== (form.dataset.draftVersion ?? "")) {
      storage.removeItem(key);
      return;
    }
    const saved = valuesOf(form);
    const changed = Object.keys(draft.values).filter((name) => !same(draft.values[name], saved[name]));
    const missing = [];
    let restored = 0;
    for (const name of changed) {
      const fields = fieldsOf(form).filter((field) => field.name === name);
      for (const field of fields) put(field, draft.values[name]);
      restored += fields.length;
      if (!fields.length && typeof draft.values[name] === "string" && draft.values[name]) {
        // A field of another shape of the form (a state of another template): sent along.
        const hidden = Object.assign(document.createElement("input"), {
          type: "hidden",
          name,
          value: draft.values[name],
        });
        form.append(hidden);
        missing.push(hidden);
      }
    }
    if (!restored && !missing.length) return;
    const notice = document.getElementById("draft-notice").content.firstElementChild.cloneNode(true);
    form.before(notice);
    notice.querySelector("#draft-discard").addEventListener("click", () => {
      storage.removeItem(key);
      if (missing.length) {
        // The form was drawn again for the draft: the saved one is the page's.
        window.location.reload();
        return;
      }
      for (const field of fieldsOf(form)) put(field, saved[field.name]);
      notice.remove();
      fieldsOf(form)[0]?.focus();
    });
    // The form draws the fields it lacks (htmx, hx-trigger "brygge:restored").
    if (missing.length) form.dispatchEvent(new CustomEvent("brygge:restored"));
  };

  document.addEventListener("DOMContentLoaded", () => {
    settle();
    for (const form of document.querySelectorAll("form[data-draft][data-saved=true]")) restore(form);
  });
  for (const type of ["input", "change"]) {
    document.addEventListener(type, (event) => {
      const form = event.target.form;
      if (form?.dataset.draft) keep(form);
    });
  }
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.draft) keep(form, true);
    if (form.hasAttribute("data-forgets-drafts")) forget();
  });
  document.addEventListener("click", (event) => {
    const form = event.target.closest?.("[data-drops-draft]")?.closest("form[data-draft]");
    if (form) storage.removeItem(keyOf(form));
  });
  // A form drawn again by htmx (another template's states) is kept as it now stands.
  document.addEventListener("htmx:load", (event) => {
    const loaded = event.detail.elt;
    const forms = loaded.matches?.("form[data-draft]")
      ? [loaded]
      : [...(loaded.querySelectorAll?.("form[data-draft]") ?? [])];
    for (const form of forms) if (form.dataset.saved !== "true") keep(form);
  });
})();
