"""End-to-end fixtures: ``brygge serve`` in a subprocess, and moto's server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

SERVER_START_S = 60.0
# Generous: a run on a loaded 2-core machine; the loop ends as soon as the run does.
RUN_END_S = 120.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def brygge_command() -> list[str]:
    """The installed ``brygge`` script of this venv, or the module when not installed."""
    script = Path(sys.executable).with_name("brygge")
    return [str(script)] if script.exists() else [sys.executable, "-m", "catalogue.cli"]


def clean_environment(**extra: str) -> dict[str, str]:
    """The test process's environment without any BRYGGE_* or AWS_* variable, plus ``extra``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("BRYGGE_", "AWS_"))
    }
    env.update(extra)
    return env


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def wait_until_ended(session: requests.Session, url: str, run_id: str) -> dict:
    """Poll ``GET /runs/{id}`` until the run has ended; fail with the run after RUN_END_S."""
    deadline = time.monotonic() + RUN_END_S
    while True:
        run = session.get(f"{url}/runs/{run_id}", timeout=30).json()
        if run.get("status") in ("SUCCEEDED", "FAILED", "ABORTED", "EXPIRED"):
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} did not end within {RUN_END_S} s: {run}")
        time.sleep(0.05)  # polling another process, not a test delay


def start_server(
    tmp_path: Path, home: Path | None = None, *, port: int | None = None, **extra: str
) -> Server:
    """``brygge serve`` (local mode) over ``home`` (default ``tmp_path/home``) on ``port`` (a
    free one by default), ``extra`` env variables; returns once /health answers. The same home
    and port restart it."""
    port = port or free_port()
    home = home or tmp_path / "home"
    log = tmp_path / f"serve-{port}-{len(list(tmp_path.glob('serve-*.log')))}.log"
    settings = {
        "BRYGGE_HOME": str(home),
        "BRYGGE_BACKEND": "local",
        "BRYGGE_SECRET_KEY": "e2e-secret",
        "BRYGGE_AUTH": "off",
        "BRYGGE_PRINCIPAL": "user:e2e",
    }
    env = clean_environment(**{**settings, **extra})
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*brygge_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    server = Server(f"http://127.0.0.1:{port}", home, process, log)
    try:
        wait_for_health(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextmanager
def running_server(tmp_path: Path, home: Path, **extra: str) -> Iterator[Server]:
    """``brygge serve`` (local mode) on a free port over ``home``; ``extra`` env variables."""
    server = start_server(tmp_path, home, **extra)
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture
def brygge_server(tmp_path: Path) -> Iterator[Server]:
    """``brygge serve`` (local mode) on a free port, its home in ``tmp_path``."""
    with running_server(tmp_path, tmp_path / "home") as server:
        yield server


def wait_for_health(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while True:
        try:
            if requests.get(f"{server.url}/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"brygge serve did not answer at {server.url}:\n{server.output()}")
        time.sleep(0.05)  # start-up poll, not a test delay


@pytest.fixture
def moto_server(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's ThreadedMotoServer on 127.0.0.1; every boto3 client of the test talks to it."""
    from moto.server import ThreadedMotoServer

    from pipelines.aws import aws_client
    from tests.fixtures.aws import clear_aws_clients

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    # moto's state machine executor calls Lambda over http://localhost:$MOTO_PORT.
    monkeypatch.setenv("MOTO_PORT", str(port))
    clear_aws_clients()
    aws_client.cache_clear()
    try:
        yield url
    finally:
        # moto's backends are process globals: the next server must start empty.
        requests.post(f"{url}/moto-api/reset", timeout=10)
        server.stop()
        clear_aws_clients()
        aws_client.cache_clear()
