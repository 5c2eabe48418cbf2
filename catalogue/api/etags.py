"""ETags from stored revisions, ``If-Match`` as a write condition for the store, and
``If-Match`` (412) and ``If-None-Match`` (304 Not Modified) on reads.

How each write reads a condition (RFC 9110 13.1; 13.2.1: a request that would fail without
its conditions, a 404 say, fails so with them):

- a write to a resource with an ETag (PATCH, PUT, DELETE of ETAG_PATHS): checked by the
  store on the item it writes; a missing resource is 404 as without a condition, except
  where PUT would create it (a dataset's pipeline), where If-Match is 412;
- a create (POST of a collection, ``conditional_create``): on the resource it makes, whose
  id the client may choose: If-None-Match ``*`` holds where the id is free (412 where it is
  taken, rather than 409), and If-Match, which asks for a current state, never holds (412);
- a grant, which has no ETag: only ``*`` is checked (``check_presence``), an If-Match tag is
  412;
- any other write, to a resource without an ETag: If-Match and If-None-Match ``*`` are 412
  (``refuse_unchecked_conditions``), never silently ignored; If-None-Match tags hold.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from flask import Response, request
from werkzeug.http import parse_etags, unquote_etag

from catalogue.api.errors import error_response
from catalogue.domain.errors import AlreadyExists, PreconditionFailed
from catalogue.domain.revisions import Condition, Revision, etag, parse_etag

T = TypeVar("T")


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
    match); a 200 without an ETag (a list) fails every If-Match tag and matches no
    If-None-Match tag, but is a current representation: ``*`` holds for both.
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
    if condition is None:
        return response
    none_match = parse_etags(condition)
    if not (none_match.star_tag or (tag and none_match.contains_weak(opaque_tag or ""))):
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


def conditional_create(create: Callable[..., T]) -> Callable[..., T]:
    """A create view that honours If-Match and If-None-Match on the resource it makes.

    If-None-Match ``*`` turns the create's AlreadyExists (409) into PreconditionFailed
    (412): the store's create is itself conditional on the id being free, so two racing
    creates make one resource. If-Match is PreconditionFailed before anything is written:
    it asks for a current state, and a create never replaces one.
    """

    @functools.wraps(create)
    def view(*args: Any, **kwargs: Any) -> T:
        condition = write_condition()
        if condition is not None and (condition.match is not None or condition.match_any):
            raise PreconditionFailed(
                "If-Match asks for a resource in a current state, and POST makes a new one: "
                "nothing was created (PATCH or PUT changes an existing resource)"
            )
        if condition is None or not condition.none_match_any:
            return create(*args, **kwargs)
        try:
            return create(*args, **kwargs)
        except AlreadyExists as taken:
            raise PreconditionFailed(
                f"{taken.message}: If-None-Match * asks it not to exist; nothing was written"
            ) from None

    return view


# Endpoints whose writes check If-Match and If-None-Match themselves (see the module's
# docstring); a write to any other API endpoint that sends one is refused.
CONDITIONAL_WRITES = frozenset(
    {
        "datasets.Datasets",
        "datasets.DatasetById",
        "versions.Versions",
        "versions.VersionById",
        "versions.Editions",
        "versions.EditionById",
        "distributions.Distributions",
        "distributions.DistributionById",
        "pipelines.Templates",
        "pipelines.TemplateById",
        "pipelines.DatasetPipeline",
        "permissions.PermissionByPrincipal",
    }
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refuse_unchecked_conditions() -> Response | None:
    """Before each request: 412 for a write to a resource without an ETag that sends
    If-Match, or If-None-Match ``*``, which nothing would check.

    Ignored, such a condition would let a client believe its write was guarded when it was
    not. If-None-Match tags hold on a resource without an ETag (none of its states has one),
    so they pass. Pages (``web.*``) send their ETag in the form, not in headers.
    """
    current = request._get_current_object()  # type: ignore[attr-defined]
    environ = current.environ
    match_header = environ.get("HTTP_IF_MATCH")
    none_match_header = environ.get("HTTP_IF_NONE_MATCH")
    if match_header is None and none_match_header is None:
        return None
    rule = current.url_rule
    if current.method not in WRITE_METHODS or rule is None:
        return None
    if rule.endpoint in CONDITIONAL_WRITES or rule.endpoint.startswith("web."):
        return None
    if match_header is None and not parse_etags(none_match_header).star_tag:
        return None
    header = "If-Match" if match_header is not None else "If-None-Match *"
    return error_response(
        412,
        f"{current.method} {current.path} cannot check {header}: this resource carries no "
        "ETag, so nothing was done; send the request without the condition.",
    )


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


# Reads whose answer carries no ETag (a list, say): only ``*`` can hold.
_IF_MATCH_UNTAGGED = _header(
    "If-Match", "`*` holds (the answer exists). The answer has no ETag: a tag is 412."
)
_IF_NONE_MATCH_UNTAGGED = _header(
    "If-None-Match",
    "`*`: 304 Not Modified (the answer exists). The answer has no ETag: no tag matches.",
)
_NOT_MODIFIED_UNTAGGED = {"description": "Not Modified: If-None-Match is `*`; no body."}
_PRECONDITION_FAILED_UNTAGGED = {
    **_PRECONDITION_FAILED,
    "description": "Precondition Failed: If-Match names a tag, and the answer has no ETag.",
}


# Collections whose POST creates a resource under conditional_create.
CREATE_PATHS = frozenset(
    {
        "/datasets",
        "/datasets/{dataset_id}/versions",
        "/datasets/{dataset_id}/versions/{version}/editions",
        "/datasets/{dataset_id}/versions/{version}/editions/{edition}/distributions",
        "/pipelines",
    }
)
# Resources without an ETag whose writes check If-Match * and If-None-Match * (grants).
PRESENCE_PATHS = frozenset({"/datasets/{dataset_id}/permissions/{principal}"})
_IF_MATCH_CREATE = _header(
    "If-Match", "Never holds on a create (412): it asks for a current state of the resource."
)
_IF_NONE_MATCH_CREATE = _header(
    "If-None-Match", "`*`: create only if the id is free, else 412 (not 409)."
)
_IF_MATCH_PRESENCE = _header(
    "If-Match", "`*`: only if it exists, else 412. It has no ETag: a tag is always 412."
)
_IF_NONE_MATCH_PRESENCE = _header("If-None-Match", "`*`: only if it does not exist, else 412.")
_PRECONDITION_FAILED_CREATE = {
    **_PRECONDITION_FAILED,
    "description": "Precondition Failed: If-None-Match `*` and the id is taken, or If-Match "
    "sent; nothing was written.",
}
_PRECONDITION_FAILED_PRESENCE = {
    **_PRECONDITION_FAILED,
    "description": "Precondition Failed: If-Match `*` and it does not exist, If-None-Match "
    "`*` and it does, or an If-Match tag; nothing was written.",
}


def _add_conditions(
    operation: dict[str, Any], conditions: Iterable[dict[str, object]], failed: dict[str, Any]
) -> None:
    """Add the header parameters ``conditions`` and the 412 answer ``failed``, once each."""
    parameters = operation.setdefault("parameters", [])
    named = {(parameter.get("in"), parameter.get("name")) for parameter in parameters}
    parameters.extend(dict(c) for c in conditions if ("header", c["name"]) not in named)
    operation["responses"].setdefault("412", dict(failed))


def document_conditions(paths: Mapping[str, Mapping[str, Any]]) -> None:
    """Add the conditional-request headers and answers to the operations of ETAG_PATHS,
    to the creates (CREATE_PATHS) and grants (PRESENCE_PATHS), and to the other reads.

    Reads take If-Match and If-None-Match (304, 412); writes take both too (412); a 200 or
    201 answer carries ETag. Adds each once: the document may be completed again.
    """
    for path in CREATE_PATHS & paths.keys():
        if "post" in paths[path]:
            conditions = (_IF_MATCH_CREATE, _IF_NONE_MATCH_CREATE)
            _add_conditions(paths[path]["post"], conditions, _PRECONDITION_FAILED_CREATE)
    for path in PRESENCE_PATHS & paths.keys():
        for method, operation in paths[path].items():
            if method in ("put", "delete"):
                conditions = (_IF_MATCH_PRESENCE, _IF_NONE_MATCH_PRESENCE)
                _add_conditions(operation, conditions, _PRECONDITION_FAILED_PRESENCE)
    for path in ETAG_PATHS & paths.keys():
        for method, operation in paths[path].items():
            if method == "parameters":
                continue
            reading = method == "get"
            conditions = [_IF_MATCH, _IF_NONE_MATCH if reading else _IF_NONE_MATCH_WRITE]
            failed = _PRECONDITION_FAILED if reading else _PRECONDITION_FAILED_WRITE
            _add_conditions(operation, conditions, failed)
            responses = operation["responses"]
            for status in ("200", "201"):
                if status in responses and "$ref" not in responses[status]:
                    responses[status].setdefault("headers", {}).setdefault("ETag", dict(_ETAG))
            if reading:
                responses.setdefault("304", dict(_NOT_MODIFIED))
    # Every other read answering 200 (lists, runs, files) has no ETag, but a current answer
    # all the same: answer_conditional_read gives it 304 for If-None-Match ``*``.
    for path in paths.keys() - ETAG_PATHS:
        read = paths[path].get("get")
        if read is not None and "200" in read["responses"]:
            conditions = (_IF_MATCH_UNTAGGED, _IF_NONE_MATCH_UNTAGGED)
            _add_conditions(read, conditions, _PRECONDITION_FAILED_UNTAGGED)
            read["responses"].setdefault("304", dict(_NOT_MODIFIED_UNTAGGED))
