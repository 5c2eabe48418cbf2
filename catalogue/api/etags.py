"""ETags from stored revisions, and ``If-Match`` as a write condition for the store."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import request

from catalogue.domain.errors import PreconditionFailed

_ETAG = re.compile(r'^"r(\d+)"$')


def etag(rev: int) -> str:
    return f'"r{rev}"'


def with_etag(resource: Mapping[str, Any], status: int = 200, **headers: str) -> tuple:
    """A view result carrying the resource's ETag (and any extra headers)."""
    return resource, status, {"ETag": etag(resource["rev"]), **headers}


def if_match() -> int | None:
    """The revision ``If-Match`` asks for; None when absent or ``*``.

    Raises PreconditionFailed for a list of tags or any tag this API did not hand out
    (weak tags never match, as RFC 9110 says for If-Match).
    """
    value = request.headers.get("If-Match")
    if value is None or value.strip() == "*":
        return None
    match = _ETAG.match(value.strip())
    if not match:
        raise PreconditionFailed("If-Match does not match the current ETag")
    return int(match.group(1))
