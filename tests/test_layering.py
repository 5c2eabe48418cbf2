"""Import direction: the contracts hold, pure layers load no framework, the API no data library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def loaded_after(statement: str, modules: list[str]) -> dict[str, bool]:
    code = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps({{m: m in sys.modules for m in {modules!r}}}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "statement",
    [
        "import catalogue.domain.ids, catalogue.domain.changes, catalogue.domain.datasets",
        "import pipelines.object_keys, catalogue.domain.errors",
        "import pipelines.asl",
    ],
)
def test_pure_layers_load_no_framework(statement: str) -> None:
    loaded = loaded_after(statement, ["flask", "boto3", "botocore", "polars", "marshmallow"])
    assert not any(loaded.values()), loaded


def test_the_api_app_loads_no_data_library() -> None:
    loaded = loaded_after(
        "from catalogue.app import create_app\ncreate_app()",
        ["polars", "pandas", "pyarrow", "fastexcel", "rdflib", "boto3"],
    )
    assert not any(loaded.values()), loaded


def test_checking_pipelines_loads_no_data_library(tmp_path) -> None:
    """GET /steps and a check of every step's example options run without polars."""
    statement = (
        "from catalogue.app import create_app\n"
        "from catalogue.settings import Settings\n"
        f"app = create_app(Settings(home={str(tmp_path)!r}, auth='off'))\n"
        "client = app.test_client()\n"
        "steps = client.get('/steps').json['items']\n"
        "for step in steps:\n"
        "    state = next(iter(step['example']))\n"
        "    definition = {'StartAt': state, 'States': {state: {\n"
        "        'Type': 'Task', 'Resource': step['resource'], 'End': True}}}\n"
        "    body = {'definition': definition, 'taskConfig': step['example']}\n"
        "    assert client.post('/pipelines/validate', json=body).json == {'valid': True}\n"
        "assert len(steps) > 5"
    )
    loaded = loaded_after(statement, ["polars", "pandas", "pyarrow", "fastexcel", "boto3"])
    assert not any(loaded.values()), loaded


def test_pages_load_no_data_library(tmp_path) -> None:
    """Search, a dataset page with its distributions, its runs and a run page, without polars."""
    statement = (
        "from catalogue.app import create_app\n"
        "from catalogue.settings import Settings\n"
        "from catalogue.store import migrations\n"
        "from pathlib import Path\n"
        f"settings = Settings(home=Path({str(tmp_path)!r}), auth='off')\n"
        "migrations.apply(settings)\n"
        "client = create_app(settings).test_client()\n"
        "page = {'Accept': 'text/html'}\n"
        "body = {'id': 'air', 'title': 'Air', 'accessRights': 'public', 'owner': 'team:a'}\n"
        "assert client.post('/datasets', json=body).status_code == 201\n"
        "editions = '/datasets/air/versions/1/editions'\n"
        "assert client.post(editions, json={'edition': '20260101T000000'}).status_code == 201\n"
        "distribution = {'filenames': ['a.csv'], 'format': 'CSV'}\n"
        "posted = client.post(editions + '/20260101T000000/distributions', json=distribution)\n"
        "assert posted.status_code == 201\n"
        "for url in ('/', '/?q=air', '/datasets/air', '/datasets/air/runs', '/sign-in'):\n"
        "    response = client.get(url, headers=page)\n"
        "    assert response.status_code == 200 and response.mimetype == 'text/html', url\n"
        "assert client.get('/runs/nope', headers=page).status_code == 404"
    )
    loaded = loaded_after(
        statement, ["polars", "pandas", "pyarrow", "fastexcel", "rdflib", "boto3"]
    )
    assert not any(loaded.values()), loaded


def test_importing_the_app_factory_touches_no_file(tmp_path) -> None:
    home = tmp_path / "home"
    subprocess.run(
        [sys.executable, "-c", "from catalogue.app import create_app; create_app()"],
        check=True,
        env={"BRYGGE_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert not home.exists()


def test_the_import_contracts_hold() -> None:
    """The import-linter contracts in setup.cfg (also run by .ci/run) are kept."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
