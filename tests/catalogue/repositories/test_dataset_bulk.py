"""Datasets created in bulk are stored exactly as ``create`` stores them, row for row."""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalogue.domain.errors import AlreadyExists, InvalidValue
from catalogue.repositories import Repositories

CORPUS = Path(__file__).parents[2] / "fixtures" / "search" / "corpus.json"
ACCESS = ("public", "public", "restricted", "non-public")
THEMES = ("ENVI", "TRAN", "HEAL", "ECON", "EDUC")


def corpus(count: int) -> list[dict[str, Any]]:
    """``count`` datasets of the relevance corpus, spread over owners, access and themes."""
    datasets = json.loads(CORPUS.read_text())[:count]
    return [
        {
            **dataset,
            "id": f"ds-{number:04d}",
            "owner": f"team:team-{number % 7}",
            "accessRights": ACCESS[number % len(ACCESS)],
            "themes": list(THEMES[number % 3 : number % 3 + 1 + number % 2]),
            "state": "deprecated" if number % 9 == 0 else "active",
        }
        for number, dataset in enumerate(datasets)
    ]


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Random ids (incarnations, audit entries, events) drawn from one fixed sequence."""
    counter = itertools.count()
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    monkeypatch.setattr(secrets, "token_bytes", lambda size: next(counter).to_bytes(size, "big"))
    yield


def repositories(home: Path) -> Repositories:
    from catalogue.store import migrations
    from catalogue.store.factory import open_store
    from tests.fixtures.stores import sqlite_settings

    settings = sqlite_settings(home)
    migrations.apply(settings)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = itertools.count()
    return Repositories(open_store(settings), lambda: start + timedelta(seconds=next(ticks)))


def created_one_by_one(home: Path, datasets: list[dict[str, Any]]) -> Path:
    made = repositories(home)
    for dataset in datasets:
        made.datasets.create(
            dataset,
            principal="user:seed",
            extra_ops=lambda new: made.permissions.owner_ops(new, new["owner"]),
        )
    made.store.close()
    return home / "brygge.sqlite3"


def created_in_bulk(home: Path, datasets: list[dict[str, Any]]) -> Path:
    made = repositories(home)
    created = made.datasets.create_many(
        datasets,
        principal="user:seed",
        extra_ops=lambda new: made.permissions.owner_ops(new, new["owner"]),
    )
    assert created == len(datasets)
    made.store.close()
    return home / "brygge.sqlite3"


def rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, with row ids replaced by the item's key they stand for."""
    conn = sqlite3.connect(database)
    keys = {row_id: f"{pk}|{sk}" for row_id, pk, sk in conn.execute("SELECT id, pk, sk FROM items")}
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'schema_migrations'"
        )
    ]
    dump = {}
    for table in tables:
        cursor = conn.execute(f"SELECT * FROM {table}")
        columns = [column[0] for column in cursor.description]
        table_rows = []
        for row in cursor:
            values = dict(zip(columns, row, strict=True))
            if table == "items":
                del values["id"]
            elif "doc" in values:
                values["doc"] = keys[values["doc"]]
            table_rows.append(tuple(sorted(values.items(), key=lambda pair: pair[0])))
        dump[table] = sorted(table_rows, key=repr)
    conn.close()
    return dump


def test_bulk_created_datasets_are_stored_as_create_stores_them(
    tmp_path: Path, deterministic: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = corpus(60)
    one_by_one = rows(created_one_by_one(tmp_path / "one", datasets))
    # The same random draws again, in the same order.
    counter = itertools.count()
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=next(counter)))
    monkeypatch.setattr(secrets, "token_bytes", lambda size: next(counter).to_bytes(size, "big"))
    in_bulk = rows(created_in_bulk(tmp_path / "bulk", datasets))
    assert sorted(in_bulk) == sorted(one_by_one)
    for table, expected in one_by_one.items():
        assert in_bulk[table] == expected, table
    assert len(one_by_one["items"]) > 10 * len(datasets)
    assert one_by_one["facet_counts"] and one_by_one["search_postings"]


def test_bulk_create_of_an_existing_id_fails_and_keeps_the_datasets_before_it(
    tmp_path: Path,
) -> None:
    made = repositories(tmp_path / "home")
    datasets = corpus(3)
    made.datasets.create_many(datasets[:1], principal="user:seed")
    with pytest.raises(AlreadyExists):
        made.datasets.create_many([datasets[1], datasets[0]], principal="user:seed")
    # The clash rolls back the transactions committed with it; the earlier load stays.
    assert made.datasets.find_item("ds-0000") is not None
    assert made.datasets.find_item("ds-0001") is None
    made.store.close()


def test_bulk_create_needs_each_dataset_id(tmp_path: Path) -> None:
    made = repositories(tmp_path / "home")
    with pytest.raises(InvalidValue) as raised:
        made.datasets.create_many([{"title": "Luftkvalitet"}], principal="user:seed")
    assert raised.value.field == "id"
    made.store.close()
