"""boto3 clients, made on first use and kept for the life of the process."""

from __future__ import annotations

import functools
from typing import Any


@functools.cache
def aws_client(service: str) -> Any:
    """Return the process-wide boto3 client for ``service``.

    boto3 is imported here, not at module level: tests start their mocks first, and the API's
    cold start stays short. Endpoints follow boto3's own ``AWS_ENDPOINT_URL`` and
    ``AWS_ENDPOINT_URL_<SERVICE>`` variables; tests call ``aws_client.cache_clear()`` after
    changing them.
    """
    import boto3

    return boto3.client(service)
