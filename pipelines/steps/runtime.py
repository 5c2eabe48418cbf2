"""What every step handler shares: its environment (object store and recorder) and its shape."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from pipelines.errors import InvalidValue
from pipelines.object_keys import parse_object_key
from pipelines.objects import ObjectOutOfScope, ObjectScope, ObjectStore, scoped_store
from pipelines.steps.contract import (
    ConfigError,
    InputError,
    OutputKey,
    StepError,
    StepEvent,
    StepLimits,
    StepRecorder,
    StepResult,
    build_config,
    within_limits,
)
from pipelines.steps.lookups import LookupNotAllowed, LookupSource, key_lookup_problem

ConfigT = TypeVar("ConfigT")
StepRun = Callable[[ObjectStore, ConfigT, list[str], OutputKey], StepResult]
# The lookups a step's config names (besides the run's own objects).
StepLookups = Callable[[ConfigT], list[LookupSource]]

_environment: ContextVar[tuple[ObjectStore, StepRecorder] | None] = ContextVar(
    "brygge_step_environment", default=None
)
_limits: ContextVar[StepLimits | None] = ContextVar("brygge_step_limits", default=None)


class NoEnvironment(RuntimeError):
    """A step ran without a runner: nothing gave it an object store and a recorder."""


def environment() -> tuple[ObjectStore, StepRecorder]:
    """The object store and recorder the step's runner set (``use_environment``).

    Runners set them: the local workers, a worker process, the steps function's entry point
    (``catalogue.runs.steps_function``). Raises NoEnvironment outside a runner.
    """
    current = _environment.get()
    if current is None:
        raise NoEnvironment(
            "a step runs under a runner that sets its object store and recorder "
            "(pipelines.steps.runtime.use_environment)"
        )
    return current


@contextmanager
def use_environment(objects: ObjectStore, recorder: StepRecorder) -> Iterator[None]:
    """Run steps in this context (and threads copying it) against the given store and recorder."""
    token = _environment.set((objects, recorder))
    try:
        yield
    finally:
        _environment.reset(token)


def step_limits() -> StepLimits:
    """The limits steps run under: those the runner set (``use_limits``), else the defaults."""
    return _limits.get() or StepLimits()


@contextmanager
def use_limits(limits: StepLimits) -> Iterator[None]:
    """Run steps in this context under ``limits`` (the runner's, from its settings)."""
    token = _limits.set(limits)
    try:
        yield
    finally:
        _limits.reset(token)


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


def run_scope(
    event: StepEvent, keys: list[str], lookups: list[LookupSource], recorder: StepRecorder
) -> ObjectScope:
    """The objects a step of this event may touch: its run's edition and allowed lookups.

    The edition comes from the event, the access level from its keys. Raises
    ObjectOutOfScope for an input key of another dataset, version or edition, and
    LookupNotAllowed for a lookup the owner team of the dataset may not read; neither
    looks at the objects, so neither tells whether one exists.
    """
    dataset, version, edition = event["dataset"], event["version"], event["edition"]
    access_rights = None
    for key in keys:
        try:
            parsed = parse_object_key(key)
        except InvalidValue:
            continue  # output_key names a key outside the layout as an InputError
        if (parsed.dataset, parsed.version, parsed.edition) != (dataset, version, edition):
            raise ObjectOutOfScope(key, "read")
        access_rights = access_rights or parsed.access_rights
    lookup_keys = set()
    for lookup in lookups:
        if lookup.key is not None:
            problem = key_lookup_problem(lookup.key, dataset)
            if problem:
                raise LookupNotAllowed(problem)
            lookup_keys.add(lookup.key)
    wanted = sorted({lookup.dataset for lookup in lookups if lookup.dataset is not None})
    allowed = recorder.lookup_access(dataset, wanted) if wanted else {}
    for name in wanted:
        if name not in allowed:
            raise LookupNotAllowed(
                f"lookup dataset {name!r} does not exist or the owner team of dataset "
                f"{dataset!r} may not read it"
            )
    return ObjectScope(
        access_rights or "non-public",
        dataset,
        version,
        edition,
        lookups=tuple(sorted(allowed.items())),
        lookup_keys=frozenset(lookup_keys),
    )


def run_step(
    event: Any,
    config_type: type[ConfigT],
    run: StepRun[ConfigT],
    *,
    published: bool = False,
    lookups: StepLookups[ConfigT] | None = None,
) -> dict[str, Any]:
    """Run one step for a handler: parse, configure, run, record; return the next event.

    The step gets the environment's store limited to its run (``run_scope``), whether it
    runs in a thread, a worker process or the steps Lambda. ``lookups`` names what else its
    config reads. Failures are recorded against the run, then raised again so the engine
    can route them.
    """
    step_event = parse_event(event)
    run_id, step = step_event["run"], step_event["step"]
    objects, recorder = environment()
    recorder.step_started(run_id, step, int(event.get("attempt") or 1))
    try:
        config = within_limits(build_config(config_type, step_event.get("config")), step_limits())
        keys = list(step_event["input"]["keys"])
        scope = run_scope(step_event, keys, lookups(config) if lookups else [], recorder)
        scoped = scoped_store(objects, scope, run_id)
        result = run(scoped, config, keys, output_key(step, published=published))
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
