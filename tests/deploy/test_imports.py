"""What the api function imports: no data libraries, and nothing its zip leaves out."""

from __future__ import annotations

import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest

from catalogue.deploy import resolve_stage

REPO_ROOT = Path(__file__).resolve().parents[2]
# Imported inside try/except by flask-smorest (YAML spec output only): absent is fine.
OPTIONAL_IMPORTS = {"yaml"}

PROBE = """
import json, sys
started = set(sys.modules)  # site hooks of this venv (setuptools' .pth), not the app's
from catalogue.app import create_app
app = create_app()
client = app.test_client()
paths = ("/health", "/datasets", "/openapi.json", "/steps")
statuses = [client.get(path).status_code for path in paths]
# The web pages, as a browser asks for them, travel in the same zip.
pages = ("/", "/?q=air", "/sign-in")
statuses += [client.get(path, headers={"Accept": "text/html"}).status_code for path in pages]
print(json.dumps({"statuses": statuses, "modules": sorted(set(sys.modules) - started)}))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[int], set[str]]:
    """Create the app in a fresh interpreter, serve API requests and pages, list the modules
    it loaded."""
    home = tmp_path_factory.mktemp("brygge-home")
    environment = {"BRYGGE_HOME": str(home), "PATH": "/usr/bin:/bin"}
    # A migrated store, made in another interpreter, so the probe's module list stays the app's.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from catalogue.settings import Settings; from catalogue.store import migrations; "
            "migrations.apply(Settings.from_env())",
        ],
        cwd=REPO_ROOT,
        env=environment,
        check=True,
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["statuses"], set(report["modules"])


def test_create_app_loads_no_data_library(probe: tuple[list[int], set[str]]) -> None:
    statuses, modules = probe
    assert statuses[0] == 200
    assert statuses[3] == 200  # the step catalogue loaded (every step module) too
    assert statuses[4:] == [200, 200, 200]  # the pages rendered
    loaded = {name.split(".")[0] for name in modules}
    assert loaded & {"polars", "pandas", "pyarrow", "numpy", "fastexcel"} == set()
    assert "flask" in loaded  # the probe really ran the app


def test_api_imports_nothing_its_zip_leaves_out(probe: tuple[list[int], set[str]]) -> None:
    settings = json.loads((REPO_ROOT / "zappa_settings.json").read_text(encoding="utf-8"))
    excluded = resolve_stage(settings, "dev_api")["exclude"]
    _, modules = probe
    top_level = {name.split(".")[0] for name in modules} - OPTIONAL_IMPORTS
    # boto3 is left out because the Lambda runtime provides it, not because it is unused.
    missing = {
        name
        for name in top_level - {"boto3", "botocore", "s3transfer"}
        for pattern in excluded
        if fnmatch.fnmatch(name, pattern)
    }
    assert missing == set()
