"""Timestamps are RFC 3339 date-times on the wire, and the OpenAPI document says so."""

from __future__ import annotations

import re

import pytest

# RFC 3339 section 5.6 (date-time), the format JSON Schema's "date-time" names.
RFC_3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
# Every property of the document's schemas that holds a point in time.
TIME_PROPERTIES = {
    "created",
    "modified",
    "deleted",
    "at",
    "time",
    "startTime",
    "endTime",
    "startedAt",
    "endedAt",
    "uploadExpires",
    "expiresAt",
    "previousSecretValidUntil",
    "nextAttemptAt",
    "lastAttemptAt",
    "deliveredAt",
}
# Properties named so that hold something else: a CloudEvent's "time" of an event dataset
# is the event's own field, whatever its type.
NOT_TIMES = {("LatestSchema", "time"), ("Latest", "time")}
EDITIONS = "/datasets/air/versions/1/editions"


def time_properties(document: dict) -> list[tuple[str, str, dict]]:
    found = []
    for name, schema in document["components"]["schemas"].items():
        for prop, definition in schema.get("properties", {}).items():
            if prop in TIME_PROPERTIES and (name, prop) not in NOT_TIMES:
                found.append((name, prop, definition))
    return found


def test_every_timestamp_of_the_document_is_a_date_time(client) -> None:  # type: ignore[no-untyped-def]
    properties = time_properties(client.get("/openapi.json").json)

    assert len(properties) > 20
    untyped = [(name, prop) for name, prop, spec in properties if spec.get("format") != "date-time"]
    assert untyped == []


def test_the_query_of_changes_since_is_documented_as_a_date_time(client) -> None:  # type: ignore[no-untyped-def]
    parameters = client.get("/openapi.json").json["paths"]["/catalog"]["get"]["parameters"]
    since = next(p for p in parameters if p["name"] == "modifiedSince")
    assert since["schema"]["format"] == "date-time"


def test_the_timestamps_the_api_returns_are_rfc_3339(client) -> None:  # type: ignore[no-untyped-def]
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    made = client.post("/datasets", json=dataset).json
    edition = client.post(
        EDITIONS, json={"startTime": "2026-01-01T00:00:00+01:00", "endTime": "2026-01-02T00:00Z"}
    )

    assert edition.status_code == 422, edition.json  # no seconds: not RFC 3339
    edition = client.post(
        EDITIONS,
        json={"startTime": "2026-01-01T00:00:00+01:00", "endTime": "2026-01-02T00:00:00.5Z"},
    ).json
    history = client.get("/datasets/air/history").json["items"]
    for value in (
        made["created"],
        made["modified"],
        edition["created"],
        edition["startTime"],
        edition["endTime"],
        *(entry["at"] for entry in history),
    ):
        assert RFC_3339.match(value), value


@pytest.mark.parametrize(
    "value",
    [
        "20260102T030405Z",  # ISO 8601 basic format
        "2026-01-02 03:04:05Z",  # a space for the T
        "2026-W01-5T03:04:05Z",  # a week date
        "2026-01-02T03Z",  # hours alone
        "2026-01-02T03:04:05+0100",  # an offset without its colon
    ],
)
def test_an_edition_time_that_is_iso_8601_but_not_rfc_3339_is_422(client, value: str) -> None:  # type: ignore[no-untyped-def]
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201

    answer = client.post(EDITIONS, json={"startTime": value})

    assert answer.status_code == 422
    assert "startTime" in answer.json["errors"]["json"]


def test_an_edition_time_in_lower_case_is_taken_and_kept_in_upper_case(client) -> None:  # type: ignore[no-untyped-def]
    # RFC 3339 5.6: "T" and "Z" may be written in lower case.
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201

    answer = client.post(EDITIONS, json={"startTime": "2026-01-02t03:04:05z"})

    assert answer.status_code == 201, answer.json
    assert answer.json["startTime"] == "2026-01-02T03:04:05Z"
    since = client.get("/catalog", query_string={"modifiedSince": "2026-01-02t03:04:05z"})
    assert since.status_code == 200, since.json
