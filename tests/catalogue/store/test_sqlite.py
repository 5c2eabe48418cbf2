"""What only the SQLite store can be asked: its file, its connections, its key ranges."""

from __future__ import annotations

import gc
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalogue.domain.errors import DomainError, Unavailable
from catalogue.store import migrations, sqlite_checkpoints
from catalogue.store import sqlite as sqlite_store
from catalogue.store.answer_cache import AnswerCache
from catalogue.store.base import CountListed, Create, Delete, Find, Put, Query
from catalogue.store.sqlite import SqliteStore, prefix_end
from tests.fixtures.stores import sqlite_settings

ROOT = Path(__file__).resolve().parents[3]
ENVI = "filter#theme#ENVI"
GENERATION_READ = "SELECT generation FROM search_generation WHERE id = 0"


@pytest.fixture
def database(tmp_path: Path) -> Path:
    settings = sqlite_settings(tmp_path / "home")
    migrations.apply(settings)
    return settings.database_path


def test_database_file_is_in_wal_mode(database: Path) -> None:
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_items_outlive_the_store_that_wrote_them(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "s", "search_scope": "doc", "search_text": "kept"}))
    store.close()

    reopened = SqliteStore(database)
    try:
        assert reopened.get("p", "s")["rev"] == 1
        assert len(reopened.search("doc", "kept", limit=5).items) == 1
    finally:
        reopened.close()


def test_each_thread_writes_through_its_own_connection(database: Path) -> None:
    store = SqliteStore(database)
    connections: set[int] = set()

    def work(index: int) -> None:
        store.write(Create({"pk": "p", "sk": f"{index}"}))
        connections.add(id(store._conn()))

    threads = [threading.Thread(target=work, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(connections) == 4
    assert len(store.query(Query("p"), limit=10).items) == 4
    gc.collect()
    # A finished thread's connection goes with it: only this thread's is left.
    assert len(store._connections) == 1
    store.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_process_opens_its_own_connection(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "parent"}))
    parent_connection = store._conn()

    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        try:
            store.write(Create({"pk": "p", "sk": "child"}))
            os._exit(0 if store._conn() is not parent_connection else 3)
        except BaseException:
            os._exit(4)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert [item["sk"] for item in store.query(Query("p"), limit=5).items] == ["child", "parent"]
    store.close()


def test_closed_store_refuses_work(database: Path) -> None:
    store = SqliteStore(database)
    store.get("p", "s")

    store.close()

    with pytest.raises(RuntimeError):
        store.get("p", "s")


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        ("a", "b"),
        ("item#", "item$"),
        ("a\U0010ffff", "b"),
        ("a\ud7ff", "a\ue000"),
        ("é", "ê"),
        ("\U0010ffff", None),
        ("", None),
    ],
)
def test_prefix_end_bounds_every_string_with_the_prefix(prefix: str, end: str | None) -> None:
    assert prefix_end(prefix) == end
    if end is not None:
        for following in ("", "\x00", "z", "\U0010ffff\U0010ffff"):
            assert (prefix + following).encode() < end.encode()


def test_a_waiting_writer_tries_again_within_a_millisecond(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's own busy handler would sleep up to 100 ms between tries: a lock freed just
    # after a try kept a writer waiting that long (a batch of events' p99 with two servers).
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 5.0)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 40:
            holder.execute("COMMIT")  # the other writer is done

    monkeypatch.setattr(time, "sleep", pause)
    store = SqliteStore(database)
    store.write(Create({"pk": "a", "sk": "b"}))
    monkeypatch.undo()

    assert store.get("a", "b") is not None
    assert len(pauses) == 40
    assert max(pauses) <= 0.001
    holder.close()
    store.close()


