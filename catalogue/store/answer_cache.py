"""Search answers kept per process, reused while nothing they read changed.

A search with facet counts costs 20-30 ms of CPU at 10,000-100,000 datasets on SQLite, and
far more on DynamoDB, where it reads every match; the same request asked again (the search
page as people type and page, a portal polling a list) costs one read here: the store's
search generation, one number that every change to what searches read advances in the
same transaction, so a write committed by any process is seen by the next read as a new
generation. An answer is reused only under the generation it was computed at. SQLite keeps
it in a table advanced by triggers (``migrations/0006_search_generation``), DynamoDB in one
item (``catalogue.store.dynamodb_answers``).

The key of an answer is the whole request, the caller's visibility included (the access
classes it sees whole and its grants, both part of ``Find`` and ``CountListed``): an answer
is a function of the request and the stored data alone, so one caller's answer holds only
what a caller asking the very same request sees. Callers get answers they may change
without changing the one kept (SQLite keeps bodies as stored text and decodes them afresh).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogue.store.base import CountListed, Find
    from catalogue.store.ranking import SearchQuery

# Answers kept per store and process, least recently used dropped first past either bound.
# Bytes are estimated by the caller (``weigh``): a search answer holds its page's stored
# bodies (~1.7 KB each at bench/search.py's datasets: ~35 KB at a page of 20, ~85 KB at 50)
# and its top facet values; the counters of one access class hold every keyword (~0.7 MB at
# 4,700 keywords). 32 MiB keeps ~900 searches of 20: the distinct searches of several
# minutes on a busy catalogue, and the ~450 answers one round of bench/search.py asks.
MAX_ANSWERS = 4096
MAX_BYTES = 32 * 1024 * 1024
# What ``AnswerCache.kept`` answers when it keeps no answer (None may be one).
MISSING: Any = object()
# What a kept count costs beside its text: a dict entry, a string and an int object.
BYTES_PER_COUNT = 150


def counted_bytes(counts: dict[str, dict[str, int]]) -> int:
    """An estimate of the memory ``counts`` take (facet name -> value -> count)."""
    return sum(
        BYTES_PER_COUNT * len(values) + sum(len(value) for value in values)
        for values in counts.values()
    )


def items_bytes(items: Iterable[Any]) -> int:
    """An estimate of the memory decoded items take: the length of their JSON text."""
    return sum(len(json.dumps(item, default=str)) for item in items)


def generation(conn: sqlite3.Connection) -> int:
    """The store's search generation, as committed (or as the open transaction sees it)."""
    (value,) = conn.execute("SELECT generation FROM search_generation WHERE id = 0").fetchone()
    return int(value)


def counting_key(request: Find | CountListed) -> tuple[Hashable, ...]:
    """What names the counting and visibility of a ``find`` or ``count_listed`` in a key.

    ``classes`` and ``grants`` stand for the caller: SQLite decides visibility from them
    alone, and a CountListed's ``visible`` agrees with them (its caller makes it so).
    """
    return (
        tuple(sorted(request.filters.items())),
        request.classes,
        request.grants,
        request.facets,
        request.top,
        request.max_counted,
    )


def find_key(request: Find, query: SearchQuery) -> tuple[Hashable, ...]:
    """The key of the answer of ``find(request)``, its text parsed as ``query``."""
    # The parsed terms in query order stand for the text: they alone decide the matches and
    # the order the scores add up in.
    return (
        "find",
        request.scope,
        query.whole,
        query.prefix,
        request.limit,
        request.cursor,
        request.order,
        request.max_ranked,
        *counting_key(request),
    )


def count_listed_key(request: CountListed) -> tuple[Hashable, ...]:
    """The key of the answer of ``count_listed(request)``."""
    return ("count_listed", request.partition, *counting_key(request))


def fresh(value: Any) -> Any:
    """A copy of a JSON-like ``value`` (dicts, lists, scalars) its caller may change."""
    if isinstance(value, dict):
        return {name: fresh(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [fresh(inner) for inner in value]
    return value


class AnswerCache:
    """The answers last asked, each with the generation it was read at; thread safe.

    At most ``size`` answers of ``max_bytes`` together (as their ``weigh`` estimates), each
    reused for at most ``max_age`` seconds when given.
    """

    def __init__(
        self,
        size: int = MAX_ANSWERS,
        max_bytes: int = MAX_BYTES,
        *,
        max_age: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._max_age = max_age
        self._clock = clock
        self._bytes = 0
        # key -> (generation, answer, its estimated bytes, when it was kept)
        self._answers: OrderedDict[Hashable, tuple[int, Any, int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, key: Hashable, current: int) -> Any:
        """The answer of ``key`` kept under the generation ``current``, or ``MISSING``."""
        with self._lock:
            kept = self._answers.get(key)
            if kept is None or kept[0] != current:
                return MISSING
            if self._max_age is not None and self._clock() - kept[3] > self._max_age:
                return MISSING
            self._answers.move_to_end(key)
            return kept[1]

    def answer(
        self,
        conn: sqlite3.Connection,
        key: Hashable,
        compute: Callable[[], Any],
        weigh: Callable[[Any], int],
    ) -> Any:
        """The answer of ``key``: kept if read at the current generation, else ``compute()``d.

        ``compute`` runs in a read transaction on ``conn`` that also reads the generation,
        so the answer kept is exactly that of the generation it is kept under. Whatever it
        raises is raised, and nothing is kept. ``weigh`` estimates an answer's bytes.
        """
        kept = self.kept(key, generation(conn))
        if kept is not MISSING:
            return kept
        if conn.in_transaction:
            # Asked while computing another answer: its read transaction serves this one.
            value = compute()
            self.keep(key, generation(conn), value, weigh(value))
            return value
        conn.execute("BEGIN")
        try:
            current = generation(conn)
            value = compute()
        finally:
            conn.execute("COMMIT")
        self.keep(key, current, value, weigh(value))
        return value

    def keep(self, key: Hashable, current: int, value: Any, weight: int) -> None:
        """Keep ``value`` (of ``weight`` bytes) as the answer of ``key`` at ``current``."""
        with self._lock:
            replaced = self._answers.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced[2]
            self._answers[key] = (current, value, weight, self._clock())
            self._bytes += weight
            while len(self._answers) > self._size or (
                self._bytes > self._max_bytes and len(self._answers) > 1
            ):
                _, (_, _, dropped, _) = self._answers.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()
            self._bytes = 0
