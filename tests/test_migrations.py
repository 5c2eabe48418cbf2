"""Migrations: applied in order to either backend, recorded, and re-run as a no-op."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogue.settings import Settings
from catalogue.store import migrations
from catalogue.store.base import Query, Replace, query_all
from catalogue.store.factory import open_store
from tests.fixtures.stores import delete_table, dynamodb_settings, sqlite_settings

FIRST = "0001_initial"


@pytest.fixture(params=["sqlite", "moto", "dynamodb_local"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings of an empty store of each backend, with nothing migrated yet."""
    if request.param == "sqlite":
        yield sqlite_settings(tmp_path / "home")
        return
    if request.param == "moto":
        request.getfixturevalue("moto")
    else:
        from tests.fixtures.aws import clear_aws_clients

        url = request.getfixturevalue("dynamodb_local")
        request.getfixturevalue("aws_env")
        request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL_DYNAMODB", url)
        clear_aws_clients()
    settings = dynamodb_settings()
    try:
        yield settings
    finally:
        delete_table(settings.dynamodb_table)


def test_migrations_are_numbered_in_order_and_described() -> None:
    found = migrations.discover()

    assert [migration.id[:4] for migration in found] == [
        f"{number:04}" for number in range(1, len(found) + 1)
    ]
    assert found[0].id == FIRST and len(found) >= 2
    for migration in found:
        assert migration.description and not migration.description.startswith(migration.id)
        assert callable(migration.module.sqlite) and callable(migration.module.dynamodb)


def test_apply_runs_every_migration_once_and_records_it(settings: Settings) -> None:
    every = [migration.id for migration in migrations.discover()]
    assert [migration.id for migration in migrations.pending(settings)] == every

    assert migrations.apply(settings) == every
    assert migrations.pending(settings) == []
    assert migrations.apply(settings) == []

    store = open_store(settings)
    try:
        assert store.query(Query("anything"), limit=1).items == []
    finally:
        store.close()


def test_dry_run_lists_pending_migrations_and_changes_nothing(settings: Settings) -> None:
    every = [migration.id for migration in migrations.discover()]

    assert migrations.apply(settings, dry_run=True) == every
    assert [migration.id for migration in migrations.pending(settings)] == every
    if settings.backend == "local":
        assert not settings.database_path.exists()

    assert migrations.apply(settings, upto=FIRST) == [FIRST]
    assert migrations.apply(settings, dry_run=True) == every[1:]
    assert [migration.id for migration in migrations.pending(settings)] == every[1:]


def _write_as_at_0001(settings: Settings, items: list[dict[str, object]]) -> None:
    """Store items the way Brygge did at migration 0001 (no search index existed then)."""
    if settings.backend == "local":
        import json

        conn = sqlite3.connect(settings.database_path)
        with conn:
            for item in items:
                body = {name: value for name, value in item.items() if name != "rev"}
                conn.execute(
                    "INSERT INTO items (pk, sk, rev, body) VALUES (?, ?, ?, ?)",
                    (item["pk"], item["sk"], item["rev"], json.dumps(body)),
                )
        conn.close()
        return
    from catalogue.store.dynamodb import dynamodb_client
    from catalogue.store.dynamodb_codec import to_dynamodb

    for item in items:
        dynamodb_client().put_item(TableName=settings.dynamodb_table, Item=to_dynamodb(item))