def test_a_writer_waits_no_longer_than_the_busy_timeout(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.05)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    store = SqliteStore(database)
    with pytest.raises(Unavailable, match="busy"):
        store.write(Create({"pk": "a", "sk": "b"}))
    holder.execute("ROLLBACK")
    store.write(Create({"pk": "a", "sk": "b"}))  # the connection's busy timeout is back
    assert store.get("a", "b") is not None
    assert store._conn().execute("PRAGMA busy_timeout").fetchone()[0] == 50
    holder.close()
    store.close()


def _fill_wal(store: SqliteStore, items: int, start: int = 0) -> None:
    for number in range(start, start + items, 50):
        store.transact(
            [
                Create({"pk": "p", "sk": f"{n:06d}", "text": "x" * 3000})
                for n in range(number, number + 50)
            ]
        )


def _wal_frames(database: Path) -> int:
    """The WAL's frames, read from its size (a 32-byte header, then 24 + 4,096 per frame)."""
    size = database.with_name(database.name + "-wal").stat().st_size
    return (size - 32) // (24 + 4096) if size else 0


def test_a_commit_checkpoints_the_wal_past_the_set_number_of_pages(database: Path) -> None:
    default, server = SqliteStore(database), SqliteStore(database)
    try:
        # Some 1,500 pages: past SQLite's 1,000, the committing connection checkpoints
        # and the WAL starts again from its head.
        _fill_wal(default, 1500)
        assert _wal_frames(database) < 1200
        server.set_autocheckpoint(100_000)
        _fill_wal(server, 3000, start=1500)
        frames, done = server.checkpoint()
        assert frames > 2500  # no commit checkpointed: the file only grew
        assert done == frames
    finally:
        default.close()
        server.close()


