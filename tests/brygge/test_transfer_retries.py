"""A transfer that the store turns away for a moment waits before it tries again."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from brygge import ClientError
from brygge.transfers import PART_ATTEMPTS, post_form, put_part


class Busy(http.server.BaseHTTPRequestHandler):
    """Answers each POST or PUT with the next (status, Retry-After) of the server's script,
    after reading the whole body, and keeps the last body it was sent."""

    def do_POST(self) -> None:
        self.answer()

    def do_PUT(self) -> None:
        self.answer()

    def answer(self) -> None:
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, retry_after = server.script.pop(0)  # type: ignore[attr-defined]
        server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", retry_after)
        self.send_header("ETag", '"part-etag"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def busy() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Busy)
    server.script = []  # type: ignore[attr-defined]
    server.bodies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "befolkning æøå.csv"
    path.write_bytes("sep=;\r\nBydel;Innbyggere\r\nGrünerløkka;65012\r\n".encode("cp1252"))
    return path


def test_a_form_upload_waits_as_the_store_asks_before_sending_again(
    busy: http.server.ThreadingHTTPServer, source: Path
) -> None:
    # S3 answers 503 SlowDown; a proxy before the local API, 429 with Retry-After.
    busy.script[:] = [(503, "3"), (429, "5"), (204, None)]  # type: ignore[attr-defined]
    waits: list[tuple[int, str | None]] = []
    url = f"http://127.0.0.1:{busy.server_port}/upload"

    post_form(
        url, {"key": "k"}, source, "text/csv", None, wait=lambda *pause: waits.append(pause[:2])
    )
    assert waits == [(0, "3"), (1, "5")]
    assert source.read_bytes() in busy.bodies[-1]  # type: ignore[attr-defined]


def test_a_form_upload_to_a_server_that_is_down_waits_between_attempts(
    busy: http.server.ThreadingHTTPServer, source: Path
) -> None:
    port = busy.server_port
    busy.shutdown()
    busy.server_close()
    waits: list[tuple[int, str | None]] = []

    with pytest.raises(ClientError, match="failed"):
        post_form(
            f"http://127.0.0.1:{port}/upload",
            {},
            source,
            "text/csv",
            None,
            wait=lambda *pause: waits.append(pause[:2]),
        )
    assert waits == [(attempt, None) for attempt in range(PART_ATTEMPTS - 1)]


def test_a_part_waits_as_the_store_asks_before_it_is_sent_again(
    busy: http.server.ThreadingHTTPServer, source: Path
) -> None:
    import httpx

    from brygge.transfers import Counter

    busy.script[:] = [(503, "2"), (200, None)]  # type: ignore[attr-defined]
    waits: list[tuple[int, str | None]] = []
    part = {
        "partNumber": 1,
        "url": f"http://127.0.0.1:{busy.server_port}/part",
        "firstByte": 0,
        "bytes": source.stat().st_size,
    }
    counter = Counter(source.stat().st_size, None)
    with httpx.Client() as http_client:
        etag = put_part(http_client, part, source, counter, wait=lambda *p: waits.append(p[:2]))
    assert etag == '"part-etag"'
    assert waits == [(0, "2")]
    assert counter.done == source.stat().st_size


def test_each_retry_of_a_file_transfer_is_told_with_its_reason_and_wait(
    busy: http.server.ThreadingHTTPServer, source: Path, tmp_path: Path
) -> None:
    from brygge import Client
    from brygge.resources import Resource
    from brygge.session import Retry

    busy.script[:] = [(503, "3"), (204, None)]  # type: ignore[attr-defined]
    store = f"127.0.0.1:{busy.server_port}"
    target = {"url": f"http://{store}/upload", "method": "POST", "fields": {"key": "k"}}

    class Api(Client):
        def resource(self, method: str, path: str, **_kwargs: object) -> Resource:
            return Resource({"edition": "e", "key": "k", "run": {"id": "r"}, "upload": target})

    told: list[Retry] = []
    waited: list[float] = []
    with Api("http://127.0.0.1:9", sleep=waited.append, on_retry=told.append) as api:
        api.upload("d", source, state_dir=tmp_path)

    assert [(r.method, r.url, r.reason, r.wait_s, r.attempt) for r in told] == [
        ("POST", store, "the store answered 503", 3.0, 1)
    ]
    assert waited == [3.0]
