"""The pages: parse the request, read through the repositories and checks the API uses, render.

``/``, ``/datasets/{id}``, ``/datasets/{id}/runs`` and ``/runs/{id}`` are the API's own URLs:
a browser (``Accept`` preferring ``text/html``) or htmx gets the page, any other client the
JSON as before (see ``catalogue.web.negotiation``). Pages of their own (sign-in, forms) live
on this blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from catalogue.api.runs import with_output_links
from catalogue.auth.permissions import (
    ADMIN,
    READ,
    UPDATE,
    WRITE,
    Checked,
    audience,
    check,
    require,
    require_audit_read,
)
from catalogue.auth.principal import current_identity
from catalogue.domain.errors import InvalidValue, TooManyAttempts, Unauthenticated
from catalogue.schemas.common import DEFAULT_LIMIT
from catalogue.schemas.datasets import DatasetQuerySchema
from catalogue.schemas.permissions import HistoryQuerySchema
from catalogue.services import repositories, services
from catalogue.web import session
from catalogue.web.rendering import render
from catalogue.web.views import (
    dataset_view,
    described_by,
    page_sizes,
    run_graph,
    run_summaries,
    search_errors,
    search_filters,
)

# The pages' own URLs. Not registered as such: its rules reach the app through the route
# table (catalogue/api/lazy_routes.py), and ``catalogue.web.init_app`` registers a blueprint
# of the same name with the templates, static files, CSRF check and error pages.
blp = Blueprint("web", __name__)

SEARCH_QUERY = DatasetQuerySchema()
HISTORY_QUERY = HistoryQuerySchema()
RUNS_PER_PAGE = 25
HISTORY_PER_PAGE = 30
ENDED = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "EXPIRED"})


def search_page() -> str | tuple[str, int]:
    """``/``: the search form, its results (the fragment as one types) and paging.

    A value the search refuses (a query over 200 characters) is shown where the results
    go, the form kept with what was typed: a page of its own would take the search box away.
    """
    params = search_filters(request.args)
    try:
        query = SEARCH_QUERY.load(params)
    except ValidationError as invalid:
        return refused_search(params, invalid.normalized_messages())
    limit, cursor, sort = query.pop("limit"), query.pop("cursor"), query.pop("sort", None)
    facets = total = approximate = None
    try:
        if query.pop("facets"):
            page, counted = repositories().datasets.list_with_facets(
                query, limit=limit, cursor=cursor, audience=audience(), sort=sort
            )
            facets, total, approximate = counted.values, counted.total, counted.approximate
        else:
            # The caller's audience (not a predicate): the store then searches whole, as the
            # API.
            page = repositories().datasets.list(
                query, limit=limit, cursor=cursor, visible=audience(), sort=sort
            )
    except InvalidValue as invalid:  # a cursor not handed out, or of another search
        return refused_search(params, {invalid.field or "q": [invalid.message]})
    return render(
        "search.html",
        "results",
        query=query,
        params=params,
        sort=sort,
        limit=limit,
        page_sizes=page_sizes(limit, DEFAULT_LIMIT),
        default_page_size=DEFAULT_LIMIT,
        page=page,
        facets=facets,
        total=total,
        approximate=approximate,
        errors=None,
        described_by={},
    )


def refused_search(params: dict[str, str], messages: dict[str, Any]) -> tuple[str, int]:
    """The search form with what was typed, each reason where the results go (422).

    Each reason is read with its control, a value of no control of its own with the search
    box (``search_errors``). The form sends no refused value again but the words typed (to
    be mended in the box): a filter refused as a hidden field would refuse every search after.
    """
    kept = {name: value for name, value in params.items() if name not in messages}
    errors = search_errors(messages)
    return render(
        "search.html",
        "results",
        query={**kept, "q": params.get("q")},
        params=kept,
        sort=params.get("sort"),
        limit=kept.get("limit"),
        page_sizes=page_sizes(kept.get("limit"), DEFAULT_LIMIT),
        default_page_size=DEFAULT_LIMIT,
        page=None,
        facets=None,
        total=None,
        errors=errors,
        described_by=described_by(errors),
    ), 422


def dataset_page(dataset_id: str) -> str:
    """``/datasets/{id}``: metadata, checklist, distributions, snippets, lineage, editions.

    Its runs and, for owners, its history are the runs and history pages' fragments, which
    the page loads when the visitor scrolls to them (and links to without JavaScript).
    """
    checked = check(dataset_id, READ)  # the check's reads serve the page too
    can = permitted(checked)
    return render("dataset.html", None, can=can, **dataset_view(checked.item, is_owner=can[UPDATE]))


def dataset_runs_page(dataset_id: str) -> str:
    """``/datasets/{id}/runs``: the dataset's runs, newest first, a page at a time."""
    require(dataset_id, READ)
    dataset = repositories().datasets.get(dataset_id)
    cursor = request.args.get("cursor") or None
    page = services().runs.list(dataset_id, limit=RUNS_PER_PAGE, cursor=cursor)
    return render("runs.html", "runs", dataset=dataset, page=page)


