"""S3 event notifications: the keys of the objects they announce."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote_plus

log = logging.getLogger(__name__)


def s3_object_keys(event: Mapping[str, Any], bucket: str | None = None) -> Iterator[str]:
    """Yield the decoded key of each object-created record of an S3 notification.

    S3 sends keys URL-encoded (spaces as ``+``): they are decoded here, once. The
    ``s3:TestEvent`` S3 sends when notifications are configured has no records and yields
    nothing; records of other buckets or other event types are skipped.
    """
    if event.get("Event") == "s3:TestEvent":
        log.info("ignoring s3:TestEvent for bucket %s", event.get("Bucket"))
        return
    for record in event.get("Records") or []:
        name = str(record.get("eventName", ""))
        s3 = record.get("s3") or {}
        record_bucket = (s3.get("bucket") or {}).get("name")
        raw_key = (s3.get("object") or {}).get("key")
        if not name.startswith("ObjectCreated:") or not isinstance(raw_key, str):
            log.info("ignoring S3 record %s", name or "without eventName")
            continue
        if bucket is not None and record_bucket != bucket:
            log.warning("ignoring S3 record of bucket %s (expected %s)", record_bucket, bucket)
            continue
        yield unquote_plus(raw_key)
