"""The ``brygge`` command: version, migrate, and serve as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from catalogue import __version__
from catalogue.cli import main


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"brygge {__version__}"


def test_migrate_dry_run_then_apply_then_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("BRYGGE_HOME", str(tmp_path / "home"))
    assert main(["migrate", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "would apply 0001" in dry
    assert not (tmp_path / "home" / "brygge.sqlite3").exists()
    assert main(["migrate"]) == 0
    assert "applied 0001" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to apply"
    assert main(["migrate", "--dry-run"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to apply"


def test_bad_setting_is_named(monkeypatch, capsys) -> None:
    monkeypatch.setenv("BRYGGE_BACKEND", "mainframe")
    assert main(["migrate"]) == 2
    assert "BRYGGE_BACKEND" in capsys.readouterr().err


def test_serve_migrates_prints_the_url_and_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "BRYGGE_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if f"http://127.0.0.1:{port}" in line:
                break
        assert any("applied migration 0001" in line for line in lines), lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_deploy_plan_prints_parameters_resources_and_commands(capsys, monkeypatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    assert main(["deploy", "plan", "prod"]) == 0
    plan = capsys.readouterr().out
    assert "Stack parameters:" in plan
    assert "AWS::DynamoDB::Table" in plan
    assert plan.index("aws cloudformation deploy") < plan.index("zappa deploy prod_api")


def test_deploy_plan_outside_the_project_is_a_clear_error(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "plan", "dev"]) == 2
    assert "zappa_settings.json" in capsys.readouterr().err


def test_deploy_plan_without_pyyaml_says_which_extra_to_install(capsys, monkeypatch) -> None:
    import sys

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    # A runtime-only install (`./dev serve`) has no PyYAML: None in sys.modules blocks it.
    monkeypatch.setitem(sys.modules, "yaml", None)
    assert main(["deploy", "plan", "dev"]) == 2
    assert "pip install 'brygge[deploy]'" in capsys.readouterr().err


AWS_MISCONFIGURED = {
    "no region": (
        {},
        "BRYGGE_BACKEND=aws needs an AWS region: set AWS_DEFAULT_REGION (e.g. eu-north-1)",
    ),
    "no credentials": (
        {"AWS_DEFAULT_REGION": "eu-north-1"},
        "BRYGGE_BACKEND=aws needs AWS credentials: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
    ),
    "unreachable": (
        {
            "AWS_DEFAULT_REGION": "eu-north-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_MAX_ATTEMPTS": "1",
        },
        "cannot reach AWS at http://127.0.0.1:9/: check the network and AWS_ENDPOINT_URL*",
    ),
}


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize("case", sorted(AWS_MISCONFIGURED))
def test_aws_mode_misconfigured_stops_with_one_line(
    tmp_path: Path, command: str, case: str
) -> None:
    from tests.e2e.conftest import brygge_command, clean_environment

    extra, expected = AWS_MISCONFIGURED[case]
    env = clean_environment(
        BRYGGE_BACKEND="aws",
        BRYGGE_HOME=str(tmp_path / "home"),
        HOME=str(tmp_path),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
        **extra,
    )
    arguments = ["serve", "--port", "0"] if command == "serve" else [command]
    result = subprocess.run(
        [*brygge_command(), *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"brygge: {expected}"]


def test_aws_refusal_is_one_line_naming_the_operation_and_code() -> None:
    from botocore.exceptions import ClientError

    from catalogue.cli import aws_start_up_problem

    error = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}}, "Query"
    )
    assert aws_start_up_problem(error) == (
        "AWS refused Query: AccessDeniedException: not authorized (check the credentials, "
        "their permissions and BRYGGE_DYNAMODB_TABLE)"
    )
    assert aws_start_up_problem(ValueError("ours")) is None


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["serve"], ["Apply pending migrations", "--port PORT", "default: 8000"]),
        (["migrate"], ["Apply pending migrations", "--dry-run"]),
        (["publish"], ["open-data location", "BRYGGE_BASE_URL", "BRYGGE_OPEN_DATA_BASE_URL"]),
        (["token", "create"], ["print it once", "--principal"]),
        (["deploy", "verify"], ["calls AWS", "--api-url"]),
    ],
)
def test_each_server_command_help_says_what_it_does(command, says, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    shown = " ".join(capsys.readouterr().out.split())
    for text in says:
        assert text in shown


def test_the_client_lists_deploy_as_plan_and_verify() -> None:
    from brygge.cli import SERVER_COMMANDS

    assert "verify (calls AWS)" in SERVER_COMMANDS["deploy"]
