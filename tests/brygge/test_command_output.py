"""How commands print for people: nothing a later command needs is cut or wrapped away."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from brygge.cli.context import Context, output_console, render
from brygge.cli.pipeline_templates import option_rows, show_step, step_rows
from brygge.cli.runs import RUN_NOT_SUCCEEDED, finish, run_table, show_run

RUN_ID = "luftkvalitet-i-oslo-e6d6bd0465e15e0776cf"


def printed(width: int, renderable: object) -> list[str]:
    output = io.StringIO()
    Console(file=output, width=width, color_system=None).print(renderable)
    return output.getvalue().splitlines()


def test_a_list_never_cuts_the_ids_other_commands_take_even_when_narrow() -> None:
    output = io.StringIO()
    console = Console(file=output, width=80, color_system=None)
    rows = [
        {
            "id": RUN_ID,
            "status": "SUCCEEDED",
            "edition": "20261207T043339",
            "created": "2026-12-07T04:33:39Z",
            "endedAt": "2026-12-07T04:33:40Z",
        },
    ]
    render(Context(None, None, console, console), rows, list(rows[0]), "table")
    assert any(RUN_ID in line for line in output.getvalue().splitlines())


def test_the_run_view_shows_the_whole_run_id_on_one_line() -> None:
    run = {
        "id": RUN_ID,
        "status": "SUCCEEDED",
        "steps": [{"name": "ToParquet", "status": "SUCCEEDED", "outputs": [{"rows": 3}]}],
    }
    lines = [line.split() for line in printed(120, run_table(run))]
    assert ["run", RUN_ID, "SUCCEEDED"] in lines


def test_the_run_view_counts_the_rows_a_step_kept_and_says_how_many_it_rejected() -> None:
    # validate kept 2 rows of 3 and wrote one reject line: the view said 3 rows.
    rejects = "intermediate/green/air/version=1/edition=e/Check/a-rejects.csv"
    valid = "intermediate/green/air/version=1/edition=e/Check/a.csv"
    check = {
        "name": "Check",
        "status": "SUCCEEDED",
        "summary": {"rows": 3, "valid": 2, "rejected": 1, "rejectsKeys": [rejects]},
        "outputs": [{"key": valid, "rows": 2}, {"key": rejects, "rows": 1}],
    }
    sheets = {
        "name": "Sheets",
        "status": "SUCCEEDED",
        "outputs": [{"key": "a.csv", "rows": 1200}, {"key": "b.csv", "rows": 3}],
    }
    run = {"id": RUN_ID, "status": "SUCCEEDED", "steps": [check, sheets]}
    lines = [line.split() for line in printed(120, run_table(run))]
    assert ["Check", "SUCCEEDED", "2", "(1", "rejected)"] in lines
    assert ["Sheets", "SUCCEEDED", "1203"] in lines


def test_piped_tables_are_not_cut_to_a_terminal_width(monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    console = output_console(io.StringIO())
    context = Context(None, None, console, console)
    rows = [
        {
            "id": RUN_ID,
            "status": "SUCCEEDED",
            "created": "2026-12-07T04:33:39Z",
            "endedAt": "2026-12-07T04:33:40Z",
            "edition": "20261207T043339-000001",
        }
    ]
    render(context, rows, list(rows[0]), "table")
    [_, line] = console.file.getvalue().splitlines()
    assert line.split() == list(rows[0].values())


def test_a_terminal_keeps_its_own_width(monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    assert output_console(io.StringIO()).width == 100


FAILED_RUN = {
    "id": RUN_ID,
    "dataset": "luftkvalitet-i-oslo",
    "status": "FAILED",
    "edition": "20261207T043340",
    "steps": [
        {
            "name": "ToCsv",
            "status": "SUCCEEDED",
            "outputs": [
                {
                    "key": "intermediate/green/luft/version=1/edition=e/ToCsv/januar.csv",
                    "bytes": 208,
                    "rows": 5,
                    "n": 1,
                }
            ],
        },
        {
            "name": "ToParquet",
            "status": "FAILED",
            "error": {
                "error": "InputError",
                "cause": "{\"errorMessage\": \"januar.csv: row 2, column 'pm10': 'tolv' is "
                'not a valid number", "errorType": "InputError", "stackTrace": []}',
            },
            "outputs": [],
        },
    ],
}


def test_runs_show_says_why_a_run_failed_and_lists_the_files_its_steps_wrote() -> None:
    output = io.StringIO()
    console = Console(file=output, width=120, color_system=None)
    show_run(Context(None, None, console, console), FAILED_RUN)
    text = output.getvalue()
    assert "FAILED in step ToParquet" in text
    assert "error: InputError" in text
    assert "cause: januar.csv: row 2, column 'pm10': 'tolv' is not a valid number" in text
    assert ["ToCsv", "1", "januar.csv", "5", "208"] in [line.split() for line in text.splitlines()]


def test_a_followed_run_prints_as_csv_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    with pytest.raises(SystemExit) as exited:
        finish(Context(None, None, console, console), FAILED_RUN, "csv")
    assert exited.value.code == RUN_NOT_SUCCEEDED
    [header, row] = capsys.readouterr().out.splitlines()
    assert header == "id,status,edition,created,endedAt"
    assert row.startswith(f"{RUN_ID},FAILED,20261207T043340")


CSV_TO_PARQUET = {
    "name": "csv_to_parquet",
    "summary": "read a CSV with a Frictionless dialect and write zstd Parquet, streaming.",
    "description": "How the files of public data portals are read (the dialect as\n...",
    "options": {
        "type": "object",
        "required": ["schema"],
        "properties": {
            "delimiter": {"type": ["string", "null"], "default": None},
            "quoteChar": {"type": "string", "default": '"'},
            "schema": {
                "anyOf": [{"title": "Table Schema", "type": "object"}, {"type": "null"}],
                "default": None,
            },
            "onInvalid": {"type": "string", "enum": ["fail", "drop"], "default": "fail"},
        },
    },
    "example": {"ToParquet": {"delimiter": ";"}},
}


def test_the_step_list_shows_each_steps_summary() -> None:
    assert step_rows([CSV_TO_PARQUET]) == [
        {
            "name": "csv_to_parquet",
            "summary": "read a CSV with a Frictionless dialect and write zstd Parquet, streaming.",
        }
    ]


def test_a_steps_options_show_type_default_values_and_whether_required() -> None:
    assert option_rows(CSV_TO_PARQUET) == [
        {
            "option": "delimiter",
            "type": "string, null",
            "required": "",
            "default": "null",
            "values": "",
        },
        {"option": "quoteChar", "type": "string", "required": "", "default": '"\\""', "values": ""},
        {
            "option": "schema",
            "type": "Table Schema, null",
            "required": "yes",
            "default": "null",
            "values": "",
        },
        {
            "option": "onInvalid",
            "type": "string",
            "required": "",
            "default": '"fail"',
            "values": "fail, drop",
        },
    ]


def test_an_expired_run_is_told_to_upload_again_not_to_rerun() -> None:
    errors = io.StringIO()
    console = Console(file=errors, width=120, color_system=None)
    run = {
        "id": RUN_ID,
        "dataset": "luft",
        "status": "EXPIRED",
        "steps": [],
        "error": {"error": "Brygge.UploadExpired", "cause": "the upload URL expired"},
    }
    with pytest.raises(SystemExit) as exited:
        finish(Context(None, None, console, console), run, "table")
    assert exited.value.code == RUN_NOT_SUCCEEDED
    assert f"run {RUN_ID} EXPIRED\n" in errors.getvalue()
    assert "brygge upload FILE ds:luft" in errors.getvalue()
    assert "rerun" not in errors.getvalue()


def test_a_step_shown_for_people_says_what_it_does_and_what_each_option_means() -> None:
    output = io.StringIO()
    console = Console(file=output, width=100, color_system=None)
    step = {
        **CSV_TO_PARQUET,
        "description": "Rows with no value at all are dropped.",
        "options": {
            **CSV_TO_PARQUET["options"],
            "description": "``skipRows``: rows to skip after the header.",
        },
    }
    show_step(Context(None, None, console, console), step)
    text = output.getvalue()
    assert text.startswith("csv_to_parquet: read a CSV with a Frictionless dialect")
    assert "Rows with no value at all are dropped." in text
    assert "``skipRows``: rows to skip after the header." in text
    assert text.index("onInvalid") < text.index("skipRows") < text.index("example taskConfig")


def test_a_run_failed_on_its_file_is_also_told_to_upload_the_fixed_file() -> None:
    # A totals row, an empty file, a value of the wrong type: the file is at fault as often
    # as the settings are.
    errors = io.StringIO()
    console = Console(file=errors, width=200, color_system=None)
    with pytest.raises(SystemExit) as exited:
        finish(Context(None, None, console, console), FAILED_RUN, "table")
    assert exited.value.code == RUN_NOT_SUCCEEDED
    text = " ".join(errors.getvalue().split())
    assert f"brygge runs rerun {RUN_ID}" in text
    assert (
        "after fixing the file, upload it again: brygge upload FILE ds:luftkvalitet-i-oslo" in text
    )
