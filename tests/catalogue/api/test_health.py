"""GET /health stays cheap; ?deep=true checks what the service needs and names what is down."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from catalogue.app import create_app
from catalogue.settings import Settings
from catalogue.store.dynamodb import DynamoDbStore
from tests.fixtures.aws import clear_aws_clients


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_checks(body: dict, expected: dict[str, str]) -> None:
    assert {name: check["status"] for name, check in body["checks"].items()} == expected
    for check in body["checks"].values():
        assert isinstance(check["latencyMs"], float)
        assert check["latencyMs"] >= 0


def test_deep_health_checks_store_and_objects_locally(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/health?deep=true")

    assert response.status_code == 200, response.json
    assert response.json["status"] == "ok"
    _assert_checks(response.json, {"store": "up", "objects": "up"})


def test_shallow_health_checks_nothing_and_deep_names_the_unmigrated_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(home=tmp_path / "home", auth="off")
    client = create_app(settings).test_client()

    assert client.get("/health").json == {"status": "ok", "backend": "local"}
    response = client.get("/health?deep=true")

    assert response.status_code == 503
    assert response.json["code"] == 503
    assert response.json["message"].startswith("store is down: migrations not applied: 0001")
    assert "brygge migrate" in response.json["message"]
    _assert_checks(response.json, {"store": "down", "objects": "up"})


@pytest.fixture
def aws_settings(moto, tmp_path: Path) -> Settings:  # type: ignore[no-untyped-def]
    import boto3

    from catalogue.store import migrations

    settings = Settings(
        backend="aws",
        home=tmp_path / "home",
        auth="off",
        dynamodb_table=f"brygge-test-{uuid.uuid4().hex[:12]}",
    )
    migrations.apply(settings)
    boto3.client("s3").create_bucket(
        Bucket=settings.data_bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-north-1"},
    )
    return settings


def test_deep_health_in_aws_mode_checks_table_bucket_and_step_functions(aws_settings) -> None:  # type: ignore[no-untyped-def]
    response = create_app(aws_settings).test_client().get("/health?deep=true")

    assert response.status_code == 200, response.json
    assert response.json["backend"] == "aws"
    _assert_checks(response.json, {"store": "up", "objects": "up", "stepfunctions": "up"})


def test_a_missing_table_and_bucket_are_named_by_the_deep_check(aws_settings) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    settings = replace(aws_settings, dynamodb_table="no-such-table", data_bucket="no-such-bucket")
    client = create_app(settings, store=DynamoDbStore("no-such-table")).test_client()

    assert client.get("/health").status_code == 200
    response = client.get("/health?deep=true")

    assert response.status_code == 503
    _assert_checks(response.json, {"store": "down", "objects": "down", "stepfunctions": "up"})
    assert "store is down: migrations not applied" in response.json["message"]
    assert "objects is down: NoSuchBucket" in response.json["message"]
    assert client.get("/datasets").status_code == 503


def test_a_dynamodb_endpoint_refusing_connections_is_503_everywhere(
    aws_settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    endpoint = f"http://127.0.0.1:{_closed_port()}/"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint.rstrip("/"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries add nothing here
    clear_aws_clients()
    client = create_app(aws_settings).test_client()

    assert client.get("/health").status_code == 200
    deep = client.get("/health?deep=true")
    listed = client.get("/datasets")
    created = client.post(
        "/datasets", json={"title": "Air", "accessRights": "public", "owner": "team:x"}
    )

    assert deep.status_code == 503
    _assert_checks(deep.json, {"store": "down", "objects": "up", "stepfunctions": "up"})
    assert deep.json["checks"]["store"]["message"] == (
        f"{endpoint} could not be reached; try again shortly"
    )
    for response in (listed, created):
        assert response.status_code == 503, response.json
        assert response.json["message"] == f"{endpoint} could not be reached; try again shortly"
