"""``find`` over candidates read in index order: the reference both stores answer alike.

The DynamoDB store feeds it the items its term index points at; the SQLite store computes
the same answer in SQL (``catalogue.store.sqlite_search``) and the contract suite proves
the two agree. The rules (``base.Find``): the first ``max_counted`` visible matches are
read and counted for facets; the first ``max_ranked`` of them passing every filter are
ranked.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import InvalidValue
from catalogue.store import ranking
from catalogue.store.base import (
    FIND_ORDERS,
    MAX_LIMIT,
    CountListed,
    Find,
    Found,
    Item,
    ItemStore,
    Page,
    Query,
)
from catalogue.store.paging import check_search, decode_cursor, encode_cursor, fingerprint


class FacetCounter:
    """Disjunctive counts over the items fed to ``add``.

    The counts of a facet are taken over the items matching every *other* filter: an item
    failing exactly one filter counts only in that filter's facet; one failing two counts
    nowhere. ``names`` are the facets counted; ``filters`` maps facet names to the value
    chosen. At most ``limit`` items are counted; ``full`` tells that the limit was reached.
    """

    def __init__(self, filters: Mapping[str, str], names: Sequence[str], *, limit: int) -> None:
        self.filters = dict(filters)
        self.names = tuple(names)
        self.counts: dict[str, dict[str, int]] = {name: {} for name in self.names}
        self.limit = limit
        self.seen = 0
        self.matched = 0

    @property
    def full(self) -> bool:
        return self.seen >= self.limit

    def add(self, values: Mapping[str, Sequence[str]]) -> None:
        """Count one item holding ``values`` (facet name -> its values)."""
        if self.seen >= self.limit:
            return
        self.seen += 1
        failed = None
        for name, wanted in self.filters.items():
            if wanted not in values.get(name, ()):
                if failed is not None:
                    return
                failed = name
        if failed is None:
            self.matched += 1
            targets: Iterable[str] = self.names
        elif failed in self.counts:
            targets = (failed,)
        else:
            return
        for name in targets:
            # Plain increments: Counter.update costs several times more per call, and
            # this runs for every item counted.
            counts = self.counts[name]
            for value in values.get(name, ()):
                counts[value] = counts.get(value, 0) + 1


def top(counts: Mapping[str, int], size: int) -> dict[str, int]:
    """The ``size`` values with the highest counts (ties by value), in that order."""
    if size <= 0:
        return {}
    # Only values counted at least as often as the size-th highest can be wanted: sorting
    # the bare counts (in C) finds that bound, and few values pass it. Five times faster
    # than a heap over thousands of keyword values, whose key ran in Python for each.
    ranked = sorted(counts.values(), reverse=True)
    bound = max(ranked[min(size, len(ranked)) - 1] if ranked else 1, 1)
    # (-count, value) pairs sort in C, with no key function called per value.
    wanted = [(-count, value) for value, count in counts.items() if count >= bound]
    wanted.sort()
    return {value: -negated for negated, value in wanted[:size]}


def check_find(request: Find) -> None:
    """Raise ValueError for a request neither backend can run."""
    check_search(request.scope, request.limit)
    if request.order not in FIND_ORDERS:
        raise ValueError(f"order is one of {', '.join(FIND_ORDERS)}, not {request.order!r}")


def find_id(request: Find, query: ranking.SearchQuery) -> str:
    """The fingerprint of a request's cursors: the same request in any term order."""
    return fingerprint(
        "find",
        request.scope,
        query.key(),
        request.order,
        sorted(request.filters.items()),
        request.classes,
        sorted(request.grants),
    )


