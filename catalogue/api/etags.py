"""ETags from stored revisions, ``If-Match`` as a write condition for the store, and
``If-Match`` (412) and ``If-None-Match`` (304 Not Modified) on reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, request
from werkzeug.http import parse_etags, unquote_etag

from catalogue.api.errors import error_response
from catalogue.domain.errors import PreconditionFailed
from catalogue.domain.revisions import Revision, etag, parse_etag


def with_etag(resource: Mapping[str, Any], status: int = 200, **headers: str) -> tuple:
    """A view result carrying the resource's ETag (and any extra headers).

    A dataset's resources carry its incarnation, so no ETag of a deleted dataset matches
    one of a new dataset with the same id.
    """
    tag = etag(resource["rev"], resource.get("incarnation"))
    return resource, status, {"ETag": tag, **headers}


# What a 304 keeps of the 200 it stands for (RFC 9110 section 15.4.5).
NOT_MODIFIED_HEADERS = ("ETag", "Vary", "Cache-Control", "Content-Location", "Expires", "Date")


def answer_conditional_read(response: Response) -> Response:
    """After each request: a GET or HEAD whose ``If-Match`` fails is 412 Precondition Failed,
    one whose ``If-None-Match`` matches is 304 Not Modified.

    RFC 9110 section 13.2.2 evaluates If-Match first: ``*`` or one of its tags matching the
    answer's ETag by the strong comparison, else 412. Then If-None-Match (section 13.1.2):
    ``*`` matches when a current representation exists, a list when one of its tags matches
    by the weak comparison. Only a 200 is answered so (a 404 stays one: nothing exists to
    match); a 200 without an ETag fails every If-Match tag and matches no If-None-Match tag.
    """
    # Most requests carry neither: the WSGI environ answers that without parsing the
    # request's headers (this runs after every request, the hot reads included).
    current = request._get_current_object()  # type: ignore[attr-defined]
    environ = current.environ
    match_condition = environ.get("HTTP_IF_MATCH")
    condition = environ.get("HTTP_IF_NONE_MATCH")
    if match_condition is None and condition is None:
        return response
    if response.status_code != 200 or current.method not in ("GET", "HEAD"):
        return response
    tag = response.headers.get("ETag")
    opaque_tag, is_weak = unquote_etag(tag) if tag else (None, False)
    if match_condition is not None:
        tags = parse_etags(match_condition)
        if not (tags.star_tag or (opaque_tag and not is_weak and tags.contains(opaque_tag))):
            return error_response(412, "If-Match does not match the current ETag")
    if condition is None or tag is None:
        return response
    if not parse_etags(condition).contains_weak(opaque_tag or ""):
        return response
    not_modified = Response(status=304)
    # No body, so no type: a page's hooks read a text/html type as a page's answer, and
    # added to the 304 a Vary its 200 did not have.
    del not_modified.headers["Content-Type"]
    for name in NOT_MODIFIED_HEADERS:
        if name in response.headers:
            not_modified.headers[name] = response.headers[name]
    return not_modified


def if_match() -> Revision | None:
    """The revision ``If-Match`` asks for; None when absent or ``*``.

    Raises PreconditionFailed for a list of tags or any tag this API did not hand out
    (weak tags never match, as RFC 9110 says for If-Match).
    """
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    revision = parse_etag(value)
    if revision is None:
        raise PreconditionFailed("If-Match does not match the current ETag")
    return revision
