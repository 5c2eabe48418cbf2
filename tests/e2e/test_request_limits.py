"""Requests ``brygge serve`` refuses before they reach the app still get the JSON error shape."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from catalogue.server import MAX_HEADER_BYTES, MAX_REQUEST_LINE_BYTES
from tests.e2e.conftest import Server


def send(
    server: Server, path: str, headers: dict[str, str], method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    address = urlsplit(server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        (f"/datasets?q={'a' * MAX_REQUEST_LINE_BYTES}", {}, 414),
        # Past the standard library's own line limit too.
        (f"/datasets?q={'a' * 60_000}", {}, 414),
        ("/datasets", {"X-Padding": "b" * MAX_HEADER_BYTES}, 431),
        ("/datasets", {f"X-Padding-{number}": "c" * 200 for number in range(90)}, 431),
        ("/datasets", {f"X-Line-{number}": "d" for number in range(120)}, 431),
    ],
    ids=["long URL", "very long URL", "large header", "large headers", "many headers"],
)
def test_oversized_requests_get_the_json_error_shape(
    brygge_server: Server, path: str, headers: dict[str, str], status: int
) -> None:
    code, response_headers, body = send(brygge_server, path, headers)
    assert code == status, body[:300]
    assert response_headers["Content-Type"] == "application/json"
    error = json.loads(body)
    assert error["code"] == status
    assert error["status"] in ("Request-URI Too Long", "Request Header Fields Too Large")
    assert str(MAX_REQUEST_LINE_BYTES if status == 414 else MAX_HEADER_BYTES) in error["message"]
    # The server goes on answering.
    assert send(brygge_server, "/health", {})[0] == 200


def test_requests_within_the_limits_reach_the_app(brygge_server: Server) -> None:
    code, _, body = send(brygge_server, f"/health?pad={'a' * 7000}", {"X-Padding": "e" * 12_000})
    assert code == 200, body[:300]


def test_405_over_http_carries_allow(brygge_server: Server) -> None:
    code, headers, body = send(brygge_server, "/catalog", {}, "DELETE")
    assert code == 405
    assert "GET" in headers.get("Allow", "")
    assert json.loads(body)["code"] == 405


def test_options_of_the_server_as_a_whole_names_its_methods(brygge_server: Server) -> None:
    # RFC 9110 9.3.7: "OPTIONS *" asks about the server, not a resource; it was a 404.
    code, headers, body = send(brygge_server, "*", {}, "OPTIONS")
    assert code == 200
    assert headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    assert body == b"" and headers["Content-Length"] == "0"
    assert "Content-Type" not in headers
