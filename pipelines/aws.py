"""AWS clients: one factory, one configuration, clients made on first use and kept."""

from __future__ import annotations

import functools
from typing import Any


def client_config(signature_version: str | None = None, *, validate: bool = True) -> Any:
    """botocore's configuration for every Brygge client.

    Retries in botocore's ``standard`` mode: throttling and transient errors back off with
    jitter, up to 3 attempts, the same way in every SDK (the ``legacy`` default does not
    retry every throttling error). ``validate=False`` skips botocore's check of each
    request's parameters against the service model (the service still checks them).
    """
    from botocore.config import Config

    return Config(
        retries={"mode": "standard"},
        signature_version=signature_version,
        parameter_validation=validate,
    )


@functools.cache
def aws_client(service: str, *, signature_version: str | None = None, validate: bool = True) -> Any:
    """Return the process-wide boto3 client for ``service``.

    boto3 is imported here, not at module level: tests start their mocks first, and the API's
    cold start stays short. Endpoints follow boto3's own ``AWS_ENDPOINT_URL`` and
    ``AWS_ENDPOINT_URL_<SERVICE>`` variables; tests call ``aws_client.cache_clear()`` after
    changing them. ``validate=False`` gives a second client that skips botocore's parameter
    check (see ``client_config``), for bulk writes built by code, not from a caller's input:
    checking them costs more CPU than sending them. DynamoDB's item reads are parsed by
    ``pipelines.aws_parsing``.
    """
    import boto3

    config = client_config(signature_version, validate=validate)
    if service != "dynamodb":
        return boto3.client(service, config=config)
    from pipelines.aws_parsing import item_reads_session

    return item_reads_session().client(service, config=config)


def assumed_client(service: str, credentials: dict[str, Any]) -> Any:
    """A new client for ``service`` with an AssumeRole answer's ``Credentials``.

    Not kept: assumed credentials belong to one session (a run's scope).
    """
    import boto3

    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=client_config(),
    )


def account_id() -> str:
    """The caller's AWS account id, asked of STS once per STS client (once per process)."""
    return _account_of(aws_client("sts"))


@functools.cache
def _account_of(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])
