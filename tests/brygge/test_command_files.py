"""What the commands read from files: a JSON object, or one clear error naming the option."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from brygge.cli import cli, main


@pytest.mark.parametrize(
    "command",
    [
        ["datasets", "edit", "ds:luft", "--file", "{path}"],
        ["datasets", "create", "--file", "{path}"],
        ["pipelines", "create", "--file", "{path}"],
        ["pipelines", "create", "--file", "{path}", "--dataset", "ds:luft"],
        ["pipelines", "validate", "{path}"],
    ],
)
def test_a_json_file_that_is_not_an_object_is_a_usage_error_naming_the_file(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "changes.json"
    path.write_text("[1, 2]")
    args = ["--url", "http://127.0.0.1:9", *(part.format(path=path) for part in command)]

    assert main(args) == 2
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert f"{path}: must hold a JSON object" in error


def test_malformed_json_names_the_option_it_came_from(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{bad")
    template = tmp_path / "template.json"
    template.write_text('{"StartAt": "A", "States": {}}')

    args = ["pipelines", "validate", str(template), "--config", str(path)]
    result = CliRunner().invoke(cli, ["--url", "http://127.0.0.1:9", *args])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "Invalid value for --config:" in output
    assert "Expecting property name" in output


@pytest.mark.parametrize(
    "command",
    [
        ["pipelines", "validate", "{path}", "--dataset", "ds:luft"],
        ["pipelines", "create", "--file", "{path}", "--dataset", "ds:luft"],
    ],
)
def test_a_template_given_as_a_datasets_pipeline_is_told_what_the_file_must_hold(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The template file, where --dataset wants {"template": <id>, "taskConfig": {...}}.
    path = tmp_path / "template.json"
    path.write_text('{"id": "kommune-csv", "title": "CSV", "definition": {"StartAt": "A"}}')
    args = ["--url", "http://127.0.0.1:9", *(part.format(path=path) for part in command)]

    assert main(args) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert f'{path}: has no "template"' in error
    assert '{"template": "kommune-csv", "taskConfig": {...}}' in error


def test_a_json_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    from brygge.cli.context import read_json_file

    # Windows Notepad's "UTF-8 with BOM"; RFC 8259 §8.1 lets a parser ignore the mark.
    path = tmp_path / "endringer.json"
    path.write_bytes('{"description": "Innbyggere per bydel, årlig"}'.encode("utf-8-sig"))
    assert read_json_file(str(path), "--file") == {"description": "Innbyggere per bydel, årlig"}
