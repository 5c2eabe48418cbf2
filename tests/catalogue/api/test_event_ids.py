"""Event ids (``source.id``) on every backend: a resent event is accepted once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from catalogue.repositories.event_ids import BUSY
from catalogue.repositories.events import EventRepository
from catalogue.store import keys
from catalogue.store.base import Create
from tests.catalogue.api.test_events import EVENTS, LATEST, SCHEMA, SOURCE, make_dataset, reading

ID_SCHEMA = {**SCHEMA, "fields": [*SCHEMA["fields"], {"name": "readingId", "type": "string"}]}
ID_SOURCE = {**SOURCE, "schema": ID_SCHEMA, "id": "readingId"}
REJECTS = f"{EVENTS}/rejects"


def event(reading_id: str, sensor: str, minute: int, temperature: float = 18.5) -> dict[str, Any]:
    at = f"2026-06-01T12:{minute:02d}:00Z"
    return {**reading(sensor, at, temperature), "readingId": reading_id}


@pytest.fixture
def api(app_on_store: Flask):  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    make_dataset(client, source=ID_SOURCE)
    return client


def test_a_resent_event_is_a_duplicate_and_changes_nothing(api) -> None:  # type: ignore[no-untyped-def]
    first = api.post(EVENTS, json=[event("r-1", "s-1", 0, 10.0), event("r-2", "s-2", 0)])
    # The same reading sent again (a retry that changed nothing but a later, wrong time).
    again = api.post(EVENTS, json=[event("r-1", "s-1", 5, 11.0), event("r-3", "s-3", 0)])

    assert first.json == {"accepted": 2, "rejected": [], "duplicates": []}
    assert again.json == {"accepted": 1, "rejected": [], "duplicates": [0]}
    assert api.get(f"{LATEST}/s-1").json["event"]["temperature"] == 10.0
    assert api.get(f"{LATEST}/s-3").status_code == 200


def test_an_id_twice_in_one_batch_is_accepted_once(api) -> None:  # type: ignore[no-untyped-def]
    answer = api.post(EVENTS, json=[event("r-1", "s-1", 0, 10.0), event("r-1", "s-1", 9, 12.0)])

    assert answer.json == {"accepted": 1, "rejected": [], "duplicates": [1]}
    assert api.get(f"{LATEST}/s-1").json["event"]["temperature"] == 10.0


def test_an_event_without_its_id_is_rejected(api) -> None:  # type: ignore[no-untyped-def]
    answer = api.post(EVENTS, json=reading("s-1", "2026-06-01T12:00:00Z"))

    assert answer.json["rejected"] == [{"index": 0, "errors": {"readingId": ["required"]}}]


def test_a_resent_batch_with_its_key_gets_the_first_answer_and_without_it_duplicates(api) -> None:  # type: ignore[no-untyped-def]
    batch = [event("r-1", "s-1", 0), event("r-2", "s-2", 0, 999)]
    headers = {"Idempotency-Key": "batch-1"}

    first = api.post(EVENTS, json=batch, headers=headers)
    same_key = api.post(EVENTS, json=batch, headers=headers)
    no_key = api.post(EVENTS, json=batch)

    assert same_key.json == first.json
    assert first.json["accepted"] == 1 and first.json["duplicates"] == []
    # Without the key the accepted event is a duplicate; the broken one is checked again.
    assert no_key.json["accepted"] == 0 and no_key.json["duplicates"] == [0]
    assert [item["index"] for item in api.get(REJECTS).json["items"]] == [1, 1]


def test_an_id_being_accepted_elsewhere_is_rejected_until_its_claim_expires(
    api, app_on_store: Flask, clock
) -> None:  # type: ignore[no-untyped-def]
    services = app_on_store.extensions["brygge"]
    dataset = services.repositories.datasets.get_item("bad")
    # Another request claimed r-1 and then its process died.
    services.store.write(
        Create(
            {
                "pk": keys.event_id_pk("bad", dataset["incarnation"], "1"),
                "sk": "r-1",
                "kind": "event-id",
                "state": "pending",
                "expiresAt": int((clock.now + timedelta(minutes=2)).timestamp()),
            }
        )
    )

    busy = api.post(EVENTS, json=event("r-1", "s-1", 0))
    clock.now += timedelta(minutes=3)
    later = api.post(EVENTS, json=event("r-1", "s-1", 0))

    assert busy.json["rejected"] == [{"index": 0, "errors": {"readingId": [BUSY]}}]
    assert later.json == {"accepted": 1, "rejected": [], "duplicates": []}


def test_a_batch_that_fails_frees_its_ids_for_the_resend(api, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    original = EventRepository._write

    def fail_once(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(EventRepository, "_write", original)
        raise RuntimeError("the store went away")

    monkeypatch.setattr(EventRepository, "_write", fail_once)
    failed = api.post(EVENTS, json=event("r-1", "s-1", 0))
    again = api.post(EVENTS, json=event("r-1", "s-1", 0))

    assert failed.status_code == 500
    assert again.json == {"accepted": 1, "rejected": [], "duplicates": []}


@pytest.mark.parametrize(
    ("event_id", "errors"),
    [
        ("temperature", ["'temperature' is a number; it must be one of string, integer"]),
        ("nope", ["'nope' is not a field of the schema"]),
        ("", ["must name the field that identifies an event"]),
    ],
)
def test_a_broken_id_field_is_422(app_on_store: Flask, event_id: str, errors: list[str]) -> None:
    body = {"title": "X", "accessRights": "public", "owner": "team:a"}
    source = {**ID_SOURCE, "id": event_id}

    response = app_on_store.test_client().post("/datasets", json={**body, "source": source})

    assert response.status_code == 422
    assert response.json["errors"]["json"]["source"]["id"] == errors
