"""Datasets created in bulk are stored exactly as ``create`` stores them, row for row."""

from __future__ import annotations

import itertools
import json
import secrets
import sqlite3
import sys
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from catalogue.domain.errors import AlreadyExists, InvalidValue
from catalogue.repositories import Repositories
from catalogue.store.base import Op

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


def draw_from(counter: Iterator[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Random ids of the catalogue's own (incarnations, audit entries, events) from ``counter``.

    Other callers (botocore's request tokens) keep drawing at random, so the catalogue's
    draws come in the same order however many requests a store makes.
    """
    real_uuid4, real_token_bytes = uuid.uuid4, secrets.token_bytes

    def ours() -> bool:
        return sys._getframe(2).f_globals.get("__name__", "").startswith("catalogue.")

    monkeypatch.setattr(
        uuid, "uuid4", lambda: uuid.UUID(int=next(counter)) if ours() else real_uuid4()
    )
    monkeypatch.setattr(
        secrets,
        "token_bytes",
        lambda size: next(counter).to_bytes(size, "big") if ours() else real_token_bytes(size),
    )


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The catalogue's random ids drawn from one fixed sequence."""
    draw_from(itertools.count(), monkeypatch)
    yield


def repositories(home: Path | None) -> Repositories:
    """Repositories on a fresh store (SQLite under ``home``; None: a new DynamoDB table)."""
    from catalogue.store import migrations
    from catalogue.store.factory import open_store
    from tests.fixtures.stores import dynamodb_settings, sqlite_settings

    settings = dynamodb_settings() if home is None else sqlite_settings(home)
    migrations.apply(settings)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ticks = itertools.count()
    return Repositories(open_store(settings), lambda: start + timedelta(seconds=next(ticks)))


def seed(made: Repositories, datasets: list[dict[str, Any]], *, bulk: bool) -> None:
    """Create ``datasets`` with their owners, one by one or in bulk."""

    def ownership(new: Mapping[str, Any]) -> list[Op]:
        return made.permissions.owner_ops(new, new["owner"])

    if bulk:
        assert made.datasets.create_many(datasets, principal="user:seed", extra_ops=ownership) == (
            len(datasets)
        )
        return
    for dataset in datasets:
        made.datasets.create(dataset, principal="user:seed", extra_ops=ownership)


def sqlite_rows_of(home: Path, datasets: list[dict[str, Any]], *, bulk: bool) -> Any:
    made = repositories(home)
    seed(made, datasets, bulk=bulk)
    made.store.close()
    return rows(home / "brygge.sqlite3")


def rows(database: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted, with row ids replaced by the item's key they stand for."""
    conn = sqlite3.connect(database)
    keys = {row_id: f"{pk}|{sk}" for row_id, pk, sk in conn.execute("SELECT id, pk, sk FROM items")}
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            # The search generation counts changes, not what they stored: a bulk load
            # writes each facet counter once per commit.
            "AND name NOT IN ('schema_migrations', 'search_generation')"
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


def redraw(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start the random draws of ``deterministic`` again, so a second seed draws the same."""
    draw_from(itertools.count(), monkeypatch)


def test_bulk_created_datasets_are_stored_as_create_stores_them(
    tmp_path: Path, deterministic: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = corpus(60)
    one_by_one = sqlite_rows_of(tmp_path / "one", datasets, bulk=False)
    redraw(monkeypatch)
    in_bulk = sqlite_rows_of(tmp_path / "bulk", datasets, bulk=True)
    assert sorted(in_bulk) == sorted(one_by_one)
    for table, expected in one_by_one.items():
        assert in_bulk[table] == expected, table
    assert len(one_by_one["items"]) > 10 * len(datasets)
    assert one_by_one["facet_counts"] and one_by_one["search_postings"]


def table_items(made: Repositories) -> list[dict[str, Any]]:
    """Every item of a DynamoDB store's table, as stored (a test may Scan)."""
    from catalogue.store.dynamodb import dynamodb_client

    client = dynamodb_client()
    table = made.store.table_name  # type: ignore[attr-defined]
    items = []
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        items.extend(page["Items"])
    client.delete_table(TableName=table)
    # Migration records hold when they were applied; the search generation counts changes,
    # not what they stored (a bulk load advances it once).
    kept = [raw for raw in items if raw["pk"]["S"] not in ("migration", "generation")]
    return sorted(kept, key=lambda raw: (raw["pk"]["S"], raw["sk"]["S"]))


@pytest.mark.parametrize("backend", ["moto", "dynamodb_local"])
def test_bulk_created_datasets_are_stored_on_dynamodb_as_create_stores_them(
    request: pytest.FixtureRequest,
    backend: str,
    deterministic: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "moto":
        request.getfixturevalue("moto")
    else:
        from tests.fixtures.aws import clear_aws_clients

        url = request.getfixturevalue("dynamodb_local")
        request.getfixturevalue("aws_env")
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        clear_aws_clients()
    datasets = corpus(30)
    one = repositories(None)
    redraw(monkeypatch)
    seed(one, datasets, bulk=False)
    one_by_one = table_items(one)
    bulk = repositories(None)
    redraw(monkeypatch)
    seed(bulk, datasets, bulk=True)
    in_bulk = table_items(bulk)
    assert [(raw["pk"]["S"], raw["sk"]["S"]) for raw in in_bulk] == [
        (raw["pk"]["S"], raw["sk"]["S"]) for raw in one_by_one
    ]
    assert in_bulk == one_by_one
    # Term items and facet counters were written with the datasets.
    assert any(raw["pk"]["S"].startswith("term#") for raw in in_bulk)
    assert any(raw["pk"]["S"].startswith("facet#") for raw in in_bulk)


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