def test_a_server_checkpoints_in_the_background_and_commits_past_the_backstop(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(database)
    checkpointed = threading.Event()
    monkeypatch.setattr(store, "checkpoint", lambda: checkpointed.set() or (0, 0))
    try:
        stop = sqlite_checkpoints.start_checkpoints(store, interval_s=0.01)
        assert stop is not None
        assert checkpointed.wait(timeout=30)
        stop.set()
        pages = store._conn().execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert pages == sqlite_checkpoints.SERVER_AUTOCHECKPOINT_PAGES
    finally:
        store.close()


def test_a_store_without_a_wal_has_no_checkpoints() -> None:
    assert sqlite_checkpoints.start_checkpoints(object()) is None  # type: ignore[arg-type]


# -- kept search answers -------------------------------------------------------------------


def searchable_dataset(dataset_id: str, text: str) -> Create:
    return Create(
        {
            "pk": f"dataset#{dataset_id}",
            "sk": "dataset",
            "search_scope": "doc",
            "search_text": text,
            "search_meta": {"access": "public", "recency": 0.0, "title": dataset_id},
            "facet_scope": "doc",
            "facet_values": {"theme": ["ENVI"]},
        }
    )


def statements_of(store: SqliteStore, ask: Callable[[], object]) -> list[str]:
    """The SQL statements ``ask`` runs on this thread's connection of ``store``."""
    statements: list[str] = []
    conn = store._conn()
    conn.set_trace_callback(statements.append)
    try:
        ask()
    finally:
        conn.set_trace_callback(None)
    return statements


def test_a_repeated_search_reads_only_the_search_generation(database: Path) -> None:
    store = SqliteStore(database)
    store.transact([searchable_dataset("a", "Oslo lake"), Create({"pk": ENVI, "sk": "a"})])
    find = Find("doc", "oslo la", limit=10, classes=("public",), facets=("theme",))
    listed = CountListed(
        ENVI,
        visible=lambda entry: True,
        values=lambda entry: {},
        classes=("public",),
        facets=("theme",),
    )
    asks = {
        "find": lambda: store.find(find),
        "count_listed": lambda: store.count_listed(listed),
        "facet_counts": lambda: store.facet_counts("doc"),
    }
    try:
        for name, ask in asks.items():
            first = statements_of(store, ask)
            again = statements_of(store, ask)

            assert len(first) > 1, name
            assert again == [GENERATION_READ], name
            assert ask() == ask(), name
    finally:
        store.close()


@pytest.fixture
def searched(database: Path) -> Iterator[SqliteStore]:
    """A store holding one searchable dataset, "a" ("Oslo lake", theme ENVI)."""
    store = SqliteStore(database)
    store.write(searchable_dataset("a", "Oslo lake"))
    try:
        yield store
    finally:
        store.close()


OSLO = Find("doc", "oslo", limit=10, facets=("theme",))


def test_a_write_by_another_process_changes_the_next_answer(
    searched: SqliteStore, database: Path
) -> None:
    store = searched
    assert [item["pk"] for item in store.find(OSLO).page.items] == ["dataset#a"]
    writer = (
        "import sys\n"
        "from catalogue.store.sqlite import SqliteStore\n"
        "from tests.catalogue.store.test_sqlite import searchable_dataset\n"
        "SqliteStore(sys.argv[1]).write(searchable_dataset('b', 'Oslo lakes'))\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(database)], check=True, cwd=ROOT)

    found = store.find(OSLO)
    assert sorted(item["pk"] for item in found.page.items) == ["dataset#a", "dataset#b"]
    assert found.counts == {"theme": {"ENVI": 2}}
    assert store.facet_counts("doc") == {"theme": {"ENVI": 2}}


def test_answers_past_the_bound_are_computed_again_least_recently_used_first(
    database: Path,
) -> None:
    answers = AnswerCache(size=2)
    conn = sqlite_store.connect(database)
    computed: list[str] = []

    def ask(key: str) -> str:
        def compute() -> str:
            computed.append(key)
            return key.upper()

        result: str = answers.answer(conn, key, compute, len)
        return result

    try:
        assert [ask(key) for key in ("a", "b", "a", "c", "a", "b")] == list("ABACAB")
        # "b" was the least recently used when "c" came; "c" when "b" came back.
        assert computed == ["a", "b", "c", "b"]
        conn.execute("UPDATE search_generation SET generation = generation + 1")
        ask("a")
        assert computed == ["a", "b", "c", "b", "a"]
    finally:
        conn.close()


def test_a_searchable_items_body_rewritten_alone_shows_in_the_next_answer(
    searched: SqliteStore, database: Path
) -> None:
    assert "label" not in searched.find(OSLO).page.items[0]
    # As a migration might: the body alone, its search rows left as they are.
    conn = sqlite3.connect(database)
    with conn:
        conn.execute(
            "UPDATE items SET body = json_set(body, '$.label', 'rewritten') WHERE pk = 'dataset#a'"
        )
    conn.close()

    assert searched.find(OSLO).page.items[0]["label"] == "rewritten"


def test_answers_past_the_bytes_bound_are_dropped_least_recently_used_first(
    database: Path,
) -> None:
    answers = AnswerCache(size=10, max_bytes=5)
    conn = sqlite_store.connect(database)
    computed: list[str] = []

    def ask(key: str) -> None:
        answers.answer(conn, key, lambda: computed.append(key) or key, len)

    try:
        for key in ("aa", "bb", "aa", "cc", "aa", "bb", "toolong", "toolong"):
            ask(key)
        # Two answers of 2 bytes fit in 5; one of 7 is kept alone.
        assert computed == ["aa", "bb", "cc", "bb", "toolong"]
    finally:
        conn.close()


def steps_of(store: SqliteStore, ask: Callable[[], object]) -> int:
    """SQLite's virtual machine steps (in hundreds) ``ask`` takes on this thread's connection."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = store._conn()
    conn.set_progress_handler(count, 100)
    try:
        ask()
    finally:
        conn.set_progress_handler(None, 100)
    return steps


def test_a_query_within_a_small_partition_reads_that_one_not_the_large_one(
    database: Path,
) -> None:
    store = SqliteStore(database)
    try:
        ops = [Create({"pk": "large", "sk": f"{number:05}"}) for number in range(5000)]
        ops += [Create({"pk": "small", "sk": f"{number:05}"}) for number in range(4000, 5000, 100)]
        store.load(ops[start : start + 100] for start in range(0, len(ops), 100))
        within = Query("large", within=("small",), where=lambda item: True)
        around = Query("small", within=("large",), where=lambda item: True)

        page = store.query(within, limit=3)
        pages = [page]
        while pages[-1].next_cursor:
            pages.append(store.query(within, limit=3, cursor=pages[-1].next_cursor))
        read = [item for page in pages for item in page.items]
        assert [item["sk"] for item in read] == [f"{n:05}" for n in range(4000, 5000, 100)]
        # The items are the query's partition's, whichever partition drove the reading.
        assert {item["pk"] for item in read} == {"large"}
        # Reading the 5,000 rows of "large" for its 10 in "small" takes some 100 times the
        # steps of reading "small"'s 10 and looking each up in "large".
        assert steps_of(store, lambda: store.query(within, limit=20)) < 3 * steps_of(
            store, lambda: store.query(around, limit=20)
        )
    finally:
        store.close()


DATA_VERSION = "PRAGMA data_version"


def test_a_repeated_get_reads_only_whether_the_database_changed(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "s", "tags": ["a"]}))
    try:
        first = statements_of(store, lambda: store.get("p", "s"))
        again = statements_of(store, lambda: store.get("p", "s"))

        assert len(first) == 2 and first[0] == DATA_VERSION
        assert again == [DATA_VERSION]
        # Each caller gets its own item, to change as it likes.
        got = store.get("p", "s")
        got["tags"].append("b")
        assert store.get("p", "s") == {"pk": "p", "sk": "s", "tags": ["a"], "rev": 1}
    finally:
        store.close()


def test_a_kept_row_gives_way_to_every_kind_of_write(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "s", "n": 1}))
    other = sqlite_store.connect(database)
    try:
        assert store.get("p", "s")["n"] == 1
        # This connection's own write: data_version stays, its count of changes does not.
        store.write(Put({"pk": "p", "sk": "s", "n": 2}))
        assert store.get("p", "s") == {"pk": "p", "sk": "s", "n": 2, "rev": 2}
        # Another thread's connection of the same store.
        writer = threading.Thread(target=lambda: store.write(Put({"pk": "p", "sk": "s", "n": 3})))
        writer.start()
        writer.join()
        assert store.get("p", "s")["n"] == 3
        # Another connection altogether, past the store.
        other.execute('UPDATE items SET body = \'{"pk":"p","sk":"s","n":4}\', rev = 4')
        assert store.get("p", "s") == {"pk": "p", "sk": "s", "n": 4, "rev": 4}
        store.load([[Put({"pk": "p", "sk": "s", "n": 5})]])
        assert store.get("p", "s")["n"] == 5
        store.write(Delete("p", "s"))
        assert store.get("p", "s") is None
    finally:
        other.close()
        store.close()


def test_a_write_by_another_process_shows_in_the_next_get(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "s", "n": 1}))
    writer = (
        "import sys\n"
        "from catalogue.store.base import Put\n"
        "from catalogue.store.sqlite import SqliteStore\n"
        "SqliteStore(sys.argv[1]).write(Put({'pk': 'p', 'sk': 's', 'n': 2}))\n"
    )
    try:
        assert store.get("p", "s")["n"] == 1
        subprocess.run([sys.executable, "-c", writer, str(database)], check=True, cwd=ROOT)
        assert store.get("p", "s")["n"] == 2
    finally:
        store.close()


def test_a_rolled_back_write_leaves_the_committed_item(database: Path) -> None:
    store = SqliteStore(database)
    store.transact([Create({"pk": "p", "sk": "s", "n": 1}), Create({"pk": "q", "sk": "s"})])
    try:
        assert store.get("p", "s")["n"] == 1
        with pytest.raises(DomainError):
            # The Put is written, then the Create fails: the transaction is rolled back.
            store.transact([Put({"pk": "p", "sk": "s", "n": 2}), Create({"pk": "q", "sk": "s"})])
        assert store.get("p", "s") == {"pk": "p", "sk": "s", "n": 1, "rev": 1}
    finally:
        store.close()


def test_kept_rows_past_the_bound_are_read_again(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "MAX_KEPT_ROWS", 2)
    store = SqliteStore(database)
    store.transact([Create({"pk": "p", "sk": name}) for name in "abc"])
    try:
        for name in "abc":
            store.get("p", name)
        # The third row found two kept: all were dropped, and it alone is kept.
        assert statements_of(store, lambda: store.get("p", "c")) == [DATA_VERSION]
        assert len(statements_of(store, lambda: store.get("p", "a"))) == 2
    finally:
        store.close()


def test_a_repeated_get_many_reads_only_whether_the_database_changed(database: Path) -> None:
    store = SqliteStore(database)
    store.write(Create({"pk": "p", "sk": "a"}))
    keys = [("p", "a"), ("p", "missing"), ("p", "a")]
    try:
        first = statements_of(store, lambda: store.get_many(keys))
        again = statements_of(store, lambda: store.get_many(keys))
        assert len(first) == 2 and again == [DATA_VERSION]
        assert store.get_many(keys) == [{"pk": "p", "sk": "a", "rev": 1}] * 2
        # A key found missing is kept as missing until a write: this one creates it.
        assert store.get("p", "missing") is None
        store.write(Create({"pk": "p", "sk": "missing"}))
        assert [item["sk"] for item in store.get_many(keys)] == ["a", "missing", "a"]
    finally:
        store.close()


def test_a_get_many_of_more_keys_than_are_kept_keeps_none(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "MAX_KEPT_ROWS", 2)
    store = SqliteStore(database)
    store.transact([Create({"pk": "p", "sk": name}) for name in "abc"])
    keys = [("p", name) for name in "abc"]
    try:
        assert len(store.get_many(keys)) == 3
        assert len(statements_of(store, lambda: store.get_many(keys))) == 2
    finally:
        store.close()


def test_expired_items_are_deleted_as_dynamodb_time_to_live_deletes_them(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(database)
    try:
        store.transact(
            [
                Create({"pk": "ids", "sk": "past", "expiresAt": 999}),
                Create({"pk": "ids", "sk": "now", "expiresAt": 1000}),
                Create({"pk": "ids", "sk": "later", "expiresAt": 1001}),
                # Only a number is a time to live, as for DynamoDB.
                Create({"pk": "ids", "sk": "text", "expiresAt": "999"}),
                Create({"pk": "ids", "sk": "none", "note": '"expiresAt":1'}),
                Create({"pk": "ids", "sk": "nested", "inner": {"expiresAt": 1}}),
            ]
        )
        assert store.get("ids", "past") is not None  # kept by the connection
        monkeypatch.setattr(sqlite_store, "_EXPIRED_PER_COMMIT", 1)

        assert store.remove_expired(1000) == 2

        left = [item["sk"] for item in store.query(Query("ids"), limit=10).items]
        assert left == ["later", "nested", "none", "text"]
        assert store.get("ids", "past") is None
        assert store.remove_expired(1000) == 0
    finally:
        store.close()


def test_an_item_given_a_new_expiry_before_its_delete_is_kept(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(database)
    other = sqlite_store.connect(database)
    begin = sqlite_store.begin_immediate

    def renewed_first(conn: sqlite3.Connection) -> None:
        # Between the read that finds it and its delete, another writer renews it.
        other.execute('UPDATE items SET body = \'{"pk":"ids","sk":"a","expiresAt":50}\', rev = 2')
        begin(conn)

    try:
        store.write(Create({"pk": "ids", "sk": "a", "expiresAt": 5}))
        monkeypatch.setattr(sqlite_store, "begin_immediate", renewed_first)
        assert store.remove_expired(10) == 0
        monkeypatch.undo()
        assert store.get("ids", "a")["expiresAt"] == 50
    finally:
        other.close()
        store.close()