def test_upgrade_from_0001_to_head_keeps_the_data_and_makes_it_searchable(
    settings: Settings,
) -> None:
    migrations.apply(settings, upto=FIRST)
    old_items = (
        [
            {
                "pk": f"dataset#{index}",
                "sk": "dataset",
                "rev": 3,
                "title": f"Dataset {index}",
                "ratio": 0.5 + index,
                "search_scope": "dataset",
                "search_text": f"Dataset {index} about Bysykkel in Oslo" if index % 2 else "Bergen",
            }
            for index in range(6)
        ]
        + [
            {
                "pk": "dataset#6",
                "sk": "dataset",
                "rev": 1,
                "title": "Sørenga",
                "search_scope": "dataset",
                "search_text": "Badeplass på Sørenga",
            }
        ]
        + [{"pk": "dataset#0", "sk": "version#1", "rev": 1, "notes": {"a": [1, None]}}]
    )
    _write_as_at_0001(settings, old_items)

    applied = migrations.apply(settings)

    assert FIRST not in applied and applied
    store = open_store(settings)
    try:
        kept = list(query_all(store, Query("dataset#0"))) + [
            store.get(f"dataset#{index}", "dataset") for index in range(1, 7)
        ]
        assert sorted(kept, key=lambda item: (item["pk"], item["sk"])) == sorted(
            old_items, key=lambda item: (item["pk"], item["sk"])
        )
        oslo = store.search("dataset", "oslo BYSYKKEL", limit=10).items
        assert sorted(item["pk"] for item in oslo) == ["dataset#1", "dataset#3", "dataset#5"]
        prefix = store.search("dataset", "oslo BYSYK", limit=10).items
        assert sorted(item["pk"] for item in prefix) == ["dataset#1", "dataset#3", "dataset#5"]
        bergen = store.search("dataset", "be", limit=10).items
        assert sorted(item["pk"] for item in bergen) == ["dataset#0", "dataset#2", "dataset#4"]
        assert [item["pk"] for item in store.search("dataset", "Sorenga", limit=10).items] == [
            "dataset#6"
        ]

        # The backfilled index is maintained by later writes like any other.
        store.write(
            Replace(
                {"pk": "dataset#1", "sk": "dataset", "search_scope": "dataset", "search_text": "x"},
                rev=3,
            )
        )
        oslo = store.search("dataset", "oslo", limit=10).items
        assert sorted(item["pk"] for item in oslo) == ["dataset#3", "dataset#5"]
        assert migrations.apply(settings) == []
    finally:
        store.close()


def test_upgrade_to_facets_counts_the_datasets_and_their_formats(settings: Settings) -> None:
    from catalogue.repositories.dataset_index import filter_entries
    from catalogue.store.base import Create

    migrations.apply(settings, upto="0003_search_prefixes")
    store = open_store(settings)
    try:
        datasets = [
            {
                "id": name,
                "incarnation": "20260101T000000-00",
                "title": name.title(),
                "accessRights": access,
                "owner": "team:miljo",
                "state": "active",
                "keywords": ["Luft"],
                "themes": ["ENVI"],
            }
            for name, access in (("air", "public"), ("noise", "public"), ("secret", "non-public"))
        ]
        for dataset in datasets:
            item = {**dataset, "pk": f"dataset#{dataset['id']}", "sk": "dataset"}
            store.transact(
                [Create({**item, "kind": "dataset"})]
                + [Create(entry) for entry in filter_entries(dataset)]
            )
        store.write(
            Create(
                {
                    "pk": "dataset#air",
                    "sk": "distribution#1#20260101T000000#d1",
                    "kind": "distribution",
                    "format": "csv",
                }
            )
        )

        migrations.apply(settings)

        assert store.facet_counts("dataset#public") == {
            "keyword": {"luft": 2},
            "theme": {"ENVI": 2},
            "owner": {"team:miljo": 2},
            "state": {"active": 2},
            "accessRights": {"public": 2},
            "format": {"CSV": 1},
        }
        assert store.facet_counts("dataset#non-public")["accessRights"] == {"non-public": 1}
        air = store.get("dataset#air", "dataset")
        assert air is not None and air["formats"] == ["CSV"] and air["rev"] == 2
        assert [entry["sk"] for entry in query_all(store, Query("filter#format#CSV"))] == ["air"]
        assert migrations.apply(settings) == []
    finally:
        store.close()


