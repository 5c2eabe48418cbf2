"""The embedded ItemStore: one SQLite file in WAL mode, its schema made by the migrations.

Tables (made by the migrations):

- ``items(id INTEGER PRIMARY KEY, pk, sk, gsi1pk, gsi1sk, rev, body)``, unique on (pk, sk),
  indexed on (gsi1pk, gsi1sk, pk, sk). ``body`` is the item as JSON, without ``rev``. Keys
  use SQLite's BINARY collation, which compares UTF-8 bytes: DynamoDB's order.
- ``search_docs``, ``search_postings``, ``search_values`` (``migrations/0005_search_tables.py``,
  laid out by ``catalogue.store.sqlite_search``): each searchable item's field lengths,
  terms with their frequency per field, and facet values, written with the item. ``search``
  reads its candidates there and ranks them with ``catalogue.store.ranking`` as DynamoDB
  does; ``find`` ranks, filters and counts facets in SQL.

- ``facet_counts(scope, name, value, count)``, primary key (scope, name, value): how many
  items of each ``facet_scope`` hold each facet value (``migrations/0004_facets.py``),
  changed in the transaction that writes the items; rows at zero are removed.
- ``search_generation``: one number that triggers advance with every change to what
  ``find``, ``count_listed`` and ``facet_counts`` read (``migrations/0006_search_generation``);
  their answers are kept per process under it (``catalogue.store.answer_cache``).

Every thread has its own connection; writes run in ``BEGIN IMMEDIATE`` transactions, so a
transaction reads the state it writes over and racing writers queue on the busy timeout.
What each operation writes to the tables is ``catalogue.store.sqlite_rows``.
"""

from __future__ import annotations

import functools
import itertools
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

from catalogue.domain.errors import DomainError, Unavailable
from catalogue.store import operations, paging, ranking, sqlite_bulk, sqlite_counts, sqlite_search
from catalogue.store.answer_cache import AnswerCache, count_listed_key, counted_bytes
from catalogue.store.base import (
    CountListed,
    Find,
    Found,
    Item,
    Op,
    Page,
    Predicate,
    Query,
)
from catalogue.store.operations import Key
from catalogue.store.ranking import SearchOrder
from catalogue.store.sqlite_rows import apply, apply_all, count_facets, current_rows
from catalogue.store.sqlite_search import item_of as _item
from catalogue.store.sqlite_search import prefix_end

BUSY_TIMEOUT_S = 30.0
# SQLite's own: the commit taking the WAL past this many pages checkpoints it.
DEFAULT_AUTOCHECKPOINT_PAGES = 1000
# Pauses between tries of a writer waiting for the write lock, then the last one repeated.
# SQLite's own busy handler sleeps ever longer (1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50,
# 100 ms): a writer that comes while another commits may sleep 25 ms for a lock freed
# after 2, and with two server processes writing that was a batch of events' p99.
WRITE_LOCK_PAUSES_S = (0.0001, 0.0002, 0.0005, 0.001)
# Keys per statement in get_many: below SQLite's default limit of host parameters.
_KEYS_PER_STATEMENT = 400
# Rows counted per partition to find the smallest of a query's ``within`` partitions: at
# ~70 ns a row, counting 1,024 costs 0.07 ms; the bound grows to 2**19 (~40 ms) at most.
_FIRST_COUNT_BOUND = 1024
_LAST_COUNT_BOUND = 1024 * 8**3


# Rows (and keys found missing) kept per connection (thread), all dropped past this many:
# ~2 KB each at the catalogue's datasets, a few MB per thread.
MAX_KEPT_ROWS = 2048


# What a connection keeps of a key it never read (a key it read and found missing: None).
_UNKNOWN: Any = object()


# This process's id, kept current across forks: os.getpid() is a system call, and every
# store call checks that its connection was opened by this process.
_process: list[int] = []


def _this_process() -> int:
    """``os.getpid()``, asked of the system once and again only after a fork."""
    if not _process:
        _process.append(os.getpid())
        os.register_at_fork(after_in_child=lambda: _process.__setitem__(0, os.getpid()))
    return _process[0]


