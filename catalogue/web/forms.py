"""Owner actions as HTML forms, under the API's scopes: edit, pipeline, upload, runs, grants.

Each form posts to its own URL on the ``web`` blueprint with the session's CSRF token; the
view parses the form into the body the API takes, calls the repository or service the API
calls, and redirects (post/redirect/get). A rule a value breaks re-renders the form with the
reason next to the field; a stale ``If-Match`` shows both versions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError, fields
from werkzeug.wrappers import Response

from catalogue.api.permissions import checked_principal
from catalogue.api.transfers import create_upload
from catalogue.auth.permissions import ADMIN, UPDATE, WRITE, require
from catalogue.auth.principal import current_identity, current_principal
from catalogue.dcat.vocabularies import (
    DATA_THEME_LABELS,
    FREQUENCY_WORDS,
    LANGUAGE_NAMES,
    LANGUAGES,
    frequency_value,
)
from catalogue.domain.datasets import STATES
from catalogue.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidValue,
    InvalidValues,
    NotFound,
    PreconditionFailed,
    TooManyAttempts,
    Unauthenticated,
)
from catalogue.domain.revisions import Condition, etag, parse_etag
from catalogue.schemas.datasets import DatasetPatchSchema
from catalogue.schemas.pipeline_templates import DatasetPipelineSchema
from catalogue.schemas.uploads import UploadRequestSchema, UploadSchema
from catalogue.services import repositories, services
from catalogue.web import session
from catalogue.web.pages import blp, form_view, throttled_message
from catalogue.web.rendering import is_fragment_request, render

PATCH_SCHEMA = DatasetPatchSchema()
PIPELINE_SCHEMA = DatasetPipelineSchema()
UPLOAD_REQUEST = UploadRequestSchema()
UPLOAD_ANSWER = UploadSchema()
# Text fields of the edit form, in the order shown; a blank one removes the value.
TEXT_FIELDS = (
    "title",
    "description",
    "publisher",
    "license",
    "spatial",
    "accrualPeriodicity",
    "language",
    "state",
)
LIST_FIELDS = ("keywords", "wasDerivedFrom")
# Keywords are free text ("Oslo, Norway"): one a line. Dataset ids hold no comma, so commas
# (or lines) separate them.
ONE_A_LINE = frozenset({"keywords"})
# Themes are ticked in a list of the EU data themes, named as people read them.
THEMES = "themes"
THEME_CHOICES = sorted(
    ((code, f"{label} ({code})") for code, label in DATA_THEME_LABELS.items()),
    key=lambda choice: choice[1],
)
# Fields whose values come from a closed list: chosen, not typed (the API's lists).
NONE_GIVEN = ("", "none given")
CHOICES: dict[str, list[tuple[str, str]]] = {
    "state": [(state, state) for state in STATES],
    "language": [NONE_GIVEN]
    + [(code, f"{code} — {LANGUAGE_NAMES.get(code, code)}") for code in LANGUAGES],
    # The update frequencies as stored (EU Frequency codes), each shown by its first word.
    "accrualPeriodicity": [NONE_GIVEN, *FREQUENCY_WORDS.items()],
}
BLANK_REFUSED = "Required: it may not be left empty."
# Every field of the edit form but its CSRF token, ETag and the token of a new sign-in.
FORM_FIELDS = (*TEXT_FIELDS, *LIST_FIELDS, THEMES, "contactName", "contactEmail")
SCOPES = ("read", "update", "write", "admin")
Form = dict[str, Any]


# Signing in again -------------------------------------------------------------------------


def signed_in_to_save(dataset_id: str, scope: str) -> DomainError | None:
    """None when the visitor may go on saving a form of ``dataset_id``, else why not.

    A form sent after the sign-in ended (or with a token typed into it) signs in with the
    form's token and must be allowed ``scope``: the refusal is given back for the form to
    come back as typed (``sign_in_again``), its dataset neither read nor shown.
    """
    token = request.form.get("token", "").strip()
    if not token:
        return None if current_identity().is_authenticated else Unauthenticated("")
    try:
        session.sign_in(token)
        require(dataset_id, scope)
    except (Unauthenticated, TooManyAttempts, Forbidden, NotFound) as refused:
        return refused
    return None


def sign_in_again(refused: DomainError, action: str) -> tuple[Form, int, dict[str, str]]:
    """The token field's error, status and headers of a form sent back to sign in again.

    Refused for too many failed sign-ins, the error says how long to wait (``Retry-After``).
    """
    g.pop("signed_out_reason", None)  # the form says it, with what to do
    if isinstance(refused, TooManyAttempts):
        wait = {"Retry-After": str(refused.retry_after_s)}
        return {"token": [throttled_message(refused)]}, 429, wait
    if isinstance(refused, Forbidden | NotFound):
        # Said alike for both: whether a dataset exists is for those who may see it.
        reason = f"{current_principal()} may not {action} this dataset: paste another token"
        return {"token": [reason]}, 403, {}
    return ({"token": [refused.message]} if refused.message else {}), 401, {}


# Edit metadata ----------------------------------------------------------------------------


def edit_dataset(dataset_id: str) -> str:
    require(dataset_id, UPDATE)
    dataset = repositories().datasets.get(dataset_id)
    values = form_values(dataset)
    version = etag(dataset["rev"], dataset.get("incarnation"))
    return _edit_form(dataset, values, {}, None, version, shows_saved=True)


def save_dataset(dataset_id: str) -> ResponseReturnValue:
    """Save the form as a merge patch of the fields that changed, guarded by its ETag.

    Sent after the visitor's sign-in ended, the form comes back as it was typed, asking for
    a token; sent with one, it signs in and saves (the ETag it was read with still guards).
    """
    values = posted_values()
    refused = signed_in_to_save(dataset_id, UPDATE)
    if refused is not None:
        errors, status, headers = sign_in_again(refused, "edit")
        dataset = {"id": dataset_id, "title": values["title"] or dataset_id}
        etag_read = request.form.get("etag", "")
        page = _edit_form(dataset, values, errors, None, etag_read, sign_in_again=True)
        return page, status, headers
    require(dataset_id, UPDATE)
    current = repositories().datasets.get(dataset_id)
    changes = changed_fields(values, current)
    try:
        PATCH_SCHEMA.load(changes)
        repositories().datasets.patch(
            dataset_id,
            changes,
            if_match=Condition.at(parse_etag(request.form.get("etag", "")) or _stale()),
            principal=current_principal(),
        )
    except ValidationError as invalid:
        return _edit_again(current, values, _in_form_words(_flat(invalid.messages)), None), 422
    except (InvalidValue, InvalidValues) as invalid:
        return _edit_again(current, values, _domain_errors(invalid), None), 422
    except PreconditionFailed:
        # Someone saved in between: both versions side by side, saving again overwrites theirs.
        return _edit_again(current, values, {}, form_values(current)), 412
    return redirect(url_for("datasets.DatasetById", dataset_id=dataset_id), 303)


def _stale() -> Any:
    raise PreconditionFailed("the form carries no ETag: reload the page")


def _edit_again(dataset: dict, values: Form, errors: Form, theirs: Form | None) -> str:
    return _edit_form(
        dataset, values, errors, theirs, etag(dataset["rev"], dataset.get("incarnation"))
    )


def _edit_form(
    dataset: dict,
    values: Form,
    errors: Form,
    theirs: Form | None,
    form_etag: str,
    *,
    sign_in_again: bool = False,
    shows_saved: bool = False,
) -> str:
    """The edit page; a value outside a field's list (set through the API) stays its choice."""
    choices = {
        name: options
        if any(value == values[name] for value, _ in options)
        else [*options, (values[name], values[name])]
        for name, options in CHOICES.items()
    }
    listed = {code for code, _ in THEME_CHOICES}
    choices[THEMES] = THEME_CHOICES + [
        (code, code) for code in values[THEMES] if code not in listed
    ]
    return render(
        "edit.html",
        None,
        dataset=dataset,
        values=values,
        errors=errors,
        theirs=theirs,
        etag=form_etag,
        choices=choices,
        sign_in_again=sign_in_again,
        shows_saved=shows_saved,
    )


