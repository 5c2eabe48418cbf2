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

# Answers kept per store and process, least recently used dropped first. A search answer
# holds a page of stored bodies (~1-2 KB each) and the top facet values: ~20-100 KB at
# page sizes of 20-50, so at most ~25 MB per server process. 256 covers the distinct
# searches of a few minutes on a busy catalogue (and the 100 of each kind bench/search.py asks).
MAX_ANSWERS = 256


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
    """The last MAX_ANSWERS answers, each with the generation it was read at; thread safe."""

    def __init__(self, size: int = MAX_ANSWERS) -> None:
        self._size = size
        self._answers: OrderedDict[Hashable, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def answer(self, conn: sqlite3.Connection, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The answer of ``key``: kept if read at the current generation, else ``compute()``d.

        ``compute`` runs in a read transaction on ``conn`` that also reads the generation,
        so the answer kept is exactly that of the generation it is kept under. Whatever it
        raises is raised, and nothing is kept.
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
        with self._lock:
            self._answers[key] = (current, value)
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()
