"""Event datasets on every backend: source checks, ingest with rejects, latest values."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from catalogue.domain.numbers import stored_number
from catalogue.repositories.tokens import TokenRepository
from catalogue.services import utc_now

SCHEMA = {
    "fields": [
        {"name": "sensorId", "type": "string", "constraints": {"pattern": "s-[0-9]+"}},
        {"name": "observedAt", "type": "datetime"},
        {
            "name": "temperature",
            "type": "number",
            "constraints": {"required": True, "minimum": -40, "maximum": 60},
        },
        {"name": "status", "type": "string", "constraints": {"enum": ["ok", "degraded"]}},
    ],
    "missingValues": ["", "NA"],
}
SOURCE = {"type": "event", "schema": SCHEMA, "key": ["sensorId"], "time": "observedAt"}
EVENTS = "/datasets/bad/versions/1/events"
LATEST = "/datasets/bad/versions/1/latest"


def reading(sensor: str, at: str, temperature: Any = 18.5, **extra: Any) -> dict[str, Any]:
    return {"sensorId": sensor, "observedAt": at, "temperature": temperature, **extra}


def make_dataset(api, access: str = "public", source: dict | None = None, owner: str = "team:bath"):  # type: ignore[no-untyped-def]
    body = {"id": "bad", "title": "Badetemperatur", "accessRights": access, "owner": owner}
    response = api.post("/datasets", json={**body, "source": source or SOURCE})
    assert response.status_code == 201, response.json
    return response.json


@pytest.fixture
def api(app_on_store: Flask):  # type: ignore[no-untyped-def]
    return app_on_store.test_client()


def test_an_event_source_is_stored_with_its_defaults(api) -> None:  # type: ignore[no-untyped-def]
    dataset = make_dataset(api)

    assert dataset["source"]["batch"] == {"maxEvents": 10_000, "maxSeconds": 300}
    assert dataset["source"]["schema"]["missingValues"] == ["", "NA"]
    plain = api.post(
        "/datasets", json={"title": "Files", "accessRights": "public", "owner": "team:a"}
    )
    assert "source" not in plain.json  # absent: a file dataset, as before


@pytest.mark.parametrize(
    ("source", "errors"),
    [
        ({**SOURCE, "time": "when"}, {"time": ["'when' is not a field of the schema"]}),
        ({**SOURCE, "key": ["sensorId", "nope"]}, {"key": ["'nope' is not a field of the schema"]}),
        (
            {**SOURCE, "key": ["temperature"]},
            {"key": ["'temperature' is a number; it must be one of string, integer"]},
        ),
        (
            {**SOURCE, "batch": {"maxEvents": 0}},
            {"batch": {"maxEvents": ["must be a positive integer"]}},
        ),
        (
            {**SOURCE, "schema": {"fields": [{"name": "x", "type": "decimal"}]}},
            {
                "schema": {
                    "fields": {
                        "0": {
                            "type": [
                                "must be one of string, integer, number, boolean, date, datetime"
                            ]
                        }
                    }
                }
            },
        ),
        ({"type": "stream"}, {"type": ["must be file or event"]}),
    ],
)
def test_a_broken_source_is_422_naming_the_field(api, source, errors) -> None:  # type: ignore[no-untyped-def]
    body = {"title": "Bad", "accessRights": "public", "owner": "team:a", "source": source}

    response = api.post("/datasets", json=body)

    assert response.status_code == 422, response.json
    found = response.json["errors"]["json"]["source"]
    assert {name: found[name] for name in errors} == errors
    assert api.get("/datasets").json["items"] == []


def test_patch_replaces_the_source_and_checks_it(api) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)

    broken = api.patch("/datasets/bad", json={"source": {**SOURCE, "time": "temperature2"}})
    assert broken.status_code == 422
    assert "time" in broken.json["errors"]["json"]["source"]
    assert api.patch("/datasets/bad", json={"source": {"type": "file"}}).json["source"] == {
        "type": "file"
    }
    assert api.post(EVENTS, json=reading("s-1", "2026-06-01T12:00:00Z")).status_code == 409


def test_events_are_checked_and_rejects_kept_with_reasons(api) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)
    batch = [
        reading("s-1", "2026-06-01T12:00:00Z"),
        reading("s-2", "2026-06-01T12:00:00Z", 999),
        reading("s-3", "2026-06-01T12:00:00Z", -273),
        {"sensorId": "s-4", "observedAt": "2026-06-01T12:00:00Z", "temperature": "NA"},
        reading("s-5", "yesterday", status="broken"),
        reading("x", "2026-06-01T12:00:00Z", colour="red"),
        reading("s-6", "2026-06-01T12:00:00", True),
        ["not", "an", "object"],
    ]

    response = api.post(EVENTS, json=batch)

    assert response.status_code == 200, response.json
    assert response.json == {
        "accepted": 1,
        "rejected": [
            {"index": 1, "errors": {"temperature": ["above the maximum 60"]}},
            {"index": 2, "errors": {"temperature": ["below the minimum -40"]}},
            {"index": 3, "errors": {"temperature": ["required"]}},
            {
                "index": 4,
                "errors": {
                    "observedAt": [
                        "must be a date and time with seconds and a time zone "
                        "(2026-06-01T12:00:00Z)"
                    ],
                    "status": ["not one of ok, degraded"],
                },
            },
            {
                "index": 5,
                "errors": {
                    "colour": ["not a field of the schema"],
                    "sensorId": ["does not match s-[0-9]+"],
                },
            },
            {
                "index": 6,
                "errors": {
                    "observedAt": [
                        "must be a date and time with seconds and a time zone "
                        "(2026-06-01T12:00:00Z)"
                    ],
                    "temperature": ["must be a number"],
                },
            },
            {"index": 7, "errors": {"_event": ["an event is a JSON object"]}},
        ],
    }
    rejects, cursor, pages = [], None, 0
    while True:
        page = api.get(f"{EVENTS}/rejects?limit=3" + (f"&cursor={cursor}" if cursor else "")).json
        rejects.extend(page["items"])
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 3
    assert [(r["index"], r["event"]) for r in rejects] == [(i, batch[i]) for i in range(1, 8)]
    assert rejects[0]["errors"] == {"temperature": ["above the maximum 60"]}
    assert [item["key"] for item in api.get(LATEST).json["items"]] == ["s-1"]


def test_an_event_naming_no_series_or_too_large_to_keep_is_rejected(api) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "t", "type": "integer"},
            {"name": "note", "type": "string"},
        ],
        "missingValues": [],
    }
    make_dataset(api, source={"type": "event", "schema": schema, "key": ["id"], "time": "t"})
    batch = [
        {"id": "", "t": 1},
        {"id": "x" * 1100, "t": 1},
        {"id": "a", "t": 1, "note": "n" * 20_000},
    ]

    response = api.post(EVENTS, json=batch)

    assert response.json["rejected"] == [
        {"index": 0, "errors": {"id": ["must not be empty: it names the series"]}},
        {"index": 1, "errors": {"_key": ["the series key is longer than 1024 bytes"]}},
        {"index": 2, "errors": {"_event": ["larger than 16384 bytes of JSON"]}},
    ]
    rejects = api.get(f"{EVENTS}/rejects").json["items"]
    assert rejects[1]["event"] == batch[1]
    assert "event" not in rejects[2] and len(rejects[2]["eventText"]) == 16_384


def test_numbers_every_store_keeps_are_accepted_and_others_rejected_and_kept_as_text(api) -> None:  # type: ignore[no-untyped-def]
    fields = [{"name": "temperature", "type": "number"}, *SCHEMA["fields"][:2]]
    make_dataset(api, source={**SOURCE, "schema": {"fields": fields}})
    # DynamoDB keeps magnitudes from 1e-130 to below 1e126, with 38 significant digits.
    kept = [0.0, -0.0, 1e-130, -9.5e125, 0.1 + 0.2, 12345678901234567890123, 10**40]
    refused = [1e300, 5e-324, -1e-200, 1e126, 12345678901234567890123456789012345678901234567890]
    batch = [
        reading(f"s-{index}", "2026-06-01T12:00:00Z", value)
        for index, value in enumerate(kept + refused)
    ]
    batch[0]["note"] = 1e300  # rejected as not a field, and kept as posted

    response = api.post(EVENTS, json=batch)

    assert response.status_code == 200, response.json
    assert response.json["accepted"] == len(kept) - 1
    rejected = [0, *range(len(kept), len(batch))]
    assert [reject["index"] for reject in response.json["rejected"]] == rejected
    assert response.json["rejected"][1]["errors"] == {
        "temperature": ["outside the numbers every store keeps (1e-130 to 1e126, 38 digits)"]
    }
    rejects = api.get(f"{EVENTS}/rejects").json["items"]
    assert [reject["index"] for reject in rejects] == rejected
    assert json.loads(rejects[0]["eventText"]) == batch[0]
    assert json.loads(rejects[1]["eventText"]) == batch[len(kept)]
    for index, value in enumerate(kept[1:], start=1):
        # From 2**53 on a float is kept as the integer its text names, as DynamoDB keeps it.
        expected = stored_number(value) if isinstance(value, float) else value
        assert api.get(f"{LATEST}/s-{index}").json["event"]["temperature"] == expected


def test_an_older_event_arriving_late_never_replaces_a_newer_one(api) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)
    api.post(EVENTS, json=reading("s-1", "2026-06-01T12:00:00+02:00", 20.0))
    # The same moment as 10:00Z, and an earlier one, both later in arrival.
    late = [
        reading("s-1", "2026-06-01T10:00:00Z", 1.0),
        reading("s-1", "2026-06-01T09:59:59Z", 2.0),
    ]
    assert api.post(EVENTS, json=late).json == {"accepted": 2, "rejected": []}
    assert api.get(f"{LATEST}/s-1").json["event"]["temperature"] == 20.0

    newer = [
        reading("s-1", "2026-06-01T10:00:01Z", 21.0),
        reading("s-1", "2026-06-01T10:00:00.5Z", 3.0),
    ]
    api.post(EVENTS, json=newer)

    latest = api.get(f"{LATEST}/s-1").json
    assert latest["time"] == "2026-06-01T10:00:01Z"
    assert latest["series"] == {"sensorId": "s-1"}
    assert latest["event"]["temperature"] == 21.0


def test_a_time_field_of_another_type_moves_the_latest_value_on(api) -> None:  # type: ignore[no-untyped-def]
    fields = [*SCHEMA["fields"], {"name": "epoch", "type": "integer"}]
    source = {**SOURCE, "schema": {"fields": fields}, "time": "epoch"}
    make_dataset(api, source=source)
    api.post(EVENTS, json=reading("s-1", "2026-06-01T12:00:00Z", 18.0, epoch=1780315200))
    etag = api.get("/datasets/bad").headers["ETag"]
    changed = api.patch(
        "/datasets/bad",
        json={"source": {**source, "time": "observedAt"}},
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.json

    api.post(EVENTS, json=reading("s-1", "2026-06-01T13:00:00Z", 19.0, epoch=1780318800))
    late = api.post(EVENTS, json=reading("s-1", "2026-06-01T12:30:00Z", 1.0, epoch=1780317000))

    assert late.json == {"accepted": 1, "rejected": []}
    latest = api.get(f"{LATEST}/s-1").json
    assert (latest["time"], latest["event"]["temperature"]) == ("2026-06-01T13:00:00Z", 19.0)


def test_latest_values_page_through_every_series(api) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)
    api.post(EVENTS, json=[reading(f"s-{n}", "2026-06-01T12:00:00Z", float(n)) for n in range(7)])

    seen, cursor = [], None
    while True:
        page = api.get(f"{LATEST}?limit=3" + (f"&cursor={cursor}" if cursor else "")).json
        seen.extend(item["key"] for item in page["items"])
        cursor = page["next"]
        if cursor is None:
            break

    assert seen == [f"s-{n}" for n in range(7)]
    assert api.get(f"{LATEST}/s-99").status_code == 404


def test_a_key_of_several_fields_is_one_escaped_text(api) -> None:  # type: ignore[no-untyped-def]
    schema = {
        "fields": [
            {"name": "site", "type": "string"},
            {"name": "depth", "type": "integer"},
            {"name": "t", "type": "integer"},
        ]
    }
    make_dataset(
        api, source={"type": "event", "schema": schema, "key": ["site", "depth"], "time": "t"}
    )
    api.post(
        EVENTS,
        json=[
            {"site": "Sørenga, pier", "depth": 2, "t": 5},
            {"site": "Sørenga", "depth": 2, "t": 4},
        ],
    )

    keys = [item["key"] for item in api.get(LATEST).json["items"]]

    assert keys == ["Sørenga%2C pier,2", "Sørenga,2"]  # by UTF-8 bytes: "%" before ","
    one = api.get(f"{LATEST}/S%C3%B8renga%252C%20pier,2").json
    assert one["series"] == {"site": "Sørenga, pier", "depth": 2} and one["time"] == 5


def test_a_resent_batch_with_its_idempotency_key_is_answered_the_same_and_kept_once(api) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)
    batch = [reading("s-1", "2026-06-01T12:00:00Z"), reading("s-2", "2026-06-01T12:00:00Z", 999)]
    headers = {"Idempotency-Key": "gateway-7:batch-41"}

    first = api.post(EVENTS, json=batch, headers=headers)
    api.post(EVENTS, json=reading("s-1", "2026-06-01T13:00:00Z", 30.0))
    again = api.post(EVENTS, json=batch, headers=headers)

    assert again.status_code == 200 and again.json == first.json
    assert len(api.get(f"{EVENTS}/rejects").json["items"]) == 1
    assert api.get(f"{LATEST}/s-1").json["event"]["temperature"] == 30.0
    other = api.post(EVENTS, json=batch[:1], headers=headers)
    assert other.status_code == 409 and "different batch" in other.json["message"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"sensorId": ', 400),
        (b'"just text"', 400),
        (b"[]", 400),
        (b"[" + b",".join([b"{}"] * 501) + b"]", 400),
        # Numbers JSON or Python cannot hold, and no store keeps (not even as a reject).
        *(
            (
                b'[{"sensorId": "s-1", "observedAt": "2026-06-01T12:00:00Z", "temperature": 18}, '
                b'{"sensorId": "s-1", "observedAt": "2026-06-01T13:00:00Z", "temperature": '
                + literal
                + b"}]",
                400,
            )
            for literal in (b"NaN", b"-Infinity", b"1e999", b"1" + b"0" * 5000)
        ),
    ],
)
def test_a_malformed_body_is_400_and_writes_nothing(api, body, status) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)

    response = api.post(EVENTS, data=body, headers={"Content-Type": "application/json"})

    assert response.status_code == status
    assert api.get(f"{EVENTS}/rejects").json["items"] == []
    assert api.get(LATEST).json["items"] == []


def test_unknown_dataset_version_and_file_datasets(api) -> None:  # type: ignore[no-untyped-def]
    event = reading("s-1", "2026-06-01T12:00:00Z")
    assert api.post(EVENTS, json=event).status_code == 404
    make_dataset(api)
    assert api.post("/datasets/bad/versions/9/events", json=event).status_code == 404
    upload = api.post("/datasets/bad/versions/1/uploads", json={"filename": "readings.csv"})
    assert upload.status_code == 409 and "takes events" in upload.json["message"]
    api.post(
        "/datasets", json={"id": "files", "title": "F", "accessRights": "public", "owner": "team:a"}
    )
    refused = api.post("/datasets/files/versions/1/events", json=event)
    assert refused.status_code == 409 and "takes files" in refused.json["message"]
    assert api.get("/datasets/files/versions/1/events/rejects").json["items"] == []


def test_another_team_can_neither_post_nor_read_restricted_latest_values(
    app_on_store: Flask,
) -> None:
    tokens = TokenRepository(app_on_store.extensions["brygge"].store, utc_now)

    def client(principal: str | None, teams: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
        api = app_on_store.test_client()
        if principal is None:
            api.environ_base.pop("HTTP_AUTHORIZATION")
        else:
            api.environ_base["HTTP_AUTHORIZATION"] = (
                f"Bearer {tokens.create(principal, teams=teams)[0]}"
            )
        return api

    make_dataset(app_on_store.test_client(), "restricted")
    member, stranger, anonymous = (
        client("user:kari", ("team:bath",)),
        client("user:ola", ("team:roads",)),
        client(None),
    )
    event = reading("s-1", "2026-06-01T12:00:00Z")

    assert member.post(EVENTS, json=event).json == {"accepted": 1, "rejected": []}
    assert stranger.post(EVENTS, json=event).status_code == 403
    assert anonymous.post(EVENTS, json=event).status_code == 401
    assert stranger.get(LATEST).status_code == 403
    assert stranger.get(f"{LATEST}/s-1").status_code == 403
    assert anonymous.get(LATEST).status_code == 404
    assert stranger.get(f"{EVENTS}/rejects").status_code == 403
    assert member.get(f"{LATEST}/s-1").status_code == 200

    # Public: the latest values need no token, posting still needs write.
    public = app_on_store.test_client()
    public.post(
        "/datasets",
        json={
            "id": "open",
            "title": "Open",
            "accessRights": "public",
            "owner": "team:bath",
            "source": SOURCE,
        },
    )
    member.post("/datasets/open/versions/1/events", json=event)
    assert anonymous.get("/datasets/open/versions/1/latest/s-1").status_code == 200
    assert stranger.post("/datasets/open/versions/1/events", json=event).status_code == 403


def test_a_hidden_dataset_is_404_for_events_and_latest(app_on_store: Flask) -> None:
    tokens = TokenRepository(app_on_store.extensions["brygge"].store, utc_now)
    make_dataset(app_on_store.test_client(), "non-public")
    stranger = app_on_store.test_client()
    stranger.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens.create('user:ola')[0]}"

    for response in (
        stranger.post(EVENTS, json=reading("s-1", "2026-06-01T12:00:00Z")),
        stranger.get(LATEST),
        stranger.get(f"{LATEST}/s-1"),
        stranger.get(f"{EVENTS}/rejects"),
    ):
        assert response.status_code == 404
        assert response.json["message"] == "dataset 'bad' not found"


def test_an_idempotency_key_expires_after_a_day(api, clock) -> None:  # type: ignore[no-untyped-def]
    make_dataset(api)
    batch = [reading("s-2", "2026-06-01T12:00:00Z", 999)]
    headers = {"Idempotency-Key": "k-1"}
    api.post(EVENTS, json=batch, headers=headers)
    clock.now += timedelta(hours=23)
    api.post(EVENTS, json=batch, headers=headers)
    assert len(api.get(f"{EVENTS}/rejects").json["items"]) == 1

    clock.now += timedelta(hours=2)
    again = api.post(EVENTS, json=batch, headers=headers)

    assert again.json["accepted"] == 0
    assert len(api.get(f"{EVENTS}/rejects").json["items"]) == 2