def history_page(dataset_id: str) -> str:
    """``/datasets/{id}/history``: the audit trail, newest first, under the API's rules."""
    query = HISTORY_QUERY.load({"limit": HISTORY_PER_PAGE, **request.args.to_dict()})
    require_audit_read(dataset_id, query["incarnation"])
    page = repositories().audit.for_dataset(dataset_id, **query)
    return render("history.html", "history", dataset_id=dataset_id, query=query, page=page)


def run_page(run_id: str) -> str:
    """``/runs/{id}``: the pipeline drawn from its definition, each state's outcome and files."""
    dataset_id = services().runs.dataset_of(run_id)
    checked = check(dataset_id, READ, hidden=f"run {run_id!r} not found")
    run = with_output_links(services().runs.get(run_id))
    return render(
        "run.html",
        "run",
        run=run,
        can=permitted(checked),
        is_running=run["status"] not in ENDED,
        graph=run_graph(run),
        steps=run_summaries(run),
    )


def permitted(checked: Checked) -> dict[str, bool]:
    """Which scopes the visitor holds on the dataset: the pages offer only what they allow."""
    return {scope: checked.may(scope) for scope in (UPDATE, WRITE, ADMIN)}


def sign_in_form() -> str:
    return render("sign_in.html", None, next=_local_path(request.args.get("next")), error=None)


def sign_in() -> ResponseReturnValue:
    """Keep a pasted API token (or OIDC bearer) in the session cookie; back to ``next``."""
    target = _local_path(request.form.get("next"))
    try:
        session.sign_in(request.form.get("token", ""))
    except Unauthenticated as refused:
        # Re-render the form with the reason next to the field (the inline-validation pattern).
        return render("sign_in.html", None, next=target, error=refused.message), 401
    except TooManyAttempts as refused:
        # The form again, saying how long to wait: an error page would leave nowhere to retry.
        page = render("sign_in.html", None, next=target, error=throttled_message(refused))
        return page, 429, {"Retry-After": str(refused.retry_after_s)}
    # ``next`` is a path of the app (links carry request.full_path): behind a path prefix,
    # such as API Gateway's /<stage> on its execute-api URL, the browser needs the prefix.
    return redirect(request.script_root + target, 303)


def throttled_message(refused: TooManyAttempts) -> str:
    """What a visitor refused for too many failed sign-ins reads: why, and how long to wait."""
    wait_s = refused.retry_after_s
    return f"Too many failed sign-ins from your address: try again in {wait_s} seconds."


def form_view(name: str, show: Callable[..., Any], save: Callable[..., Any]) -> Callable[..., Any]:
    """One view for a form's URL: ``show`` answers GET, ``save`` answers POST."""
    methods = {"get": staticmethod(show), "post": staticmethod(save)}
    return type(name, (MethodView,), methods).as_view(name)


blp.add_url_rule("/sign-in", view_func=form_view("sign_in", sign_in_form, sign_in))


@blp.route("/sign-out", methods=["POST"])
def sign_out() -> Response:
    session.sign_out()
    return redirect(url_for("index.Index"), 303)


def _local_path(path: str | None) -> str:
    """``path`` when it is a path of this app, else its start page "/" (no open redirect).

    Browsers read a backslash as ``/`` and drop tabs and newlines from a URL (WHATWG URL),
    so ``/<tab>/evil.example`` would leave the site: a path holding a backslash or any
    control character is refused whole (a newline also broke the ``Location`` header: 500).
    """
    if (
        path
        and path.startswith("/")
        and not path.startswith("//")
        and "\\" not in path
        and not any(ord(char) < 0x20 or ord(char) == 0x7F for char in path)
    ):
        return path
    return "/"


def visitor() -> dict[str, Any]:
    """Who the header shows as signed in (None for anonymous visitors)."""
    identity = current_identity()
    return {"principal": identity.principal, "teams": identity.teams}
