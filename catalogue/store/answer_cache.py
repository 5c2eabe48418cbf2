"""Search answers of the SQLite store kept per process, reused while nothing they read changed.

A search with facet counts costs 20-30 ms of CPU at 10,000-100,000 datasets; the same
request asked again (the search page as people type and page, a portal polling a list)
costs one query here: the store's search generation (``migrations/0006_search_generation``),
which triggers advance in the transaction of every change to what searches read, so a
write committed by any connection of any process is seen by the next read as a new
generation. An answer is reused only under the generation it was computed at.

The key of an answer is the whole request, the caller's visibility included (the access
classes it sees whole and its grants, both part of ``Find`` and ``CountListed``): an answer
is a function of the request and the stored data alone, so one caller's answer holds only
what a caller asking the very same request sees. Answers hold what the store read (bodies as
stored text), so each caller decodes fresh items it may change.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogue.store.base import CountListed, Find

# Answers kept per store and process, least recently used dropped first past either bound.
# Bytes are estimated by the caller (``weigh``): a search answer holds its page's stored
# bodies (~1.7 KB each at bench/search.py's datasets: ~35 KB at a page of 20, ~85 KB at 50)
# and its top facet values; the counters of one access class hold every keyword (~0.7 MB at
# 4,700 keywords). 32 MiB keeps ~900 searches of 20: the distinct searches of several
# minutes on a busy catalogue, and the ~450 answers one round of bench/search.py asks.
MAX_ANSWERS = 4096
MAX_BYTES = 32 * 1024 * 1024
# What a kept count costs beside its text: a dict entry, a string and an int object.
BYTES_PER_COUNT = 150


def counted_bytes(counts: dict[str, dict[str, int]]) -> int:
    """An estimate of the memory ``counts`` take (facet name -> value -> count)."""
    return sum(
        BYTES_PER_COUNT * len(values) + sum(len(value) for value in values)
        for values in counts.values()
    )


def generation(conn: sqlite3.Connection) -> int:
    """The store's search generation, as committed (or as the open transaction sees it)."""
    (value,) = conn.execute("SELECT generation FROM search_generation WHERE id = 0").fetchone()
    return int(value)


def counting_key(request: Find | CountListed) -> tuple[Hashable, ...]:
    """What names the counting and visibility of a ``find`` or ``count_listed`` in a key.

    SQLite decides visibility from ``classes`` and ``grants`` alone (never the ``visible``
    predicate of a CountListed), so they stand for the caller.
    """
    return (
        tuple(sorted(request.filters.items())),
        request.classes,
        request.grants,
        request.facets,
        request.top,
        request.max_counted,
    )


class AnswerCache:
    """The answers last asked, each with the generation it was read at; thread safe.

    At most ``size`` answers of ``max_bytes`` together (as their ``weigh`` estimates).
    """

    def __init__(self, size: int = MAX_ANSWERS, max_bytes: int = MAX_BYTES) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        # key -> (generation, answer, its estimated bytes)
        self._answers: OrderedDict[Hashable, tuple[int, Any, int]] = OrderedDict()
        self._lock = threading.Lock()

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
        current = generation(conn)
        with self._lock:
            kept = self._answers.get(key)
            if kept is not None and kept[0] == current:
                self._answers.move_to_end(key)
                return kept[1]
        conn.execute("BEGIN")
        try:
            current = generation(conn)
            value = compute()
        finally:
            conn.execute("COMMIT")
        self._keep(key, current, value, weigh(value))
        return value

    def _keep(self, key: Hashable, current: int, value: Any, weight: int) -> None:
        with self._lock:
            replaced = self._answers.pop(key, None)
            if replaced is not None:
                self._bytes -= replaced[2]
            self._answers[key] = (current, value, weight)
            self._bytes += weight
            while len(self._answers) > self._size or (
                self._bytes > self._max_bytes and len(self._answers) > 1
            ):
                _, (_, _, dropped) = self._answers.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()
            self._bytes = 0
