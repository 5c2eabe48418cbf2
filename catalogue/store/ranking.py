"""Search matching and ranking both stores share, so SQLite and DynamoDB answer alike.

A store finds the candidates of a query through its own index (``SearchQuery.whole`` terms
whole, the last term also as a prefix of at least MIN_PREFIX characters), hands them here,
and this module decides which match, how they score and in what order they are paged.

Ranking is BM25F over the fields of ``search_text`` (separated by FIELD_SEPARATOR, weighted
by FIELD_WEIGHTS and length-normalised by FIELD_B: title, keywords, description). Field
lengths are averaged over the candidates the caller may see, and no inverse document
frequency takes part: every result holds every query term, so over the visible matches each
term's document frequency is the same and its IDF a constant factor. Corpus-wide statistics
would count hidden items and let their presence reorder (and so reveal) the visible ones.

Every float is computed from the candidate set alone (the length averages from exact integer
sums, each score from its own item's terms in a fixed order), so the order does not depend
on the order a backend read the candidates in, and SQL computing the same operations in the
same order (``catalogue.store.sqlite_search``) gets the same floats. Past MAX_CANDIDATES
matches only the first MAX_CANDIDATES (in the backend's index order) are ranked.

The averages change as matches are added, and with them every score: a cursor resuming
after a score would then skip or repeat matches. So a cursor of a ranked search ends with
the averages its first page was ranked with (``ranked_position``), and its later pages rank
with them (``resumed``): a match keeps its score from page to page, so each match that
existed when the first page was served comes once, in that page's order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.domain.errors import InvalidValue
from catalogue.store import paging
from catalogue.store.base import (
    FIELD_SEPARATOR,
    MAX_TERM_BYTES,
    SEARCH_FIELDS,
    Item,
    Page,
    Predicate,
    tokens,
)

# Title, keywords, description; a text without separators is one field of the first weight.
FIELD_WEIGHTS = (4.0, 2.0, 1.0)
# Length normalisation per field: titles and keyword lists are short, and a word in a title
# of three should still outweigh the same word as one of two keywords.
FIELD_B = (0.5, 0.5, 0.75)
K1 = 1.2
MIN_PREFIX = 2
MAX_CANDIDATES = 10_000


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The terms of a query: ``whole`` match exactly, ``prefix`` starts a term."""

    whole: tuple[str, ...]
    prefix: str | None

    @property
    def empty(self) -> bool:
        return not self.whole and self.prefix is None

    def matches(self, terms: Iterable[str]) -> bool:
        """Whether an item indexed under ``terms`` holds every query term."""
        held = set(terms)
        if not held.issuperset(self.whole):
            return False
        return self.prefix is None or any(term.startswith(self.prefix) for term in held)

    @property
    def indexable(self) -> bool:
        """Whether every term fits the index: a longer one matches no item (MAX_TERM_BYTES)."""
        terms = (*self.whole, *([self.prefix] if self.prefix is not None else []))
        return all(len(term.encode()) <= MAX_TERM_BYTES for term in terms)

    def key(self) -> list[Any]:
        """What names the query in a cursor fingerprint."""
        return [sorted(self.whole), self.prefix]


def parse(text: str) -> SearchQuery:
    """The query of ``text``: its last term is a prefix when it has MIN_PREFIX characters."""
    terms = list(dict.fromkeys(tokens(text)))
    if terms and len(terms[-1]) >= MIN_PREFIX:
        return SearchQuery(tuple(terms[:-1]), terms[-1])
    return SearchQuery(tuple(terms), None)


def open_search(
    scope: str, text: str, *, limit: int, cursor: str | None, order: SearchOrder | None
) -> tuple[SearchQuery, SearchOrder, str, Any]:
    """A ``search`` call's checked arguments: its query, order, cursor fingerprint and start.

    Raises as ``ItemStore.search`` says: ValueError for the scope or limit, InvalidValue
    for a cursor of another search.
    """
    paging.check_search(scope, limit)
    order = order or RELEVANCE
    query = parse(text)
    query_id = paging.fingerprint("search", scope, query.key(), order.name)
    start = None if cursor is None else paging.decode_cursor(cursor, query_id)
    return query, order, query_id, start


# An order: its name (part of the cursor's fingerprint) and the sort key of an item with its
# relevance score. Keys are lists of numbers and strings, compared element by element.
@dataclass(frozen=True, slots=True)
class SearchOrder:
    """How ranked results are ordered and paged."""

    name: str
    key: Callable[[Item, float], list[Any]]


RELEVANCE = SearchOrder("relevance", lambda item, score: [-score, item["pk"], item["sk"]])


