"""Accepted events to Amazon Data Firehose: batches within its limits, refused records again."""

from __future__ import annotations

import json
from typing import Any

import pytest

from catalogue.runs.firehose import (
    MAX_BATCH_BYTES,
    MAX_RECORDS,
    FirehoseWriter,
    HistoryUnavailable,
    record_batches,
)

DATASET = {
    "id": "bad",
    "accessRights": "restricted",
    "source": {"type": "event", "schema": {"fields": [{"name": "a", "type": "integer"}]}},
}


def test_batches_keep_to_500_records_and_4_mib() -> None:
    small = [b"x" * 100] * 1_201
    large = [b"y" * (1024 * 1024)] * 9

    assert [len(batch) for batch in record_batches(small)] == [500, 500, 201]
    sizes = [sum(map(len, batch)) for batch in record_batches(large)]
    assert sizes == [4 * 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024]
    assert all(size <= MAX_BATCH_BYTES for size in sizes) and MAX_RECORDS == 500


@pytest.fixture
def stream(moto: None) -> str:
    from pipelines.aws import aws_client

    aws_client("s3").create_bucket(
        Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    aws_client("firehose").create_delivery_stream(
        DeliveryStreamName="events",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "BucketARN": "arn:aws:s3:::lake",
            "RoleARN": "arn:aws:iam::123456789012:role/delivery",
            "Prefix": "raw/yellow/bad/version=1/events/",
        },
    )
    return "events"


def delivered() -> list[dict[str, Any]]:
    """Every record moto's Firehose wrote to the bucket."""
    from pipelines.aws import aws_client

    s3 = aws_client("s3")
    records = []
    for item in s3.list_objects_v2(Bucket="lake").get("Contents", []):
        body = s3.get_object(Bucket="lake", Key=item["Key"])["Body"].read()
        records += [json.loads(line) for line in body.splitlines()]
    return records


def refuse(monkeypatch: pytest.MonkeyPatch, calls: int, *, every: bool = False) -> list[int]:
    """Make moto's Firehose refuse every other record (or ``every`` record) in its first
    ``calls`` calls."""
    from moto.firehose.models import FirehoseBackend

    real = FirehoseBackend.put_record_batch
    sizes: list[int] = []

    def put_record_batch(self, name: str, records: list[dict[str, Any]]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        sizes.append(len(records))
        if len(sizes) > calls:
            return real(self, name, records)
        kept = [] if every else records[::2]
        answer = real(self, name, kept) if kept else {"RequestResponses": []}
        responses = iter(answer["RequestResponses"])
        return {
            "FailedPutCount": len(records) - len(kept),
            "Encrypted": False,
            "RequestResponses": [
                next(responses)
                if n % 2 == 0 and not every
                else {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}
                for n in range(len(records))
            ],
        }

    monkeypatch.setattr(FirehoseBackend, "put_record_batch", put_record_batch)
    return sizes


def test_refused_records_are_sent_again_until_all_are_in(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = refuse(monkeypatch, calls=2)
    waits: list[float] = []
    events = [{"sensorId": f"s-{n}", "temperature": n} for n in range(7)]

    FirehoseWriter(stream, sleep=waits.append).append(DATASET, "1", events)

    assert sizes == [7, 3, 1]  # half refused twice, then the last one accepted
    assert waits == [0.1, 0.2]
    records = delivered()
    assert sorted(record["event"]["sensorId"] for record in records) == [f"s-{n}" for n in range(7)]
    assert {(r["access"], r["dataset"], r["version"]) for r in records} == {("yellow", "bad", "1")}


def test_records_refused_every_time_fail_the_batch(
    stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = refuse(monkeypatch, calls=100, every=True)

    with pytest.raises(HistoryUnavailable, match="refused 2 records 5 times"):
        FirehoseWriter(stream, sleep=lambda _: None).append(DATASET, "1", [{"a": 1}, {"a": 2}])
    assert sizes == [2] * 5
    assert delivered() == []
