"""A whole pipeline on the local ASL engine: excel_to_csv → validate → enrich → csv_to_parquet
→ publish, checked row by row in the published Parquet."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter

from pipelines import asl
from pipelines.asl.lambdas import invoked
from pipelines.objects import LocalObjectStore
from pipelines.steps import csv_to_parquet, enrich, excel_to_csv, publish, validate
from tests.pipelines.steps.conftest import EDITION, Put, data_file
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
SPECIES_KEY = "processed/green/species/version=1/edition=20230101T000000/species.csv"
STEPS = [
    ("ToCsv", "excel_to_csv"),
    ("Check", "validate"),
    ("AddSpecies", "enrich"),
    ("ToParquet", "csv_to_parquet"),
    ("Publish", "publish"),
]
HANDLERS = {
    f"brygge:step:{module.__name__.rsplit('.', 1)[1]}": (
        lambda event, module=module: module.handler(event, None)
    )
    for module in (excel_to_csv, validate, enrich, csv_to_parquet, publish)
}
TASK_CONFIG: dict[str, Any] = {
    "ToCsv": {"sheet": "Trær", "headerRow": 2},
    "Check": {
        "schema": {
            "fields": [
                {"name": "tree_id", "type": "integer", "constraints": {"unique": True}},
                {"name": "species", "constraints": {"pattern": "[A-Z]{3}"}},
                {"name": "height_m", "type": "number", "constraints": {"maximum": 100}},
                {"name": "planted", "type": "date"},
            ]
        },
        "onInvalid": "quarantine",
    },
    "AddSpecies": {
        "lookup": {"dataset": "species"},
        "on": {"species": "code"},
        "columns": ["name"],
        "unmatched": "keep",
    },
    "ToParquet": {
        "schema": {
            "fields": [
                {"name": "tree_id", "type": "integer"},
                {"name": "height_m", "type": "number"},
                {"name": "planted", "type": "date"},
            ]
        }
    },
    "Publish": {},
}


def definition(steps: list[tuple[str, str]] = STEPS) -> dict[str, Any]:
    """Each Task builds the step event from the run's input and its own taskConfig entry."""
    states = {}
    for n, (name, step) in enumerate(steps):
        state: dict[str, Any] = {
            "Type": "Task",
            "Resource": f"brygge:step:{step}",
            "Parameters": {
                "run.$": "$.run",
                "dataset.$": "$.dataset",
                "version.$": "$.version",
                "edition.$": "$.edition",
                "step": name,
                "config.$": f"$.taskConfig.{name}",
                "input.$": "$.input",
            },
            "ResultSelector": {"keys.$": "$.input.keys"},
            "ResultPath": "$.input",
        }
        if n + 1 < len(steps):
            state["Next"] = steps[n + 1][0]
        else:
            state["End"] = True
        states[name] = state
    return {"StartAt": steps[0][0], "States": states}


def workbook(path: Path) -> bytes:
    book = xlsxwriter.Workbook(path)
    date = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet = book.add_worksheet("Trær")
    sheet.write_string(0, 0, "Bytrær, eksport")
    sheet.write_row(1, 0, ["tree_id", "species", "height_m", "planted"])
    rows = [
        (1, "ALB", 12.5, dt.datetime(2001, 4, 3)),
        (2, "BET", 8, dt.datetime(1999, 10, 21)),
        (3, "bad", 15.25, dt.datetime(2010, 5, 30)),
        (4, "QUE", 250, dt.datetime(2015, 6, 1)),
        (5, "XXX", 3, dt.datetime(2020, 1, 1)),
    ]
    for n, (tree_id, species, height, planted) in enumerate(rows, start=2):
        sheet.write_number(n, 0, tree_id)
        sheet.write_string(n, 1, species)
        sheet.write_number(n, 2, height)
        sheet.write_datetime(n, 3, planted, date)
    book.close()
    return path.read_bytes()


def start(key: str, task_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": "run-42",
        "dataset": "trees",
        "version": "1",
        "edition": EDITION,
        "taskConfig": task_config,
        "input": {"keys": [key]},
    }


def test_excel_to_published_parquet(
    objects: LocalObjectStore, recorder: MemoryRecorder, tmp_path: Path, put: Put
) -> None:
    objects.put(SPECIES_KEY, io.BytesIO(data_file("species.csv")))
    recorder.latest["species"] = [SPECIES_KEY]
    recorder.readable["species"] = "public"
    key = put("trees.xlsx", workbook(tmp_path / "trees.xlsx"))

    result = asl.run(definition(), start(key, TASK_CONFIG), HANDLERS)

    assert (result.status, result.error, result.cause) == ("SUCCEEDED", None, None)
    published = f"processed/green/trees/version=1/edition={EDITION}/trees.parquet"
    assert result.output["input"] == {"keys": [published]}
    frame = pl.read_parquet(io.BytesIO(objects.get(published)))
    assert frame.schema == {
        "tree_id": pl.Int64,
        "species": pl.String,
        "height_m": pl.Float64,
        "planted": pl.Date,
        "name": pl.String,
    }
    assert frame.rows() == [
        (1, "ALB", 12.5, dt.date(2001, 4, 3), "Albizia"),
        (2, "BET", 8.0, dt.date(1999, 10, 21), "Betula"),
        (5, "XXX", 3.0, dt.date(2020, 1, 1), None),
    ]
    [distribution] = recorder.distributions.values()
    assert distribution["key"] == published
    assert distribution["byteSize"] == objects.head(published).bytes
    finished = {event[2]: event[3:] for event in recorder.events if event[0] == "finished"}
    assert [status for status, *_ in finished.values()] == ["SUCCEEDED"] * 5
    assert finished["Check"][2]["byRule"] == {"pattern": 1, "maximum": 1}
    assert finished["AddSpecies"][2] == {"rows": 3, "matched": 2, "unmatched": 1}
    rejects = [output for output in recorder.outputs if output.key.endswith("-rejects.csv")]
    assert [output.rows for output in rejects] == [2]


