"""Hostile steps against a real ``brygge serve``: the step fails by name, the server lives on."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import requests

from pipelines.objects import LocalObjectStore
from tests.catalogue.runs.test_restart import Server, servers, stored_run
from tests.fixtures.workbooks import hostile_workbook
from tests.pipelines import run_steps

EDITION = "20260102T030405"
ENDED = ("SUCCEEDED", "FAILED", "ABORTED")
__all__ = ["servers"]  # the fixture, used by name
# Runs ``brygge serve`` with the misbehaving steps registered by import path: they run in
# worker processes, as the real steps do.
SERVE = (
    "import sys\n"
    "from pipelines.runs import REGISTERED_HANDLERS\n"
    "from tests.pipelines.crash_steps import HANDLERS\n"
    "REGISTERED_HANDLERS.update(HANDLERS)\n"
    "from catalogue.cli import main\n"
    "sys.exit(main(['serve', '--port', sys.argv[1]]))\n"
)


def start(home: Path, **settings: str) -> Server:
    """A ``brygge serve`` with the misbehaving steps registered."""
    return Server(home, serve=SERVE, **settings)


def start_run(server: Server, dataset: str, filename: str, body: bytes, home: Path) -> str:
    raw = f"raw/green/{dataset}/version=1/edition={EDITION}/{filename}"
    LocalObjectStore(home / "objects").put(raw, io.BytesIO(body))
    started = requests.post(
        f"{server.url}/datasets/{dataset}/versions/1/editions/{EDITION}/runs",
        json={"input": {"keys": [raw]}},
    )
    assert started.status_code == 202, started.text
    return str(started.json()["id"])


def ended_run(server: Server, run_id: str) -> dict[str, Any]:
    """Poll the run until it ends, asking ``/health`` between polls: it must answer."""
    api = requests.Session()
    for _ in range(200_000):
        assert server.process.poll() is None, "brygge serve died"
        assert api.get(f"{server.url}/health").status_code == 200
        run: dict[str, Any] = api.get(f"{server.url}/runs/{run_id}").json()
        if run["status"] in ENDED:
            return run
    pytest.fail(f"run {run_id} never ended")


def add_dataset(server: Server, dataset: str, *steps: tuple[str, str]) -> None:
    api = requests.Session()
    body = {"id": dataset, "title": dataset, "accessRights": "public", "owner": "team:x"}
    assert api.post(f"{server.url}/datasets", json=body).status_code == 201
    editions = f"{server.url}/datasets/{dataset}/versions/1/editions"
    assert api.post(editions, json={"edition": EDITION}).status_code == 201
    template = {"id": dataset, "title": dataset, "definition": run_steps.chain(*steps)}
    assert api.post(f"{server.url}/pipelines", json=template).status_code == 201
    assert api.put(f"{server.url}/datasets/{dataset}/pipeline", json={"template": dataset}).ok


def test_hostile_steps_fail_by_name_and_the_server_keeps_answering(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    # The operator's own cell limit is raised past the hostile grid: only the worker's
    # memory limit stands between calamine's 512 GiB allocation and the server.
    server = start(home, BRYGGE_STEP_MEMORY_MB="1024", BRYGGE_STEP_MAX_CELLS=str(10**12))
    servers.append(server)
    add_dataset(server, "sheets", ("ToCsv", "excel_to_csv"))
    add_dataset(server, "aborts", ("Abort", "abort"))
    add_dataset(server, "hoards", ("Hoard", "allocate"))
    add_dataset(server, "fine", ("Upper", "upper"))
    hostile = hostile_workbook(tmp_path / "far.xlsx", "tab").read_bytes()

    runs = {
        "sheets": start_run(server, "sheets", "far.xlsx", hostile, home),
        "aborts": start_run(server, "aborts", "data.txt", b"lake\n", home),
        "hoards": start_run(server, "hoards", "data.txt", b"lake\n", home),
    }
    for dataset, run_id in runs.items():
        run = ended_run(server, run_id)
        assert run["status"] == "FAILED", dataset
        assert run["error"]["error"] == "Brygge.StepCrashed", run["error"]
        assert run["steps"][0]["status"] == "FAILED"
    assert "SIGABRT" in ended_run(server, runs["aborts"])["error"]["cause"]
    assert "MemoryError" in ended_run(server, runs["hoards"])["error"]["cause"]

    # The pool replaced its dead workers: the next run succeeds.
    fine = ended_run(server, start_run(server, "fine", "data.txt", b"lake\n", home))
    assert fine["status"] == "SUCCEEDED", fine["error"]

    # A restart resumes nothing: the crashed runs have ended, FAILED.
    server.stop()
    restarted = start(home)
    servers.append(restarted)
    restarted.stop()
    for run_id in runs.values():
        assert stored_run(home, run_id)["status"] == "FAILED"


def test_a_hostile_workbook_is_refused_by_name_under_the_default_limits(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    server = start(home)
    servers.append(server)
    add_dataset(server, "sheets", ("ToCsv", "excel_to_csv"))
    for variant in ("tab", "single-quote"):
        hostile = hostile_workbook(tmp_path / f"{variant}.xlsx", variant).read_bytes()
        run = ended_run(server, start_run(server, "sheets", f"{variant}.xlsx", hostile, home))
        assert run["status"] == "FAILED"
        assert run["error"]["error"] == "InputError"
        assert "1,048,576 rows x 16,384 columns" in run["error"]["cause"]
