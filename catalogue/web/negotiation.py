"""Browsers get pages at the API's own URLs; every other client keeps getting JSON.

``GET /``, ``/datasets/{id}``, ``/datasets/{id}/runs``, ``/datasets/{id}/history`` and
``/runs/{id}`` answer with HTML when the request prefers ``text/html`` to JSON (a browser's
``Accept``) or comes from htmx, and with the API's JSON otherwise: curl, httpx and the
``brygge`` client send ``*/*`` or ask for JSON. ``?format=`` (DCAT) keeps its meaning, except
on the search page, where it is the format facet.
Both answers say ``Vary: Accept``.
"""

from __future__ import annotations

import importlib

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Request, Response

from catalogue.dcat.negotiation import DEFAULT_ACCEPTS
from catalogue.web.rendering import error_page
from catalogue.web.session import sign_in_from_cookie

# API endpoint -> the page served at its URL (a function of catalogue.web.pages, imported by
# the first request for a page: a JSON request never loads the pages).
PAGES: dict[str, str] = {
    "index.Index": "search_page",
    "datasets.DatasetById": "dataset_page",
    "runs.DatasetRuns": "dataset_runs_page",
    "runs.RunById": "run_page",
    "history.History": "history_page",
}
# The search page's ``format`` filters datasets by their distributions' format (a facet of
# the page): there it means no DCAT syntax, and a browser asking with it wants the page.
SEARCH_PAGE = "index.Index"


def wants_page(req: Request | None = None) -> bool:
    """True when the request (``req``, or the current one) is for a page rather than JSON."""
    req = req if req is not None else request._get_current_object()  # type: ignore[attr-defined]
    if req.method not in ("GET", "HEAD"):
        return False
    environ = req.environ
    htmx = "HTTP_HX_REQUEST" in environ
    # What API clients send (nothing, curl's */*, JSON): no header to parse, and no query
    # string either (``?format=`` too answers no page).
    if not htmx and environ.get("HTTP_ACCEPT") in DEFAULT_ACCEPTS:
        return False
    if "format" in req.args and req.endpoint != SEARCH_PAGE:
        return False
    if htmx:
        return True
    accept = req.accept_mimetypes
    # Only text/html preferred to JSON: */* alone (curl, httpx) matches both equally.
    return accept["text/html"] > accept["application/json"]


def serve_page() -> ResponseReturnValue | None:
    """Before the API's view: answer with the page when the request wants one."""
    # Every request passes here: the request is looked up once, and its endpoint read once.
    req = request._get_current_object()  # type: ignore[attr-defined]
    endpoint = req.endpoint
    if endpoint is None:
        # No such URL: a browser gets the error page (with the site's links), not JSON.
        # Hooks run before the routing failure is raised, so it is answered here.
        if isinstance(req.routing_exception, NotFound) and wants_page(req):
            sign_in_from_cookie()
            return error_page(req.routing_exception)
        return None
    if endpoint.rpartition(".")[0] == "web":  # the blueprint of the pages' own endpoints
        sign_in_from_cookie()
        return None
    page_name = PAGES.get(endpoint)
    if page_name is None or not wants_page(req):
        return None
    sign_in_from_cookie()
    try:
        page = getattr(importlib.import_module("catalogue.web.pages"), page_name)
        return page(**(req.view_args or {}))
    except Exception as error:
        return error_page(error)


def vary_on_accept(response: Response) -> Response:
    if request._get_current_object().endpoint in PAGES:  # type: ignore[attr-defined]
        # The JSON views say Vary: Accept themselves: no header to parse and write again.
        if response.headers.get("Vary") != "Accept":
            response.vary.add("Accept")
        if response.mimetype == "text/html":
            # A page and its htmx fragment share a URL and an Accept.
            response.vary.add("HX-Request")
    return response


def init_negotiation(app: Flask) -> None:
    """Install the hooks; before ``authenticate_request``, so pages see the cookie's identity."""
    app.before_request(serve_page)
    app.after_request(vary_on_accept)
