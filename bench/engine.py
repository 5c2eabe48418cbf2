"""Benchmark: Brygge's ASL engine against moto's Step Functions executor, same machine, same run.

Runs a pipeline of three no-op Task states 1,000 times on each engine, alternating the two in
rounds, and prints the median overhead per state transition (one line per figure):

    engine_transition brygge 0.21 ms moto 3.9 ms ratio 18.6x target <= 1 ms ok

moto's executor is driven through its backend object (not over boto3), so the figure is the
interpreter's cost plus moto's in-process Lambda invoke, without request serialisation.
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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
