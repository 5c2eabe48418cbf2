"""The SDK against a real ``brygge serve``: resources, pages, errors, retries, profiles."""

from __future__ import annotations

import http.server
import json
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from brygge import Client, ClientError
from brygge.config import Profile, config_path, read_profile, save_profile
from brygge.resources import Resource


def test_importing_the_client_loads_no_server_code() -> None:
    code = (
        "import sys, json, brygge.client, brygge.transfers, brygge.config, brygge.cli\n"
        "print(json.dumps(sorted(m for m in ('flask', 'polars', 'boto3', 'botocore',"
        " 'marshmallow', 'catalogue', 'pipelines') if m in sys.modules)))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(output) == []


def test_dataset_create_read_update_with_etag_and_delete(client: Client) -> None:
    created = client.create_dataset(
        {"title": "Bysykkel", "accessRights": "non-public", "owner": "team:mobilitet"}
    )
    assert created["id"] == "bysykkel"
    assert created.etag
    read = client.dataset("bysykkel")
    updated = client.update_dataset("bysykkel", {"description": "Turer"}, etag=read.etag)
    assert updated["description"] == "Turer"
    assert updated.etag != read.etag

    with pytest.raises(ClientError) as stale:
        client.update_dataset("bysykkel", {"description": "Gammel"}, etag=read.etag)
    assert stale.value.status == 412
    client.delete_dataset("bysykkel", cascade=True)
    with pytest.raises(ClientError) as gone:
        client.dataset("bysykkel")
    assert gone.value.status == 404


def test_lists_follow_next_across_every_page(client: Client) -> None:
    for number in range(5):
        client.create_dataset(
            {"title": f"Side {number}", "accessRights": "public", "owner": "team:a"}
        )
    ids = [dataset["id"] for dataset in client.datasets(page_size=2)]
    assert sorted(ids) == [f"side-{number}" for number in range(5)]


def test_a_refused_call_raises_one_error_with_status_code_message_and_fields(
    client: Client,
) -> None:
    with pytest.raises(ClientError) as refused:
        client.create_dataset({"title": "", "accessRights": "bogus", "owner": "team:a"})
    error = refused.value
    assert error.status == 422
    assert error.code
    assert set(error.field_errors) == {"title", "accessRights"}
    assert "accessRights: Must be one of" in str(error)


def test_pipeline_validation_names_the_bad_option(client: Client) -> None:
    definition = {
        "StartAt": "ToParquet",
        "States": {
            "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "End": True}
        },
    }
    assert client.validate_pipeline(definition, {"ToParquet": {"delimiter": ";"}})["valid"]
    with pytest.raises(ClientError) as refused:
        client.validate_pipeline(definition, {"ToParquet": {"delimeter": ";"}})
    assert refused.value.status == 422
    assert any(field.startswith("taskConfig.ToParquet") for field in refused.value.field_errors)
    assert "csv_to_parquet" in {step["name"] for step in client.steps()}


def test_a_template_alone_is_valid_though_its_steps_need_options(client: Client) -> None:
    # The options come with each dataset's pipeline, not with the template.
    definition = {
        "StartAt": "Validate",
        "States": {"Validate": {"Type": "Task", "Resource": "brygge:step:validate", "End": True}},
    }
    assert client.validate_pipeline(definition)["valid"]
    with pytest.raises(ClientError) as refused:
        client.validate_pipeline(definition, {"Validate": {}})
    assert refused.value.field_errors == {"taskConfig.Validate.schema": ["is required"]}


class Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each request with the next status of the server's script."""

    def do_GET(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer()

    def answer(self) -> None:
        server = self.server
        status = server.script.pop(0)  # type: ignore[attr-defined]
        server.seen.append((self.command, self.path))  # type: ignore[attr-defined]
        body = json.dumps({"status": status, "code": "x", "message": f"answer {status}"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.script = []  # type: ignore[attr-defined]
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_idempotent_calls_are_retried_with_backoff_on_503_and_429(
    scripted: http.server.ThreadingHTTPServer,
) -> None:
    scripted.script[:] = [503, 429, 502, 200]  # type: ignore[attr-defined]
    waits: list[float] = []
    client = Client(f"http://127.0.0.1:{scripted.server_port}", sleep=waits.append)
    assert client.dataset("a")["status"] == 200
    assert len(waits) == 3
    assert waits[1] > waits[0] * 1.0 or waits[2] > waits[0]  # backoff grows


def test_a_post_is_not_retried(scripted: http.server.ThreadingHTTPServer) -> None:
    scripted.script[:] = [503, 200]  # type: ignore[attr-defined]
    client = Client(f"http://127.0.0.1:{scripted.server_port}", sleep=lambda _s: None)
    with pytest.raises(ClientError) as refused:
        client.create_dataset({"title": "x"})
    assert refused.value.status == 503
    assert scripted.seen == [("POST", "/datasets")]  # type: ignore[attr-defined]


def test_a_post_the_server_never_took_is_sent_again(
    scripted: http.server.ThreadingHTTPServer,
) -> None:
    # 429: turned away before it was handled (a rate limit, API Gateway's throttling).
    scripted.script[:] = [429, 201]  # type: ignore[attr-defined]
    waits: list[float] = []
    client = Client(f"http://127.0.0.1:{scripted.server_port}", sleep=waits.append)
    assert client.create_dataset({"title": "x"})["status"] == 201
    assert scripted.seen == [("POST", "/datasets")] * 2  # type: ignore[attr-defined]
    assert len(waits) == 1

    # A refused connection: nothing was sent (a server restarting under brygge upload).
    port = scripted.server_port
    scripted.shutdown()
    scripted.server_close()
    waits.clear()
    offline = Client(f"http://127.0.0.1:{port}", retries=2, sleep=waits.append)
    with pytest.raises(ClientError, match="cannot reach"):
        offline.create_dataset({"title": "x"})
    assert len(waits) == 2


def test_an_unreachable_server_is_one_error_after_the_retries(
    scripted: http.server.ThreadingHTTPServer,
) -> None:
    port = scripted.server_port
    scripted.shutdown()
    scripted.server_close()
    waits: list[float] = []
    client = Client(f"http://127.0.0.1:{port}", retries=2, sleep=waits.append)
    with pytest.raises(ClientError) as refused:
        client.dataset("a")
    assert refused.value.status == 0
    assert "cannot reach" in refused.value.message
    assert len(waits) == 2


def test_url_and_token_come_from_the_environment_then_the_profile(
    client_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = config_path()
    save_profile("default", Profile("http://saved.example", "saved-token"), path)
    save_profile("prod", Profile("http://prod.example", "prod-token"), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_profile("prod", path) == Profile("http://prod.example", "prod-token")

    assert Client().url == "http://saved.example"
    assert Client(profile="prod").token == "prod-token"
    monkeypatch.setenv("BRYGGE_URL", "http://env.example")
    monkeypatch.setenv("BRYGGE_TOKEN", "env-token")
    assert (Client().url, Client().token) == ("http://env.example", "env-token")
    assert Client("http://given.example", "t").url == "http://given.example"


def test_no_url_anywhere_is_a_clear_error() -> None:
    with pytest.raises(ClientError, match="brygge login"):
        Client()


@pytest.mark.parametrize(
    ("message", "field_errors", "described"),
    [
        (
            "the pipeline has 1 problem: taskConfig.A.delimiter: must be one character",
            {"taskConfig.A.delimiter": ["must be one character"]},
            "422 the pipeline has 1 problem: taskConfig.A.delimiter: must be one character",
        ),
        (
            "accessRights cannot be changed after the resource is created",
            {"accessRights": ["accessRights cannot be changed after the resource is created"]},
            "422 accessRights cannot be changed after the resource is created",
        ),
        (
            "The request is not valid; errors names each field and why.",
            {"title": ["Field may not be null."]},
            "422 The request is not valid; errors names each field and why. "
            "(title: Field may not be null.)",
        ),
        (
            "size: must be at most 5 bytes",
            {"size": ["must be at most 5 bytes"], "filename": ["must not be empty"]},
            "422 size: must be at most 5 bytes (filename: must not be empty)",
        ),
    ],
)
def test_an_error_line_names_each_field_problem_once(
    message: str, field_errors: dict[str, list[str]], described: str
) -> None:
    assert ClientError(422, message, field_errors=field_errors).describe() == described


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "ABORTED", "EXPIRED"])
def test_watch_ends_with_every_status_a_run_ends_in(
    status: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_more_polls(_seconds: float) -> None:
        raise AssertionError(f"a {status} run was polled again")

    client = Client("http://127.0.0.1:9", sleep=no_more_polls)
    ended = Resource({"id": "luft-1", "status": status, "steps": []})
    monkeypatch.setattr(client, "run", lambda _run_id: ended)
    assert [event.status for event in client.watch("luft-1")] == [status]


@pytest.mark.parametrize(
    ("retry_after", "delay_s"),
    [
        ("7", 7.0),
        ("Mon, 07 Dec 2026 10:00:30 GMT", 30.0),  # RFC 9110's other form, an HTTP-date
        ("Mon, 07 Dec 2026 09:59:00 GMT", 0.0),  # already past: at once
        ("Mon, 07 Dec 2026 12:00:00 GMT", 60.0),  # never longer than a minute
    ],
)
def test_retry_after_is_read_in_seconds_or_as_a_date(retry_after: str, delay_s: float) -> None:
    from datetime import UTC, datetime

    from brygge.session import retry_delay

    now = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
    assert retry_delay(3, retry_after, 0.5, now=now) == delay_s


def test_watch_of_a_server_it_never_reached_fails_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A wrong --url, or no server: nothing to wait for, unlike a restart mid-watch.
    client = Client("http://127.0.0.1:9", sleep=lambda _s: None)
    polls: list[str] = []

    def unreachable(run_id: str) -> Resource:
        polls.append(run_id)
        raise ClientError(0, "cannot reach http://127.0.0.1:9: [Errno 111] Connection refused")

    monkeypatch.setattr(client, "run", unreachable)
    with pytest.raises(ClientError, match="cannot reach"):
        list(client.watch("luft-1"))
    assert polls == ["luft-1"]


def test_watch_says_when_it_lost_the_server_and_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    client = Client("http://127.0.0.1:9", sleep=lambda _s: None)
    lost = ClientError(0, "cannot reach http://127.0.0.1:9")
    answers: list[Resource | ClientError] = [
        Resource({"id": "luft-1", "status": "RUNNING", "steps": []}),
        lost,
        lost,
        Resource({"id": "luft-1", "status": "SUCCEEDED", "steps": []}),
    ]

    def run(_run_id: str) -> Resource:
        answer = answers.pop(0)
        if isinstance(answer, ClientError):
            raise answer
        return answer

    monkeypatch.setattr(client, "run", run)
    told: list[tuple[str, int]] = []
    statuses = [
        event.status
        for event in client.watch("luft-1", on_lost=lambda error, n: told.append((str(error), n)))
    ]
    assert statuses == ["RUNNING", "SUCCEEDED"]
    assert told == [("cannot reach http://127.0.0.1:9", 1), ("cannot reach http://127.0.0.1:9", 2)]


@pytest.mark.parametrize(
    ("status", "content_type", "body", "described"),
    [
        # nginx in front of the API while it restarts
        (
            502,
            "text/html",
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n",
            "502 Bad Gateway (an HTML page from a proxy, not the API's answer)",
        ),
        (503, "text/html", "<!DOCTYPE html><html><body>Down</body></html>", None),
        # API Gateway with IAM authorisation
        (
            403,
            "application/json",
            '{"Message": "User: anonymous is not authorized to perform: execute-api:Invoke"}',
            "403 User: anonymous is not authorized to perform: execute-api:Invoke",
        ),
        (500, "text/plain", "Internal Server Error\n", "500 Internal Server Error"),
    ],
)
def test_an_answer_that_is_not_the_apis_json_is_one_readable_line(
    status: int, content_type: str, body: str, described: str | None
) -> None:
    import httpx

    response = httpx.Response(status, headers={"Content-Type": content_type}, text=body)
    error = ClientError.from_response(response)
    line = error.describe()
    assert "<" not in line
    assert "\n" not in line
    if described is None:
        described = (
            f"{status} Service Unavailable (an HTML page from a proxy, not the API's answer)"
        )
    assert line == described
