"""Without chromium the browser tests skip on a laptop and fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_a_missing_chromium_fails_only_under_ci(ci: str, outcome: str) -> None:
    env = {**os.environ, "CI": ci, "BRYGGE_TEST_CHROMIUM": "/nonexistent/chromium"}
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            "-p",
            "no:cacheprovider",
            "-q",
            "tests/web/test_browser.py::test_sign_in_shows_the_owners_view",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert outcome in ran.stdout, ran.stdout[-2000:]
    assert "chromium is not installed" in ran.stdout
