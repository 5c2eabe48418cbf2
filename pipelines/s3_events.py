"""S3 event notifications: the keys of the objects they announce.

S3 announces a new object in one of the shapes AWS delivers to Lambda: a notification
(``Records``, sent to the function directly), an EventBridge ``Object Created`` event, or
an SQS batch whose messages carry notifications (S3 → SQS, or S3 → SNS → SQS).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger(__name__)

TEST_EVENT = "s3:TestEvent"


def s3_object_keys(event: Mapping[str, Any], bucket: str | None = None) -> Iterator[str]:
    """Yield the decoded key of each object-created record of an S3 notification.

    S3 sends keys URL-encoded (spaces as ``+``), in notifications and EventBridge events
    alike: they are decoded here, once. The ``s3:TestEvent`` S3 sends when notifications are
    configured has no records and yields nothing; records of other buckets or other event
    types are skipped, and so is (with a warning) an SQS message that carries no notification.
    """
    if event.get("Event") == TEST_EVENT:
        # Expected: S3 sends one when a notification is configured; nothing to act on.
        log.info("ignoring s3:TestEvent for bucket %s", event.get("Bucket"))
        return
    if event.get("source") == "aws.s3" and isinstance(event.get("detail"), Mapping):
        yield from _eventbridge_keys(event, bucket)
        return
    records = event.get("Records")
    if not isinstance(records, list):
        log.warning("ignoring an event that is not an S3 notification: %s", sorted(event)[:6])
        return
    for record in records:
        if record.get("eventSource") == "aws:sqs":
            yield from _message_keys(record, bucket)
            continue
        key = _record_key(record, bucket)
        if key is not None:
            yield key


def _record_key(record: Mapping[str, Any], bucket: str | None) -> str | None:
    name = str(record.get("eventName", ""))
    s3 = record.get("s3") or {}
    return _created_key(
        name.startswith("ObjectCreated:"),
        f"S3 record {name or 'without eventName'}",
        (s3.get("bucket") or {}).get("name"),
        (s3.get("object") or {}).get("key"),
        bucket,
    )


def _eventbridge_keys(event: Mapping[str, Any], bucket: str | None) -> Iterator[str]:
    detail = event["detail"]
    key = _created_key(
        event.get("detail-type") == "Object Created",
        f"S3 EventBridge event {event.get('detail-type')}",
        (detail.get("bucket") or {}).get("name"),
        (detail.get("object") or {}).get("key"),
        bucket,
    )
    if key is not None:
        yield key


def _created_key(
    created: bool, what: str, event_bucket: Any, raw_key: Any, bucket: str | None
) -> str | None:
    """The decoded key an announcement of a new object names; None (logged) for another
    kind of announcement or another bucket's object."""
    if not created or not isinstance(raw_key, str):
        # The notifications are set up for new objects only: this one is of no use here.
        log.warning("ignoring %s", what)
        return None
    if bucket is not None and event_bucket != bucket:
        log.warning("ignoring %s of bucket %s (expected %s)", what, event_bucket, bucket)
        return None
    return unquote_plus(raw_key)


def _message_keys(record: Mapping[str, Any], bucket: str | None) -> Iterator[str]:
    # An SQS message's body is the notification as JSON text; through an SNS topic (without
    # raw delivery) it is SNS's envelope, whose Message is that text.
    message_id = record.get("messageId")
    try:
        body = json.loads(record.get("body") or "")
        if isinstance(body, dict) and body.get("Type") == "Notification":
            body = json.loads(body.get("Message") or "")
    except ValueError:
        body = None
    if not isinstance(body, dict) or not (body.get("Records") or body.get("Event") == TEST_EVENT):
        log.warning("ignoring SQS message %s: its body is not an S3 notification", message_id)
        return
    yield from s3_object_keys(body, bucket)
