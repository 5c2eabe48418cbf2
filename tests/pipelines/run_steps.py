"""Step handlers for run tests: small text steps that write intermediate files and count calls.

They go through ``pipelines.steps.runtime.run_step`` like the real steps, so the recorder
records them exactly as it records the real ones.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from pipelines.objects import ObjectStore
from pipelines.runs import REGISTERED_HANDLERS, StepRegistry
from pipelines.steps.contract import InputError, OutputKey, StepOutput, StepResult
from pipelines.steps.runtime import run_step

CALLS: Counter[str] = Counter()


@dataclass(frozen=True, slots=True)
class UpperConfig:
    suffix: str = ""


@dataclass(frozen=True, slots=True)
class NoConfig:
    pass


def _write(objects: ObjectStore, key: str, body: bytes) -> StepOutput:
    objects.put(key, io.BytesIO(body))
    return StepOutput(key, len(body), hashlib.sha256(body).hexdigest(), body.count(b"\n"))


def upper(objects: ObjectStore, config: UpperConfig, keys: list[str], out: OutputKey) -> StepResult:
    """Write each input in capitals, with ``suffix`` appended."""
    outputs = []
    for key in keys:
        body = objects.get(key).upper() + config.suffix.encode()
        outputs.append(_write(objects, out(key, PurePosixPath(key).name), body))
    return StepResult([o.key for o in outputs], outputs, {"files": len(outputs)})


def check(objects: ObjectStore, config: NoConfig, keys: list[str], out: OutputKey) -> StepResult:
    """Copy each input; fail with InputError when one holds the word BAD."""
    outputs = []
    for key in keys:
        body = objects.get(key)
        if b"BAD" in body:
            raise InputError(f"{PurePosixPath(key).name} holds BAD")
        outputs.append(_write(objects, out(key, "checked.txt"), body))
    return StepResult([o.key for o in outputs], outputs, {"checked": len(outputs)})


def block(objects: ObjectStore, config: NoConfig, keys: list[str], out: OutputKey) -> StepResult:
    """Copy each input once the test writes a line to the FIFO ``BRYGGE_TEST_GATE`` names.

    Opening a FIFO for reading blocks until the test opens it for writing, so the test knows
    the step is running, and decides when it ends, without any sleep.
    """
    gate = Path(os.environ["BRYGGE_TEST_GATE"])
    with gate.open("rb") as fifo:
        fifo.read()
    outputs = [_write(objects, out(key, "passed.txt"), objects.get(key)) for key in keys]
    return StepResult([o.key for o in outputs], outputs, {})


def counted(name: str, config_type: type, function: Any) -> Any:
    def handler(event: Any, context: Any) -> Any:
        CALLS[name] += 1
        return run_step(event, config_type, function)

    return handler


HANDLERS = {
    "brygge:step:upper": counted("upper", UpperConfig, upper),
    "brygge:step:check": counted("check", NoConfig, check),
    "brygge:step:block": counted("block", NoConfig, block),
}


def registry() -> StepRegistry:
    return StepRegistry(HANDLERS)


def handled_by_the_test(event: Any, context: Any) -> Any:
    raise AssertionError("this test step runs on the handler the test gives its run service")


def register(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Register the test steps, and steps ``names`` the test handles, for this test only.

    As a tool registers its own steps, so the pipelines a test saves may name them.
    """
    for resource, handler in HANDLERS.items():
        monkeypatch.setitem(REGISTERED_HANDLERS, resource, handler)
    for name in names:
        monkeypatch.setitem(REGISTERED_HANDLERS, f"brygge:step:{name}", handled_by_the_test)


def chain(*steps: tuple[str, str], retry: bool = False, catch: bool = False) -> dict[str, Any]:
    """A template running ``(state name, step)`` pairs in order.

    ``retry``: each Task retries InputError twice (1 s, then 2 s). ``catch``: any failure
    goes to the Fail state ``Rejected``, which reports the step's error and cause.
    """
    states: dict[str, Any] = {}
    for index, (name, step) in enumerate(steps):
        state: dict[str, Any] = {"Type": "Task", "Resource": f"brygge:step:{step}"}
        if index + 1 < len(steps):
            state["Next"] = steps[index + 1][0]
        else:
            state["End"] = True
        if retry:
            state["Retry"] = [
                {
                    "ErrorEquals": ["InputError"],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 2,
                    "BackoffRate": 2.0,
                }
            ]
        if catch:
            state["Catch"] = [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Rejected"}
            ]
        states[name] = state
    if catch:
        states["Rejected"] = {
            "Type": "Fail",
            "ErrorPath": "$.failure.Error",
            "CausePath": "$.failure.Cause",
        }
    return {"StartAt": steps[0][0], "States": states}