def posted_values() -> Form:
    """The edit form's fields as sent: text, and the list of themes ticked.

    A theme value holding commas (typed codes, as the form once asked) counts as each code.
    """
    values: Form = {
        name: form_text(request.form.get(name, "")) for name in FORM_FIELDS if name != THEMES
    }
    values[THEMES] = [
        code.strip()
        for sent in request.form.getlist(THEMES)
        for code in sent.split(",")
        if code.strip()
    ]
    return values


def form_values(dataset: dict[str, Any]) -> Form:
    """The edit form's fields (text, and the list of themes), from a dataset."""
    values = {name: str(dataset.get(name) or "") for name in TEXT_FIELDS}
    # A frequency stored before codes were the one form ("daily") is chosen as its code.
    values["accrualPeriodicity"] = (
        frequency_value(values["accrualPeriodicity"]) or values["accrualPeriodicity"]
    )
    values.update(
        {
            name: ("\n" if name in ONE_A_LINE else ", ").join(dataset.get(name) or [])
            for name in LIST_FIELDS
        }
    )
    values[THEMES] = list(dataset.get(THEMES) or [])
    contact = dataset.get("contactPoint") or {}
    values["contactName"] = contact.get("name", "")
    values["contactEmail"] = contact.get("email", "")
    return values


