"""Benchmark: Brygge's ASL engine against moto's Step Functions executor, same machine, same run.

Runs a pipeline of three no-op Task states 1,000 times on each engine, alternating the two in
rounds, and prints the median overhead per state transition (one line per figure):

    engine_transition brygge 0.21 ms moto 3.9 ms ratio 18.6x target <= 1 ms ok

moto's executor is driven through its backend object (not over boto3), so the figure is the
interpreter's cost plus moto's in-process Lambda invoke, without request serialisation.
A third figure is the cost of running a step in a worker process (``pipelines.runs.processes``,
what ``brygge serve`` does locally) rather than in the calling thread: the same small step
(read an object, write one, three records) both ways, alternating, median per step:

    step_pool_overhead pool 3.1 ms thread 1.2 ms overhead 1.9 ms target <= 20 ms ok

Run with ``.venv/bin/python bench/engine.py [runs]``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.asl import run

STEPS = ("extract", "convert", "publish")
TRANSITIONS_PER_RUN = len(STEPS)
TARGET_MS = 1.0
ROUNDS = 10


def definition() -> dict[str, Any]:
    """A three-Task pipeline in Brygge's resource naming."""
    states: dict[str, Any] = {}
    for index, step in enumerate(STEPS):
        state: dict[str, Any] = {"Type": "Task", "Resource": "brygge:step:echo"}
        if index + 1 < len(STEPS):
            state["Next"] = STEPS[index + 1]
        else:
            state["End"] = True
        states[step] = state
    return {"StartAt": STEPS[0], "States": states}


def time_runs(run_once: Callable[[int], None], first: int, count: int) -> float:
    """Return the seconds ``count`` calls of ``run_once`` take."""
    started = time.perf_counter()
    for number in range(first, first + count):
        run_once(number)
    return time.perf_counter() - started


def main(runs: int = 1000) -> None:
    """Run both engines ``runs`` times in alternating rounds and print the figures."""
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        os.environ.setdefault(variable, value)
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    from moto.stepfunctions.parser.utils import TMP_THREADS

    from tests.pipelines.asl.moto_sfn import (
        ACCOUNT,
        REGION,
        join_worker,
        moto_step_functions,
        to_aws,
    )

    pipeline = definition()
    event = {"run": "r1", "input": {"keys": ["raw/a.csv"]}}
    handlers = {"brygge:step:echo": lambda payload: payload}

    def brygge_once(number: int) -> None:
        result = run(pipeline, event, handlers, execution_name=f"bench-{number}")
        assert result.status == "SUCCEEDED", result

    with moto_step_functions() as moto:
        machine_arn = moto.sfn.create_state_machine(
            name="bench", definition=json.dumps(to_aws(pipeline)), roleArn=moto.role_arn
        )["stateMachineArn"]
        backend = stepfunctions_parser_backends[ACCOUNT][REGION]
        event_text = json.dumps(event)

        def moto_once(number: int) -> None:
            execution = backend.start_execution(
                machine_arn, name=f"bench-{number}", execution_input=event_text
            )
            while TMP_THREADS:
                join_worker(TMP_THREADS.pop(0))
            assert execution.status == "SUCCEEDED", execution.error

        per_round = max(1, runs // ROUNDS)
        brygge_ms: list[float] = []
        moto_ms: list[float] = []
        brygge_once(-1)  # warm caches (parsed paths) before timing, as a server would be
        moto_once(-1)
        for round_number in range(ROUNDS):
            first = round_number * per_round
            seconds = time_runs(brygge_once, first, per_round)
            brygge_ms.append(seconds * 1000 / (per_round * TRANSITIONS_PER_RUN))
            seconds = time_runs(moto_once, first, per_round)
            moto_ms.append(seconds * 1000 / (per_round * TRANSITIONS_PER_RUN))

    brygge = statistics.median(brygge_ms)
    baseline = statistics.median(moto_ms)
    verdict = "ok" if brygge <= TARGET_MS else "MISSED"
    print(
        f"engine_transition brygge {brygge:.3f} ms moto {baseline:.2f} ms "
        f"ratio {baseline / brygge:.1f}x target <= {TARGET_MS:g} ms {verdict}"
    )
    print(
        f"engine_run brygge {brygge * TRANSITIONS_PER_RUN:.3f} ms "
        f"moto {baseline * TRANSITIONS_PER_RUN:.2f} ms "
        f"ratio {baseline / brygge:.1f}x runs {per_round * ROUNDS} per engine"
    )


POOL_TARGET_MS = 20.0


def pool_overhead(calls: int = 200) -> None:
    """Time one small step in a warm worker process against the same step in this thread."""
    import io
    import tempfile

    from pipelines.objects import LocalObjectStore
    from pipelines.runs.processes import ProcessLimits, StepProcesses, import_handler
    from pipelines.steps.contract import StepLimits
    from pipelines.steps.runtime import use_environment, use_limits
    from tests.pipelines.steps.mocks import MemoryRecorder

    path = "tests.pipelines.crash_steps:isolated_upper"
    key = "raw/green/bench/version=1/edition=20240101T000000/data.txt"
    event = {
        "run": "bench",
        "dataset": "bench",
        "version": "1",
        "edition": "20240101T000000",
        "step": "Upper",
        "config": {},
        "input": {"keys": [key]},
    }
    pool = StepProcesses(1, ProcessLimits(memory_mb=4096, cpu_seconds=3600))
    with tempfile.TemporaryDirectory() as root:
        objects = LocalObjectStore(Path(root))
        objects.put(key, io.BytesIO(b"lake\n" * 100))
        handler = import_handler(path)

        def in_pool(_: int) -> None:
            pool.call(
                path,
                event,
                objects=objects,
                recorder=MemoryRecorder(),
                limits=StepLimits(),
                timeout_s=60,
            )

        def in_thread(_: int) -> None:
            with use_environment(objects, MemoryRecorder()), use_limits(StepLimits()):
                handler(event, None)

        in_pool(0)  # start the worker: the pool is warm in a running server
        in_thread(0)
        per_round = max(1, calls // ROUNDS)
        pool_ms: list[float] = []
        thread_ms: list[float] = []
        for _ in range(ROUNDS):
            pool_ms.append(time_runs(in_pool, 0, per_round) * 1000 / per_round)
            thread_ms.append(time_runs(in_thread, 0, per_round) * 1000 / per_round)
    pool.close()
    pooled, threaded = statistics.median(pool_ms), statistics.median(thread_ms)
    overhead = pooled - threaded
    verdict = "ok" if overhead <= POOL_TARGET_MS else "MISSED"
    print(
        f"step_pool_overhead pool {pooled:.2f} ms thread {threaded:.2f} ms "
        f"overhead {overhead:.2f} ms target <= {POOL_TARGET_MS:g} ms {verdict}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
    pool_overhead()
