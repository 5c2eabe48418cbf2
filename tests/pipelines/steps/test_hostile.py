"""Hostile CSV input to the steps that read step CSVs: a named InputError, never a traceback."""

from __future__ import annotations

import io
import re
from typing import Any

import polars as pl
import pytest

from pipelines.steps import enrich, transform, validate
from pipelines.steps.contract import InputError, StepError
from tests.pipelines.steps.conftest import MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
STEPS: dict[str, tuple[Any, dict[str, Any]]] = {
    "validate": (validate, {"schema": {"fields": [{"name": "a"}]}}),
    "transform": (transform, {"select": ["a"]}),
    "enrich": (enrich, {"lookup": {"key": "LOOKUP"}, "on": "a"}),
}


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        ("a,b\nBl\u00e5sen,1\n".encode("latin-1"), "not valid UTF-8"),
        # validate reads the CSV dialect and names the row; the others read step outputs.
        (
            b'a,b\n1,"never closed\n2,3\n',
            "row 2 has a quoted value that is never closed|cannot be read",
        ),
    ],
)
def test_hostile_csv_gives_a_named_input_error(
    put: Put,
    make_event: MakeEvent,
    recorder: MemoryRecorder,
    step: str,
    data: bytes,
    message: str,
) -> None:
    module, config = STEPS[step]
    if step == "enrich":
        config = config | {"lookup": {"key": put("lookup.csv", b"a,extra\n1,x\n")}}
    key = put("bad.csv", data)
    with pytest.raises(InputError) as raised:
        module.handler(make_event("Step", [key], config), None)
    assert re.search(message, str(raised.value))
    assert recorder.finished("Step")[4]["error"] == "InputError"


@pytest.mark.parametrize("step", ["validate", "enrich"])
def test_ragged_rows_are_an_input_error_when_every_column_is_read(
    put: Put, make_event: MakeEvent, step: str
) -> None:
    module, config = STEPS[step]
    if step == "enrich":
        config = config | {"lookup": {"key": put("lookup.csv", b"a,extra\n1,x\n")}}
    key = put("bad.csv", b"a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match="ragged rows"):
        module.handler(make_event("Step", [key], config), None)


def test_transform_reads_only_the_columns_it_needs_from_ragged_rows(
    put: Put, make_event: MakeEvent, objects: Any
) -> None:
    key = put("bad.csv", b"a,b\n1,2\n3,4,5\n")
    result = transform.handler(make_event("Step", [key], {"select": ["a"]}), None)
    assert objects.get(result["input"]["keys"][0]) == b"a\n1\n3\n"


@pytest.mark.parametrize("step", sorted(STEPS))
def test_binary_garbage_is_a_named_error_about_the_missing_column(
    put: Put, make_event: MakeEvent, step: str
) -> None:
    module, config = STEPS[step]
    if step == "enrich":
        config = config | {"lookup": {"key": put("lookup.csv", b"a,extra\n1,x\n")}}
    key = put("bad.csv", b"\x00\x01\x02\x03\n\x04")
    with pytest.raises(StepError, match="'a'"):
        module.handler(make_event("Step", [key], config), None)


def test_formula_looking_values_pass_validate_as_data(
    put: Put, make_event: MakeEvent, objects: Any
) -> None:
    key = put("f.csv", b"a,b\n\"=cmd|' /C calc'!A0\",+1\n@SUM(A1),-2\n")
    result = validate.handler(
        make_event("Check", [key], {"schema": {"fields": [{"name": "a"}, {"name": "b"}]}}), None
    )
    frame = pl.read_csv(io.BytesIO(objects.get(result["input"]["keys"][0])), infer_schema=False)
    assert frame.rows() == [("=cmd|' /C calc'!A0", "+1"), ("@SUM(A1)", "-2")]
