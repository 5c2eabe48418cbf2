"""A real ``brygge serve`` killed in the middle of a run: the restarted server finishes it."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from catalogue.settings import Settings
from pipelines.objects import LocalObjectStore
from tests.pipelines import run_steps

REPO = Path(__file__).resolve().parents[3]
EDITION = "20260102T030405"
RAW = f"raw/green/air/version=1/edition={EDITION}/data.txt"
# Runs ``brygge serve`` with the test steps registered (the real registry has no such steps).
SERVE = (
    "import sys\n"
    "from pipelines.runs import REGISTERED_HANDLERS\n"
    "from tests.pipelines.run_steps import HANDLERS\n"
    "REGISTERED_HANDLERS.update(HANDLERS)\n"
    "from catalogue.cli import main\n"
    "sys.exit(main(['serve', '--port', sys.argv[1]]))\n"
)
GATE_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One ``brygge serve`` process on a home directory."""

    def __init__(
        self, home: Path, gate: Path | None = None, *, serve: str = SERVE, **settings: str
    ) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("BRYGGE_")}
        env.update(BRYGGE_HOME=str(home), BRYGGE_WORKERS="2", BRYGGE_AUTH="off", **settings)
        if gate is not None:
            env["BRYGGE_TEST_GATE"] = str(gate)
        self.process = subprocess.Popen(
            [sys.executable, "-c", serve, str(self.port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        # The server prints its address once it listens: reading the line is the wait.
        for line in self.process.stdout:
            if "on http://" in line:
                break
        else:
            pytest.fail("brygge serve exited before listening")
        self.url = f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """Interrupt the server and wait: Python waits for the running run's worker thread."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=GATE_TIMEOUT_S)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    path = tmp_path / "gate"
    os.mkfifo(path)
    return path


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.kill()


def open_gate_writer(gate: Path) -> int:
    """Open the FIFO for writing, which returns once a step has opened it for reading."""
    opened: list[int] = []
    thread = threading.Thread(target=lambda: opened.append(os.open(gate, os.O_WRONLY)))
    thread.start()
    thread.join(GATE_TIMEOUT_S)
    if not opened:
        os.close(os.open(gate, os.O_RDONLY | os.O_NONBLOCK))  # unblock the thread
        thread.join()
        pytest.fail("the blocking step never started")
    return opened[0]


def stored_run(home: Path, run_id: str) -> dict:
    """Read a run straight from the SQLite store of ``home``."""
    from catalogue.repositories.runs import RunRepository
    from catalogue.services import utc_now
    from catalogue.store.factory import open_store

    store = open_store(Settings(home=home))
    try:
        return RunRepository(store, utc_now).get(run_id)
    finally:
        store.close()


def test_killed_server_resumes_the_run_on_restart(home, gate, servers) -> None:  # type: ignore[no-untyped-def]
    server = Server(home, gate)
    servers.append(server)
    api = requests.Session()
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert api.post(f"{server.url}/datasets", json=dataset).status_code == 201
    editions = f"{server.url}/datasets/air/versions/1/editions"
    assert api.post(editions, json={"edition": EDITION}).status_code == 201
    template = {
        "id": "gated",
        "title": "Gated",
        "definition": run_steps.chain(("Block", "block"), ("Upper", "upper")),
    }
    assert api.post(f"{server.url}/pipelines", json=template).status_code == 201
    assert api.put(f"{server.url}/datasets/air/pipeline", json={"template": "gated"}).ok
    LocalObjectStore(home / "objects").put(RAW, io.BytesIO(b"lake\n"))
    started = api.post(f"{editions}/{EDITION}/runs", json={"input": {"keys": [RAW]}})
    assert started.status_code == 202
    run_id = started.json()["id"]

    writer = open_gate_writer(gate)  # the Block step is now running
    server.kill()
    os.close(writer)
    left = stored_run(home, run_id)  # what the killed server left in the store
    assert left["status"] == "RUNNING"
    assert left["position"]["state"] == "Block"
    assert [step["status"] for step in left["steps"]] == ["RUNNING"]

    restarted = Server(home, gate)
    servers.append(restarted)
    writer = open_gate_writer(gate)  # resumed: Block runs again
    os.write(writer, b"go")
    os.close(writer)
    run = api.get(f"{restarted.url}/runs/{run_id}").json()
    assert run["id"] == run_id
    restarted.stop()  # returns once the run's worker thread has finished

    run = stored_run(home, run_id)
    assert run["status"] == "SUCCEEDED", run["error"]
    assert run["resumes"] == 1
    block, upper = run["steps"]
    assert (block["name"], block["status"], block["attempts"]) == ("Block", "SUCCEEDED", 2)
    assert upper["status"] == "SUCCEEDED"
    upper_key = f"intermediate/green/air/version=1/edition={EDITION}/Upper/passed.txt"
    assert [output["key"] for output in upper["outputs"]] == [upper_key]
    assert LocalObjectStore(home / "objects").get(upper_key) == b"LAKE\n"
