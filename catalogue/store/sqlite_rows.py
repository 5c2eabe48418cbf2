"""How an operation changes the SQLite store's tables: the item's row, search rows, counts."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence

from catalogue.domain.numbers import with_stored_numbers
from catalogue.store import operations, sqlite_search
from catalogue.store.base import Check, Delete, Item, Op
from catalogue.store.operations import Facet, Key
from catalogue.store.sqlite_search import item_of


class Row:
    """An item as read inside a write transaction: its row id and content."""

    __slots__ = ("item", "row_id")

    def __init__(self, row_id: int, item: Item) -> None:
        self.row_id = row_id
        self.item = item


def current_rows(conn: sqlite3.Connection, ops: Sequence[Op]) -> dict[Key, Row | None]:
    """The items ``ops`` write over, as they are inside the transaction (None: no item).

    One statement per partition, not per operation: a batch of events moves a hundred
    latest values of one partition.
    """
    current: dict[Key, Row | None] = {}
    by_partition: dict[str, list[str]] = {}
    for op in ops:
        pk, sk = key = operations.op_key(op)
        current[key] = None
        by_partition.setdefault(pk, []).append(sk)
    for pk, sort_keys in by_partition.items():
        rows = conn.execute(
            "SELECT id, sk, rev, body FROM items WHERE pk = ? "
            f"AND sk IN ({', '.join('?' * len(sort_keys))})",
            (pk, *sort_keys),
        )
        for row_id, sk, rev, body in rows:
            current[(pk, sk)] = Row(row_id, item_of(rev, body))
    return current


def apply_all(conn: sqlite3.Connection, ops: Sequence[Op]) -> dict[Facet, int]:
    """Check ``ops`` as one transaction and write them; return their facet count changes.

    Raises ValueError or the first failing operation's error before writing anything.
    The caller holds the SQLite transaction and writes the counts (``count_facets``).
    """
    operations.check_ops(ops)
    current = current_rows(conn, ops)
    state = {key: row.item if row else None for key, row in current.items()}
    error = operations.first_failure(ops, state)
    if error is not None:
        raise error
    deltas = operations.facet_deltas(ops, state)
    operations.check_counted_size(ops, deltas)
    for op in ops:
        apply(conn, op, current[operations.op_key(op)])
    return deltas


def apply(conn: sqlite3.Connection, op: Op, current: Row | None) -> None:
    """Write ``op`` over ``current`` (its conditions checked): the item's row and search rows."""
    if isinstance(op, Check):
        return
    if isinstance(op, Delete):
        assert current is not None  # first_failure raised NotFound otherwise
        conn.execute("DELETE FROM items WHERE id = ?", (current.row_id,))
        if _searchable(current.item):
            sqlite_search.unindex(conn, current.row_id)
        return
    assert isinstance(op, operations.ITEM_OPS)
    item = operations.stored(
        op.item, operations.new_rev(op, None if current is None else current.item)
    )
    body = _body(item)
    if _WHOLE_FLOAT.search(body):
        # A float from 2**53 on: kept as the integer its text names, as DynamoDB keeps it
        # (and -0.0 as 0.0).
        item = with_stored_numbers(item)
        body = _body(item)
    values = (item.get("gsi1pk"), item.get("gsi1sk"), item["rev"], body)
    if current is None:
        inserted = conn.execute(
            "INSERT INTO items (pk, sk, gsi1pk, gsi1sk, rev, body) VALUES (?, ?, ?, ?, ?, ?)",
            (item["pk"], item["sk"], *values),
        ).lastrowid
        assert inserted is not None  # an INSERT into a rowid table always sets it
        row_id = inserted
    else:
        row_id = current.row_id
        conn.execute(
            "UPDATE items SET gsi1pk = ?, gsi1sk = ?, rev = ?, body = ? WHERE id = ?",
            (*values, row_id),
        )
        if _searchable(current.item):
            sqlite_search.unindex(conn, row_id)
    sqlite_search.index(conn, row_id, item)


def _searchable(item: Item) -> bool:
    """Whether ``item`` has search rows (a scope and a text)."""
    return isinstance(item.get("search_scope"), str) and isinstance(item.get("search_text"), str)


def count_facets(conn: sqlite3.Connection, deltas: Mapping[Facet, int]) -> None:
    """Add ``deltas`` to the facet counts, removing those that reach zero."""
    for (scope, name, value), delta in sorted(deltas.items()):
        conn.execute(
            "INSERT INTO facet_counts (scope, name, value, count) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (scope, name, value) DO UPDATE SET count = count + excluded.count",
            (scope, name, value, delta),
        )
        if delta < 0:
            conn.execute(
                "DELETE FROM facet_counts WHERE scope = ? AND name = ? AND value = ? "
                "AND count <= 0",
                (scope, name, value),
            )


# How json writes a float from 2**53 on (``repr``): sixteen digits and ".0" up to 1e16, an
# exponent after; and -0.0. Text that looks like one only costs a walk over the item.
_WHOLE_FLOAT = re.compile(r"\d{16}\.0|\de\+|-0\.0(?!\d)")
# One encoder for every row: json.dumps with options builds a new one per call.
_encode_body = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _body(item: Item) -> str:
    body = {name: value for name, value in item.items() if name != "rev"}
    return _encode_body(body)
