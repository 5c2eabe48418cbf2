"""The step catalogue: which resources are steps, and options checked against JSON Schema."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from pipelines.runs.steps import StepNotFound, StepRegistry
from pipelines.steps import csv_to_parquet
from pipelines.steps.catalog import STEPS
from pipelines.steps.options import Problem, options_schema, schema_problems


@pytest.mark.parametrize("module", ["runtime", "contract", "tables", "expressions", "catalog"])
def test_helper_modules_are_not_steps_at_run_time_either(module: str) -> None:
    with pytest.raises(StepNotFound, match="names no step"):
        StepRegistry({}).resolve(f"brygge:step:{module}")


def test_a_catalogued_step_resolves_to_its_handler() -> None:
    assert StepRegistry({}).resolve("brygge:step:csv_to_parquet") is csv_to_parquet.handler


@dataclass(frozen=True)
class Options:
    name: str
    mode: Literal["a", "b"] = "a"
    size: int | None = None
    tags: list[str] | None = None
    extra: dict[str, Any] | None = field(default=None, metadata={"description": "Anything."})


def test_an_option_carries_its_fields_description() -> None:
    properties = options_schema(Options)["properties"]
    assert properties["extra"]["description"] == "Anything."
    assert "description" not in properties["name"]


@pytest.mark.parametrize(
    ("value", "problems"),
    [
        ({"name": "x"}, []),
        ({}, [Problem("name", "is required")]),
        ("text", [Problem("", 'must be an object, not "text"')]),
        (
            {"name": 1, "mode": "c", "size": True, "tags": ["t", 2], "nmae": "x"},
            [
                Problem("name", "must be a string, not 1"),
                Problem("mode", 'must be one of "a", "b", not "c"'),
                Problem("size", "must be an integer or null, not true"),
                Problem("tags[1]", "must be a string, not 2"),
                Problem(
                    "nmae",
                    "unknown option; did you mean 'name'? known options: name, mode, size, "
                    "tags, extra",
                ),
            ],
        ),
        ({"name": "x", "tags": "t"}, [Problem("tags", 'must be a list or null, not "t"')]),
    ],
)
def test_every_problem_of_an_options_object_is_found(value: Any, problems: list) -> None:
    assert schema_problems(options_schema(Options), value) == problems


def test_a_step_reports_its_own_rule_once_the_shape_is_right() -> None:
    step = STEPS["csv_to_parquet"]
    assert step.problems({"decimalChar": ",", "delimiter": ","}) == [
        Problem("decimalChar", "',' needs a delimiter other than ','")
    ]
    assert step.problems({"encoding": "klingon"}) == [
        Problem("encoding", "unknown encoding 'klingon'")
    ]
    assert STEPS["excel_to_csv"].problems({"range": "F200:A1"}) == [
        Problem("range", "must go from the top-left to the bottom-right cell")
    ]
    assert STEPS["transform"].problems({"filter": "antall & 1"}) == [
        Problem("filter", "unexpected character '&' at position 7")
    ]
    assert STEPS["enrich"].problems({"lookup": {"dataset": "a", "key": "b"}, "on": "id"}) == [
        Problem("lookup", "takes at most 1 of the keys dataset, key")
    ]


def test_a_sheet_index_below_one_is_a_problem_at_save() -> None:
    # Indexes are 1-based: 0 names no sheet of any workbook, so no upload could run it.
    assert STEPS["excel_to_csv"].problems({"sheet": 0}) == [
        Problem("sheet", "an index is 1-based: the first sheet is 1")
    ]


@pytest.mark.parametrize("media_type", ["not a type", "CSV", "csv/", "; charset=utf-8"])
def test_a_publish_media_type_that_is_none_is_a_problem_at_save(media_type: str) -> None:
    # The feed states the distribution's mediaType as an IANA IRI; one that is no media type
    # would keep the public dataset out of the feed (publishability).
    assert STEPS["publish"].problems({"mediaType": media_type}) == [
        Problem("mediaType", "must be a media type such as text/csv or text/csv; charset=utf-8")
    ]


@pytest.mark.parametrize(
    "media_type", ["application/vnd.apache.parquet", "text/csv; charset=windows-1252", "Text/CSV"]
)
def test_a_publish_media_type_with_parameters_is_taken(media_type: str) -> None:
    assert STEPS["publish"].problems({"mediaType": media_type}) == []


@pytest.mark.parametrize(
    ("step", "options"),
    [
        ("transform", {}),
        ("enrich", {"lookup": {"dataset": "bydeler"}, "on": "bydel", "columns": ["navn"]}),
        ("validate", {"schema": {"fields": []}}),
    ],
)
@pytest.mark.parametrize(
    ("dialect", "problem"),
    [
        (
            {"delimiter": ";;"},
            Problem("delimiter", 'must be one character other than a line break, or "auto"'),
        ),
        ({"encoding": "klingon"}, Problem("encoding", "unknown encoding 'klingon'")),
        (
            {"headerRows": [0]},
            Problem(
                "headerRows",
                "must be a list of one row number, 1-based (a header of several rows is not "
                "supported)",
            ),
        ),
        (
            {"footerRows": -1},
            Problem("footerRows", "must be zero or more (or null to check for footnotes)"),
        ),
    ],
)
def test_every_step_reading_csv_checks_its_dialect_at_save(
    step: str, options: dict[str, Any], dialect: dict[str, Any], problem: Problem
) -> None:
    # transform and enrich took any dialect at save, and failed on every upload.
    assert STEPS[step].problems(options | dialect) == [problem]
