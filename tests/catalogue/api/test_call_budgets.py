"""DynamoDB calls per request, counted on DynamoDB Local with botocore's event hooks.

Calls are what DynamoDB bills and what its latency multiplies: each read path has a budget.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.app import create_app
from catalogue.store.base import ItemStore
from tests.catalogue.api.test_catalog import BASE_URL, FILE, PUBLISHABLE
from tests.fixtures.app import authenticate_as_site_admin, catalog_settings

PUBLIC = 50
READER = "user:reader"
READER_TEAM = "team:lesere"


@contextlib.contextmanager
def counting_calls() -> Iterator[Counter[str]]:
    """Count the DynamoDB operations made inside the block, by name."""
    from catalogue.store.dynamodb import dynamodb_client

    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb", count, unique_id="brygge-call-budget")
    try:
        yield calls
    finally:
        events.unregister("before-call.dynamodb", unique_id="brygge-call-budget")


def calls_of(send: Callable[[], Any]) -> Counter[str]:
    with counting_calls() as calls:
        response = send()
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return calls


@pytest.fixture(scope="module")
def catalogue_app(
    dynamodb_local: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, FlaskClient]]:
    """An app on DynamoDB Local with 50 publishable public datasets (one file each), 10
    restricted ones and 10 non-public ones, half of them granted to the reader's team; and
    the reader's client, holding an API token."""
    monkeypatch = pytest.MonkeyPatch()
    from tests.fixtures.aws import REGION, clear_aws_clients
    from tests.fixtures.stores import _dynamodb_store

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_local,
    }.items():
        monkeypatch.setenv(name, value)
    clear_aws_clients()
    stores = _dynamodb_store()
    store: ItemStore = next(stores)
    try:
        settings = catalog_settings(tmp_path_factory.mktemp("budgets") / "home", BASE_URL)
        app = create_app(settings, store=store)
        app.config["TESTING"] = True
        authenticate_as_site_admin(app)
        seed(app.test_client())
        token, _ = app.extensions["brygge"].repositories.tokens.create(READER, teams=[READER_TEAM])
        reader = app.test_client()
        reader.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        yield app, reader
    finally:
        with contextlib.suppress(StopIteration):
            next(stores)
        monkeypatch.undo()
        clear_aws_clients()


def seed(admin: FlaskClient) -> None:
    for number in range(PUBLIC):
        dataset_id = f"open-{number:02d}"
        body = {**PUBLISHABLE, "id": dataset_id, "title": f"Open data {number}"}
        assert admin.post("/datasets", json=body).status_code == 201
        editions = f"/datasets/{dataset_id}/versions/1/editions"
        edition = admin.post(editions, json={"description": "first"}).json["edition"]
        created = admin.post(f"{editions}/{edition}/distributions", json=FILE)
        assert created.status_code == 201, created.json
    for access_rights in ("restricted", "non-public"):
        for number in range(10):
            dataset_id = f"{access_rights}-{number:02d}"
            body = {**PUBLISHABLE, "id": dataset_id, "accessRights": access_rights}
            assert admin.post("/datasets", json=body).status_code == 201
            if number % 2 == 0:
                grant = {"scopes": ["read"]}
                path = f"/datasets/{dataset_id}/permissions/{READER_TEAM}"
                assert admin.put(path, json=grant).status_code == 200


def test_reading_a_dataset_with_a_token_takes_two_calls(catalogue_app) -> None:  # type: ignore[no-untyped-def]
    _, reader = catalogue_app
    for dataset_id in ("open-07", "non-public-04"):
        calls = calls_of(lambda dataset_id=dataset_id: reader.get(f"/datasets/{dataset_id}"))
        assert sum(calls.values()) <= 2, (dataset_id, calls)


def test_a_list_page_of_50_takes_four_calls(catalogue_app) -> None:  # type: ignore[no-untyped-def]
    _, reader = catalogue_app
    calls = calls_of(lambda: reader.get("/datasets?limit=50&facets=false"))
    assert sum(calls.values()) <= 4, calls


def test_facet_counts_add_one_query_per_access_class_the_reader_sees(catalogue_app) -> None:  # type: ignore[no-untyped-def]
    # The counters of public and restricted datasets, the reader's grants for the
    # non-public ones and the search generation the answer is kept under: the figure today,
    # so that it cannot grow unnoticed.
    _, reader = catalogue_app
    calls = calls_of(lambda: reader.get("/datasets?limit=50"))
    assert sum(calls.values()) <= 8, calls
    # Asked again, the kept answer costs the generation's read beside the reader's own
    # (its token, its grants and their datasets, which name the answer it may be given).
    again = calls_of(lambda: reader.get("/datasets?limit=50"))
    assert again["Query"] <= 3 and sum(again.values()) <= 6, again


def test_a_catalog_page_of_50_takes_ten_calls(catalogue_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = catalogue_app
    client = app.test_client()
    first = client.get("/catalog?limit=50", headers={"Accept": "application/ld+json"})
    assert first.status_code == 200
    calls = calls_of(
        lambda: client.get("/catalog?limit=50", headers={"Accept": "application/ld+json"})
    )
    assert sum(calls.values()) <= 10, calls


def test_the_dataset_page_reads_versions_and_editions_once(catalogue_app) -> None:  # type: ignore[no-untyped-def]
    # The page shows the timeline and the newest edition's distributions from the same reads,
    # and lists the children of what it has just read without reading it again: the token,
    # the dataset with the caller's grants (once: the check's read also tells which actions
    # to offer), its versions, each version's editions, the newest edition's distributions.
    # Its runs and history are read by their own pages' fragments, when scrolled to.
    _, reader = catalogue_app
    calls = calls_of(lambda: reader.get("/datasets/open-07", headers={"Accept": "text/html"}))
    assert calls["Query"] == 3, calls
    assert sum(calls.values()) <= 5, calls
