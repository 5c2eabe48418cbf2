"""Browser fixtures: Debian's chromium driven by Playwright against a real ``brygge serve``.

Playwright cannot download its own browser here, so the tests launch ``/usr/bin/chromium``
(``apt-get install -y chromium``; ``.ci/run`` installs it). Without it they skip and say why,
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import (
    Server,
    brygge_command,
    clean_environment,
    start_server,
    stop_server,
    wait_until_ended,
)

# BRYGGE_TEST_CHROMIUM points elsewhere (tests/web/test_ci.py names a missing one).
CHROMIUM = Path(os.environ.get("BRYGGE_TEST_CHROMIUM", "/usr/bin/chromium"))
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ADMIN = "user:admin"
CSV = "station;value;measured\nAlna;1,5;2026-01-02\nBygdøy;2,5;2026-01-03\n".encode()
TWO_STEPS = {
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}
RIGHT = {"ToParquet": {"delimiter": ";", "decimalChar": ","}}
WRONG = {
    "ToParquet": {"delimiter": ";", "schema": {"fields": [{"name": "value", "type": "integer"}]}}
}


@dataclass
class Site:
    """A running ``brygge serve`` with tokens and the datasets the tests look at."""

    server: Server
    admin_token: str
    reader_token: str
    runs: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, token: str | None = None) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token or self.admin_token}"
        return session


def _fail_or_skip(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _fail_or_skip("chromium is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _fail_or_skip("playwright is not installed (pip install -e .[dev])")
    with sync_playwright() as playwright:
        # Root (a CI container) cannot use chromium's sandbox.
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield launched
        launched.close()


def _token(home: Path, principal: str, *teams: str) -> str:
    team_args = [arg for team in teams for arg in ("--team", team)]
    env = clean_environment(BRYGGE_HOME=str(home), BRYGGE_BACKEND="local")
    made = subprocess.run(
        [*brygge_command(), "token", "create", "--principal", principal, *team_args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def upload(site: Site, dataset_id: str, body: bytes = CSV) -> str:
    """Upload ``body`` as CSV through the API; returns the run id."""
    session = site.api()
    answer = session.post(
        f"{site.url}/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": "values.csv", "contentType": "text/csv", "size": len(body)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    target = answer.json()
    sent = requests.post(
        target["upload"]["url"],
        data=target["upload"]["fields"],
        files={"file": ("values.csv", io.BytesIO(body), "text/csv")},
        timeout=60,
    )
    assert sent.status_code == 204, sent.text
    return str(target["run"]["id"])


def make_dataset(site: Site, dataset: dict, task_config: dict | None = None) -> None:
    session = site.api()
    created = session.post(f"{site.url}/datasets", json=dataset, timeout=30)
    assert created.status_code == 201, created.text
    if task_config is not None:
        pipeline = {"template": "csv-to-parquet", "taskConfig": task_config}
        put = session.put(
            f"{site.url}/datasets/{dataset['id']}/pipeline", json=pipeline, timeout=30
        )
        assert put.status_code == 200, put.text


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp_path = tmp_path_factory.mktemp("site")
    home = tmp_path / "home"
    server = start_server(tmp_path, home, BRYGGE_AUTH="on", BRYGGE_ADMINS=ADMIN)
    try:
        found = Site(server, _token(home, ADMIN), _token(home, "user:reader", "team:miljo"))
        session = found.api()
        template = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
        assert session.post(f"{found.url}/pipelines", json=template, timeout=30).status_code == 201
        make_dataset(
            found,
            {
                "id": "air",
                "title": "Air quality in Oslo",
                "description": "Hourly measurements of air quality at the city's stations.",
                "accessRights": "public",
                "owner": "team:miljo",
                "keywords": ["air", "luft"],
                "themes": ["ENVI"],
                "contactPoint": {"name": "Miljø", "email": "miljo@example.no"},
            },
            RIGHT,
        )
        make_dataset(
            found,
            {
                "id": "noise",
                "title": "Noise",
                "accessRights": "public",
                "owner": "team:bym",
                "keywords": ["støy"],
            },
            WRONG,
        )
        make_dataset(
            found,
            {
                "id": "secret",
                "title": "Secret salaries",
                "accessRights": "non-public",
                "owner": "team:hr",
            },
        )
        for dataset_id in ("air", "noise"):
            run_id = upload(found, dataset_id)
            found.runs[dataset_id] = run_id
            wait_until_ended(session, found.url, run_id)
        yield found
    finally:
        stop_server(server)
