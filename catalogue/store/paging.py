"""Reads both backends share: checking queries, cursors, and reading a page either way."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from catalogue.domain.errors import InvalidValue
from catalogue.store.base import MAX_LIMIT, Item, Page, Predicate, Query

# One encoder for every cursor: json.dumps with options builds a new one per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def check_limit(limit: int) -> None:
    """Raise ValueError for a page size outside 1..MAX_LIMIT."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be an integer from 1 to {MAX_LIMIT}, not {limit!r}")


def check_query(query: Query, limit: int) -> None:
    """Raise ValueError for a query neither backend can run."""
    check_limit(limit)
    if not (isinstance(query.partition, str) and query.partition):
        raise ValueError(f"a query's partition is a non-empty string, not {query.partition!r}")
    if not isinstance(query.prefix, str):
        raise ValueError(f"a query's prefix is a string, not {query.prefix!r}")
    if query.after is not None:
        if not (isinstance(query.after, str) and query.after):
            raise ValueError(f"a query's after is a non-empty string, not {query.after!r}")
        if query.prefix:
            raise ValueError("a query takes a prefix or an after, not both")


def check_search(scope: str, limit: int) -> None:
    """Raise ValueError for a search neither backend can run."""
    check_limit(limit)
    if not (isinstance(scope, str) and scope):
        raise ValueError(f"a search scope is a non-empty string, not {scope!r}")


def fingerprint(*parts: object) -> str:
    """A short digest naming one query, so its cursors are refused by any other."""
    text = _encode(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def encode_cursor(query_id: str, position: Any, *, before: bool = False) -> str:
    """An opaque cursor: base64url JSON of the query's fingerprint and a position.

    A ``before`` cursor reads the items preceding ``position`` (None: the end of the query).
    """
    payload: dict[str, Any] = {"q": query_id, "p": position}
    if before:
        payload["b"] = 1
    data = _encode(payload)
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query_id: str) -> Any:
    """The position held by ``cursor``; InvalidValue(field="cursor") unless it fits the query.

    Only cursors read forwards are accepted (searches hand out no others).
    """
    position, before = decode_query_cursor(cursor, query_id)
    if before:
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return position


def decode_query_cursor(cursor: str, query_id: str) -> tuple[Any, bool]:
    """The position held by ``cursor`` and whether it reads before it.

    Raises InvalidValue(field="cursor") unless the cursor fits the query.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, TypeError, AttributeError):
        raise InvalidValue("cursor", "not a cursor this service handed out") from None
    if not isinstance(data, dict) or "p" not in data or data.get("b", 1) != 1:
        raise InvalidValue("cursor", "not a cursor this service handed out")
    if data.get("q") != query_id:
        raise InvalidValue("cursor", "the cursor belongs to another query")
    before = "b" in data
    if data["p"] is None and not before:
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return data["p"], before


def strings(position: Any, count: int) -> list[str]:
    """``position`` as a list of ``count`` strings; InvalidValue(field="cursor") otherwise."""
    if (
        not isinstance(position, list)
        or len(position) != count
        or not all(isinstance(part, str) for part in position)
    ):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return position


def batch_sizes(
    limit: int, where: Predicate | None, *, first: int = 1, growth: int = 2
) -> Iterator[int]:
    """Items to read per round trip of a query page: the page plus one of look-ahead, then more.

    The look-ahead tells whether a next page exists. Items a filter rejects are made up by
    batches growing ``growth`` times; with a filter, the first reads ``first`` times the
    page. Starting small keeps pages from decoding items they never return (decoding
    dominates a page's cost on SQLite): a list that hides a third of the datasets from its
    caller reads about two pages' worth, where a second batch of 200 read ten. A store
    whose round trips cost more (DynamoDB) starts larger and grows faster.
    """
    size = limit + 1
    if where is not None:
        size *= first
    while True:
        yield min(size, 2000)
        if where is not None:
            size *= growth


# A batch read: from a position (None = start), the items in order, each with its own
# position, and the position to read on from (None = nothing further).
Fetch = Callable[[Any], tuple[list[tuple[Item, Any]], Any]]


def read_matches(
    fetch: Fetch, start: Any, limit: int, where: Predicate | None
) -> tuple[list[tuple[Item, Any]], bool]:
    """Up to ``limit`` items accepted by ``where`` with their positions, and whether more match."""
    matched: list[tuple[Item, Any]] = []
    position = start
    while True:
        rows, position = fetch(position)
        for item, item_position in rows:
            if where is None or where(item):
                matched.append((item, item_position))
                if len(matched) > limit:
                    return matched[:limit], True
        if position is None:
            return matched, False


# A batch read of a query in its own order (False) or reversed (True); see Fetch.
DirectedFetch = Callable[[Any, bool], tuple[list[tuple[Item, Any]], Any]]


def query_page(
    fetch: DirectedFetch,
    query_id: str,
    start: Any,
    before: bool,
    limit: int,
    where: Predicate | None,
) -> Page:
    """One page of a query from a decoded cursor, with its next and previous cursors.

    Forwards from ``start`` (None: the beginning) or, for a ``before`` cursor, the ``limit``
    matching items preceding ``start`` (None: the end), read in reverse and returned in the
    query's order. A cursor's position is that of an item which matched when it was handed
    out, so the side a page was read from has items without reading them again.
    """
    matched, has_more = read_matches(lambda position: fetch(position, before), start, limit, where)
    if before:
        matched.reverse()
        has_next, has_previous = start is not None, has_more
    else:
        has_next, has_previous = has_more, start is not None
    if not matched:
        return Page([], None, None, before)
    return Page(
        [item for item, _ in matched],
        encode_cursor(query_id, matched[-1][1]) if has_next else None,
        encode_cursor(query_id, matched[0][1], before=True) if has_previous else None,
        before,
    )