def test_invalid_rows_fail_the_run_with_the_named_error(
    objects: LocalObjectStore, recorder: MemoryRecorder, tmp_path: Path, put: Put
) -> None:
    key = put("trees.xlsx", workbook(tmp_path / "trees.xlsx"))
    config = TASK_CONFIG | {"Check": TASK_CONFIG["Check"] | {"onInvalid": "fail"}}

    result = asl.run(definition(), start(key, config), HANDLERS)

    assert result.status == "FAILED"
    assert result.error == "ValidationFailed"
    assert "row 4, column species: 'bad' does not match the pattern [A-Z]{3}" in result.cause
    assert result.failed_state == "Check"
    assert not objects.exists(f"processed/green/trees/version=1/edition={EDITION}/trees.parquet")


def test_the_template_compiled_for_the_local_engine_runs_the_same_chain(
    objects: LocalObjectStore, recorder: MemoryRecorder, tmp_path: Path, put: Put
) -> None:
    from pipelines.compiler import compile_definition

    objects.put(SPECIES_KEY, io.BytesIO(data_file("species.csv")))
    recorder.latest["species"] = [SPECIES_KEY]
    recorder.readable["species"] = "public"
    key = put("trees.xlsx", workbook(tmp_path / "trees.xlsx"))
    template = {
        "StartAt": STEPS[0][0],
        "States": {
            name: {"Type": "Task", "Resource": f"brygge:step:{step}"}
            | ({"Next": STEPS[n + 1][0]} if n + 1 < len(STEPS) else {"End": True})
            for n, (name, step) in enumerate(STEPS)
        },
    }

    handlers = {resource: invoked(handler) for resource, handler in HANDLERS.items()}
    result = asl.run(compile_definition(template), start(key, TASK_CONFIG), handlers)

    assert (result.status, result.error) == ("SUCCEEDED", None)
    published = f"processed/green/trees/version=1/edition={EDITION}/trees.parquet"
    assert result.output["input"] == {"keys": [published]}
    frame = pl.read_parquet(io.BytesIO(objects.get(published)))
    assert frame.get_column("tree_id").to_list() == [1, 2, 5]
    # The compiled payload counts attempts from 1.
    assert [event[3] for event in recorder.events if event[0] == "started"] == [1] * 5


def test_a_semicolon_latin1_csv_is_validated_enriched_and_converted_with_one_dialect(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put
) -> None:
    # A municipality's monthly file as its spreadsheet saves it; each step that reads CSV
    # takes the same dialect, as validate writes its valid rows in the file's own form.
    budgets = (
        "skole_id;skole;budsjett;dato\r\n"
        "0301-001;Bjølsen;1 234 567,50;31.01.2026\r\n"
        "0301-002;Ås;-;31.01.2026\r\n"
    )
    key = put("budsjett.csv", budgets.encode("latin-1"))
    lookup = put("skoler.csv", "skole_id,bydel\n0301-001,Sagene\n0301-002,Søndre\n".encode())
    dialect = {"delimiter": ";", "encoding": "latin-1", "decimalChar": ","}
    schema = {
        "fields": [
            {"name": "skole_id", "constraints": {"required": True}},
            {"name": "budsjett", "type": "number", "groupChar": " "},
            {"name": "dato", "type": "date", "format": "%d.%m.%Y"},
        ],
        "missingValues": ["", "-"],
    }
    config = {
        "Check": dialect | {"schema": schema},
        "AddDistrict": dialect | {"lookup": {"key": lookup}, "on": "skole_id"},
        "ToParquet": dialect | {"schema": schema},
        "Publish": {},
    }
    steps = [
        ("Check", "validate"),
        ("AddDistrict", "enrich"),
        ("ToParquet", "csv_to_parquet"),
        ("Publish", "publish"),
    ]

    result = asl.run(definition(steps), start(key, config), HANDLERS)

    assert (result.status, result.error, result.cause) == ("SUCCEEDED", None, None)
    published = f"processed/green/trees/version=1/edition={EDITION}/budsjett.parquet"
    assert pl.read_parquet(io.BytesIO(objects.get(published))).rows() == [
        ("0301-001", "Bjølsen", 1234567.5, dt.date(2026, 1, 31), "Sagene"),
        ("0301-002", "Ås", None, dt.date(2026, 1, 31), "Søndre"),
    ]