def form_text(value: str) -> str:
    """A form field's text with its line breaks as ``\\n``: browsers send a textarea's as CRLF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def changed_fields(values: Form, current: dict[str, Any]) -> dict[str, Any]:
    """The merge patch turning ``current`` into the form's values (None removes a field).

    A list whose text is the one the form shows for ``current`` is left alone.
    """
    changes: dict[str, Any] = {}
    shown = form_values(current)
    for name in TEXT_FIELDS:
        value = values[name].strip() or None
        if value != (current.get(name) or None):
            changes[name] = value
    for name in LIST_FIELDS:
        if values[name] == shown[name]:
            continue
        text = values[name] if name in ONE_A_LINE else values[name].replace(",", "\n")
        items = [item.strip() for item in text.split("\n")]
        wanted = [item for item in items if item] or None
        if wanted != (current.get(name) or None):
            changes[name] = wanted
    # Ticked in the list's order: the same themes in another order are no change.
    if set(values[THEMES]) != set(current.get(THEMES) or []):
        changes[THEMES] = values[THEMES] or None
    contact = {"name": values["contactName"].strip(), "email": values["contactEmail"].strip()}
    wanted_contact = {key: value for key, value in contact.items() if value} or None
    if wanted_contact != (current.get("contactPoint") or None):
        changes["contactPoint"] = wanted_contact
    return changes


def _flat(messages: Any) -> dict[str, list[str]]:
    """marshmallow's nested messages by form field (``contactPoint.email`` → contactEmail)."""
    found: dict[str, list[str]] = {}
    for field, reasons in (messages or {}).items():
        if isinstance(reasons, dict):
            for inner, inner_reasons in reasons.items():
                name = "contact" + str(inner).capitalize() if field == "contactPoint" else field
                found.setdefault(name, []).extend(_strings(inner_reasons))
        else:
            found.setdefault(field, []).extend(_strings(reasons))
    return found


