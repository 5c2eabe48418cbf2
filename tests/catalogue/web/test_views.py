"""What the pages show, computed without a request: the dataset page's code snippets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from catalogue.web.views import snippets

URL = "http://127.0.0.1:8000/datasets/air/versions/1/editions/20260102T030405/distributions/d1/download"
# Each would run `touch injected` if a shell read it unquoted.
HOSTILE_FILENAMES = [
    "januar 2026.csv",
    "x; touch injected.csv",
    "$(touch injected).csv",
    "`touch injected`.csv",
    "it's.csv",
    "<img src=x onerror=alert(3)>.csv",
]


def shell_arguments(command: str, cwd: Path) -> list[str]:
    """The arguments ``curl`` gets when ``command`` is pasted into sh (curl only prints them)."""
    script = f'curl() {{ printf "%s\\0" "$@"; }}\n{command}\n'
    done = subprocess.run(["sh", "-c", script], cwd=cwd, capture_output=True, check=True)
    return done.stdout.decode().split("\0")[:-1]


@pytest.mark.parametrize("filename", HOSTILE_FILENAMES)
@pytest.mark.parametrize("access", ["public", "non-public"])
def test_snippets_name_a_hostile_filename_as_one_argument_and_one_string(
    filename: str, access: str, tmp_path: Path
) -> None:
    dataset = {"id": "air", "accessRights": access}
    distribution = {"filenames": [filename], "format": "CSV", "download": URL}
    found = snippets(dataset, [distribution])
    # Pasted into a shell, curl writes to the file of that name and nothing else runs.
    assert shell_arguments(found["curl"], tmp_path)[-3:] == ["-o", filename, URL]
    if access != "public":
        after = found["DuckDB"].splitlines()[0].removeprefix("-- after: ")
        assert shell_arguments(after, tmp_path)[-3:] == ["-o", filename, URL]
        # The SQL string literal holds the whole filename, its quotes doubled.
        assert "read_csv('{}')".format(filename.replace("'", "''")) in found["DuckDB"]
    assert list(tmp_path.iterdir()) == []
