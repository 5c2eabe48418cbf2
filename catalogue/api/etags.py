"""ETags from stored revisions, ``If-Match`` as a write condition for the store, and
``If-Match`` (412) and ``If-None-Match`` (304 Not Modified) on reads."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Response, request
from werkzeug.http import parse_etags, unquote_etag

from catalogue.api.errors import error_response
from catalogue.domain.errors import PreconditionFailed
from catalogue.domain.revisions import Condition, Revision, etag, parse_etag


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


def write_condition() -> Condition | None:
    """What ``If-Match`` and ``If-None-Match`` ask of a write; None when neither is sent.

    If-Match takes ``*`` or a list of tags, compared strongly: weak tags never match, and
    raises PreconditionFailed at once when no tag is one this API hands out. If-None-Match
    takes ``*`` or a list compared weakly (``W/"r1"`` names ``"r1"``); tags this API did not
    hand out match nothing. The store checks both on the item the write depends on.
    """
    match_header = request.headers.get("If-Match")
    none_match_header = request.headers.get("If-None-Match")
    if match_header is None and none_match_header is None:
        return None
    match, match_any = None, False
    if match_header is not None:
        tags = parse_etags(match_header)
        match_any = tags.star_tag
        if not match_any:
            match = _revisions(tags.as_set())
            if not match:
                raise PreconditionFailed("If-Match does not match the current ETag")
    none_match: tuple[Revision, ...] = ()
    none_match_any = False
    if none_match_header is not None:
        tags = parse_etags(none_match_header)
        none_match_any = tags.star_tag
        none_match = _revisions(tags.as_set(include_weak=True))
    return Condition(match, match_any, none_match, none_match_any)


def _revisions(opaque_tags: Iterable[str | None]) -> tuple[Revision, ...]:
    """The revisions named by the tags (unquoted, as werkzeug parses them) this API hands out."""
    # werkzeug parses an empty weak tag (W/"") as None.
    parsed = (parse_etag(f'"{tag}"') for tag in opaque_tags if tag)
    return tuple(revision for revision in parsed if revision is not None)


# The OpenAPI paths whose answers carry an ETag (with_etag, or a digest of RDF bytes): what a
# client generated from the document needs to send If-Match / If-None-Match and read ETag.
ETAG_PATHS = frozenset(
    {
        "/catalog",
        "/datasets/{dataset_id}",
        "/datasets/{dataset_id}/pipeline",
        "/datasets/{dataset_id}/versions/{version}",
        "/datasets/{dataset_id}/versions/{version}/editions/{edition}",
        "/datasets/{dataset_id}/versions/{version}/editions/{edition}/distributions/{distribution}",
        "/pipelines/{template_id}",
    }
)


def _header(name: str, description: str) -> dict[str, object]:
    """An optional request header as an OpenAPI parameter."""
    return {
        "in": "header",
        "name": name,
        "required": False,
        "schema": {"type": "string"},
        "description": description,
    }


_IF_MATCH = _header(
    "If-Match", "Only if the resource is at one of these ETags (or `*`: exists); else 412."
)
_IF_NONE_MATCH = _header(
    "If-None-Match", "ETags the client holds (or `*`): 304 Not Modified when one is current."
)
_IF_NONE_MATCH_WRITE = _header(
    "If-None-Match",
    "Only if the resource is at none of these ETags (or `*`: does not exist); else 412.",
)
_ETAG = {"description": "The ETag of this state of the resource.", "schema": {"type": "string"}}
_NOT_MODIFIED = {"description": "Not Modified: If-None-Match names the current ETag; no body."}
_PRECONDITION_FAILED = {
    "description": "Precondition Failed: If-Match names another state of the resource.",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_PRECONDITION_FAILED_WRITE = {
    **_PRECONDITION_FAILED,
    "description": "Precondition Failed: If-Match names another state of the resource, or "
    "If-None-Match its current one (`*`: it exists); nothing was written.",
}


def document_conditions(paths: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the conditional-request headers and answers to the operations of ETAG_PATHS.

    Reads take If-Match and If-None-Match (304, 412); writes take both too (412); a 200 or
    201 answer carries ETag. Adds each once: the document may be completed again.
    """
    for path in ETAG_PATHS & paths.keys():
        for method, operation in paths[path].items():
            if method == "parameters":
                continue
            reading = method == "get"
            conditions = [_IF_MATCH, _IF_NONE_MATCH if reading else _IF_NONE_MATCH_WRITE]
            parameters = operation.setdefault("parameters", [])
            named = {(parameter.get("in"), parameter.get("name")) for parameter in parameters}
            parameters.extend(dict(c) for c in conditions if ("header", c["name"]) not in named)
            responses = operation["responses"]
            for status in ("200", "201"):
                if status in responses and "$ref" not in responses[status]:
                    responses[status].setdefault("headers", {}).setdefault("ETag", dict(_ETAG))
            if reading:
                responses.setdefault("304", dict(_NOT_MODIFIED))
            failed = _PRECONDITION_FAILED if reading else _PRECONDITION_FAILED_WRITE
            responses.setdefault("412", dict(failed))
