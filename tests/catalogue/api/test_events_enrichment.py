"""Events enriched from a lookup dataset on every backend: matches, misses, new editions."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from catalogue.enrichment import clear_tables
from catalogue.object_stores import object_store
from tests.catalogue.api.test_events import EVENTS, LATEST, SOURCE, make_dataset, reading

SENSORS = "sensorId,place,lat,lon\ns-1,Sørenga,59.9027,10.7524\ns-2,Bygdøy,59.9050,10.6830\n"
ENRICH = {"lookup": {"dataset": "sensors"}, "on": {"sensorId": "sensorId"}}
REJECTS = "/datasets/bad/versions/1/events/rejects"
AT = "2026-06-01T12:00:00Z"


@pytest.fixture(autouse=True)
def fresh_tables() -> Iterator[None]:
    # Every test's store holds the same dataset ids and editions: start with no cached table.
    clear_tables()
    yield
    clear_tables()


@pytest.fixture
def api(app_on_store: Flask):  # type: ignore[no-untyped-def]
    return app_on_store.test_client()


def publish_lookup(
    app: Flask,
    body: str = SENSORS,
    edition: str = "20260601T000000",
    access: str = "public",
    owner: str = "team:bath",
) -> str:
    """Publish ``body`` as the CSV distribution of an edition of dataset ``sensors``."""
    client = app.test_client()
    if client.get("/datasets/sensors").status_code == 404:
        dataset = {"id": "sensors", "title": "Sensors", "accessRights": access, "owner": owner}
        assert client.post("/datasets", json=dataset).status_code == 201
    created = client.post("/datasets/sensors/versions/1/editions", json={"edition": edition})
    assert created.status_code == 201, created.json
    zone = {"public": "green", "restricted": "yellow", "non-public": "red"}[access]
    key = f"processed/{zone}/sensors/version=1/edition={edition}/sensors.csv"
    services = app.extensions["brygge"]
    object_store(services.settings).put(key, io.BytesIO(body.encode()))
    services.repositories.distributions.create(
        ["sensors", "1", edition],
        {"filenames": ["sensors.csv"], "key": key, "format": "CSV", "byteSize": len(body)},
        principal="user:pipeline",
    )
    return key


def enriched_source(**enrich: Any) -> dict[str, Any]:
    return {**SOURCE, "enrich": {**ENRICH, **enrich}}


def test_accepted_events_carry_the_lookup_row_and_the_latest_value_keeps_it(
    api, app_on_store: Flask
) -> None:  # type: ignore[no-untyped-def]
    publish_lookup(app_on_store)
    make_dataset(api, source=enriched_source())

    answer = api.post(EVENTS, json=[reading("s-1", AT, 17.5), reading("s-9", AT, 12.0)])

    assert answer.json == {"accepted": 2, "rejected": []}
    latest = api.get(f"{LATEST}/s-1").json["event"]
    assert latest == {
        "sensorId": "s-1",
        "observedAt": AT,
        "temperature": 17.5,
        "status": None,
        "place": "Sørenga",
        "lat": "59.9027",
        "lon": "10.7524",
    }
    # An unknown sensor is accepted (unmatched: keep, the default) with empty columns.
    unknown = api.get(f"{LATEST}/s-9").json["event"]
    assert {name: unknown[name] for name in ("place", "lat", "lon")} == dict.fromkeys(
        ("place", "lat", "lon")
    )
    assert api.get("/datasets/bad").json["source"]["enrich"]["unmatched"] == "keep"


def test_an_unknown_sensor_is_rejected_with_its_reason_when_so_configured(
    api, app_on_store: Flask
) -> None:  # type: ignore[no-untyped-def]
    publish_lookup(app_on_store)
    make_dataset(api, source=enriched_source(unmatched="reject", columns=["place"]))

    answer = api.post(EVENTS, json=[reading("s-9", AT), reading("s-2", AT)])

    reason = "no row of the lookup dataset 'sensors' has this value"
    assert answer.json == {
        "accepted": 1,
        "rejected": [{"index": 0, "errors": {"sensorId": [reason]}}],
    }
    assert api.get(REJECTS).json["items"][0]["event"] == reading("s-9", AT)
    assert api.get(f"{LATEST}/s-2").json["event"]["place"] == "Bygdøy"
    assert "lat" not in api.get(f"{LATEST}/s-2").json["event"]
    assert api.get(f"{LATEST}/s-9").status_code == 404


def test_the_table_is_read_once_per_edition_and_a_new_edition_is_seen(
    api, app_on_store: Flask
) -> None:  # type: ignore[no-untyped-def]
    key = publish_lookup(app_on_store)
    make_dataset(api, source=enriched_source(columns=["place"]))
    assert api.post(EVENTS, json=reading("s-1", AT)).json["accepted"] == 1

    # The same edition's object changed behind the catalogue's back: the cached table stands.
    objects = object_store(app_on_store.extensions["brygge"].settings)
    objects.put(key, io.BytesIO(SENSORS.replace("Sørenga", "Changed").encode()))
    api.post(EVENTS, json=reading("s-1", "2026-06-01T12:01:00Z"))
    assert api.get(f"{LATEST}/s-1").json["event"]["place"] == "Sørenga"

    publish_lookup(app_on_store, SENSORS.replace("Sørenga", "Sørenga brygge"), "20260602T000000")
    api.post(EVENTS, json=reading("s-1", "2026-06-01T12:02:00Z"))
    assert api.get(f"{LATEST}/s-1").json["event"]["place"] == "Sørenga brygge"


@pytest.mark.parametrize(
    ("enrich", "errors"),
    [
        ({**ENRICH, "unmatched": "drop"}, {"unmatched": ["must be one of keep, reject"]}),
        ({**ENRICH, "lookup": {"key": "raw/x.csv"}}, {"lookup": ['must be {"dataset": "<id>"}']}),
        (
            {**ENRICH, "on": "temperature"},
            {"on": ["'temperature' is a number; it must be one of string, integer"]},
        ),
        ({**ENRICH, "on": "nope"}, {"on": ["'nope' is not a field of the schema"]}),
        (
            {**ENRICH, "columns": ["temperature"]},
            {"columns": ["'temperature' is already a field of the schema"]},
        ),
        ({**ENRICH, "join": "x"}, {"join": ["unknown field"]}),
        ("sensors", {"_schema": ["must be an object with a lookup and on"]}),
    ],
)
def test_a_broken_enrich_is_422_naming_its_field(api, enrich, errors) -> None:  # type: ignore[no-untyped-def]
    body = {"title": "Bad", "accessRights": "public", "owner": "team:a"}

    response = api.post("/datasets", json={**body, "source": {**SOURCE, "enrich": enrich}})

    assert response.status_code == 422, response.json
    assert response.json["errors"]["json"]["source"]["enrich"] == errors


@pytest.mark.parametrize(
    ("setup", "enrich", "message"),
    [
        ("none", {}, "the lookup dataset 'sensors' does not exist or the owner team"),
        ("other-team", {}, "the lookup dataset 'sensors' does not exist or the owner team"),
        ("no-csv", {}, "the lookup dataset 'sensors' has no published CSV distribution"),
        (
            "published",
            {"on": {"sensorId": "id"}},
            "the lookup dataset 'sensors' has no column 'id'",
        ),
        ("duplicates", {}, "the lookup dataset 'sensors' has more than one row for s-1"),
    ],
)
def test_a_lookup_that_cannot_enrich_refuses_the_batch_and_writes_nothing(
    api, app_on_store: Flask, setup: str, enrich: dict[str, Any], message: str
) -> None:  # type: ignore[no-untyped-def]
    if setup == "other-team":
        publish_lookup(app_on_store, access="non-public", owner="team:roads")
    elif setup == "no-csv":
        body = {"id": "sensors", "title": "Sensors", "accessRights": "public", "owner": "team:a"}
        api.post("/datasets", json=body)
    elif setup == "published":
        publish_lookup(app_on_store)
    elif setup == "duplicates":
        publish_lookup(app_on_store, SENSORS + "s-1,Again,1,2\n")
    make_dataset(api, source=enriched_source(**enrich))

    answer = api.post(EVENTS, json=[reading("s-1", AT), reading("s-2", AT, 999)])

    assert answer.status_code == 409, answer.json
    assert message in answer.json["message"]
    assert api.get(LATEST).json["items"] == []
    assert api.get(REJECTS).json["items"] == []