def _in_form_words(errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The API's reasons as the form's user reads them: a field left empty is sent as null."""
    null = fields.Field.default_error_messages["null"]
    return {
        name: [BLANK_REFUSED if reason == null else reason for reason in reasons]
        for name, reasons in errors.items()
    }


def _strings(reasons: Any) -> list[str]:
    if isinstance(reasons, dict):
        return [f"{key}: {text}" for key, value in reasons.items() for text in _strings(value)]
    return [str(reason) for reason in reasons] if isinstance(reasons, list) else [str(reasons)]


def _domain_errors(error: InvalidValue | InvalidValues) -> dict[str, list[str]]:
    if isinstance(error, InvalidValues):
        return _flat(error.errors)
    return {error.field or "form": [getattr(error, "reason", error.message)]}


# Pipeline ---------------------------------------------------------------------------------


def edit_pipeline(dataset_id: str) -> str:
    require(dataset_id, UPDATE)
    current = services().pipelines.find_dataset_pipeline(dataset_id) or {}
    template = request.args.get("template") or current.get("template")
    configs = {
        state: json.dumps(config, indent=2, ensure_ascii=False)
        for state, config in (current.get("taskConfig") or {}).items()
    }
    # A draft kept in the tab is given back only to the pipeline it was typed over.
    version = etag(current["rev"], current.get("incarnation")) if current else "none"
    return _pipeline_form(
        dataset_id,
        template,
        configs,
        {},
        fragment="pipeline_form",
        draft_version=version,
        shows_saved=True,
    )


def save_pipeline(dataset_id: str) -> ResponseReturnValue:
    """Set the pipeline; every problem of the template or a state's options is shown beside it.

    Sent after the sign-in ended, it comes back as typed, asking for a token (as the edit form).
    """
    template = request.form.get("template", "")
    configs = {
        key[len("config.") :]: form_text(value)
        for key, value in request.form.items()
        if key.startswith("config.")
    }
    refused = signed_in_to_save(dataset_id, UPDATE)
    if refused is not None:
        errors, status, headers = sign_in_again(refused, "set the pipeline of")
        # A template chosen (htmx) swaps the form alone: the notice goes above it, in main.
        if is_fragment_request():
            headers = {**headers, "HX-Retarget": "main", "HX-Reswap": "innerHTML"}
        page = _pipeline_form(dataset_id, template, configs, errors, "content", signed_out=True)
        return page, status, headers
    require(dataset_id, UPDATE)
    if request.form.get("show") == "options":
        # The chosen template's states, with the options typed so far: nothing saved.
        return _pipeline_form(dataset_id, template, configs, {}, fragment="pipeline_form")
    task_config, errors = _parse_configs(configs)
    if not errors:
        try:
            data = PIPELINE_SCHEMA.load({"template": template, "taskConfig": task_config})
            services().pipelines.set_dataset_pipeline(
                dataset_id, data, principal=current_principal(), if_match=None
            )
        except ValidationError as invalid:
            errors = _pipeline_errors(invalid.messages)
        except (InvalidValue, InvalidValues) as invalid:
            errors = _pipeline_errors(
                invalid.errors
                if isinstance(invalid, InvalidValues)
                else {invalid.field or "template": [getattr(invalid, "reason", invalid.message)]}
            )
    if errors:
        return _pipeline_form(dataset_id, template, configs, errors, fragment=None), 422
    return redirect(url_for("datasets.DatasetById", dataset_id=dataset_id), 303)


def _parse_configs(configs: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    task_config: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    for state, text in configs.items():
        if not text.strip():
            continue
        try:
            task_config[state] = json.loads(text)
        except json.JSONDecodeError as error:
            errors.setdefault("taskConfig", {})[state] = {"_schema": [f"not JSON: {error}"]}
    return task_config, errors


def _pipeline_errors(messages: Any) -> dict[str, Any]:
    """Problems by field: ``template`` (a list), ``taskConfig`` by state then option path."""
    errors: dict[str, Any] = {}
    for field, reasons in (messages or {}).items():
        if field == "taskConfig" and isinstance(reasons, dict):
            errors["taskConfig"] = {
                state: paths if isinstance(paths, dict) else {"_schema": _strings(paths)}
                for state, paths in reasons.items()
            }
        else:
            errors.setdefault("template", []).extend(_strings(reasons))
    return errors


def _pipeline_form(
    dataset_id: str,
    template: str | None,
    configs: dict[str, str],
    errors: dict,
    fragment: str | None,
    *,
    signed_out: bool = False,
    draft_version: str | None = None,
    shows_saved: bool = False,
) -> str:
    """The pipeline page; ``signed_out``, it asks for a token and does not read the dataset.

    ``shows_saved``, the form shows the pipeline as saved (``draft_version``), and takes back
    what the tab kept of it (drafts.js).
    """
    templates = services().pipelines.list(limit=100, cursor=None).items
    chosen = next((t for t in templates if t["id"] == template), None)
    states = _task_states(chosen["definition"]) if chosen else []
    if signed_out:
        # Every option typed comes back, whatever the templates listed now.
        states += [state for state in configs if state not in states]
    return render(
        "pipeline.html",
        fragment,
        dataset={"id": dataset_id, "title": dataset_id}
        if signed_out
        else repositories().datasets.get(dataset_id),
        templates=templates,
        template=template,
        states=states,
        configs=configs,
        errors=errors,
        sign_in_again=signed_out,
        draft_version=draft_version,
        shows_saved=shows_saved,
    )


def _task_states(definition: Any) -> list[str]:
    """The Task states of a definition, nested ones (Parallel, Map) included, in order."""
    if isinstance(definition, str):
        definition = json.loads(definition)
    found: list[str] = []
    for name, state in (definition.get("States") or {}).items():
        if state.get("Type") == "Task":
            found.append(name)
        for branch in state.get("Branches") or []:
            found.extend(_task_states(branch))
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, dict):
            found.extend(_task_states(processor))
    return found


# Upload -----------------------------------------------------------------------------------


@blp.route("/datasets/<dataset_id>/upload", methods=["GET"])
def upload_form(dataset_id: str) -> str:
    require(dataset_id, WRITE)
    return render("upload.html", None, dataset=repositories().datasets.get(dataset_id))


@blp.route("/datasets/<dataset_id>/uploads", methods=["POST"])
def start_upload(dataset_id: str) -> dict[str, Any]:
    """The upload URL of one file (JSON for the page's script, which then sends the file)."""
    data = UPLOAD_REQUEST.load(
        {
            key: value
            for key, value in request.form.items()
            if key in ("filename", "contentType", "size")
        }
    )
    made = create_upload(services(), dataset_id, "1", data, principal=current_principal())
    answer: dict[str, Any] = UPLOAD_ANSWER.dump(made)
    answer["runPage"] = url_for("runs.RunById", run_id=made["run"]["id"])
    return answer


# Runs -------------------------------------------------------------------------------------


@blp.route("/runs/<run_id>/rerun-form", methods=["POST"])
def rerun(run_id: str) -> Response:
    require(services().runs.dataset_of(run_id), WRITE, hidden=f"run {run_id!r} not found")
    run = services().runs.rerun(run_id, principal=current_principal())
    return redirect(url_for("runs.RunById", run_id=run["id"]), 303)


@blp.route("/runs/<run_id>/abort-form", methods=["POST"])
def abort(run_id: str) -> Response:
    require(services().runs.dataset_of(run_id), WRITE, hidden=f"run {run_id!r} not found")
    services().runs.abort(run_id)
    return redirect(url_for("runs.RunById", run_id=run_id), 303)


# Grants -----------------------------------------------------------------------------------


# The field of the grants form a refusal of a grant's change is shown beside, and its status.
GRANT_REFUSALS: dict[type[DomainError], tuple[str, int]] = {
    InvalidValue: ("principal", 422),
    Conflict: ("scopes", 409),
    NotFound: ("principal", 404),
}


def grants(dataset_id: str) -> str:
    require(dataset_id, ADMIN)
    return _grants_page(dataset_id, {}, {"principal": "", "scopes": []}, shows_saved=True)


def save_grant(dataset_id: str) -> ResponseReturnValue:
    """Set (or with no scope ticked, remove) a principal's scopes on the dataset.

    Sent after the sign-in ended, it comes back as typed, asking for a token (as the edit form).
    """
    scopes = [scope for scope in SCOPES if scope in request.form.getlist("scopes")]
    refused = signed_in_to_save(dataset_id, ADMIN)
    if refused is not None:
        errors, status, headers = sign_in_again(refused, "grant access to")
        values = {"principal": request.form.get("principal", ""), "scopes": scopes}
        return _grants_page(dataset_id, errors, values, signed_out=True), status, headers
    require(dataset_id, ADMIN)
    permissions = repositories().permissions
    try:
        grantee = checked_principal(request.form.get("principal", "").strip())
        if scopes:
            permissions.put(dataset_id, grantee, scopes, principal=current_principal())
        else:
            permissions.delete(dataset_id, grantee, principal=current_principal())
    except (InvalidValue, Conflict, NotFound) as refusal:
        # Shown again with what was typed and ticked, the reason beside the field, with the
        # API's status: taking admin from the last admin (Conflict) is a refusal of the
        # scopes ticked; removing a grant the principal does not hold (NotFound), of the
        # principal (a dataset gone meanwhile makes the page itself a 404).
        values = {"principal": request.form.get("principal", ""), "scopes": scopes}
        field, status = next(
            shown for kind, shown in GRANT_REFUSALS.items() if isinstance(refusal, kind)
        )
        errors = {refusal.field or field: [refusal.message]}
        return _grants_page(dataset_id, errors, values), status
    return redirect(url_for("web.grants", dataset_id=dataset_id), 303)


def _grants_page(
    dataset_id: str,
    errors: dict,
    values: Form,
    *,
    signed_out: bool = False,
    shows_saved: bool = False,
) -> str:
    """The grants page; ``signed_out``, it asks for a token and reads nothing of the dataset.

    ``shows_saved``, its form is empty and takes back what the tab kept of it (drafts.js),
    if the grants are still those it was typed beside.
    """
    draft_version = None
    if signed_out:
        dataset, granted = {"id": dataset_id, "title": dataset_id}, []
    else:
        dataset = repositories().datasets.get(dataset_id)
        granted = repositories().permissions.list(dataset_id, limit=500, cursor=None).items
        draft_version = _grants_version(granted)
    return render(
        "grants.html",
        None,
        dataset=dataset,
        grants=granted,
        scopes=SCOPES,
        errors=errors,
        values=values,
        sign_in_again=signed_out,
        draft_version=draft_version,
        shows_saved=shows_saved,
    )


def _grants_version(granted: list[dict[str, Any]]) -> str:
    """A digest of the grants shown: a grant saved since changes it (grants carry no ETag)."""
    shown = sorted((grant["principal"], sorted(grant["scopes"])) for grant in granted)
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


# One rule per form URL (GET shows the form, POST saves it), so every rule matches back to
# its own endpoint whatever the method.
blp.add_url_rule(
    "/datasets/<dataset_id>/edit", view_func=form_view("edit_dataset", edit_dataset, save_dataset)
)
blp.add_url_rule(
    "/datasets/<dataset_id>/pipeline/edit",
    view_func=form_view("edit_pipeline", edit_pipeline, save_pipeline),
)
blp.add_url_rule("/datasets/<dataset_id>/grants", view_func=form_view("grants", grants, save_grant))
