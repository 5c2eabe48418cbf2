"""A server that takes the connection and never answers: each retry is told, and a total
timeout (``--timeout``, BRYGGE_TIMEOUT) ends the wait."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from brygge import Client, ClientError
from brygge.cli import cli
from brygge.session import Retry

# However a test ends, the server stops by itself after this long.
LIFETIME_S = 60.0


@pytest.fixture
def hanging() -> Iterator[str]:
    """The URL of a server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        while not stop.wait(0):
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(connection)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    timer = threading.Timer(LIFETIME_S, stop.set)
    timer.daemon = True
    timer.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        timer.cancel()
        thread.join()
        listener.close()
        for connection in held:
            connection.close()


def test_each_retry_of_a_server_that_does_not_answer_is_told_with_its_wait(hanging: str) -> None:
    told: list[Retry] = []
    waited: list[float] = []
    with (
        Client(
            hanging,
            timeout=0.2,
            retries=3,
            backoff_s=0.01,
            sleep=waited.append,
            on_retry=told.append,
        ) as client,
        pytest.raises(ClientError) as raised,
    ):
        client.datasets().__next__()

    assert [(retry.attempt, retry.retries) for retry in told] == [(1, 3), (2, 3), (3, 3)]
    assert [retry.wait_s for retry in told] == waited
    assert all("ReadTimeout" in retry.reason for retry in told)
    assert "cannot reach" in raised.value.message


def test_a_total_timeout_ends_the_retries(hanging: str) -> None:
    with (
        Client(hanging, timeout=0.2, backoff_s=0.01, total_timeout_s=0.5) as client,
        pytest.raises(ClientError) as raised,
    ):
        client.dataset("luftkvalitet")

    assert "no answer from" in raised.value.message
    assert "within 0.5 s" in raised.value.message


def test_the_command_says_each_retry_on_stderr_and_honours_brygge_timeout(
    hanging: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brygge.session

    monkeypatch.setattr(brygge.session, "DEFAULT_TIMEOUT", 0.2)
    monkeypatch.setenv("BRYGGE_TIMEOUT", "1")
    result = CliRunner().invoke(cli, ["--url", hanging, "datasets", "ls"])

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    retries = [line for line in lines if "trying again in" in line]
    assert retries, result.stderr
    assert all(hanging in line and "ReadTimeout" in line for line in retries)
    assert "retry 1 of 4" in retries[0]
    assert "within 1 s" in str(result.exception)


def test_a_timeout_that_is_not_a_number_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRYGGE_TIMEOUT", "soon")
    with pytest.raises(ClientError) as raised:
        Client("http://127.0.0.1:9")
    assert "BRYGGE_TIMEOUT" in raised.value.message


def in_thread(call: Callable[[], object]) -> BaseException | object:
    """What ``call`` returned or raised, run in a thread that must end well before the
    transfers' own 10-minute waits would (the hanging server stops after LIFETIME_S)."""
    outcome: list[BaseException | object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(LIFETIME_S / 2)
    assert outcome, "the transfer still waits: the timeout did not bound it"
    return outcome[0]


def test_a_download_from_a_store_that_stops_sending_ends_after_the_timeout(
    hanging: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brygge import transfers

    client = Client("http://127.0.0.1:9", total_timeout_s=0.5)
    redirect = httpx.Response(302, headers={"Location": f"{hanging}/air.csv"})
    monkeypatch.setattr(client, "request", lambda *args, **kwargs: redirect)

    target = tmp_path / "downloads"
    raised = in_thread(lambda: transfers.download(client, "/x", target, progress=None))

    assert isinstance(raised, ClientError), raised
    assert "download from 127.0.0.1" in raised.message
    assert "within 0.5 s" in raised.message
    assert list(target.iterdir()) == []


def test_an_upload_to_a_store_that_does_not_answer_ends_after_the_timeout(
    hanging: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brygge import transfers
    from brygge.resources import Resource

    client = Client("http://127.0.0.1:9", total_timeout_s=0.5, sleep=lambda _: None)
    answer = Resource({"upload": {"method": "POST", "url": f"{hanging}/bucket", "fields": {}}})
    monkeypatch.setattr(client, "resource", lambda *args, **kwargs: answer)
    data = tmp_path / "air.csv"
    data.write_bytes(b"time;pm10\n2026-01-02T03:00;12.5\n")

    raised = in_thread(
        lambda: transfers.upload(
            client, "air", data, "1", None, content_type=None, progress=None, state_dir=tmp_path
        )
    )

    assert isinstance(raised, ClientError), raised
    assert "upload to 127.0.0.1" in raised.message
    assert "ReadTimeout" in raised.message or "timed out" in raised.message


def test_the_timeouts_help_says_what_it_bounds_for_transfers() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert "--timeout" in result.output
    assert "transfer" in result.output and "between" in result.output
