"""What every step handler shares: its environment (object store and recorder) and its shape."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from catalogue.domain.errors import InvalidValue
from catalogue.domain.object_keys import parse_object_key
from pipelines.objects import ObjectStore
from pipelines.steps.contract import (
    ConfigError,
    InputError,
    OutputKey,
    StepError,
    StepEvent,
    StepRecorder,
    StepResult,
    build_config,
)

ConfigT = TypeVar("ConfigT")
StepRun = Callable[[ObjectStore, ConfigT, list[str], OutputKey], StepResult]

_override: ContextVar[tuple[ObjectStore, StepRecorder] | None] = ContextVar(
    "brygge_step_environment", default=None
)


def environment() -> tuple[ObjectStore, StepRecorder]:
    """The object store and recorder steps use: an override if one is set, else from settings."""
    override = _override.get()
    if override is not None:
        return override
    return _environment_from_settings()


@functools.cache
def _environment_from_settings() -> tuple[ObjectStore, StepRecorder]:
    # Imported here: nothing may read the environment or make clients at import time.
    # The recorder writes to the catalogue's store: pipelines imports it only here, where the
    # steps' own environment is built (the steps Lambda, a step run outside the API).
    from catalogue.runs.recorder import store_recorder
    from catalogue.settings import Settings
    from pipelines.objects import LocalObjectStore, S3ObjectStore

    settings = Settings.from_env()
    objects: ObjectStore
    if settings.backend == "aws":
        objects = S3ObjectStore(settings.data_bucket)
    else:
        objects = LocalObjectStore(settings.objects_dir)
    return objects, store_recorder(settings)


@contextmanager
def use_environment(objects: ObjectStore, recorder: StepRecorder) -> Iterator[None]:
    """Run steps in this context (and threads copying it) against the given store and recorder."""
    token = _override.set((objects, recorder))
    try:
        yield
    finally:
        _override.reset(token)


def output_key(step: str, *, published: bool = False) -> OutputKey:
    """The function mapping (input key, file name) to a step's output key.

    Raises ConfigError when the step name cannot be a key segment, InputError when an input
    key is not in the object key layout.
    """
    if not published:
        try:
            parse_object_key("raw/green/x/version=1/edition=1/x").for_step(step)
        except InvalidValue as error:
            raise ConfigError("step", error.reason) from None

    def out(key: str, filename: str) -> str:
        try:
            parsed = parse_object_key(key)
            target = parsed.published(filename) if published else parsed.for_step(step, filename)
            return str(target)
        except InvalidValue as error:
            raise InputError(f"{key!r} is not an object key of the lake: {error.reason}") from None

    return out


def parse_event(event: Any) -> StepEvent:
    """Check the event has the contract's shape; raises InputError naming what is missing."""
    if not isinstance(event, dict):
        raise InputError("the step event must be a JSON object")
    for name in ("run", "dataset", "version", "edition", "step"):
        if not isinstance(event.get(name), str) or not event[name]:
            raise InputError(f"the step event needs a non-empty string {name!r}")
    keys = (event.get("input") or {}).get("keys") if isinstance(event.get("input"), dict) else None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise InputError("the step event needs input.keys, a list of object keys")
    if not keys:
        raise InputError("the step event has no input keys")
    return event  # type: ignore[return-value]


def run_step(
    event: Any,
    config_type: type[ConfigT],
    run: StepRun[ConfigT],
    *,
    published: bool = False,
) -> dict[str, Any]:
    """Run one step for a handler: parse, configure, run, record; return the next event.

    Failures are recorded against the run, then raised again so the engine can route them.
    """
    step_event = parse_event(event)
    run_id, step = step_event["run"], step_event["step"]
    objects, recorder = environment()
    recorder.step_started(run_id, step, int(event.get("attempt") or 1))
    try:
        config = build_config(config_type, step_event.get("config"))
        keys = list(step_event["input"]["keys"])
        result = run(objects, config, keys, output_key(step, published=published))
    except Exception as error:
        summary = getattr(error, "summary", None)
        cause = error.message if isinstance(error, StepError) else str(error)
        recorder.step_finished(
            run_id,
            step,
            "FAILED",
            error={"error": type(error).__name__, "cause": cause},
            summary=summary,
        )
        raise
    for output in result.outputs:
        recorder.output_written(run_id, step, output)
    recorder.step_finished(run_id, step, "SUCCEEDED", summary=result.summary)
    return {**event, "input": {"keys": result.keys}}
