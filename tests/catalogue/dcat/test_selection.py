"""The job reads public datasets and their latest editions through the real repositories."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catalogue.dcat.open_data import run_publishing
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.selection import publish_items
from catalogue.repositories import Repositories
from catalogue.settings import Settings
from catalogue.store.base import ItemStore
from pipelines.objects import LocalObjectStore, S3ObjectStore
from tests.catalogue.dcat.conftest import CATALOG_INFO, directory_target, make_dataset

PRINCIPAL = "user:publisher"


@pytest.fixture
def repositories(sqlite_store: ItemStore) -> Repositories:
    return Repositories(sqlite_store, lambda: datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC))


@pytest.fixture
def objects(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def create_dataset(repositories: Repositories, dataset_id: str, **changes: Any) -> None:
    data = make_dataset(dataset_id, **changes)
    for computed in ("state", "created", "modified", "sourceType"):
        data.pop(computed)
    data["owner"] = "team:environment"
    repositories.datasets.create(data, principal=PRINCIPAL)


def add_edition(
    repositories: Repositories,
    objects: LocalObjectStore,
    dataset_id: str,
    edition: str,
    body: bytes,
    *,
    version: str = "1",
    zone: str = "green",
) -> str:
    """An edition with one processed CSV distribution whose file is in the object store."""
    repositories.editions.create([dataset_id, version], {"edition": edition}, principal=PRINCIPAL)
    key = f"processed/{zone}/{dataset_id}/version={version}/edition={edition}/{dataset_id}.csv"
    objects.put(key, io.BytesIO(body))
    distribution = {
        "id": "d1",
        "type": "file",
        "filenames": [f"{dataset_id}.csv"],
        "mediaType": "text/csv",
        "byteSize": len(body),
        "checksum": hashlib.sha256(body).hexdigest(),
        "key": key,
        "run": f"run-{dataset_id}-{edition}",
    }
    repositories.distributions.create(
        [dataset_id, version, edition], distribution, principal=PRINCIPAL
    )
    return key


def test_items_are_public_datasets_with_their_latest_edition(
    repositories: Repositories, objects: LocalObjectStore
) -> None:
    create_dataset(repositories, "air")
    add_edition(repositories, objects, "air", "20240101T000000", b"old\n")
    newest = add_edition(repositories, objects, "air", "20250101T000000", b"new\n")
    create_dataset(repositories, "secret", accessRights="restricted")
    add_edition(repositories, objects, "secret", "20250101T000000", b"x\n", zone="yellow")
    create_dataset(repositories, "empty")

    items = {item.dataset["id"]: item for item in publish_items(repositories, page_size=1)}

    assert set(items) == {"air", "empty"}
    assert items["air"].keys == [newest]
    assert [d["edition"] for d in items["air"].distributions] == ["20250101T000000"]
    assert items["air"].editions[0]["edition"] == "20250101T000000"
    assert list(items["empty"].keys) == []


def test_latest_version_with_an_edition_wins(
    repositories: Repositories, objects: LocalObjectStore
) -> None:
    create_dataset(repositories, "air")
    add_edition(repositories, objects, "air", "20240101T000000", b"v1\n")
    for version in ("2", "10"):
        repositories.versions.create(["air"], {"version": version}, principal=PRINCIPAL)
    key = add_edition(repositories, objects, "air", "20230101T000000", b"v2\n", version="2")

    [item] = publish_items(repositories)

    # Version 10 has no edition yet; version 2 is the newest that has one.
    assert item.keys == [key]


def test_run_publishing_publishes_then_withdraws_a_deleted_dataset(
    repositories: Repositories, objects: LocalObjectStore, tmp_path: Path
) -> None:
    settings = Settings(
        home=tmp_path / "home",
        base_url="https://data.example.no/api",
        open_data_base_url="https://open.example.no",
    )
    create_dataset(repositories, "air")
    add_edition(repositories, objects, "air", "20250101T000000", b"a\n1\n")
    create_dataset(repositories, "water")
    add_edition(repositories, objects, "water", "20250101T000000", b"w\n2\n")
    target = directory_target(tmp_path / "open-data")

    def publish() -> Any:
        return run_publishing(
            settings,
            repositories=repositories,
            objects=objects,
            target=target,
            catalog_info=CATALOG_INFO,
        )

    first = publish()
    second = publish()
    repositories.datasets.delete("air", if_match=None, cascade=True, principal=PRINCIPAL)
    third = publish()

    assert "datasets/air/air.csv" in first.published
    assert second.published == []
    assert third.withdrawn == ["datasets/air/air.csv"]
    assert not (tmp_path / "open-data/datasets/air").exists()
    assert (tmp_path / "open-data/datasets/water/water.csv").read_bytes() == b"w\n2\n"
    feed = json.loads((tmp_path / "open-data/catalog.jsonld").read_text())
    ids = {node["@id"] for node in feed["@graph"]}
    assert "https://data.example.no/api/datasets/water" in ids
    assert "https://data.example.no/api/datasets/air" not in ids
    assert "https://data.example.no/api/runs/run-water-20250101T000000" in ids


def test_open_data_location_follows_settings(tmp_path: Path) -> None:
    from catalogue.object_stores import open_data_store

    local = open_data_store(Settings(home=tmp_path / "home"))
    assert isinstance(local, LocalObjectStore)
    assert local.root == tmp_path / "home/open-data"
    bucket = open_data_store(Settings(home=tmp_path, open_data_bucket="brygge-open"))
    assert isinstance(bucket, S3ObjectStore)
    assert (bucket.bucket, bucket.prefix) == ("brygge-open", "")


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({}, "BRYGGE_BASE_URL"),
        ({"BRYGGE_BASE_URL": "https://data.example.no/api"}, "BRYGGE_OPEN_DATA_BASE_URL"),
        ({"BRYGGE_OPEN_DATA_BASE_URL": "https://open.example.no"}, "BRYGGE_BASE_URL"),
    ],
)
def test_publishing_without_public_urls_refuses_and_names_the_variable(
    tmp_path: Path, environment: dict[str, str], named: str
) -> None:
    from catalogue.settings import SettingsError

    settings = Settings.from_env({"BRYGGE_HOME": str(tmp_path), **environment})
    with pytest.raises(SettingsError, match=named):
        run_publishing(settings)
    assert not (tmp_path / "open-data").exists()


def test_an_empty_newer_edition_hides_nothing(store: ItemStore, tmp_path: Path) -> None:
    """On every store: the newest edition with distributions is the one published."""
    repositories = Repositories(store, lambda: datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC))
    objects = LocalObjectStore(tmp_path / "objects")
    create_dataset(repositories, "air")
    published = add_edition(repositories, objects, "air", "20240101T000000", b"a\n1\n")
    # An upload URL never used, a run that failed: editions without distributions.
    for edition in ("20250101T000000", "20250202T000000"):
        repositories.editions.create(["air", "1"], {"edition": edition}, principal=PRINCIPAL)
    repositories.versions.create(["air"], {"version": "2"}, principal=PRINCIPAL)
    repositories.editions.create(["air", "2"], {"edition": "20250303T000000"}, principal=PRINCIPAL)

    [item] = publish_items(repositories, page_size=1)

    assert item.keys == [published]
    assert [edition["edition"] for edition in item.editions] == ["20240101T000000"]
    assert missing_for_publication(item.dataset, item.distributions) == []


def test_scheduled_handler_publishes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from catalogue.lambdas import publish_open_data as handler
    from catalogue.store import migrations
    from catalogue.store.factory import open_store

    home = tmp_path / "home"
    monkeypatch.setenv("BRYGGE_HOME", str(home))
    monkeypatch.setenv("BRYGGE_BASE_URL", "https://data.example.no/api")
    monkeypatch.setenv("BRYGGE_OPEN_DATA_BASE_URL", "https://open.example.no")
    settings = Settings.from_env()
    migrations.apply(settings)
    store = open_store(settings)
    try:
        repositories = Repositories(store, lambda: datetime(2025, 1, 1, tzinfo=UTC))
        create_dataset(repositories, "air")
    finally:
        store.close()

    report = handler({"source": "aws.events"}, None)

    assert sorted(report["published"]) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
    ]
    assert (home / "open-data/catalog.ttl").is_file()
    assert json.loads(capsys.readouterr().out)["published"] == 4
