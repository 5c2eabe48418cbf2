"""The local history of event datasets on every store: windows into editions and Parquet."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from flask import Flask

from catalogue.runs.event_buffer import CLOSED, OPEN, EventBuffer
from catalogue.runs.event_pipeline import TEMPLATE_ID
from catalogue.services import Services
from pipelines.objects import LocalObjectStore

SCHEMA = {
    "fields": [
        {"name": "sensorId", "type": "string"},
        {"name": "observedAt", "type": "datetime"},
        {
            "name": "temperature",
            "type": "number",
            "constraints": {"required": True, "minimum": -40, "maximum": 60},
        },
    ],
    "missingValues": ["", "NA"],
}
EVENTS = "/datasets/bad/versions/1/events"


def source(max_events: int = 3, max_seconds: int = 300) -> dict[str, Any]:
    return {
        "type": "event",
        "schema": SCHEMA,
        "key": ["sensorId"],
        "time": "observedAt",
        "batch": {"maxEvents": max_events, "maxSeconds": max_seconds},
    }


def reading(n: int, temperature: Any = 18.5) -> dict[str, Any]:
    return {
        "sensorId": f"s-{n}",
        "observedAt": f"2026-06-01T12:00:{n:02d}+02:00",
        "temperature": temperature,
    }


@pytest.fixture
def api(app_on_store: Flask):  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    body = {"id": "bad", "title": "Badetemperatur", "accessRights": "public", "owner": "team:a"}
    assert client.post("/datasets", json={**body, "source": source()}).status_code == 201
    return client


@pytest.fixture
def services(app_on_store: Flask) -> Services:
    return app_on_store.extensions["brygge"]  # type: ignore[no-any-return]


def history_rows(api, services: Services) -> list[tuple[str, float, datetime]]:  # type: ignore[no-untyped-def]
    """Every published history row of the version, over all editions, in edition order."""
    assert services.runs.wait_idle(timeout_s=60)
    objects = LocalObjectStore(services.settings.objects_dir)
    rows = []
    editions = api.get("/datasets/bad/versions/1/editions?limit=100").json["items"]
    for edition in sorted(editions, key=lambda item: item["edition"]):
        path = f"/datasets/bad/versions/1/editions/{edition['edition']}/distributions"
        for distribution in api.get(path).json["items"]:
            frame = pl.read_parquet(io.BytesIO(objects.get(distribution["key"])))
            rows += frame.select("sensorId", "temperature", "observedAt").rows()
    return rows


def test_full_windows_become_editions_whose_parquet_holds_exactly_the_accepted_events(
    api, services: Services
) -> None:
    batch = [reading(1), reading(2, 999), reading(3), reading(4), reading(5, "NA"), reading(6)]

    answer = api.post(EVENTS, json=batch).json
    services.event_history.flush()

    assert answer["accepted"] == 4 and len(answer["rejected"]) == 2
    # Three events a window: one full window flushed, the fourth event's window still open.
    rows = history_rows(api, services)
    assert [(sensor, temperature) for sensor, temperature, _ in rows] == [
        ("s-1", 18.5),
        ("s-3", 18.5),
        ("s-4", 18.5),
    ]
    assert rows[0][2] == datetime(2026, 6, 1, 10, 0, 1, tzinfo=UTC)
    services.event_history.stop()  # shutdown: the open window closes too
    assert [row[0] for row in history_rows(api, services)] == ["s-1", "s-3", "s-4", "s-6"]
    assert len(api.get("/datasets/bad/versions/1/editions").json["items"]) == 2
    runs = api.get("/datasets/bad/runs").json["items"]
    assert {run["status"] for run in runs} == {"SUCCEEDED"}
    assert {run["pipeline"]["template"] for run in runs} == {TEMPLATE_ID}
    assert api.get("/datasets/bad/pipeline").status_code == 404  # nothing stored on the dataset


def test_windows_close_after_max_seconds_and_resends_are_kept_once(
    api, services: Services, clock
) -> None:  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": "gateway-1:batch-7"}
    first = api.post(EVENTS, json=[reading(1)], headers=headers)
    again = api.post(EVENTS, json=[reading(1)], headers=headers)
    assert again.json == first.json

    services.event_history.flush()
    assert api.get("/datasets/bad/versions/1/editions").json["items"] == []

    clock.now += timedelta(seconds=300)
    services.event_history.flush()

    [edition] = api.get("/datasets/bad/versions/1/editions").json["items"]
    assert edition["startTime"] < edition["endTime"]
    assert [row[0] for row in history_rows(api, services)] == ["s-1"]


def test_a_dead_writers_windows_are_flushed_once_and_a_torn_line_is_cut(
    api, services: Services, app_on_store: Flask
) -> None:
    api.post(EVENTS, json=[reading(1), reading(2)])
    buffer: EventBuffer = services.event_history  # type: ignore[assignment]
    [open_window] = buffer.directory.glob(f"*/*/*{OPEN}")
    # A POST the crash cut short: half a line, never answered.
    with open_window.open("ab") as handle:
        handle.write(b'{"sensorId":"s-9","observedAt":"2026-06-01T1')
    copy = open_window.read_bytes()
    # The writer dies: its lock goes, its files stay.
    buffer._lock_file.close()
    successor = EventBuffer(services, buffer.root)

    flushed = successor.flush()

    assert len(flushed) == 1 and not buffer.directory.exists()
    assert [row[0] for row in history_rows(api, services)] == ["s-1", "s-2"]
    # The same window closed again (a crash after its edition was made): no second edition.
    replay = successor.directory / "bad" / "1" / (open_window.name.removesuffix(OPEN) + CLOSED)
    replay.parent.mkdir(parents=True, exist_ok=True)
    replay.write_bytes(copy[: copy.rindex(b"\n") + 1])
    assert successor.flush() == flushed
    assert len(api.get("/datasets/bad/versions/1/editions").json["items"]) == 1
    assert [row[0] for row in history_rows(api, services)] == ["s-1", "s-2"]


def test_a_live_writers_open_windows_are_left_to_it(api, services: Services) -> None:
    api.post(EVENTS, json=[reading(1)])
    buffer: EventBuffer = services.event_history  # type: ignore[assignment]
    other = EventBuffer(services, buffer.root)

    assert other.flush() == []
    assert list(buffer.directory.glob(f"*/*/*{OPEN}")) != []
    assert len(buffer.stop()) == 1  # shutdown closes and flushes it
    assert services.runs.wait_idle(timeout_s=60)


def test_buffer_files_are_named_by_dataset_version_and_window(
    api, services: Services, tmp_path: Path
) -> None:
    api.post(EVENTS, json=[reading(n) for n in range(1, 8)])
    buffer: EventBuffer = services.event_history  # type: ignore[assignment]

    names = sorted(path.suffix for path in buffer.directory.glob("bad/1/*"))

    # Seven events, three a window: two closed windows and one open.
    assert names == [CLOSED, CLOSED, OPEN]
    assert all(
        path.read_bytes().count(b"\n") == 3 for path in buffer.directory.glob(f"bad/1/*{CLOSED}")
    )


def test_the_timer_syncs_the_windows_written_since_its_last_round(
    api, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    buffer: EventBuffer = services.event_history  # type: ignore[assignment]
    synced: list[int] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or fsync(fd))

    api.post(EVENTS, json=[reading(1)])
    # The POST answered without waiting for the disk; the timer's round does.
    assert synced == []
    buffer.flush()
    # The window's file and its folder, the schema its events were accepted under and its
    # folder.
    assert len(synced) == 4
    assert buffer.sync() == 0  # nothing written since
    api.post(EVENTS, json=[reading(2)])
    assert buffer.sync() == 1
    assert len(buffer.stop()) == 1  # the window closes and its events go on
    assert services.runs.wait_idle(timeout_s=60)


def test_a_dead_writers_closed_window_torn_by_a_power_loss_is_cut(api, services: Services) -> None:
    api.post(EVENTS, json=[reading(n) for n in range(1, 4)])
    buffer: EventBuffer = services.event_history  # type: ignore[assignment]
    [closed] = buffer.directory.glob(f"*/*/*{CLOSED}")
    # Renamed, but its last line never reached the disk whole.
    closed.write_bytes(closed.read_bytes()[:-20])
    buffer._lock_file.close()

    EventBuffer(services, buffer.root).flush()

    assert [row[0] for row in history_rows(api, services)] == ["s-1", "s-2"]


def test_a_window_open_when_the_schema_changes_reaches_the_history(api, services: Services) -> None:
    api.post(EVENTS, json=[reading(1, 18.5), reading(2, 19.25)])
    fields = [*SCHEMA["fields"][:2], {"name": "temperature", "type": "integer"}]
    retyped = {**source(), "schema": {**SCHEMA, "fields": fields}}
    assert api.patch("/datasets/bad", json={"source": retyped}).status_code == 200
    api.post(EVENTS, json=[reading(3, 20)])
    services.event_history.stop()

    # Each window is read with the schema its events were accepted under: the change of
    # schema closed the first one, whose numbers an integer column could not hold.
    rows = history_rows(api, services)
    assert [(sensor, temperature) for sensor, temperature, _ in rows] == [
        ("s-1", 18.5),
        ("s-2", 19.25),
        ("s-3", 20),
    ]
    runs = api.get("/datasets/bad/runs").json["items"]
    assert [run["status"] for run in runs] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_window_whose_run_cannot_start_is_kept_and_the_sweep_leaves_its_run_waiting(
    api, services: Services, clock, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from catalogue.runs.sweep import sweep

    def unavailable(run_id: str) -> None:
        raise ConnectionError("store unavailable")

    assert api.post(EVENTS, json=[reading(1), reading(2), reading(3)]).json["accepted"] == 3
    monkeypatch.setattr(services.runs, "start", unavailable)
    assert services.event_history.flush() == []
    monkeypatch.undo()
    [waiting] = api.get("/datasets/bad/runs").json["items"]
    assert waiting["status"] == "WAITING"
    # The buffer keeps the window and closes it again at its next flush, however late.
    clock.now += timedelta(days=2)
    assert sweep(services).failed == []
    assert sweep(services).expired == []

    assert services.event_history.flush() == [waiting["id"]]
    assert [row[0] for row in history_rows(api, services)] == ["s-1", "s-2", "s-3"]
    assert api.get(f"/runs/{waiting['id']}").json["status"] == "SUCCEEDED"
