"""Bulk loading of the SQLite store: many transactions' operations under one commit.

``load`` checks and applies each transaction exactly as ``SqliteStore.transact`` does
(``sqlite_rows.apply_all``: the same conditions, rows, search rows and facet counts), but
commits once per PER_COMMIT transactions and adds their facet count changes up before
writing them: what ``transact`` writes, at a fraction of its cost, for seeding a store.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterable, Sequence

from catalogue.store.base import Op
from catalogue.store.operations import Facet
from catalogue.store.sqlite_rows import apply_all, count_facets

# Transactions per commit: large enough that commits cost nothing, small enough that a
# failure loses little and readers are not held off for long.
PER_COMMIT = 500
# Page cache of a loading connection (KiB, negative as SQLite takes it): the postings'
# B-tree takes inserts in term order, all over the table; a small cache rereads its pages.
LOAD_CACHE_KIB = 256 * 1024


def load(
    conn: sqlite3.Connection,
    transactions: Iterable[Sequence[Op]],
    begin: Callable[[sqlite3.Connection], None],
) -> int:
    """Apply every transaction as ``transact`` would; return how many were applied.

    ``begin`` starts a write transaction on ``conn`` (the store's ``begin_immediate``).
    Raises what ``transact`` raises for the first transaction that fails; the transactions
    since the last commit are rolled back with it, those before stay.
    """
    (cache,) = conn.execute("PRAGMA cache_size").fetchone()
    conn.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
    try:
        return _load(conn, transactions, begin)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _load(
    conn: sqlite3.Connection,
    transactions: Iterable[Sequence[Op]],
    begin: Callable[[sqlite3.Connection], None],
) -> int:
    applied = 0
    pending = iter(transactions)
    while batch := list(itertools.islice(pending, PER_COMMIT)):
        begin(conn)
        try:
            totals: dict[Facet, int] = {}
            for ops in batch:
                for facet, delta in apply_all(conn, ops).items():
                    totals[facet] = totals.get(facet, 0) + delta
            count_facets(conn, {facet: delta for facet, delta in totals.items() if delta})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied += len(batch)
    return applied
