"""Step handlers that misbehave the ways a native library can: for worker-process tests.

Registered by import path (``tests.pipelines.crash_steps:abort``), so they run in worker
processes exactly as the real steps do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pipelines.objects import LocalObjectStore
from pipelines.steps.runtime import environment, output_key, run_step
from tests.pipelines.run_steps import UpperConfig, upper

HANDLERS = {
    "brygge:step:abort": "tests.pipelines.crash_steps:abort",
    "brygge:step:allocate": "tests.pipelines.crash_steps:allocate",
    "brygge:step:panic": "tests.pipelines.crash_steps:panic",
    "brygge:step:hang": "tests.pipelines.crash_steps:hang",
    "brygge:step:pid": "tests.pipelines.crash_steps:pid",
    "brygge:step:upper": "tests.pipelines.crash_steps:isolated_upper",
    "brygge:step:litter": "tests.pipelines.crash_steps:litter",
    "brygge:step:excel_to_csv": "pipelines.steps.excel_to_csv:handler",
}


class PanicException(BaseException):
    """Stands in for pyo3's PanicException: a BaseException, not an Exception."""


def abort(event: Any, context: Any) -> Any:
    """Abort the process, as calamine does when an allocation fails (SIGABRT)."""
    os.abort()


def allocate(event: Any, context: Any) -> Any:
    """Ask for far more memory than the worker's RLIMIT_AS allows."""
    hoard = bytearray(64 * 1024**3)
    return {"size": len(hoard)}


def litter(event: Any, context: Any) -> Any:
    """Leave a half-written object in the step's folder and a temporary folder, then abort."""
    objects, _ = environment()
    assert isinstance(objects, LocalObjectStore)
    target = objects.path(output_key(event["step"])(event["input"]["keys"][0], "out.csv"))
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / ".put-litter.part").write_bytes(b"half")
    Path(tempfile.mkdtemp(prefix="litter"), "spill").write_bytes(b"x")
    os.abort()


def panic(event: Any, context: Any) -> Any:
    raise PanicException("called `Option::unwrap()` on a `None` value")


def hang(event: Any, context: Any) -> Any:
    """Block until the test opens the FIFO the event's ``gate`` or ``BRYGGE_TEST_GATE`` names.

    A warm worker keeps the environment its forkserver started with, so tests of the pool
    pass the FIFO in the event; a whole server started for a test reads the variable.
    """
    with Path(event.get("gate") or os.environ["BRYGGE_TEST_GATE"]).open("rb") as fifo:
        fifo.read()
    return event


def pid(event: Any, context: Any) -> Any:
    """Return the event with the worker's process id, to show where steps run."""
    return {**event, "pid": os.getpid()}


def niceness(event: Any, context: Any) -> Any:
    """Return the worker's scheduling priority (its niceness)."""
    return {"niceness": os.nice(0)}


def isolated_upper(event: Any, context: Any) -> Any:
    return run_step(event, UpperConfig, upper)
