"""The presigned POST policy Brygge signs, decoded: moto does not enforce policies, S3 does.

S3 accepts a POST only if every form field is named by a condition of the signed policy and
every condition holds; the policy is what keeps an upload to one key, one bucket, one size.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines import presign

BUCKET = "brygge-data"
KEY = "raw/green/air/version=1/edition=20260102T030405/målinger 2026.csv"
# Fields S3 reads from the form without a policy condition: the file, the policy itself
# and its signature (AWS "Creating a POST policy", Conditions).
UNCONDITIONED = {"policy", "x-amz-signature", "file"}


def decoded_policy(fields: dict[str, str]) -> dict[str, Any]:
    return json.loads(base64.b64decode(fields["policy"]))


def exact_conditions(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy's exact-match conditions by field; fails on any other kind but the size."""
    exact: dict[str, Any] = {}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            [(name, value)] = condition.items()
            exact[name.lower()] = value
        elif condition[0] == "eq":
            exact[condition[1].removeprefix("$").lower()] = condition[2]
        else:
            # starts-with would let a client choose part of a field (another key, say).
            assert condition[0] == "content-length-range", condition
    return exact


@pytest.fixture
def presigned_post(aws_env: None) -> Any:
    import boto3

    # aws_env gives a fresh process-wide client (presign_client is one of them).
    yield presign.s3_presigned_post
    # The default session made here, before moto was imported, lacks moto's handlers; tests
    # that keep boto3's default session under moto must not inherit it.
    boto3.DEFAULT_SESSION = None


@pytest.mark.parametrize("content_type", [None, "text/csv"])
def test_policy_allows_exactly_one_key_bucket_size_and_expiry(presigned_post, content_type) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    target = presigned_post(
        BUCKET, KEY, max_bytes=1234, content_type=content_type, ttl_s=900, now=now
    )

    policy = decoded_policy(target.fields)
    assert set(policy) == {"expiration", "conditions"}
    sizes = [c for c in policy["conditions"] if isinstance(c, list)]
    assert sizes == [["content-length-range", 0, 1234]]
    exact = exact_conditions(policy)
    assert exact["bucket"] == BUCKET
    assert exact["key"] == KEY == target.fields["key"]
    assert exact.get("content-type") == content_type
    # No form field goes unchecked, and no condition names a field the form lacks.
    named = {name.lower() for name in target.fields} - UNCONDITIONED
    assert named == set(exact) - {"bucket"}
    for name, value in target.fields.items():
        if name.lower() not in UNCONDITIONED:
            assert exact[name.lower()] == value, name
    assert target.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    # botocore signs with its own clock: the policy expires ttl_s after the signing time.
    signed = datetime.strptime(target.fields["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(seconds=900) <= expires - signed <= timedelta(seconds=901)
    assert target.expires_at == now + timedelta(seconds=900)
    assert target.url.startswith(f"https://{BUCKET}.s3.")


def test_upload_answer_signs_the_announced_key_and_declared_size(presigned_post, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from catalogue.api.transfers import upload_target
    from catalogue.services import Services
    from catalogue.settings import Settings

    settings = Settings(backend="aws", home=tmp_path / "home", data_bucket="lake-data")
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    services = Services(settings, clock=lambda: now)

    declared = upload_target(services, KEY, 77, "text/csv")
    undeclared = upload_target(services, KEY, None, None)

    declared_policy = decoded_policy(declared.fields)
    assert exact_conditions(declared_policy)["bucket"] == "lake-data"
    assert ["content-length-range", 0, 77] in declared_policy["conditions"]
    limit = min(settings.upload_max_bytes, presign.MAX_SINGLE_UPLOAD_BYTES)
    assert ["content-length-range", 0, limit] in decoded_policy(undeclared.fields)["conditions"]
    signed = datetime.strptime(declared.fields["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = datetime.strptime(declared_policy["expiration"], "%Y-%m-%dT%H:%M:%SZ")
    ttl = timedelta(seconds=settings.upload_url_ttl_s)
    assert ttl <= expires.replace(tzinfo=UTC) - signed <= ttl + timedelta(seconds=1)
