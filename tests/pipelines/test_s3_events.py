"""S3 event notifications into object keys."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from pipelines.s3_events import s3_object_keys

EVENTS = Path(__file__).resolve().parents[1] / "events"
PREFIX = "raw/green/air/version=1/edition=20260102T030405/"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_s3_keys_are_url_decoded_exactly_once() -> None:
    keys = list(s3_object_keys(event("s3_object_created.json"), "brygge-data"))
    assert keys == [PREFIX + "målinger 2026 %2B.csv", PREFIX + "big.csv"]


def test_eventbridge_object_created_key_is_url_decoded_once() -> None:
    keys = list(s3_object_keys(event("s3_eventbridge_object_created.json"), "brygge-data"))
    assert keys == [PREFIX + "målinger 2026 +.csv"]


def test_eventbridge_event_of_another_bucket_or_type_yields_nothing() -> None:
    created = event("s3_eventbridge_object_created.json")
    deleted = {**created, "detail-type": "Object Deleted"}
    assert list(s3_object_keys(created, "another-bucket")) == []
    assert list(s3_object_keys(deleted, "brygge-data")) == []


def test_sqs_batch_yields_the_keys_of_the_notifications_it_carries() -> None:
    keys = list(s3_object_keys(event("sqs_s3_notifications.json"), "brygge-data"))
    assert keys == [PREFIX + "målinger 2026 %2B.csv", PREFIX + "big.csv", PREFIX + "via sns.csv"]


def test_sqs_message_that_is_no_notification_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = event("sqs_s3_notifications.json")
    batch["Records"][1]["body"] = "not json"
    keys = list(s3_object_keys(batch, "brygge-data"))
    assert len(keys) == 3
    assert "059f36b4-87a3-44ab-83d2-661975830002" in caplog.text


def test_event_of_an_unknown_shape_is_logged_and_yields_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    assert list(s3_object_keys({"hello": "world"}, "brygge-data")) == []
    assert "not an S3 notification" in caplog.text
