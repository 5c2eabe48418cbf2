"""ETags: a stored revision, qualified by the incarnation of the dataset it belongs to.

A store revision starts again at 1 when an id is deleted and created again, so a dataset's
resources carry its incarnation in their ETags: an ETag of a deleted dataset never matches
anything of a new dataset with the same id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catalogue.domain.errors import PreconditionFailed

_ETAG = re.compile(r'^"r(\d+)(?:\.([0-9A-Za-z-]{1,64}))?"$')


@dataclass(frozen=True, slots=True)
class Revision:
    """What an ETag names: a revision of an item of one incarnation (None: not a dataset's)."""

    rev: int
    incarnation: str | None = None


def etag(rev: int, incarnation: str | None = None) -> str:
    """The ETag of revision ``rev`` (of a resource of the dataset incarnation, if any)."""
    return f'"r{rev}"' if incarnation is None else f'"r{rev}.{incarnation}"'


def parse_etag(value: str) -> Revision | None:
    """The revision an ETag this service handed out names; None for any other text."""
    match = _ETAG.match(value.strip())
    if not match:
        return None
    return Revision(int(match.group(1)), match.group(2))


def is_stale(if_match: Revision | None, item: Mapping[str, Any]) -> bool:
    """Whether ``If-Match`` was given and names anything but ``item`` as it is now."""
    if if_match is None:
        return False
    return if_match.rev != item["rev"] or if_match.incarnation != item.get("incarnation")


def check_fresh(if_match: Revision | None, item: Mapping[str, Any] | None, what: str) -> None:
    """Raise PreconditionFailed, naming the resource and its current ETag, when ``If-Match``
    names an old state.

    ``what`` names the resource (``dataset 'trees'``); ``item`` is its stored item, or None
    when it does not exist (an If-Match then never matches).
    """
    if if_match is None:
        return
    given = etag(if_match.rev, if_match.incarnation)
    if item is None:
        raise PreconditionFailed(f"{what} does not exist: If-Match {given} matches nothing")
    if is_stale(if_match, item):
        # The current ETag, not only its revision: an If-Match of the same revision without
        # the dataset's part ("r1") would read "revision 1, If-Match "r1"", as if it matched.
        current = etag(item["rev"], item.get("incarnation"))
        raise PreconditionFailed(f"{what} changed: If-Match {given}, its ETag is now {current}")
