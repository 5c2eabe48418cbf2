"""A state machine definition: Amazon States Language JSON read into frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.asl.choice import ChoiceRule, Combination, Comparison, Rule
from pipelines.asl.errors import ValidationError

ALL_ERRORS = "States.ALL"


@dataclass(frozen=True, slots=True)
class Retrier:
    """One entry of ``Retry``; defaults as in the States Language specification."""

    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter_strategy: str = "NONE"


@dataclass(frozen=True, slots=True)
class Catcher:
    """One entry of ``Catch``: the errors it catches, where it goes, where the error lands."""

    error_equals: tuple[str, ...]
    next: str
    result_path: str | None = "$"
    assign: Any = None


@dataclass(frozen=True, slots=True)
class State:
    """One state. Fields a state type does not use keep their defaults.

    Paths that may be JSON ``null`` (InputPath, OutputPath, ResultPath) are ``None`` when null
    and ``"$"`` when absent.
    """

    name: str
    type: str
    next: str | None = None
    end: bool = False
    comment: str | None = None
    input_path: str | None = "$"
    output_path: str | None = "$"
    result_path: str | None = "$"
    parameters: Any = None
    result_selector: Any = None
    has_result: bool = False
    result: Any = None
    # Workflow variables the state sets (``Assign``); None when it sets none.
    assign: Any = None
    retry: tuple[Retrier, ...] = ()
    catch: tuple[Catcher, ...] = ()
    # Task
    resource: str | None = None
    timeout_seconds: int | None = None
    timeout_seconds_path: str | None = None
    # Choice
    choices: tuple[ChoiceRule, ...] = ()
    default: str | None = None
    # Wait
    seconds: int | None = None
    seconds_path: str | None = None
    timestamp: str | None = None
    timestamp_path: str | None = None
    # Fail
    error: str | None = None
    error_path: str | None = None
    cause: str | None = None
    cause_path: str | None = None
    # Parallel and Map
    branches: tuple[Machine, ...] = ()
    processor: Machine | None = None
    items_path: str = "$"
    item_selector: Any = None
    max_concurrency: int = 0
    max_concurrency_path: str | None = None


@dataclass(frozen=True, slots=True)
class Machine:
    """A state machine, or a Parallel branch or Map processor (same shape)."""

    start_at: str
    states: Mapping[str, State] = field(default_factory=dict)
    timeout_seconds: int | None = None


def parse(definition: Mapping[str, Any], known_resources: Any = None) -> Machine:
    """Validate a definition and read it into a Machine.

    Raises ValidationError carrying every problem found (each names its state and field).
    """
    from pipelines.asl.validate import validate  # validate imports nothing of this module

    messages = validate(dict(definition), known_resources=known_resources)
    if messages:
        raise ValidationError(messages)
    return read_machine(definition)


def read_machine(raw: Mapping[str, Any]) -> Machine:
    """Read an already validated definition (or branch) into a Machine."""
    states = {name: read_state(name, body) for name, body in raw["States"].items()}
    return Machine(raw["StartAt"], states, raw.get("TimeoutSeconds"))


def _rule(raw: Mapping[str, Any]) -> Rule:
    for kind in ("And", "Or"):
        if kind in raw:
            return Combination(kind, tuple(_rule(sub) for sub in raw[kind]))
    if "Not" in raw:
        return Combination("Not", (_rule(raw["Not"]),))
    operator = next(key for key in raw if key not in ("Variable", "Next", "Comment", "Assign"))
    return Comparison(raw["Variable"], operator, raw[operator])


def read_state(name: str, raw: Mapping[str, Any]) -> State:
    """Read one validated state."""
    kind = raw["Type"]
    processor_raw = raw.get("ItemProcessor", raw.get("Iterator"))
    # In a Map state, Parameters is the older name of ItemSelector (applied to each item).
    is_map = kind == "Map"
    return State(
        name=name,
        type=kind,
        next=raw.get("Next"),
        end=bool(raw.get("End", False)),
        comment=raw.get("Comment"),
        input_path=raw.get("InputPath", "$"),
        output_path=raw.get("OutputPath", "$"),
        result_path=raw.get("ResultPath", "$"),
        parameters=None if is_map else raw.get("Parameters"),
        result_selector=raw.get("ResultSelector"),
        has_result="Result" in raw,
        result=raw.get("Result"),
        assign=raw.get("Assign"),
        retry=tuple(
            Retrier(
                error_equals=tuple(r["ErrorEquals"]),
                interval_seconds=r.get("IntervalSeconds", 1),
                max_attempts=r.get("MaxAttempts", 3),
                backoff_rate=r.get("BackoffRate", 2.0),
                max_delay_seconds=r.get("MaxDelaySeconds"),
                jitter_strategy=r.get("JitterStrategy", "NONE"),
            )
            for r in raw.get("Retry", ())
        ),
        catch=tuple(
            Catcher(tuple(c["ErrorEquals"]), c["Next"], c.get("ResultPath", "$"), c.get("Assign"))
            for c in raw.get("Catch", ())
        ),
        resource=raw.get("Resource"),
        timeout_seconds=raw.get("TimeoutSeconds"),
        timeout_seconds_path=raw.get("TimeoutSecondsPath"),
        choices=tuple(
            ChoiceRule(_rule(c), c["Next"], c.get("Assign")) for c in raw.get("Choices", ())
        ),
        default=raw.get("Default"),
        seconds=raw.get("Seconds"),
        seconds_path=raw.get("SecondsPath"),
        timestamp=raw.get("Timestamp"),
        timestamp_path=raw.get("TimestampPath"),
        error=raw.get("Error"),
        error_path=raw.get("ErrorPath"),
        cause=raw.get("Cause"),
        cause_path=raw.get("CausePath"),
        branches=tuple(read_machine(b) for b in raw.get("Branches", ())),
        processor=read_machine(processor_raw) if processor_raw is not None else None,
        items_path=raw.get("ItemsPath", "$"),
        item_selector=raw.get("ItemSelector", raw.get("Parameters") if is_map else None),
        max_concurrency=raw.get("MaxConcurrency", 0),
        max_concurrency_path=raw.get("MaxConcurrencyPath"),
    )
