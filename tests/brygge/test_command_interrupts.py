"""Ctrl-C: an exit code that says so, and a run that goes on is not left unsaid."""

from __future__ import annotations

import io
from collections.abc import Iterator

import click
import pytest
from rich.console import Console

from brygge.cli import cli, main
from brygge.cli.context import Context
from brygge.cli.runs import follow
from brygge.client import RunEvent
from brygge.resources import Resource

RUN_ID = "befolkning-etter-bydel-2ed142a72ef67f44175c"


@pytest.fixture
def interrupted_command() -> Iterator[str]:
    @cli.command("interrupted-for-test")
    def interrupted() -> None:
        raise KeyboardInterrupt

    try:
        yield "interrupted-for-test"
    finally:
        del cli.commands["interrupted-for-test"]


def test_ctrl_c_exits_130_saying_it_was_interrupted(
    interrupted_command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([interrupted_command]) == 130
    assert capsys.readouterr().err.strip().splitlines() == ["brygge: interrupted"]


def test_a_declined_question_is_still_an_abort(capsys: pytest.CaptureFixture[str]) -> None:
    @cli.command("declined-for-test")
    def declined() -> None:
        raise click.Abort  # what click.confirm(..., abort=True) raises on "no"

    try:
        assert main(["declined-for-test"]) == 1
    finally:
        del cli.commands["declined-for-test"]
    assert "brygge: aborted" in capsys.readouterr().err


class Watching:
    """A client whose watch sees the run start, then the user presses Ctrl-C."""

    def watch(self, run_id: str, **_options: object) -> Iterator[RunEvent]:
        yield RunEvent(Resource({"id": run_id, "status": "RUNNING", "steps": []}), None)
        raise KeyboardInterrupt


def test_ctrl_c_while_following_says_the_run_goes_on_and_how_to_follow_or_stop_it() -> None:
    errors = io.StringIO()
    console = Console(file=errors, width=200, color_system=None)
    with pytest.raises(KeyboardInterrupt):
        follow(Context(None, None, console, console), Watching(), RUN_ID)  # type: ignore[arg-type]
    text = errors.getvalue()
    assert f"run {RUN_ID} goes on" in text
    assert f"brygge runs watch {RUN_ID}" in text
    assert f"brygge runs abort {RUN_ID}" in text
