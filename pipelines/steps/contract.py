"""The step contract: the event a step receives, what it returns, and its named failures."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, TypeVar

ConfigT = TypeVar("ConfigT")


class StepInput(TypedDict):
    """The objects a step reads."""

    keys: list[str]


class StepEvent(TypedDict):
    """What each Task state passes to its step handler (design.md, "Pipelines")."""

    run: str
    dataset: str
    version: str
    edition: str
    step: str  # the Task state's name: it names the output folder
    config: dict[str, Any]
    input: StepInput


@dataclass(frozen=True, slots=True)
class StepOutput:
    """One object a step wrote; ``rows`` is None when the object is not a table."""

    key: str
    bytes: int
    sha256: str
    rows: int | None = None


@dataclass(frozen=True, slots=True)
class StepResult:
    """What ``run`` returns: the keys for the next step, every object written, a summary."""

    keys: list[str]
    outputs: list[StepOutput]
    summary: dict[str, Any] = field(default_factory=dict)


# calamine holds a sheet as a dense grid: 50 M cells of 32 bytes are about 1.6 GB.
MAX_CELLS = 50_000_000
MAX_UNCOMPRESSED_BYTES = 1024**3


@dataclass(frozen=True, slots=True)
class StepLimits:
    """The server's limits on what one step may read; taskConfig can only lower them.

    A step config field of the same name (``max_cells``) is set to the limit when absent
    and to the lower of the two otherwise (``within_limits``), so a pipeline can never
    switch a guard off. The defaults are those of ``BRYGGE_STEP_*``.
    """

    max_cells: int = MAX_CELLS
    max_uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES


def within_limits(config: ConfigT, limits: StepLimits) -> ConfigT:
    """``config`` with every field named like a limit set to at most that limit."""
    changes: dict[str, int] = {}
    names = {spec.name for spec in dataclasses.fields(config)}  # type: ignore[arg-type]
    for spec in dataclasses.fields(limits):
        if spec.name not in names:
            continue
        limit = getattr(limits, spec.name)
        value = getattr(config, spec.name)
        changes[spec.name] = limit if value is None else min(value, limit)
    return dataclasses.replace(config, **changes) if changes else config  # type: ignore[type-var]


# `out(input_key, filename)` -> the key a step writes for that input.
OutputKey = Callable[[str, str], str]


class StepRecorder(Protocol):
    """Where steps report progress; the catalogue records it against the run."""

    def step_started(self, run: str, step: str, attempt: int) -> None:
        """Note that ``step`` of ``run`` began its ``attempt`` (1 for the first)."""
        ...

    def output_written(self, run: str, step: str, output: StepOutput) -> None:
        """Record one object the step wrote."""
        ...

    def step_finished(
        self,
        run: str,
        step: str,
        status: str,
        error: dict[str, str] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        """Record the end of a step: ``SUCCEEDED`` or ``FAILED`` with ``{error, cause}``."""
        ...

    def register_distribution(
        self, dataset: str, version: str, edition: str, distribution: dict[str, Any]
    ) -> str:
        """Register a distribution; its ``id`` makes a repeated call register nothing new."""
        ...

    def latest_distribution_keys(self, dataset: str) -> list[str]:
        """The object keys of the latest edition's distributions of ``dataset``."""
        ...

    def lookup_access(self, dataset: str, lookups: list[str]) -> dict[str, str]:
        """The access rights of each of ``lookups`` the owner team of ``dataset`` may read.

        Datasets it may not read, and those that do not exist, are left out alike.
        """
        ...


class StepError(Exception):
    """A failure a pipeline can route on: its class name is the ASL error name."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(StepError):
    """A step option is unknown or has a value the step cannot use; names the option."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"config {key}: {reason}")
        self.key = key
        self.reason = reason


class InputError(StepError):
    """An input object cannot be read as the step expects (encoding, shape, size, format)."""


class ValidationFailed(StepError):
    """Rows broke the Table Schema and the step was told to fail (``onInvalid: fail``)."""

    def __init__(self, messages: list[str], summary: dict[str, Any]) -> None:
        rejected, rows = summary.get("rejected", 0), summary.get("rows", 0)
        super().__init__(f"{rejected} of {rows} rows are invalid: {'; '.join(messages)}")
        self.messages = messages
        self.summary = summary


class UnmatchedRows(StepError):
    """Rows found no match in the lookup and the step was told to fail."""

    def __init__(self, count: int, examples: list[str]) -> None:
        super().__init__(f"{count} rows have no match in the lookup: {'; '.join(examples)}")
        self.count = count
        self.examples = examples


def camel_case(name: str) -> str:
    """``decimal_char`` -> ``decimalChar``: config keys follow Frictionless naming."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def build_config(config_type: type[ConfigT], raw: dict[str, Any] | None) -> ConfigT:
    """Build a step's frozen config dataclass from its ``taskConfig`` entry.

    Raises ConfigError naming the first unknown key, missing required key, or value of the
    wrong JSON type.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("config", "must be an object")
    specs = {camel_case(spec.name): spec for spec in dataclasses.fields(config_type)}  # type: ignore[arg-type]
    hints = typing.get_type_hints(config_type)
    unknown = sorted(set(raw) - set(specs))
    if unknown:
        raise ConfigError(unknown[0], f"unknown option; known options: {', '.join(sorted(specs))}")
    values = {}
    for key, spec in specs.items():
        if key not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ConfigError(key, "is required")
            continue
        value = raw[key]
        if not _has_type(value, hints[spec.name]):
            raise ConfigError(key, f"must be {_type_name(hints[spec.name])}, not {value!r:.80}")
        values[spec.name] = value
    return config_type(**values)


_JSON_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "an object",
    list: "a list",
    type(None): "null",
}


def _has_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is Any:
        return True
    base = origin or hint
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base in (list, tuple):
        base = list
    return isinstance(value, base)


def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(arg) for arg in typing.get_args(hint))
    return _JSON_NAMES.get(origin or hint, str(hint))