def scores(
    query: SearchQuery, items: Sequence[Item], averages: Sequence[float] | None = None
) -> list[float]:
    """The BM25F score of each item for ``query`` (see the module notes)."""
    return ranking_of(query, items, averages)[0]


def ranking_of(
    query: SearchQuery, items: Sequence[Item], averages: Sequence[float] | None = None
) -> tuple[list[float], list[float]]:
    """The BM25F score of each item and the field-length averages they were computed with.

    The averages are those of ``items`` unless given (``averages``, as a cursor holds them).
    """
    fields = [_fields(item) for item in items]
    # Sums of integers: exact, so the averages do not depend on the order of the items.
    average = (
        list(averages)
        if averages is not None
        else [
            math.fsum(len(parts[index]) for parts in fields if index < len(parts)) / len(fields)
            if fields
            else 0.0
            for index in range(SEARCH_FIELDS)
        ]
    )
    wanted = [*((term, False) for term in query.whole)]
    if query.prefix is not None:
        wanted.append((query.prefix, True))
    result = []
    for parts in fields:
        # Added up in a fixed order (fields in order, then the terms in query order), the
        # one the SQLite store's SQL repeats, so both compute the very same floats.
        total = 0.0
        for term, is_prefix in wanted:
            weighted = 0.0
            for index, words in enumerate(parts):
                weighted += (
                    _weight(index)
                    * _count(words, term, is_prefix)
                    / _normaliser(index, len(words), average[index])
                )
            total += weighted / (K1 + weighted) if weighted else 0.0
        result.append(total)
    return result, average


def ranked_position(key: list[Any], averages: Sequence[float]) -> list[Any]:
    """A ranked search's cursor position: the sort key of the last item returned, then the
    field-length averages the search ranked with (a key holds no list)."""
    return [*key, list(averages)]


def resumed(position: Any) -> tuple[Any, list[float] | None]:
    """The sort key and the averages of a cursor's position (None: a key alone).

    Raises InvalidValue(field="cursor") for averages no search computed.
    """
    if not (isinstance(position, list) and position and isinstance(position[-1], list)):
        return position, None
    averages = position[-1]
    if len(averages) != SEARCH_FIELDS or not all(
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
        for value in averages
    ):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return position[:-1], [float(value) for value in averages]


def _fields(item: Item) -> list[list[str]]:
    text = item.get("search_text")
    if not isinstance(text, str):
        return []
    return [tokens(part) for part in text.split(FIELD_SEPARATOR)]


def _weight(index: int) -> float:
    return FIELD_WEIGHTS[min(index, len(FIELD_WEIGHTS) - 1)]


def _normaliser(index: int, length: int, average: float) -> float:
    if not average:
        return 1.0
    b = FIELD_B[min(index, len(FIELD_B) - 1)]
    return 1 - b + b * length / average


def _count(words: list[str], term: str, is_prefix: bool) -> int:
    if is_prefix:
        return sum(1 for word in words if word.startswith(term))
    return words.count(term)


def ranked_page(
    query: SearchQuery,
    candidates: Iterable[Item],
    *,
    order: SearchOrder,
    query_id: str,
    start: Any,
    limit: int,
    where: Predicate | None,
    observe: Callable[[Item], None] | None = None,
) -> Page:
    """One page of the matches among ``candidates``, in ``order``, after position ``start``.

    A cursor holds the sort key of the last item returned and the averages the search
    ranked with, so every match appears exactly once across pages, matches added between
    pages changing no score (see the module notes). ``observe`` sees every distinct
    candidate read, before ``where``.
    """
    from catalogue.store.paging import encode_cursor

    start, averages = resumed(start)
    seen: set[tuple[str, str]] = set()
    wanted: list[Item] = []
    for item in candidates:
        key = (item["pk"], item["sk"])
        if key in seen:
            continue
        seen.add(key)
        if observe is not None:
            observe(item)
        if where is not None and not where(item):
            continue
        wanted.append(item)
        if len(wanted) >= MAX_CANDIDATES:
            break
    item_scores, averages = ranking_of(query, wanted, averages)
    keyed = sorted(
        ((order.key(item, score), item) for item, score in zip(wanted, item_scores, strict=True)),
        key=lambda pair: pair[0],
    )
    if start is not None:
        keyed = [pair for pair in keyed if _after(pair[0], start)]
    page = keyed[:limit]
    more = len(keyed) > limit
    return Page(
        [item for _, item in page],
        encode_cursor(query_id, ranked_position(page[-1][0], averages)) if more else None,
    )


def _after(key: list[Any], start: Any) -> bool:
    if not isinstance(start, list) or len(start) != len(key):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    try:
        return key > start
    except TypeError:
        raise InvalidValue("cursor", "not a cursor this service handed out") from None
