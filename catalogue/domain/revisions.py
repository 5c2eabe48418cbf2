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


@dataclass(frozen=True, slots=True)
class Condition:
    """What a write's ``If-Match`` and ``If-None-Match`` ask of the resource's current state.

    RFC 9110 section 13.1: ``match`` holds the revisions of If-Match, one of which it must be
    at (None: no If-Match; ``match_any`` for ``*``: it must exist); ``none_match`` those of
    If-None-Match, none of which it may be at (``none_match_any`` for ``*``: it must not exist).
    """

    match: tuple[Revision, ...] | None = None
    match_any: bool = False
    none_match: tuple[Revision, ...] = ()
    none_match_any: bool = False

    @classmethod
    def at(cls, revision: Revision) -> Condition:
        """An If-Match of one revision."""
        return cls(match=(revision,))


def is_at(revision: Revision, item: Mapping[str, Any]) -> bool:
    """Whether ``item`` as it is now is at ``revision`` (its incarnation included)."""
    return revision.rev == item["rev"] and revision.incarnation == item.get("incarnation")


def check_fresh(condition: Condition | None, item: Mapping[str, Any] | None, what: str) -> None:
    """Raise PreconditionFailed, naming the resource and its current ETag, when ``If-Match``
    names no current state, or ``If-None-Match`` names it (or is ``*`` and it exists).

    ``what`` names the resource (``dataset 'trees'``); ``item`` is its stored item, or None
    when it does not exist (an If-Match then never matches, an If-None-Match always holds).
    Called on the item the write is conditional on, so the check holds when the write lands.
    """
    if condition is None:
        return
    if condition.match is not None or condition.match_any:
        given = ", ".join(etag(r.rev, r.incarnation) for r in condition.match or ()) or "*"
        if item is None:
            raise PreconditionFailed(f"{what} does not exist: If-Match {given} matches nothing")
        if condition.match is not None and not any(is_at(r, item) for r in condition.match):
            # The current ETag, not only its revision: an If-Match of the same revision
            # without the dataset's part ("r1") would read "revision 1, If-Match "r1"", as
            # if it matched.
            current = etag(item["rev"], item.get("incarnation"))
            raise PreconditionFailed(f"{what} changed: If-Match {given}, its ETag is now {current}")
    if item is None:
        return
    current = etag(item["rev"], item.get("incarnation"))
    if condition.none_match_any:
        raise PreconditionFailed(f"{what} exists (ETag {current}): If-None-Match * asks it not to")
    if any(is_at(r, item) for r in condition.none_match):
        raise PreconditionFailed(f"{what} is still at ETag {current}, which If-None-Match names")


def check_presence(condition: Condition | None, exists: bool, what: str) -> None:
    """``check_fresh`` for a resource that carries no ETag: only ``*`` can be checked.

    Raises PreconditionFailed, naming ``what``, when If-Match names tags (no tag is one of
    its states), is ``*`` and it does not exist, or If-None-Match is ``*`` and it exists.
    If-None-Match tags always hold: no state of it has one.
    """
    if condition is None:
        return
    if condition.match is not None:
        raise PreconditionFailed(
            f"{what} carries no ETag, so no If-Match tag names it; send If-Match * "
            "(it must exist) or no If-Match"
        )
    if condition.match_any and not exists:
        raise PreconditionFailed(f"{what} does not exist: If-Match * matches nothing")
    if condition.none_match_any and exists:
        raise PreconditionFailed(f"{what} exists: If-None-Match * asks it not to")