def test_upgrade_to_search_tables_finds_the_datasets_stored_before(settings: Settings) -> None:
    import json

    from catalogue.repositories.dataset_index import facet_scope, filter_values, grant_token
    from catalogue.store.base import Create, Find

    migrations.apply(settings, upto="0004_facets")
    incarnation = "20260101T000000-00"
    items = []
    for name, title, access in (
        ("air", "Luftkvalitet i Oslo", "public"),
        ("secret", "Oslo hemmelig", "non-public"),
    ):
        dataset = {
            "id": name,
            "incarnation": incarnation,
            "title": title,
            "accessRights": access,
            "owner": "team:miljo",
            "state": "active",
            "themes": ["ENVI"],
            "modified": "2026-01-01T00:00:00Z",
        }
        # A dataset item as written before 0005: searchable, counted, no search_meta.
        items.append(
            {
                **dataset,
                "pk": f"dataset#{name}",
                "sk": "dataset",
                "kind": "dataset",
                "search_scope": "dataset",
                "search_text": f"{title.casefold()}\x1f\x1f",
                "facet_scope": facet_scope(dataset),
                "facet_values": filter_values(dataset),
            }
        )
    if settings.backend == "local":
        # The store of today writes the search tables 0005 makes: write as 0004 left them.
        with sqlite3.connect(settings.database_path) as conn:
            for item in items:
                conn.execute(
                    "INSERT INTO items (pk, sk, rev, body) VALUES (?, ?, 1, ?)",
                    (item["pk"], item["sk"], json.dumps(item)),
                )
    else:
        store = open_store(settings)
        for item in items:
            store.write(Create(item))
        store.close()

    migrations.apply(settings)
    store = open_store(settings)
    try:
        public = store.find(
            Find("dataset", "oslo", limit=10, classes=("public",), facets=("theme",))
        )
        assert [item["pk"] for item in public.page.items] == ["dataset#air"]
        assert public.counts == {"theme": {"ENVI": 1}} and public.total == 1
        granted = store.find(
            Find(
                "dataset",
                "osl",
                limit=10,
                classes=("public",),
                grants=frozenset({grant_token("secret", incarnation)}),
            )
        )
        assert sorted(item["pk"] for item in granted.page.items) == [
            "dataset#air",
            "dataset#secret",
        ]
        air = store.get("dataset#air", "dataset")
        # search_meta is the store's: the dataset's revision (its ETag) stays.
        assert air is not None and air["rev"] == 1 and air["search_meta"]["access"] == "public"
        assert migrations.apply(settings) == []
    finally:
        store.close()


@pytest.mark.parametrize("settings", ["moto", "dynamodb_local"], indirect=True)
def test_upgrade_to_one_index_item_per_term_drops_the_whole_term_items(
    settings: Settings,
) -> None:
    from catalogue.store.base import Create, Find
    from catalogue.store.dynamodb import dynamodb_client

    migrations.apply(settings, upto="0006_search_generation")
    store = open_store(settings)
    client, table = dynamodb_client(), settings.dynamodb_table
    try:
        store.write(
            Create({"pk": "d#1", "sk": "d", "search_scope": "doc", "search_text": "Luft i Oslo"})
        )
        # The index as 0006 left it: each term also under term#<scope>#<term>, and a
        # one-letter term only there.
        client.delete_item(
            TableName=table, Key={"pk": {"S": "term#doc#i*"}, "sk": {"S": 'i ["d#1","d"]'}}
        )
        for term in ("luft", "i", "oslo"):
            client.put_item(
                TableName=table,
                Item={
                    "pk": {"S": f"term#doc#{term}"},
                    "sk": {"S": '["d#1","d"]'},
                    "item_pk": {"S": "d#1"},
                    "item_sk": {"S": "d"},
                    "item_rev": {"N": "1"},
                },
            )
        assert store.search("doc", "i", limit=10).items == []
        # An answer this server keeps: the migration must not leave it standing.
        assert store.find(Find("doc", "i", limit=10)).page.items == []

        assert migrations.apply(settings) == ["0007_search_index_items"]

        def partition(pk: str) -> list[str]:
            response = client.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": pk}},
            )
            return [raw["sk"]["S"] for raw in response["Items"]]

        for term in ("luft", "i", "oslo"):
            assert partition(f"term#doc#{term}") == []
        assert partition("term#doc#i*") == ['i ["d#1","d"]']
        assert partition("term#doc#lu*") == ['luft ["d#1","d"]']
        for text in ("i", "luft oslo", "oslo lu"):
            assert [item["pk"] for item in store.search("doc", text, limit=10).items] == ["d#1"]
        assert [item["pk"] for item in store.find(Find("doc", "i", limit=10)).page.items] == ["d#1"]
    finally:
        store.close()
