"""The history of an event dataset in aws mode, through real HTTP, on moto's server.

``brygge serve`` (aws mode, DynamoDB and S3 on moto) accepts events and puts them to the
Firehose stream the template defines; moto's Firehose delivers them to S3; the S3
notification (handed here to ``catalogue.lambdas.object_created``, as Zappa would) makes an
edition whose run (moto's Step Functions, step handlers in-process) publishes Parquet.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import requests

from catalogue.deploy import load_template
from catalogue.settings import Settings
from pipelines.object_keys import delivered_events_prefix
from tests.e2e.conftest import Server, start_server, stop_server
from tests.e2e.test_aws_flow import aws_settings, join_moto_executions, s3_notification
from tests.e2e.test_event_history import SOURCE, VERSION, reading

# The fixture of the aws flow's tests: table, bucket and steps function on moto's server.
__all__ = ["aws_settings"]
TEMPLATE = Path(__file__).parents[2] / "deploy" / "brygge.yaml"


def create_stream(settings: Settings, access: str, dataset: str, version: str) -> None:
    """The template's delivery stream on moto, its prefix as dynamic partitioning makes it.

    moto delivers every record batch at once and does not evaluate ``partitionKeyFromQuery``
    (it writes the prefix as given), so the stream is made with the prefix Firehose makes
    for this dataset's records (``test_template`` checks the two agree).
    """
    import boto3

    properties = load_template(TEMPLATE)["Resources"]["EventsDeliveryStream"]["Properties"]
    destination = dict(properties["ExtendedS3DestinationConfiguration"])
    destination.update(
        BucketARN=f"arn:aws:s3:::{settings.data_bucket}",
        RoleARN="arn:aws:iam::123456789012:role/brygge-events-delivery",
        Prefix=delivered_events_prefix(access, dataset, version),
        BufferingHints={"IntervalInSeconds": 60, "SizeInMBs": 64},
    )
    boto3.client("firehose").create_delivery_stream(
        DeliveryStreamName=settings.events_stream,
        DeliveryStreamType=properties["DeliveryStreamType"],
        ExtendedS3DestinationConfiguration=destination,
    )


@pytest.fixture
def aws_server(aws_settings: Settings, moto_server: str, tmp_path: Path) -> Iterator[Server]:
    """``brygge serve`` in aws mode over the fixture's table and bucket on moto's server."""
    environment = {name: value for name, value in os.environ.items() if name.startswith("AWS_")}
    brygge = {name: value for name, value in os.environ.items() if name.startswith("BRYGGE_")}
    server = start_server(tmp_path, **{**brygge, **environment, "BRYGGE_EVENTS_STREAM": "ev"})
    try:
        yield server
    finally:
        stop_server(server)


def test_events_go_through_firehose_into_editions_of_parquet(
    aws_settings: Settings, aws_server: Server
) -> None:
    import boto3

    from catalogue import lambdas

    settings = dataclasses.replace(aws_settings, events_stream="ev")
    create_stream(settings, "public", "bad", "1")
    body = {"id": "bad", "title": "Bad", "accessRights": "public", "owner": "team:bath"}
    created = requests.post(
        f"{aws_server.url}/datasets", json={**body, "source": SOURCE}, timeout=30
    )
    assert created.status_code == 201, created.text
    batch = [reading(1), reading(2, 999), reading(3)]
    headers = {"Idempotency-Key": "gateway-1:batch-1"}

    first = requests.post(
        f"{aws_server.url}{VERSION}/events", json=batch, headers=headers, timeout=30
    )
    again = requests.post(
        f"{aws_server.url}{VERSION}/events", json=batch, headers=headers, timeout=30
    )

    assert first.status_code == 200, aws_server.output()
    assert again.json() == first.json() and first.json()["accepted"] == 2
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=settings.data_bucket, Prefix="raw/")["Contents"]
    [delivered] = [item["Key"] for item in listed]  # the resend put nothing
    assert delivered.startswith("raw/green/bad/version=1/events/")

    event = s3_notification(settings.data_bucket, delivered, 100)
    results = lambdas.object_created(event, None)["results"]
    join_moto_executions()
    duplicate = lambdas.object_created(event, None)["results"]

    assert [result["outcome"] for result in results] == ["started"], results
    assert [result["outcome"] for result in duplicate] == ["duplicate"]
    run = requests.get(f"{aws_server.url}/runs/{results[0]['run']}", timeout=30).json()
    assert run["status"] == "SUCCEEDED", run
    assert run["pipeline"]["template"] == "events-to-parquet"
    [edition] = requests.get(f"{aws_server.url}{VERSION}/editions", timeout=30).json()["items"]
    base = f"{aws_server.url}{VERSION}/editions/{edition['edition']}/distributions"
    [distribution] = requests.get(base, timeout=30).json()["items"]
    data = requests.get(f"{base}/{distribution['id']}/download", timeout=30).content
    frame = pl.read_parquet(io.BytesIO(data))
    assert frame.select("sensorId", "temperature").rows() == [("s-1", 18.5), ("s-3", 18.5)]
    assert frame.schema["observedAt"] == pl.Datetime("us", "UTC")
    # What Firehose delivered is now the edition's; the delivered object is gone.
    keys = [
        item["Key"]
        for item in s3.list_objects_v2(Bucket=settings.data_bucket, Prefix="raw/")["Contents"]
    ]
    assert keys == [f"raw/green/bad/version=1/edition={edition['edition']}/events.jsonl"]


def test_each_delivered_window_keeps_the_schema_its_events_were_accepted_under(
    aws_settings: Settings, aws_server: Server
) -> None:
    import boto3

    from catalogue import lambdas

    settings = dataclasses.replace(aws_settings, events_stream="ev")
    create_stream(settings, "public", "bad", "1")
    body = {"id": "bad", "title": "Bad", "accessRights": "public", "owner": "team:bath"}
    created = requests.post(
        f"{aws_server.url}/datasets", json={**body, "source": SOURCE}, timeout=30
    )
    assert created.status_code == 201, created.text
    url = f"{aws_server.url}{VERSION}/events"
    first = requests.post(url, json=[reading(1, 18.5), reading(2, 19.25)], timeout=30)
    assert first.json()["accepted"] == 2, first.text
    # The schema changes before Firehose delivers: temperatures become whole numbers.
    fields = [*SOURCE["schema"]["fields"][:2], {"name": "temperature", "type": "integer"}]
    retyped = {**SOURCE, "schema": {**SOURCE["schema"], "fields": fields}}
    patched = requests.patch(f"{aws_server.url}/datasets/bad", json={"source": retyped}, timeout=30)
    assert patched.status_code == 200, patched.text
    second = requests.post(url, json=[reading(3, 20)], timeout=30)
    assert second.json()["accepted"] == 1, second.text

    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=settings.data_bucket, Prefix="raw/")["Contents"]
    delivered = [item["Key"] for item in listed]
    assert len(delivered) == 2  # moto delivers each batch at once, as its own object
    runs = []
    for key in delivered:
        event = s3_notification(settings.data_bucket, key, 100)
        runs += [result["run"] for result in lambdas.object_created(event, None)["results"]]
        join_moto_executions()

    # Each window is read with the schema its events were accepted under: the first one's
    # temperatures are not whole numbers, and the new schema would fail its run.
    found = [requests.get(f"{aws_server.url}/runs/{run}", timeout=30).json() for run in runs]
    assert [run["status"] for run in found] == ["SUCCEEDED", "SUCCEEDED"], found
    rows = []
    for run in found:
        base = f"{aws_server.url}{VERSION}/editions/{run['edition']}/distributions"
        [distribution] = requests.get(base, timeout=30).json()["items"]
        data = requests.get(f"{base}/{distribution['id']}/download", timeout=30).content
        frame = pl.read_parquet(io.BytesIO(data))
        rows += frame.select("sensorId", "temperature").rows()
    # Both objects carry the same second in their names: which comes first is not known.
    assert sorted(rows) == [("s-1", 18.5), ("s-2", 19.25), ("s-3", 20)]
