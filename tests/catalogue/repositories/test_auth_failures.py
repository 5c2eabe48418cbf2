"""Failed authentications are counted alike on every backend, newest first, within a window."""

from __future__ import annotations

from catalogue.repositories.auth_failures import AuthFailures
from catalogue.store import keys
from catalogue.store.base import Create, ItemStore, Query

START = 1_765_000_000.25  # a wall-clock time with a fraction, as time.time() gives


def test_the_newest_failures_of_a_key_come_newest_first_and_only_within_the_window(
    store: ItemStore,
) -> None:
    failures = AuthFailures(store)
    for offset in range(5):
        failures.record(["address:192.0.2.1", "token:abc"], START + offset * 0.5, 60.0)
    failures.record(["address:192.0.2.2"], START, 60.0)

    assert failures.newest("address:192.0.2.1", 3, 0.0) == [START + 2.0, START + 1.5, START + 1.0]
    assert failures.newest("address:192.0.2.1", 10, START + 0.5) == [
        START + 2.0,
        START + 1.5,
        START + 1.0,
    ]
    assert len(failures.newest("token:abc", 10, 0.0)) == 5
    assert failures.newest("address:192.0.2.2", 10, 0.0) == [START]
    assert failures.newest("address:192.0.2.3", 10, 0.0) == []
    partition = keys.auth_failures_pk("address:192.0.2.2")
    stored = store.query(Query(partition), limit=10).items
    # One item for the failure, one for the key's newest time: both expire with the window.
    assert [(item["kind"], item["expiresAt"]) for item in stored] == [
        ("auth-failure", 1_765_000_061),
        ("auth-failures", 1_765_000_061),
    ]


def test_a_late_write_of_an_older_failure_keeps_the_newest_time(store: ItemStore) -> None:
    """A process whose failure came first but is written last does not hide the newer one."""
    failures = AuthFailures(store)
    failures.record(["address:192.0.2.1"], START + 30.0, 60.0)
    failures.record(["address:192.0.2.1"], START, 60.0)

    assert failures.newest("address:192.0.2.1", 10, START + 1.0) == [START + 30.0]


def test_failures_of_one_key_at_the_same_instant_both_count(store: ItemStore) -> None:
    """Two processes failing in the same microsecond write two items, not one."""
    first, second = AuthFailures(store), AuthFailures(store)
    first.record(["address:192.0.2.1"], START, 60.0)
    second.record(["address:192.0.2.1"], START, 60.0)

    assert failures_of(store) == [START, START]


def failures_of(store: ItemStore) -> list[float]:
    return AuthFailures(store).newest("address:192.0.2.1", 10, 0.0)


def test_a_key_s_failures_are_read_with_another_item_in_one_read(store: ItemStore) -> None:
    store.write(Create({"pk": "tokens", "sk": "0123456789abcdef", "hash": "h"}))
    failures = AuthFailures(store)
    failures.record(["address:192.0.2.1"], START, 60.0)

    found, item = failures.newest_reading(
        "address:192.0.2.1", 10, 0.0, ("tokens", "0123456789abcdef")
    )
    quiet, missing = failures.newest_reading("address:192.0.2.9", 10, 0.0, ("tokens", "nope"))

    assert found == [START]
    assert item is not None and item["hash"] == "h"
    assert (quiet, missing) == ([], None)
