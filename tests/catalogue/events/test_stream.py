"""AWS mode: the table's stream records of new events reach the steps function's handler,
which fans them out and delivers; everything else in the stream is ignored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks import Webhook

from catalogue import lambdas
from catalogue.app import create_app
from catalogue.events.stream import handle_stream, stream_events
from catalogue.store import keys
from catalogue.store.base import Query
from tests.fixtures.app import Clock, authenticate_as_site_admin
from tests.fixtures.receiver import Receiver, running_receiver

PUBLIC = {"id": "trees", "title": "Trees", "accessRights": "public", "owner": "team:parks"}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def stream_records(table: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, as Lambda's mapping hands them over."""
    import boto3

    from catalogue.store.dynamodb import dynamodb_client

    arn = dynamodb_client().describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records.extend(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"])
    return [{**record, "eventSourceARN": arn} for record in records]


def test_stream_records_of_new_events_are_delivered(moto_store, settings, receiver) -> None:  # type: ignore[no-untyped-def]
    from catalogue.store.dynamodb import dynamodb_client

    table = moto_store.table_name
    # As deploy/brygge.yaml makes the table: a stream of new images.
    dynamodb_client().update_table(
        TableName=table, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    clock = Clock(now=datetime.now(UTC).replace(microsecond=0), step=timedelta(milliseconds=1))
    aws = replace(settings, backend="aws", dynamodb_table=table, webhook_allow_private=True)
    app = create_app(aws, store=moto_store, clock=clock)
    authenticate_as_site_admin(app)
    client = app.test_client()
    made = client.post("/subscriptions", json={"url": receiver.url}).json
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.patch("/datasets/trees", json={"title": "Urban trees"}).status_code == 200

    records = stream_records(table)
    services = app.extensions["brygge"]
    # Every write is in the stream; only inserts of event items are the handler's.
    assert len(records) > len(stream_events({"Records": records})) == 2
    result = handle_stream(services, {"Records": records})
    again = handle_stream(services, {"Records": records})  # Lambda retries a batch

    assert result == {"events": 2, "deliveries": 2, "attempted": 2}
    assert again == {"events": 2, "deliveries": 0, "attempted": 0}
    received = [Webhook(made["secret"]).verify(r.body, r.headers) for r in receiver.requests]
    # Sent side by side: Standard Webhooks promises no order, the events' times give it.
    assert [event["type"] for event in sorted(received, key=lambda e: e["time"])] == [
        "no.brygge.dataset.created",
        "no.brygge.dataset.updated",
    ]
    assert moto_store.query(Query(keys.OUTBOX_PK), limit=10).items == []


def test_the_lambda_entry_reads_its_settings_and_ignores_other_records(  # type: ignore[no-untyped-def]
    moto_store, monkeypatch
) -> None:
    monkeypatch.setenv("BRYGGE_BACKEND", "aws")
    monkeypatch.setenv("BRYGGE_DYNAMODB_TABLE", moto_store.table_name)
    lambdas.lambda_services.cache_clear()
    removed = {"eventName": "REMOVE", "dynamodb": {"Keys": {"pk": {"S": "x"}}}}
    not_an_event = {
        "eventName": "INSERT",
        "dynamodb": {"NewImage": {"pk": {"S": "dataset#a"}, "sk": {"S": "dataset"}}},
    }
    try:
        answer = lambdas.change_events({"Records": [removed, not_an_event]}, None)
        retried = lambdas.webhook_retries({}, None)
    finally:
        lambdas.lambda_services.cache_clear()
    assert answer == {"events": 0, "deliveries": 0, "attempted": 0}
    assert retried == {"events": 0, "attempted": 0}
