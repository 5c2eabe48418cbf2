"""One factory for AWS clients: botocore's standard retries, the account id asked once."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.aws import aws_client
from pipelines.presign import presign_client
from pipelines.stepfunctions import state_machine_arn

pytestmark = pytest.mark.usefixtures("moto")


@pytest.mark.parametrize("client", [lambda: aws_client("s3"), presign_client])
def test_clients_retry_in_standard_mode(client: Any) -> None:
    assert client().meta.config.retries["mode"] == "standard"


def test_presigning_signs_with_s3v4() -> None:
    assert presign_client().meta.config.signature_version == "s3v4"
    assert presign_client() is presign_client()


def test_the_account_id_is_asked_of_sts_once() -> None:
    calls: list[str] = []
    sts = aws_client("sts")
    sts.meta.events.register(
        "before-call.sts.GetCallerIdentity", lambda **kwargs: calls.append("sts")
    )
    first = state_machine_arn("brygge-a-v1")
    second = state_machine_arn("brygge-b-v1")
    assert first == "arn:aws:states:eu-north-1:123456789012:stateMachine:brygge-a-v1"
    assert second.endswith(":stateMachine:brygge-b-v1")
    assert calls == ["sts"]
