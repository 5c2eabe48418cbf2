"""The history of an event dataset through real HTTP against ``brygge serve`` (SQLite).

Accepted events end as Parquet in editions: when a batch window is full (the server's timer),
at shutdown, and after a SIGKILL between accept and flush (the next start).
"""

from __future__ import annotations

import io
import signal
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import requests

from catalogue.repositories import Repositories
from catalogue.services import utc_now
from catalogue.settings import Settings
from catalogue.store.factory import open_store
from tests.e2e.conftest import RUN_END_S, Server, start_server, stop_server, wait_until_ended

SOURCE = {
    "type": "event",
    "schema": {
        "fields": [
            {"name": "sensorId", "type": "string"},
            {"name": "observedAt", "type": "datetime"},
            {
                "name": "temperature",
                "type": "number",
                "constraints": {"required": True, "minimum": -5, "maximum": 35},
            },
        ]
    },
    "key": ["sensorId"],
    "time": "observedAt",
    "batch": {"maxEvents": 3, "maxSeconds": 3600},
}
VERSION = "/datasets/bad/versions/1"


def reading(n: int, temperature: float = 18.5) -> dict[str, Any]:
    return {
        "sensorId": f"s-{n}",
        "observedAt": f"2026-06-01T12:00:{n:02d}Z",
        "temperature": temperature,
    }


def create_dataset(server: Server) -> None:
    body = {
        "id": "bad",
        "title": "Badetemperatur",
        "accessRights": "public",
        "owner": "team:bath",
        "source": SOURCE,
    }
    assert requests.post(f"{server.url}/datasets", json=body, timeout=30).status_code == 201


def wait_for_runs(server: Server, count: int) -> list[dict[str, Any]]:
    """Poll the dataset's runs until ``count`` of them exist and have ended."""
    session = requests.Session()
    deadline = time.monotonic() + RUN_END_S
    while True:
        runs = session.get(f"{server.url}/datasets/bad/runs", timeout=30).json()["items"]
        if len(runs) >= count:
            return [wait_until_ended(session, server.url, run["id"]) for run in runs]
        if time.monotonic() > deadline:
            pytest.fail(f"{count} runs did not come within {RUN_END_S} s:\n{server.output()}")
        time.sleep(0.05)  # polling another process, not a test delay


def history(server: Server) -> list[tuple[str, float]]:
    """The published rows of every edition, downloaded through the API, oldest edition first."""
    rows = []
    editions = requests.get(f"{server.url}{VERSION}/editions", timeout=30).json()["items"]
    for edition in sorted(item["edition"] for item in editions):
        base = f"{server.url}{VERSION}/editions/{edition}/distributions"
        for distribution in requests.get(base, timeout=30).json()["items"]:
            data = requests.get(f"{base}/{distribution['id']}/download", timeout=30).content
            rows += pl.read_parquet(io.BytesIO(data)).select("sensorId", "temperature").rows()
    return rows


def stored_editions(home: Path) -> list[dict[str, Any]]:
    """The version's editions as the home's SQLite file holds them (no server needed)."""
    store = open_store(Settings(home=home))
    try:
        page = Repositories(store, utc_now).editions.list(["bad", "1"], limit=100, cursor=None)
    finally:
        store.close()
    return page.items


def test_a_full_window_is_flushed_by_the_timer_into_an_edition_once(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        create_dataset(server)
        batch = [reading(1), reading(2, 999), reading(3), reading(4)]
        headers = {"Idempotency-Key": "gateway-1:batch-1"}
        answer = requests.post(
            f"{server.url}{VERSION}/events", json=batch, headers=headers, timeout=30
        ).json()
        resent = requests.post(
            f"{server.url}{VERSION}/events", json=batch, headers=headers, timeout=30
        ).json()
        assert answer["accepted"] == 3 and resent == answer

        [run] = wait_for_runs(server, 1)

        assert run["status"] == "SUCCEEDED", run
        assert history(server) == [("s-1", 18.5), ("s-3", 18.5), ("s-4", 18.5)]
    finally:
        stop_server(server)
    # Stopping flushes every window: the resend left none behind.
    assert len(stored_editions(server.home)) == 1


def test_accepted_events_survive_a_sigkill_before_the_flush(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(tmp_path, home)
    try:
        create_dataset(server)
        first = requests.post(f"{server.url}{VERSION}/events", json=[reading(1)], timeout=30)
        second = requests.post(
            f"{server.url}{VERSION}/events", json=[reading(2), reading(3, -273)], timeout=30
        )
        assert first.json()["accepted"] == 1 and second.json()["accepted"] == 1
        # Between accept and flush: the window is open (two of three events), nothing flushed.
        assert requests.get(f"{server.url}{VERSION}/editions", timeout=30).json()["items"] == []
    finally:
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()

    restarted = start_server(tmp_path, home)
    try:
        [run] = wait_for_runs(restarted, 1)

        assert run["status"] == "SUCCEEDED", run
        assert history(restarted) == [("s-1", 18.5), ("s-2", 18.5)]
        # Flushed once: another restart finds nothing left to flush.
        stop_server(restarted)
        restarted = start_server(tmp_path, home)
        assert len(wait_for_runs(restarted, 1)) == 1
        assert (
            len(requests.get(f"{restarted.url}{VERSION}/editions", timeout=30).json()["items"]) == 1
        )
    finally:
        stop_server(restarted)


def test_shutdown_flushes_the_open_windows(tmp_path: Path) -> None:
    home = tmp_path / "home"
    server = start_server(tmp_path, home)
    try:
        create_dataset(server)
        requests.post(f"{server.url}{VERSION}/events", json=[reading(7)], timeout=30)
    finally:
        stop_server(server)  # SIGTERM
    assert "Traceback" not in server.output(), server.output()
    # The server made the edition itself before it stopped (not the next start's recovery).
    assert len(stored_editions(home)) == 1

    restarted = start_server(tmp_path, home)
    try:
        [run] = wait_for_runs(restarted, 1)
        assert run["status"] == "SUCCEEDED", run
        assert history(restarted) == [("s-7", 18.5)]
    finally:
        stop_server(restarted)
