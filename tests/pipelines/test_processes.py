"""Steps in worker processes: results, records, crashes, memory, panics, timeouts."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.asl.errors import StatesError, Timeout
from pipelines.objects import LocalObjectStore
from pipelines.runs.processes import (
    STEP_NICENESS,
    Cancelled,
    ProcessLimits,
    StepCrashed,
    StepProcesses,
)
from pipelines.steps.contract import StepLimits
from tests.pipelines.steps.mocks import MemoryRecorder

EDITION = "20240101T000000"
RAW = f"raw/green/air/version=1/edition={EDITION}/data.txt"


@pytest.fixture(scope="module")
def pool() -> Iterator[StepProcesses]:
    processes = StepProcesses(1, ProcessLimits(memory_mb=1024, cpu_seconds=60))
    yield processes
    processes.close()


@pytest.fixture
def objects(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "objects")
    store.put(RAW, io.BytesIO(b"lake\n"))
    return store


def event(step: str = "Upper") -> dict[str, Any]:
    return {
        "run": "run-1",
        "dataset": "air",
        "version": "1",
        "edition": EDITION,
        "step": step,
        "config": {},
        "input": {"keys": [RAW]},
    }


def call(pool: StepProcesses, name: str, objects: LocalObjectStore, **options: Any) -> Any:
    recorder = options.pop("recorder", MemoryRecorder())
    gate = options.pop("gate", None)
    return pool.call(
        f"tests.pipelines.crash_steps:{name}",
        event() | ({"gate": str(gate)} if gate else {}),
        objects=objects,
        recorder=recorder,
        limits=StepLimits(),
        timeout_s=options.pop("timeout_s", 60),
        **options,
    )


def test_a_step_runs_in_a_warm_worker_process(pool, objects) -> None:  # type: ignore[no-untyped-def]
    first = call(pool, "pid", objects)["pid"]
    second = call(pool, "pid", objects)["pid"]
    assert first != os.getpid()
    assert first == second  # the same worker, kept warm


def test_a_worker_runs_below_the_servers_priority(pool, objects) -> None:  # type: ignore[no-untyped-def]
    # A step that uses every core must leave the server's requests the first claim on them.
    assert call(pool, "niceness", objects)["niceness"] == os.nice(0) + STEP_NICENESS


def test_a_worker_reports_to_the_servers_recorder(pool, objects) -> None:  # type: ignore[no-untyped-def]
    recorder = MemoryRecorder()
    result = call(pool, "isolated_upper", objects, recorder=recorder)
    written = f"intermediate/green/air/version=1/edition={EDITION}/Upper/data.txt"
    assert result["input"]["keys"] == [written]
    assert objects.get(written) == b"LAKE\n"
    assert [entry[0] for entry in recorder.events] == ["started", "output", "finished"]


def test_a_failing_step_keeps_its_error_name_and_its_worker(pool, objects) -> None:  # type: ignore[no-untyped-def]
    before = call(pool, "pid", objects)["pid"]
    missing = {**event(), "input": {"keys": [RAW.replace("data", "gone")]}}
    with pytest.raises(StatesError) as raised:
        pool.call(
            "tests.pipelines.crash_steps:isolated_upper",
            missing,
            objects=objects,
            recorder=MemoryRecorder(),
            limits=StepLimits(),
            timeout_s=60,
        )
    assert raised.value.error == "ObjectNotFound"
    assert call(pool, "pid", objects)["pid"] == before


def test_an_aborting_step_fails_named_and_the_pool_goes_on(pool, objects) -> None:  # type: ignore[no-untyped-def]
    before = call(pool, "pid", objects)["pid"]
    with pytest.raises(StepCrashed, match="killed by SIGABRT") as raised:
        call(pool, "abort", objects)
    assert raised.value.error == "Brygge.StepCrashed"
    after = call(pool, "pid", objects)["pid"]
    assert after != before  # a fresh worker replaced the one that died


def test_allocating_past_the_memory_limit_fails_the_step(pool, objects) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StepCrashed, match="MemoryError"):
        call(pool, "allocate", objects)
    assert call(pool, "pid", objects)["pid"] != os.getpid()


def test_a_panic_is_caught_and_named(pool, objects) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StepCrashed, match="PanicException: called `Option::unwrap"):
        call(pool, "panic", objects)


def test_a_step_past_its_timeout_is_killed(pool, objects, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with pytest.raises(Timeout):
        call(pool, "hang", objects, timeout_s=0.2, gate=gate)
    assert call(pool, "pid", objects)["pid"] != os.getpid()


def test_a_cancelled_step_is_killed(pool, objects, tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    with pytest.raises(Cancelled):
        call(pool, "hang", objects, cancelled=lambda: True, gate=gate)
