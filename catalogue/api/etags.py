"""ETags from stored revisions, and ``If-Match`` as a write condition for the store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request

from catalogue.domain.errors import PreconditionFailed
from catalogue.domain.revisions import Revision, etag, parse_etag


def with_etag(resource: Mapping[str, Any], status: int = 200, **headers: str) -> tuple:
    """A view result carrying the resource's ETag (and any extra headers).

    A dataset's resources carry its incarnation, so no ETag of a deleted dataset matches
    one of a new dataset with the same id.
    """
    tag = etag(resource["rev"], resource.get("incarnation"))
    return resource, status, {"ETag": tag, **headers}


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
