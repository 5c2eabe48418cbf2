"""One template per page; htmx requests get a named block of it, other requests the page."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from catalogue.api.errors import (
    STATUS,
    error_headers,
    error_response,
    handle_domain_error,
    handle_unexpected,
)
from catalogue.domain.errors import DomainError

# The id prefix of the parts of a page that load themselves (``hx-trigger``), as
# ``section-runs`` of the dataset page.
SECTION = "section-"
# Such sections stand under a heading of level 2: their content's headings are of level 3.
SECTION_HEADING_LEVEL = 3


def is_fragment_request() -> bool:
    """True for an htmx request that swaps part of the page (not a history restore)."""
    return "HX-Request" in request.headers and "HX-History-Restore-Request" not in request.headers


def render(template_name: str, fragment: str | None, **context: Any) -> str:
    """The page, or only its block ``fragment`` for an htmx request."""
    app = current_app
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    if fragment is not None and is_fragment_request():
        return "".join(template.blocks[fragment](template.new_context(context)))
    return template.render(context)


def error_page(error: Exception) -> ResponseReturnValue:
    """The error page of a failure, with the status the API gives the same failure.

    A page's script asking for JSON (``Accept: application/json``) gets the API's error body.
    """
    if request.accept_mimetypes.best == "application/json":
        return error_json(error)
    field_errors: dict[str, Any] = {}
    if isinstance(error, DomainError):
        status = next(code for kind, code in STATUS.items() if isinstance(error, kind))
        message = error.message
    elif isinstance(error, ValidationError):
        status, message = 422, "some values are not valid"
        field_errors = error.messages if isinstance(error.messages, dict) else {}
    elif isinstance(error, HTTPException):
        status, message = error.code or 500, error.description or ""
    else:
        handle_unexpected(error)  # logs the traceback; the page shows none
        status, message = 500, HTTPStatus(500).phrase
    # A section a page loads by itself (its id starts with SECTION) shows its own failure
    # in its place, as it swaps itself (outerHTML); any other fragment's failure takes the
    # page's main content. Either way the answer says how it is swapped: the pages' script
    # (answers.js) swaps no error page that does not, such as a gateway's 504.
    in_section = is_fragment_request() and request.headers.get("HX-Target", "").startswith(SECTION)
    body = render(
        "error.html",
        "content",
        status=status,
        phrase=HTTPStatus(status).phrase,
        message=message,
        field_errors=field_errors,
        # In a section, under its h2: the page keeps its one h1.
        heading_level=SECTION_HEADING_LEVEL if in_section else 1,
    )
    headers = {"Content-Type": "text/html; charset=utf-8"}
    if isinstance(error, DomainError):
        headers.update(error_headers(error))
    if is_fragment_request():
        if in_section:
            headers["HX-Reswap"] = "outerHTML"
        else:
            headers["HX-Retarget"] = "main"
            headers["HX-Reswap"] = "innerHTML"
    return body, status, headers


def error_json(error: Exception) -> ResponseReturnValue:
    if isinstance(error, DomainError):
        return handle_domain_error(error)
    if isinstance(error, ValidationError):
        return error_response(422, "some values are not valid", {"json": error.messages})
    if isinstance(error, HTTPException):
        return error_response(error.code or 500, error.description)
    return handle_unexpected(error)