def start_of(request: Find, query_id: str) -> tuple[list[Any] | None, list[float] | None]:
    """The sort key a request's cursor resumes after (None without a cursor), and the
    field-length averages a relevance cursor ranks with (``ranking.resumed``; None: those
    of the matches, as on a first page, or for a cursor handed out without them)."""
    if request.cursor is None:
        return None, None
    start, averages = decode_cursor(request.cursor, query_id), None
    if request.order == "relevance":
        start, averages = ranking.resumed(start)
    width = 4 if request.order == "relevance" else 3
    if not isinstance(start, list) or len(start) != width:
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return start, averages


def next_position(request: Find, key: list[Any], averages: list[float]) -> list[Any]:
    """The position a cursor of ``request`` resumes after ``key`` from."""
    return ranking.ranked_position(key, averages) if request.order == "relevance" else key


def meta(item: Item) -> Mapping[str, Any]:
    stored = item.get("search_meta")
    return stored if isinstance(stored, Mapping) else {}


def sort_key(order: str, item: Item, score: float) -> list[Any]:
    """Where ``item`` sorts in ``order``: ascending lists, ties broken by (pk, sk)."""
    details = meta(item)
    if order == "title":
        return [str(details.get("title", "")), item["pk"], item["sk"]]
    recency = details.get("recency", 0)
    if order == "recency":
        return [recency, item["pk"], item["sk"]]
    return [-score, recency, item["pk"], item["sk"]]


def find_in(request: Find, candidates: Iterable[Item]) -> Found:
    """Answer ``request`` from ``candidates``: items matching its text, in index order."""
    check_find(request)
    query = ranking.parse(request.text)
    query_id = find_id(request, query)
    start, averages = start_of(request, query_id)
    counter = FacetCounter(request.filters, request.facets, limit=request.max_counted)
    ranked: list[Item] = []
    for item in _visible(request, candidates):
        values = item.get("facet_values") or {}
        counter.add(values)
        passes = all(value in values.get(name, ()) for name, value in request.filters.items())
        if passes and len(ranked) < request.max_ranked:
            ranked.append(item)
        if counter.full:
            break
    item_scores, averages = ranking.ranking_of(query, ranked, averages)
    keyed = sorted(
        (sort_key(request.order, item, score), item)
        for item, score in zip(ranked, item_scores, strict=True)
    )
    if start is not None:
        keyed = [pair for pair in keyed if _after(pair[0], start)]
    page = keyed[: request.limit]
    more = len(keyed) > request.limit
    return Found(
        Page(
            [item for _, item in page],
            encode_cursor(query_id, next_position(request, page[-1][0], averages))
            if more
            else None,
        ),
        {name: top(counter.counts[name], request.top) for name in request.facets},
        # Only a request counting facets reports them (SQL counts nothing more otherwise).
        counter.matched if request.facets else 0,
        counter.full if request.facets else False,
    )


def _visible(request: Find, candidates: Iterable[Item]) -> Iterator[Item]:
    """The distinct candidates the request's caller sees."""
    seen: set[tuple[str, str]] = set()
    for item in candidates:
        key = (item["pk"], item["sk"])
        if key in seen:
            continue
        seen.add(key)
        if request.classes is not None:
            details = meta(item)
            if details.get("access") not in request.classes and (
                details.get("grant") not in request.grants
            ):
                continue
        yield item


def _after(key: list[Any], start: list[Any]) -> bool:
    try:
        return key > start
    except TypeError:
        raise InvalidValue("cursor", "not a cursor this service handed out") from None


def count_entries(store: ItemStore, request: CountListed) -> Found:
    """``count_listed`` over the partition's own entries (``request.visible`` and ``values``)."""
    counter = FacetCounter(request.filters, request.facets, limit=request.max_counted)
    query = Query(request.partition, where=request.visible)
    cursor: str | None = None
    while not counter.full:
        page = store.query(query, limit=MAX_LIMIT, cursor=cursor)
        for entry in page.items:
            counter.add(request.values(entry))
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    return Found(
        Page([], None),
        {name: top(counter.counts[name], request.top) for name in request.facets},
        counter.matched,
        counter.full,
    )
