"""A store that was never migrated answers 503 with what to do, on both backends."""

from __future__ import annotations

import pytest

from catalogue.app import create_app
from catalogue.settings import Settings
from catalogue.store.dynamodb import DynamoDbStore
from catalogue.store.sqlite import SqliteStore


@pytest.mark.parametrize("home_exists", [False, True])
def test_an_unmigrated_sqlite_home_is_503_naming_the_fix(tmp_path, home_exists) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", auth="off")
    if home_exists:
        settings.home.mkdir()
    store = SqliteStore(settings.database_path)
    client = create_app(settings, store=store).test_client()

    response = client.get("/datasets")

    assert response.status_code == 503
    assert "brygge migrate" in response.json["message"]
    store.close()


def test_a_missing_dynamodb_table_is_503_naming_the_fix(moto, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", backend="aws", auth="off")
    store = DynamoDbStore("no-such-table")
    client = create_app(settings, store=store).test_client()

    listed = client.get("/datasets")
    created = client.post(
        "/datasets", json={"title": "x", "accessRights": "public", "owner": "team:x"}
    )

    assert listed.status_code == 503
    assert created.status_code == 503
    assert "no-such-table" in listed.json["message"]
    assert "brygge migrate" in created.json["message"]
