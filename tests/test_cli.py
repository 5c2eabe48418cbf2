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
