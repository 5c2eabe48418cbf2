"""Local runs under bounds: abort ends a Wait, BRYGGE_RUN_* limits, fair turns across datasets."""

from __future__ import annotations

import dataclasses
import io
import threading
from typing import Any

import pytest

from catalogue.runs.local import RUN_THREADS_PER_WORKER
from pipelines.objects import LocalObjectStore
from pipelines.runs import StepRegistry
from tests.catalogue.runs.test_service import DATASET, EDITION, RAW, services, set_pipeline
from tests.pipelines import run_steps
from tests.pipelines.asl.test_bounds import endless_loop

__all__ = ["services"]  # the fixture, used by name
LONG_WAIT = {
    "StartAt": "Pause",
    "States": {
        "Pause": {"Type": "Wait", "Seconds": 3600, "Next": "Upper"},
        "Upper": {"Type": "Task", "Resource": "brygge:step:upper", "End": True},
    },
}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return dataclasses.replace(settings, workers=1, run_max_seconds=7200)


def entered(services, run_id: str, state: str) -> None:  # type: ignore[no-untyped-def]
    """Wait (by reading the store, no sleep) until the run has entered ``state``."""
    for _ in range(1_000_000):
        run = services.runs.repository.get_run(run_id)
        if (run.get("position") or {}).get("state") == state:
            return
        assert run["status"] == "RUNNING", run
    pytest.fail(f"run {run_id} never entered {state}")


def test_abort_ends_a_long_wait_at_once(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, LONG_WAIT)
    run = services.runs.start_run("air", "1", EDITION, [RAW], principal="user:tester")
    entered(services, run["id"], "Pause")
    assert client.post(f"/runs/{run['id']}/abort").status_code == 200
    assert services.runs.wait_idle(timeout_s=60)  # the worker let go of the Wait
    assert services.runs.get(run["id"])["status"] == "ABORTED"


def test_a_wait_past_the_runs_maximum_fails_the_run(services, client) -> None:  # type: ignore[no-untyped-def]
    definition = {
        "StartAt": "Pause",
        "States": {"Pause": {"Type": "Wait", "Timestamp": "2080-01-01T00:00:00Z", "End": True}},
    }
    set_pipeline(client, definition)
    run = services.runs.start_run("air", "1", EDITION, [RAW], principal="user:tester")
    assert services.runs.wait_idle(timeout_s=60)
    after = services.runs.get(run["id"])
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == "States.Timeout"


def test_an_endless_loop_fails_at_the_history_limit(app, services, client) -> None:  # type: ignore[no-untyped-def]
    services.runs.settings = dataclasses.replace(services.settings, run_max_history_events=200)
    set_pipeline(client, endless_loop())
    run = services.runs.start_run("air", "1", EDITION, [RAW], principal="user:tester")
    assert services.runs.wait_idle(timeout_s=60)
    after = services.runs.get(run["id"])
    assert (after["status"], after["error"]["error"]) == ("FAILED", "States.Runtime")
    assert "200 history events" in after["error"]["cause"]


def test_one_datasets_runs_cannot_take_every_worker(app, services, client) -> None:  # type: ignore[no-untyped-def]
    # BRYGGE_WORKERS=1: four run threads, at most one per dataset.
    assert services.runs.workers.slots == RUN_THREADS_PER_WORKER
    other = {**DATASET, "id": "water", "title": "Water"}
    assert client.post("/datasets", json=other).status_code == 201
    assert (
        client.post("/datasets/water/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    set_pipeline(client, run_steps.chain(("Hold", "hold")))
    assert client.put("/datasets/water/pipeline", json={"template": "text"}).status_code == 200
    water_started, air_entered, release = threading.Event(), threading.Event(), threading.Event()
    air_started: list[str] = []

    def hold(event: Any, context: Any) -> Any:
        if event["dataset"] == "water":
            water_started.set()
        else:
            air_started.append(event["run"])
            air_entered.set()
        assert release.wait(60)
        return event

    services.runs.registry = StepRegistry({"brygge:step:hold": hold})
    objects = LocalObjectStore(services.settings.objects_dir)
    keys = {}
    for name in ("a.txt", "b.txt", "c.txt"):
        keys[name] = RAW.replace("data.txt", name)
        objects.put(keys[name], io.BytesIO(b"x"))
    water = f"raw/green/water/version=1/edition={EDITION}/data.txt"
    objects.put(water, io.BytesIO(b"x"))
    air_runs = [
        services.runs.start_run("air", "1", EDITION, [key], principal="user:tester")
        for key in keys.values()
    ]
    water_run = services.runs.start_run("water", "1", EDITION, [water], principal="user:tester")
    # Water's run starts although air's came first: air holds its one thread, the rest wait.
    # (On a busy machine water's step may begin before air's first one: wait for both.)
    assert water_started.wait(60) and air_entered.wait(60)
    assert len(air_started) == 1
    release.set()
    assert services.runs.wait_idle(timeout_s=60)
    for run in [*air_runs, water_run]:
        assert services.runs.get(run["id"])["status"] == "SUCCEEDED"
