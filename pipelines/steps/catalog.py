"""The steps a Task state can name, what each does, the JSON Schema of its options, an example.

A step is listed here or it does not exist: ``brygge:step:<name>`` resolves only to these
modules (helper modules such as ``runtime`` or ``tables`` are not steps). Each step's options
schema is derived from its config dataclass (``pipelines.steps.options``); ``check`` is the
step's own check of option values that a JSON Schema cannot express (a delimiter of one
character, a range such as ``A1:F200``, a regular expression that compiles; of transform's
expressions only the tokens, as parsing them builds polars expressions). Nothing here imports
polars, so the catalogue checks pipelines with it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pipelines.steps import (
    csv_to_parquet,
    enrich,
    excel_to_csv,
    json_to_parquet,
    publish,
    transform,
    validate,
)
from pipelines.steps.contract import ConfigError, build_config
from pipelines.steps.csv_dialect import check_dialect
from pipelines.steps.expressions import ExpressionError, tokenize
from pipelines.steps.options import Problem, options_schema, schema_problems

RESOURCE_PREFIX = "brygge:step:"


@dataclass(frozen=True)  # no slots: ``options`` is cached on the instance
class Step:
    """One step: its module (``handler``, docstring), its config dataclass and checks."""

    module: ModuleType
    config_type: type
    example: dict[str, Any]  # a taskConfig: a Task state name -> this step's options
    check: Callable[[Any], object] | None = None
    name: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.module.__name__.rsplit(".", 1)[-1])

    @property
    def resource(self) -> str:
        return f"{RESOURCE_PREFIX}{self.name}"

    @property
    def summary(self) -> str:
        """The first line of the module's docstring, without the leading ``name:``."""
        first = inspect.cleandoc(self.module.__doc__ or "").split("\n", 1)[0]
        return first.removeprefix(f"{self.name}:").strip()

    @property
    def description(self) -> str:
        """The rest of the module's docstring: how the step treats its input."""
        parts = inspect.cleandoc(self.module.__doc__ or "").split("\n", 1)
        return parts[1].strip() if len(parts) > 1 else ""

    @functools.cached_property
    def options(self) -> dict[str, Any]:
        """The JSON Schema of the step's options (its entry in ``taskConfig``)."""
        return options_schema(self.config_type, title=f"{self.name} options")

    def problems(self, config: Any) -> list[Problem]:
        """Every problem of one options object; empty when the step can run with it.

        The JSON Schema's problems come all at once; the step's own check runs only on
        options that pass it, and reports its first problem.
        """
        found = schema_problems(self.options, config)
        if found:
            return found
        try:
            built = build_config(self.config_type, config)
            if self.check is not None:
                self.check(built)
        except ConfigError as error:
            return [Problem(error.key, error.reason)]
        return []


def _check_enrich(config: enrich.EnrichConfig) -> None:
    check_dialect(config)
    enrich.join_columns(config)


def _check_excel(config: excel_to_csv.ExcelToCsvConfig) -> None:
    excel_to_csv.window(config)
    if config.sheet == "":
        raise ConfigError("sheet", "must not be empty")


def _check_transform(config: transform.TransformConfig) -> None:
    check_dialect(config)
    # Only the tokens: the parser builds polars expressions, which the catalogue never loads.
    texts = [(f"derive.{column}", text) for column, text in (config.derive or {}).items()]
    if config.filter is not None:
        texts.append(("filter", config.filter))
    for option, text in texts:
        try:
            tokenize(text)
        except ExpressionError as error:
            raise ConfigError(option, str(error)) from None


_SCHEMA_EXAMPLE = {
    "fields": [
        {"name": "bydel", "type": "string", "constraints": {"required": True}},
        {"name": "dato", "type": "date", "format": "%d.%m.%Y"},
        {"name": "antall", "type": "integer", "constraints": {"minimum": 0}},
    ],
    "missingValues": ["", "-", ".."],
}

_EVENT_SCHEMA_EXAMPLE = {
    "fields": [
        {"name": "sensorId", "type": "string"},
        {"name": "observedAt", "type": "datetime"},
        {"name": "temperature", "type": "number"},
    ],
}

_STEPS = (
    Step(
        csv_to_parquet,
        csv_to_parquet.CsvToParquetConfig,
        {"ToParquet": {"delimiter": ";", "decimalChar": ",", "schema": _SCHEMA_EXAMPLE}},
        csv_to_parquet.check_config,
    ),
    Step(
        json_to_parquet,
        json_to_parquet.JsonToParquetConfig,
        {"ToParquet": {"schema": _EVENT_SCHEMA_EXAMPLE, "otherFields": "keep"}},
        json_to_parquet.check_config,
    ),
    Step(
        excel_to_csv,
        excel_to_csv.ExcelToCsvConfig,
        {"ToCsv": {"sheet": "Tabell 1", "range": "A3:F200"}},
        _check_excel,
    ),
    Step(
        validate,
        validate.ValidateConfig,
        {"Validate": {"schema": _SCHEMA_EXAMPLE, "onInvalid": "quarantine"}},
        validate.check_config,
    ),
    Step(
        transform,
        transform.TransformConfig,
        {
            "Tidy": {
                "cast": {"antall": "integer"},
                "filter": "antall > 0",
                "rename": {"bydel": "district"},
            }
        },
        _check_transform,
    ),
    Step(
        enrich,
        enrich.EnrichConfig,
        {"AddNames": {"lookup": {"dataset": "bydeler"}, "on": "bydel", "columns": ["navn"]}},
        _check_enrich,
    ),
    Step(publish, publish.PublishConfig, {"Publish": {}}, publish.check_config),
)
STEPS: Mapping[str, Step] = {step.name: step for step in _STEPS}
