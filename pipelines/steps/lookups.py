"""The lookups a step reads besides its run's own objects (enrich's lookup table).

A lookup names a dataset (its latest published distribution) or one object key. Which of
them a run may read is the catalogue's decision: a dataset the owner team of the run's
dataset may read, and keys of the run's own dataset only. This module only parses them; it
imports no data library, so the catalogue checks pipelines with it at save time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.errors import InvalidValue
from pipelines.object_keys import parse_object_key
from pipelines.steps.contract import ConfigError, StepError

# Steps whose taskConfig has a ``lookup`` option, by step name.
LOOKUP_STEPS = ("enrich",)
LOOKUP_FORMS = '{"dataset": "<id>"} or {"key": "<object key>"}'


class LookupNotAllowed(StepError):
    """A lookup names a dataset or key the run may not read (or that does not exist)."""


@dataclass(frozen=True, slots=True)
class LookupSource:
    """One lookup: exactly one of ``dataset`` and ``key`` is set."""

    dataset: str | None = None
    key: str | None = None


def parse_lookup(raw: Any) -> LookupSource:
    """The lookup a ``lookup`` option names; raises ConfigError for any other shape."""
    if isinstance(raw, Mapping):
        if set(raw) == {"key"} and isinstance(raw["key"], str):
            return LookupSource(key=raw["key"])
        if set(raw) == {"dataset"} and isinstance(raw["dataset"], str):
            return LookupSource(dataset=raw["dataset"])
    raise ConfigError("lookup", f"must be {LOOKUP_FORMS}")


def key_lookup_problem(key: str, dataset: str) -> str | None:
    """Why the lookup key ``key`` may not be read by a run of ``dataset``; None if it may.

    The answer depends on the key's text only, never on whether the object exists.
    """
    try:
        parsed = parse_object_key(key)
    except InvalidValue:
        return f"lookup key {key!r} is not an object key of the lake"
    if parsed.dataset != dataset:
        return f"lookup key {key!r} is not an object of dataset {dataset!r}"
    return None


def step_lookups(
    steps: Mapping[str, str], task_config: Mapping[str, Any]
) -> dict[str, LookupSource]:
    """Each lookup of a pipeline by Task state name, from its steps and taskConfig.

    ``steps`` maps a Task state's name to its step. Raises InvalidValue(taskConfig) naming
    the state whose lookup has the wrong shape.
    """
    found: dict[str, LookupSource] = {}
    for state, step in steps.items():
        config = task_config.get(state)
        if step not in LOOKUP_STEPS or not isinstance(config, Mapping) or "lookup" not in config:
            continue
        try:
            found[state] = parse_lookup(config["lookup"])
        except ConfigError as error:
            raise InvalidValue("taskConfig", f"state {state!r}: {error.message}") from None
    return found
