"""json_to_parquet: JSON Lines and JSON arrays into typed Parquet, streamed."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import json_to_parquet
from pipelines.steps.catalog import STEPS
from pipelines.steps.contract import InputError
from tests.pipelines.steps.conftest import MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")

SCHEMA = {
    "fields": [
        {"name": "sensorId", "type": "string"},
        {"name": "observedAt", "type": "datetime"},
        {"name": "temperature", "type": "number"},
        {"name": "depth", "type": "integer"},
        {"name": "ok", "type": "boolean"},
        {"name": "day", "type": "date"},
    ],
    "missingValues": ["", "NA"],
}
EVENTS = [
    {
        "sensorId": "s-1",
        "observedAt": "2026-06-01T12:00:00+02:00",
        "temperature": 18.5,
        "depth": 2,
        "ok": True,
        "day": "2026-06-01",
        "place": "Sørenga",
        "lat": 59.9,
    },
    {
        "sensorId": "s-2",
        "observedAt": "2026-06-01T10:00:00.250Z",
        "temperature": 17,
        "depth": None,
        "ok": False,
        "day": "2026-06-02",
        "place": "Hovedøya",
        "lat": 59.89,
    },
    {"sensorId": "s-3", "observedAt": "2026-06-01T10:00:01Z", "temperature": "NA"},
]
UTC = dt.UTC


def lines(events: list[Any]) -> bytes:
    return b"".join(json.dumps(event).encode() + b"\n" for event in events)


def convert(
    objects: LocalObjectStore, make_event: MakeEvent, key: str, config: dict[str, Any]
) -> pl.DataFrame:
    result = json_to_parquet.handler(make_event("ToParquet", [key], config), None)
    [output] = result["input"]["keys"]
    return pl.read_parquet(io.BytesIO(objects.get(output)))


def test_json_lines_are_typed_by_the_schema_and_keep_other_fields(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("events.jsonl", lines(EVENTS) + b"\n  \n")

    frame = convert(objects, make_event, key, {"schema": SCHEMA})

    assert frame.schema == {
        "sensorId": pl.String,
        "observedAt": pl.Datetime("us", "UTC"),
        "temperature": pl.Float64,
        "depth": pl.Int64,
        "ok": pl.Boolean,
        "day": pl.Date,
        "place": pl.String,
        "lat": pl.Float64,
    }
    assert frame.rows() == [
        (
            "s-1",
            dt.datetime(2026, 6, 1, 10, 0, tzinfo=UTC),
            18.5,
            2,
            True,
            dt.date(2026, 6, 1),
            "Sørenga",
            59.9,
        ),
        (
            "s-2",
            dt.datetime(2026, 6, 1, 10, 0, 0, 250_000, tzinfo=UTC),
            17.0,
            None,
            False,
            dt.date(2026, 6, 2),
            "Hovedøya",
            59.89,
        ),
        ("s-3", dt.datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC), None, None, None, None, None, None),
    ]
    [written] = recorder.outputs
    assert written.key.endswith("/ToParquet/events.parquet") and written.rows == 3
    assert recorder.finished("ToParquet")[3] == "SUCCEEDED"


def test_a_json_array_gives_the_same_table_as_json_lines(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks, so elements, strings and numbers are cut at every possible place.
    monkeypatch.setattr(json_to_parquet, "CHUNK_BYTES", 7)
    events = [{**event, "note": "x" * 30, "n": 12345678901} for event in EVENTS] * 3
    array_key = put("array.json", b"\n " + json.dumps(events, indent=2).encode() + b"\n")
    lines_key = put("lines.jsonl", lines(events))

    from_array = convert(objects, make_event, array_key, {"schema": SCHEMA})
    from_lines = convert(objects, make_event, lines_key, {"schema": SCHEMA})

    assert from_array.height == 9
    assert from_array.equals(from_lines)
    assert convert(objects, make_event, put("empty.json", b"[ ]"), {}).height == 0


def test_other_fields_can_be_dropped_and_no_schema_infers_every_type(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("events.jsonl", lines(EVENTS[:2]))

    dropped = convert(objects, make_event, key, {"schema": SCHEMA, "otherFields": "drop"})
    inferred = convert(objects, make_event, key, {})

    assert dropped.columns == [field["name"] for field in SCHEMA["fields"]]
    assert inferred.schema["lat"] == pl.Float64 and inferred.schema["depth"] == pl.Int64
    assert inferred.schema["observedAt"] == pl.String  # no schema, no datetime guess


@pytest.mark.parametrize("other_fields", ["keep", "drop"])
def test_a_declared_field_no_record_has_is_a_column_of_nulls(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, other_fields: str
) -> None:
    key = put("events.jsonl", lines([{"sensorId": "s-1", "place": "Sørenga"}]))

    frame = convert(objects, make_event, key, {"schema": SCHEMA, "otherFields": other_fields})

    assert frame.columns[:6] == [field["name"] for field in SCHEMA["fields"]]
    assert frame.row(0)[:6] == ("s-1", None, None, None, None, None)
    assert frame.schema["day"] == pl.Date
    assert ("place" in frame.columns) == (other_fields == "keep")


def test_an_empty_file_is_a_table_of_the_schema_without_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    frame = convert(objects, make_event, put("empty.jsonl", b"\n"), {"schema": SCHEMA})

    assert frame.height == 0
    assert frame.schema["observedAt"] == pl.Datetime("us", "UTC")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lines(EVENTS[:1]) + b'{"sensorId": \n', "events.jsonl: record 2 is not JSON"),
        (lines(EVENTS[:2]) + b"[1, 2]\n", "events.jsonl: record 3 is not a JSON object"),
        (
            lines([*EVENTS[:2], {"sensorId": "s", "observedAt": "2026-06-01T10:00:00"}]),
            "events.jsonl: record 3, field 'observedAt': '2026-06-01T10:00:00' is not a valid "
            "datetime",
        ),
        (
            lines([EVENTS[0], {"sensorId": "s", "temperature": "warm"}]),
            "events.jsonl: record 2, field 'temperature': 'warm' is not a valid number",
        ),
        (b'[{"a": 1}, 2]', "events.jsonl: record 2 is not a JSON object"),
        (b'[{"a": 1} {"a": 2}]', "events.jsonl: record 1 is not followed by ',' or ']'"),
        (b'[{"a": 1}, {"a": ', "events.jsonl: record 2 is not JSON"),
        (b'[{"a": 1}] [', "events.jsonl: text after the end of the JSON array"),
    ],
)
def test_a_broken_record_is_an_input_error_naming_it(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    data: bytes,
    message: str,
) -> None:
    key = put("events.jsonl", data)

    with pytest.raises(InputError) as raised:
        json_to_parquet.handler(make_event("ToParquet", [key], {"schema": SCHEMA}), None)

    assert raised.value.message.startswith(message), raised.value.message
    assert recorder.finished("ToParquet")[3] == "FAILED"


def test_the_step_is_in_the_catalogue_with_its_options() -> None:
    step = STEPS["json_to_parquet"]

    assert step.resource == "brygge:step:json_to_parquet"
    assert set(step.options["properties"]) == {"schema", "otherFields"}
    assert step.options["properties"]["otherFields"]["enum"] == ["keep", "drop"]
    assert step.problems({"otherFields": "ignore"})[0].path == "otherFields"
    assert step.problems({"schema": {"fields": [{"name": "t", "type": "datetime"}]}}) == []


@pytest.mark.parametrize("name", ["events.jsonl", "events.json"])
def test_json_lines_after_a_byte_order_mark(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, name: str
) -> None:
    # As PowerShell 5 writes UTF-8: "cannot be read: InternalError(TapeError) at character 0".
    key = put(name, b"\xef\xbb\xbf" + b'{"a": 1}\r\n{"a": 2}\r\n')
    assert convert(objects, make_event, key, {}).rows() == [(1,), (2,)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a": 1}\n{"a": NaN}\n', "events.json: record 2 is not JSON: NaN is not a JSON value"),
        (b'[{"a": 1}, {"a": Infinity}]', "events.json: record 2 is not JSON: Infinity is not a"),
        (
            b'{\n  "data": [\n    {"a": 1}\n  ]\n}\n',
            "events.json: record 1 is not JSON: the line ends before the object does (JSON",
        ),
    ],
)
def test_json_that_polars_cannot_read_is_named_by_its_record(
    put: Put, make_event: MakeEvent, data: bytes, message: str
) -> None:
    # NaN passed Python's check, then polars said "InternalError(TapeError) at character 6";
    # a pretty-printed object was "record 1 is not JSON: Expecting property name ...".
    key = put("events.json", data)
    with pytest.raises(InputError) as raised:
        json_to_parquet.handler(make_event("ToParquet", [key], {}), None)
    assert raised.value.message.startswith(message)
