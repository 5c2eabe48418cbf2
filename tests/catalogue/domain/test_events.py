"""Event rules: the values an event may hold, and the time a series' latest value is compared by."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalogue.domain.events import check_event, sort_time
from pipelines.steps.json_to_parquet import JsonToParquetConfig, check_config, convert

SOURCE = {
    "type": "event",
    "schema": {"fields": [{"name": "id", "type": "string"}, {"name": "at", "type": "datetime"}]},
    "key": ["id"],
    "time": "at",
}


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("2026-06-01T12:00:00+02:00", "2026-06-01T10:00:00.000000Z"),
        ("2026-06-01T10:00:00.5Z", "2026-06-01T10:00:00.500000Z"),
        ("0999-12-31T23:59:59Z", "0999-12-31T23:59:59.000000Z"),
    ],
)
def test_an_events_time_is_compared_as_fixed_width_utc_text(written: str, compared: str) -> None:
    assert sort_time(SOURCE, {"id": "a", "at": written}) == compared


def test_earlier_moments_sort_first_across_the_year_1000() -> None:
    times = ["0999-06-01T00:00:00Z", "1000-01-01T00:00:00Z", "2026-06-01T00:00:00+14:00"]
    texts = [sort_time(SOURCE, {"id": "a", "at": value}) for value in times]
    assert texts == sorted(texts)


# A source typed as an integrator's readings are: the history converts them with
# json_to_parquet, so what check_event accepts must be what that step reads.
TYPED = {
    "type": "event",
    "schema": {
        "fields": [
            {"name": "sensorId", "type": "string"},
            {"name": "observedAt", "type": "datetime"},
            {"name": "day", "type": "date"},
            {"name": "count", "type": "integer"},
            {"name": "temperature", "type": "number"},
        ],
        "missingValues": [""],
    },
    "key": ["sensorId"],
    "time": "observedAt",
}
ACCEPTED = [
    ("observedAt", "2026-06-01T12:00:00Z"),
    ("observedAt", "2026-06-01T12:00:00.5+02:00"),
    ("observedAt", "2026-06-01T12:00:00.123456789-09:30"),
    ("observedAt", "2026-06-01T12:00:00+0200"),
    ("observedAt", "2026-03-29T02:30:00+02:00"),  # a wall time DST skips in Oslo, offset given
    ("observedAt", "1000-01-01T00:00:00Z"),
    ("observedAt", "9999-12-31T23:59:59+01:00"),
    ("day", "2026-06-01"),
    ("count", 2**63 - 1),
    ("count", -(2**63)),
    ("temperature", 12345678901234567890123),
    ("temperature", -9.5e125),
    ("temperature", -0.0),
]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("observedAt", "20260601T120000Z"),
        ("observedAt", "2026-06-01T12:00Z"),
        ("observedAt", "2026-06-01 12:00:00Z"),
        ("observedAt", "2026-06-01T12:00:00,5Z"),
        ("observedAt", "2026-06-01T12:00:00.Z"),
        ("observedAt", "2026-W22-1T12:00:00Z"),
        ("observedAt", "2026-06-01T12:00:00+02:00:30"),
        ("observedAt", "2026-06-01T12:00:00"),
        ("observedAt", "9999-12-31T23:59:59-01:00"),
        ("observedAt", "0001-01-01T00:30:00+01:00"),
        # The steps take a year before 1000 for one written short (1.3.24 under %d.%m.%Y).
        ("observedAt", "0999-06-01T12:00:00Z"),
        ("observedAt", "1000-01-01T00:30:00+01:00"),
        ("day", "0999-12-31"),
        ("day", "20260601"),
        ("day", "2026-W22-1"),
        ("count", 2**63),
        ("count", -(2**63) - 1),
        ("count", 10**30),
        ("temperature", 10**400),
    ],
)
def test_a_value_the_history_cannot_convert_is_refused(field: str, value: object) -> None:
    event = {"sensorId": "s-1", "observedAt": "2026-06-01T12:00:00Z", field: value}

    _, errors = check_event(TYPED, event)

    assert list(errors) == [field]


def test_every_value_accepted_is_converted_by_the_history(tmp_path: Path) -> None:
    events = [
        {"sensorId": "s-1", "observedAt": "2026-06-01T12:00:00Z", field: value}
        for field, value in ACCEPTED
    ]
    assert [check_event(TYPED, event)[1] for event in events] == [{}] * len(events)
    lines = tmp_path / "events.jsonl"
    lines.write_text("".join(json.dumps(event) + "\n" for event in events))
    config = JsonToParquetConfig(schema=TYPED["schema"])  # type: ignore[arg-type]

    rows = convert(lines, tmp_path / "events.parquet", check_config(config), "drop", name="e")

    assert rows == len(events)