class _Connection:
    """Holds one thread's connection; collected (and the connection closed) with the thread.

    It keeps the rows ``get`` and ``get_many`` read on it while nothing was written since:
    a read by key is most of what a request for one resource costs past Flask, and ``PRAGMA
    data_version`` (which changes when another connection commits, in this process or
    another) with the connection's own count of changed rows tells in half the time of the
    read whether a kept row is still what the read would see.
    """

    __slots__ = ("__weakref__", "conn", "pages", "pid", "rows", "rows_state")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pid = _this_process()
        self.pages = DEFAULT_AUTOCHECKPOINT_PAGES
        self.rows: dict[Key, tuple[int, str] | None] = {}
        self.rows_state: tuple[int, int] | None = None

    def kept_rows(self) -> dict[Key, tuple[int, str] | None] | None:
        """The rows kept from earlier reads, all still current; None inside a transaction,
        whose reads see its own writes, which a rollback may take back."""
        conn = self.conn
        if conn.in_transaction:
            return None
        (version,) = conn.execute("PRAGMA data_version").fetchone()
        state = (version, conn.total_changes)
        if state != self.rows_state or len(self.rows) >= MAX_KEPT_ROWS:
            self.rows = {}
            self.rows_state = state
        return self.rows


def _available(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn SQLite's own operational failures into Unavailable, naming what to do."""

    @functools.wraps(method)
    def guarded(self: SqliteStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.OperationalError as error:
            if "no such table" in str(error) or "unable to open" in str(error):
                raise Unavailable(
                    f"the database {self.path} has not been migrated: run brygge migrate"
                ) from None
            if "locked" in str(error) or "busy" in str(error):
                raise Unavailable("the database is busy; try again shortly") from None
            raise

    return guarded


# Expired items deleted per write transaction: other writers wait for one at most this long.
_EXPIRED_PER_COMMIT = 500


class SqliteStore:
    """ItemStore over one SQLite file. Assumes the migrations have been applied."""

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False
        self._inherited: list[_Connection] = []
        self._autocheckpoint_pages = DEFAULT_AUTOCHECKPOINT_PAGES
        # Answers of find, count_listed and facet_counts, per process (see answer_cache).
        self._answers = AnswerCache()

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        return self._holder().conn

    def _holder(self) -> _Connection:
        holder: _Connection | None = getattr(self._local, "holder", None)
        # A connection must not cross a fork (gunicorn --preload): a child opens its own.
        if holder is not None:
            if holder.pid == _this_process():
                if holder.pages != self._autocheckpoint_pages:
                    holder.conn.execute(f"PRAGMA wal_autocheckpoint = {self._autocheckpoint_pages}")
                    holder.pages = self._autocheckpoint_pages
                return holder
            # Closing the parent's connection here could disturb its locks: keep it, unused.
            self._inherited.append(holder)
        with self._lock:
            if self._closed:
                raise RuntimeError("the store is closed")
            conn = connect(self.path)
            holder = _Connection(conn)
            self._connections.add(holder)
        self._local.holder = holder
        return self._holder()

    def set_autocheckpoint(self, pages: int) -> None:
        """Let each connection checkpoint the WAL in the commit taking it past ``pages``
        (SQLite's ``wal_autocheckpoint``); a connection takes it at its next use."""
        self._autocheckpoint_pages = pages

    @_available
    def checkpoint(self) -> tuple[int, int]:
        """Copy what the WAL holds back into the database without waiting for anyone
        (``PASSIVE``); the WAL's frames and how many of them are now checkpointed."""
        _busy, frames, done = self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return frames, done

    @_available
    def remove_expired(self, now: int) -> int:
        """Delete the items whose ``expiresAt`` (epoch seconds) is ``now`` or before, as
        DynamoDB's time to live deletes them on AWS; returns how many.

        Readers already skip such items; this keeps the file from growing with them (event
        ids, idempotency keys, failed authentications). They are found by a read, which
        holds no lock off writers, and deleted ``_EXPIRED_PER_COMMIT`` at a time, each only
        if it is still expired then. None of them is searched or counted in a facet.
        """
        conn = self._conn()
        found = [
            row_id
            for (row_id,) in conn.execute(
                # instr first: a byte search, where json_extract parses the whole body.
                "SELECT id FROM items WHERE instr(body, '\"expiresAt\":') > 0 "
                "AND json_type(body, '$.expiresAt') IN ('integer', 'real') "
                "AND json_extract(body, '$.expiresAt') <= ?",
                (now,),
            )
        ]
        removed = 0
        for start in range(0, len(found), _EXPIRED_PER_COMMIT):
            chunk = found[start : start + _EXPIRED_PER_COMMIT]
            begin_immediate(conn)
            try:
                removed += conn.execute(
                    f"DELETE FROM items WHERE id IN ({', '.join('?' * len(chunk))}) "
                    "AND json_extract(body, '$.expiresAt') <= ?",
                    [*chunk, now],
                ).rowcount
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return removed

    def close(self) -> None:
        """Close every thread's connection; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
            holders = list(self._connections)
            self._connections.clear()
        for holder in holders:
            if holder.pid == _this_process():
                holder.conn.close()
        self._local = threading.local()

    # -- reads ---------------------------------------------------------------------------

    @_available
    def get(self, pk: str, sk: str) -> Item | None:
        """Return the item (with ``rev``) or None."""
        operations.check_key(pk, sk)
        holder = self._holder()
        kept = holder.kept_rows()
        key = (pk, sk)
        row = _UNKNOWN if kept is None else kept.get(key, _UNKNOWN)
        if row is _UNKNOWN:
            row = holder.conn.execute(
                "SELECT rev, body FROM items WHERE pk = ? AND sk = ?", key
            ).fetchone()
            if kept is not None:
                kept[key] = row
        # Decoded afresh: callers may change the item they get.
        return None if row is None else _item(row[0], row[1])

    @_available
    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """Return the items that exist among ``keys``, in the order of ``keys``."""
        for pk, sk in keys:
            operations.check_key(pk, sk)
        holder = self._holder()
        kept = holder.kept_rows()
        rows: dict[Key, Any] = {} if kept is None else kept
        unique = [key for key in dict.fromkeys((pk, sk) for pk, sk in keys) if key not in rows]
        if len(rows) + len(unique) > MAX_KEPT_ROWS:
            # A read of more keys than are kept (a page's worth at most) keeps none of them.
            rows = dict(rows)
        conn = holder.conn
        for start in range(0, len(unique), _KEYS_PER_STATEMENT):
            chunk = unique[start : start + _KEYS_PER_STATEMENT]
            pairs = ", ".join("(?, ?)" for _ in chunk)
            # CROSS JOIN keeps the key list outermost: one index lookup per key, where
            # "(pk, sk) IN (VALUES ...)" scans the whole table.
            found = conn.execute(
                f"SELECT items.pk, items.sk, items.rev, items.body FROM (VALUES {pairs}) AS wanted "
                "CROSS JOIN items ON items.pk = wanted.column1 AND items.sk = wanted.column2",
                [part for key in chunk for part in key],
            )
            rows.update(dict.fromkeys(chunk))  # what is not found is kept as missing
            for pk, sk, rev, body in found:
                rows[(pk, sk)] = (rev, body)
        # Decoded afresh, once per key: callers may change the items they get.
        items = {key: _item(*rows[key]) for key in dict.fromkeys(keys) if rows[key] is not None}
        return [items[(pk, sk)] for pk, sk in keys if (pk, sk) in items]

    @_available
    def query(self, query: Query, *, limit: int, cursor: str | None = None) -> Page:
        """Return up to ``limit`` items of one partition in sort-key order (see ItemStore)."""
        paging.check_query(query, limit)
        query_id = _query_id(query)
        order: tuple[str, ...]
        if query.index is None:
            partition, order = "pk", ("sk",)
        elif query.index == "gsi1":
            partition, order = "gsi1pk", ("gsi1sk", "pk", "sk")
        else:
            raise ValueError(f"no index named {query.index!r}")
        start, before = None, False
        if cursor is not None:
            start, before = paging.decode_query_cursor(cursor, query_id)
            if start is not None:
                start = paging.strings(start, len(order))
        conn = self._conn()
        # The rows are read in the order of ``driver``: the query's partition, or the
        # smallest of the partitions the items must also be ``within`` (same sort keys, so
        # the same order and cursors), which reads the fewest rows to fill a page.
        driving, driver, joins, others = query.partition, "items", "", query.within
        parameters: list[Any] = []
        if query.index is None and query.within:
            driving = _smallest_partition(conn, (query.partition, *query.within))
            if driving != query.partition:
                driver = "d"
                joins = " AS d CROSS JOIN items ON items.pk = ? AND items.sk = d.sk"
                parameters.append(query.partition)
                others = tuple(name for name in query.within if name != driving)
        order = tuple(f"{driver}.{column}" for column in order)
        conditions = [f"{driver}.{partition} = ?"]
        parameters.append(driving)
        if query.prefix:
            conditions.append(f"{order[0]} >= ?")
            parameters.append(query.prefix)
            upper = prefix_end(query.prefix)
            if upper is not None:
                conditions.append(f"{order[0]} < ?")
                parameters.append(upper)
        elif query.index is not None:
            # DynamoDB leaves items without the index's sort key out of the index.
            conditions.append(f"{driver}.gsi1sk IS NOT NULL")
        if query.after is not None:
            conditions.append(f"{order[0]} {'<' if query.descending else '>'} ?")
            parameters.append(query.after)
        for other in others:
            # Rows ``where`` would reject are skipped here, before their bodies are decoded.
            conditions.append(
                f"EXISTS (SELECT 1 FROM items AS w WHERE w.pk = ? AND w.sk = {driver}.sk)"
            )
            parameters.append(other)
        columns = ", ".join(order)
        sizes = paging.batch_sizes(limit, query.where)

        def fetch(position: list[str] | None, reverse: bool) -> tuple[list[tuple[Item, Any]], Any]:
            batch = next(sizes)
            descending = query.descending != reverse
            direction, comparison = ("DESC", "<") if descending else ("ASC", ">")
            sql_conditions, sql_parameters = list(conditions), list(parameters)
            if position is not None:
                sql_conditions.append(f"({columns}) {comparison} ({', '.join('?' * len(order))})")
                sql_parameters.extend(position)
            order_by = ", ".join(f"{column} {direction}" for column in order)
            rows = conn.execute(
                f"SELECT items.rev, items.body, {columns} FROM items{joins} "
                f"WHERE {' AND '.join(sql_conditions)} "
                f"ORDER BY {order_by} LIMIT ?",
                [*sql_parameters, batch],
            ).fetchall()
            result = [(_item(row[0], row[1]), list(row[2:])) for row in rows]
            return result, (result[-1][1] if len(rows) == batch else None)

        return paging.query_page(fetch, query_id, start, before, limit, query.where)

    @_available
    def last_cursor(self, query: Query) -> str:
        """A cursor reading the final items of ``query`` (see ItemStore)."""
        paging.check_query(query, 1)
        if query.index not in (None, "gsi1"):
            raise ValueError(f"no index named {query.index!r}")
        return paging.encode_cursor(_query_id(query), None, before=True)

    @_available
    def search(
        self,
        scope: str,
        text: str,
        *,
        limit: int,
        cursor: str | None = None,
        where: Predicate | None = None,
        order: SearchOrder | None = None,
        observe: Callable[[Item], None] | None = None,
    ) -> Page:
        """Return items of ``scope`` matching ``text``, ranked (see ItemStore.search)."""
        query, order, query_id, start = ranking.open_search(
            scope, text, limit=limit, cursor=cursor, order=order
        )
        if query.empty:
            return Page([], None)
        matched, parameters = sqlite_search.matches(self._conn(), scope, query)
        rows = self._conn().execute(
            f"SELECT items.rev, items.body FROM ({matched}) AS m "
            "CROSS JOIN items ON items.id = m.doc ORDER BY m.doc",
            parameters,
        )
        return ranking.ranked_page(
            query,
            (_item(rev, body) for rev, body in rows),
            order=order,
            query_id=query_id,
            start=start,
            limit=limit,
            where=where,
            observe=observe,
        )

    @_available
    def find(self, request: Find) -> Found:
        """Run ``request`` in SQL (see ItemStore.find and ``catalogue.store.sqlite_search``)."""
        return sqlite_search.find(self._conn(), request, self._answers)

    @_available
    def count_listed(self, request: CountListed) -> Found:
        """Count a partition's datasets in SQL (see ItemStore.count_listed, sqlite_counts).

        Kept as ``find``'s answers are (see ``answer_cache.counting_key``).
        """
        conn = self._conn()
        found: Found = self._answers.answer(
            conn,
            count_listed_key(request),
            lambda: sqlite_counts.count_listed(conn, request),
            lambda found: counted_bytes(found.counts),
        )
        return Found(found.page, _copied(found.counts), found.total, found.approximate)

    @_available
    def kept(self, key: Hashable, compute: Callable[[], Any], weigh: Callable[[Any], int]) -> Any:
        """The answer of ``key`` kept under the search generation (see ItemStore.kept)."""
        return self._answers.answer(self._conn(), ("kept", key), compute, weigh)

    @_available
    def facet_counts(self, scope: str) -> dict[str, dict[str, int]]:
        """How many items of ``scope`` hold each facet value (see ItemStore.facet_counts).

        Kept as ``find``'s answers are: a scope has thousands of keyword values.
        """
        conn = self._conn()

        def read() -> dict[str, dict[str, int]]:
            counts: dict[str, dict[str, int]] = {}
            rows = conn.execute(
                "SELECT name, value, count FROM facet_counts WHERE scope = ? AND count > 0",
                (scope,),
            )
            for name, value, count in rows:
                counts.setdefault(name, {})[value] = count
            return counts

        return _copied(self._answers.answer(conn, ("facet_counts", scope), read, counted_bytes))

    # -- writes --------------------------------------------------------------------------

    def write(self, op: Op) -> None:
        """Apply one operation; raises as the operation's docstring says."""
        self.transact([op])

    @_available
    def transact(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none (see ItemStore.transact)."""
        operations.check_ops(ops)
        conn = self._conn()
        begin_immediate(conn)
        try:
            count_facets(conn, apply_all(conn, ops))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @_available
    def load(self, transactions: Iterable[Sequence[Op]]) -> int:
        """Apply each transaction as ``transact`` would, many per commit (see ItemStore.load)."""
        return sqlite_bulk.load(self._conn(), transactions, begin_immediate)

    @_available
    def write_each(self, ops: Sequence[Op]) -> list[DomainError | None]:
        """Apply each operation on its own condition, all in one transaction.

        One transaction instead of one per operation: a batch of events' latest values
        commits once (see ItemStore.write_each).
        """
        operations.check_ops(ops)
        conn = self._conn()
        results: list[DomainError | None] = []
        begin_immediate(conn)
        try:
            current = current_rows(conn, ops)
            for op in ops:
                key = operations.op_key(op)
                row = current[key]
                state = {key: row.item if row else None}
                error = operations.first_failure([op], state)
                if error is None:
                    deltas = operations.facet_deltas([op], state)
                    operations.check_counted_size([op], deltas)
                    apply(conn, op, row)
                    count_facets(conn, deltas)
                results.append(error)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results


def _copied(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Counts a caller may change without changing the answer kept."""
    return {name: dict(values) for name, values in counts.items()}


def _query_id(query: Query) -> str:
    return paging.fingerprint(
        "sqlite",
        query.partition,
        query.index,
        query.prefix,
        query.descending,
        # Only when given: cursors of queries without it keep their fingerprint.
        *([query.after] if query.after is not None else []),
    )


def begin_immediate(conn: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, tried again at most a millisecond apart while another writer
    holds the lock; "database is locked" after ``BUSY_TIMEOUT_S``, as the busy timeout.

    The busy timeout stays for every other statement (a read during a recovery).
    """
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        for tries in itertools.count():
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() >= deadline:
                    raise
            time.sleep(WRITE_LOCK_PAUSES_S[min(tries, len(WRITE_LOCK_PAUSES_S) - 1)])
    finally:
        conn.execute(f"PRAGMA busy_timeout = {round(BUSY_TIMEOUT_S * 1000)}")


def connect(path: Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode (transactions are explicit), WAL, with a busy timeout."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute("PRAGMA journal_mode = WAL")
    # NORMAL is durable across application crashes in WAL mode and saves an fsync per commit.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _smallest_partition(conn: sqlite3.Connection, partitions: Sequence[str]) -> str:
    """The partition of ``partitions`` holding the fewest rows (the first of equals).

    Rows are counted up to a bound that grows eightfold until one partition falls below
    it, so the counting costs about as much as reading the smallest partition once.
    """
    bound = _FIRST_COUNT_BOUND
    while True:
        sizes = [
            conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM items WHERE pk = ? LIMIT ?)",
                [partition, bound],
            ).fetchone()[0]
            for partition in partitions
        ]
        smallest = min(range(len(partitions)), key=sizes.__getitem__)
        if sizes[smallest] < bound or bound >= _LAST_COUNT_BOUND:
            return partitions[smallest]
        bound *= 8
