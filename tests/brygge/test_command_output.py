"""How commands print for people: nothing a later command needs is cut or wrapped away."""

from __future__ import annotations

import io

from rich.console import Console

from brygge.cli.context import Context, output_console, render
from brygge.cli.runs import run_table

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
