"""One URL per resource: a trailing slash redirects to the URL without it, and an encoded
slash in an id is refused rather than routed as two path segments. ``OPTIONS *``, which
names no resource, is answered for the server as a whole."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from flask import Response, current_app, redirect, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from catalogue.api.errors import error_response
from catalogue.api.routing import options_answer

ENCODED_SLASH = "%2f"


def check_path() -> Response | None:
    """Before each request: ``refuse_encoded_slash``, then ``redirect_trailing_slash``.

    One hook for both, answering at once for the path of nearly every request (routed,
    nothing encoded as %2F): each hook costs every request, the hot reads included.
    """
    current = request._get_current_object()  # type: ignore[attr-defined]
    environ = current.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if current.routing_exception is None and "%2" not in raw:
        return None
    if raw == "*" and current.method == "OPTIONS":
        return server_options()
    return refuse_encoded_slash() or redirect_trailing_slash()


def server_options() -> Response:
    """``OPTIONS *`` asks what the server supports (RFC 9110 9.3.7): no rule matches it.

    Answered as the OPTIONS of a URL is: ``Allow`` naming every method some URL takes.
    """
    return options_answer(
        method for rule in current_app.url_map.iter_rules() for method in rule.methods or ()
    )


def redirect_trailing_slash() -> Response | None:
    """Before each request: a path that matches no rule but does without its trailing
    slash (``/datasets/``) is 308 Permanent Redirect to that URL, its query kept.

    308 keeps the method and body (RFC 9110 15.4.9), so a POST or PATCH sent to the
    slashed URL is sent again as it was; a method the canonical URL does not take gets its
    405 there. Werkzeug itself redirects only the other way (a rule ending in a slash).
    """
    current = request._get_current_object()  # type: ignore[attr-defined]
    path = current.path
    if not isinstance(current.routing_exception, NotFound) or not path.endswith("/"):
        return None
    canonical = path.rstrip("/")
    if not canonical:
        return None
    try:
        request_ctx.url_adapter.match(canonical, method=current.method)
    except MethodNotAllowed:
        pass  # the canonical URL answers its 405 and Allow
    except HTTPException:
        return None
    location = quote(current.script_root + canonical, safe="/:@!$&'()*+,;=-._~")
    if current.query_string:
        location += "?" + current.query_string.decode("latin-1")
    return redirect(location, 308)


def refuse_encoded_slash() -> Response | None:
    """Before each request: 404 naming the id when a path segment holds ``%2F``.

    The server decodes the path before routing, so ``/datasets/a%2Fb/versions`` would be
    routed as ``/datasets/a/b/versions``, or worse ``/datasets/a%2Fversions`` as the
    versions of dataset ``a``. No id holds a slash; a ``<path:...>`` part of a rule (a
    series key) may, and is left to its view. Servers that do not pass the raw request URI
    on (``RAW_URI`` or ``REQUEST_URI``) are not checked.
    """
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw or ENCODED_SLASH not in raw.lower():
        return None
    raw_path = urlsplit(raw).path
    script_root = request.script_root
    if script_root and raw_path.startswith(script_root + "/"):
        raw_path = raw_path[len(script_root) :]
    segments = raw_path.split("/")
    rule = request.url_rule
    if rule is not None and "<path:" in rule.rule:
        # Only the segments before the path part: "/a/<x>/<path:key>" checks "", "a", <x>.
        segments = segments[: rule.rule[: rule.rule.index("<path:")].count("/")]
    for segment in segments:
        if ENCODED_SLASH in segment.lower():
            return error_response(
                404,
                f"No resource has the id {unquote(segment)!r} (path segment {segment!r}): "
                "ids never hold '/', so an encoded slash (%2F) in the path names nothing.",
            )
    return None
