"""The step runtime: configs from taskConfig, the environment, and what a handler records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import csv_to_parquet
from pipelines.steps.contract import ConfigError, InputError, build_config
from pipelines.steps.runtime import NoEnvironment, environment, use_environment
from tests.pipelines.steps.conftest import MakeEvent, Put, data_file
from tests.pipelines.steps.mocks import MemoryRecorder


@dataclass(frozen=True)
class Example:
    schema: dict[str, Any]
    decimal_char: str = "."
    on_invalid: Literal["fail", "drop"] = "fail"
    sheet: str | int = 1
    limit: float | None = None


def test_build_config_maps_camel_case_keys_to_fields() -> None:
    config = build_config(
        Example, {"schema": {}, "decimalChar": ",", "onInvalid": "drop", "sheet": 2, "limit": 3}
    )
    assert config == Example({}, ",", "drop", 2, 3)


@pytest.mark.parametrize(
    ("raw", "key", "reason"),
    [
        ({"schema": {}, "decimal_char": ","}, "decimal_char", "unknown option"),
        ({}, "schema", "is required"),
        ({"schema": []}, "schema", "must be an object"),
        ({"schema": {}, "onInvalid": "ignore"}, "onInvalid", "one of 'fail', 'drop'"),
        ({"schema": {}, "sheet": True}, "sheet", "a string or an integer"),
        ({"schema": {}, "limit": "3"}, "limit", "a number or null"),
    ],
)
def test_build_config_errors_name_the_key(raw: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build_config(Example, raw)
    assert raised.value.key == key
    assert reason in raised.value.reason


def test_handler_records_start_outputs_and_finish_in_order(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    event = make_event("ToParquet", [key]) | {"attempt": 2, "extra": "kept"}
    with use_environment(objects, recorder):
        result = csv_to_parquet.handler(event, None)
    output = result["input"]["keys"][0]
    assert result == event | {"input": {"keys": [output]}}
    assert recorder.events == [
        ("started", "run-1", "ToParquet", 2),
        ("output", "run-1", "ToParquet", output),
        ("finished", "run-1", "ToParquet", "SUCCEEDED", None, {"rows": 4}),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"run": ""}, "'run'"),
        ({"input": {"keys": []}}, "no input keys"),
        ({"input": {"keys": "a.csv"}}, "input.keys"),
        ({"input": None}, "input.keys"),
    ],
)
def test_malformed_events_are_input_errors(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    make_event: MakeEvent,
    change: dict[str, Any],
    message: str,
) -> None:
    event = make_event("ToParquet", ["x"]) | change
    with use_environment(objects, recorder), pytest.raises(InputError, match=message):
        csv_to_parquet.handler(event, None)


def test_a_step_name_unfit_for_a_key_is_a_config_error(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    with use_environment(objects, recorder), pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("To Parquet/..", [key]), None)
    assert raised.value.key == "step"
    assert recorder.finished("To Parquet/..")[3] == "FAILED"


def test_an_input_key_outside_the_layout_is_an_input_error(
    objects: LocalObjectStore, recorder: MemoryRecorder, make_event: MakeEvent
) -> None:
    with use_environment(objects, recorder), pytest.raises(InputError):
        csv_to_parquet.handler(make_event("ToParquet", ["../../etc/passwd.csv"]), None)


def test_a_step_without_a_runner_has_no_environment() -> None:
    with pytest.raises(NoEnvironment, match="use_environment"):
        environment()


def test_use_environment_sets_and_restores(
    objects: LocalObjectStore, recorder: MemoryRecorder
) -> None:
    with use_environment(objects, recorder):
        assert environment() == (objects, recorder)
    with pytest.raises(NoEnvironment):
        environment()
