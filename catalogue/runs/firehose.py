"""AWS history of event datasets: accepted events go to an Amazon Data Firehose stream.

The api function puts each batch's accepted events to the delivery stream named by
``BRYGGE_EVENTS_STREAM`` (direct put). Each record is one JSON line: the event under
``event`` beside the dataset, version and access level its object belongs to, which the
stream's dynamic partitioning reads (``deploy/brygge.yaml``) to write the objects under
``raw/<access>/<dataset>/version=<v>/events/``. Their arrival makes an edition and a run
(``catalogue.runs.arrival`` → ``event_windows``), which stores the bare events.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import Unavailable
from pipelines.aws import aws_client
from pipelines.object_keys import ZONES

log = logging.getLogger(__name__)

# PutRecordBatch: at most 500 records and 4 MiB a call, 1,000 KiB a record.
MAX_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024
ATTEMPTS = 5
FIRST_BACKOFF_S = 0.1


class HistoryUnavailable(Unavailable):
    """Firehose refused some records after every retry; the batch must be sent again (503)."""


def firehose_record(dataset: Mapping[str, Any], version: str, event: Mapping[str, Any]) -> bytes:
    """One record: the routing fields dynamic partitioning reads, and the event, one line."""
    record = {
        "access": ZONES[dataset["accessRights"]],
        "dataset": dataset["id"],
        "version": version,
        "event": event,
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def record_batches(records: Sequence[bytes]) -> Iterator[list[bytes]]:
    """Split records into PutRecordBatch calls within its count and size limits."""
    batch: list[bytes] = []
    size = 0
    for record in records:
        if batch and (len(batch) == MAX_RECORDS or size + len(record) > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


class FirehoseWriter:
    """Puts accepted events to the delivery stream; ``append`` returns when all are in."""

    def __init__(self, stream: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.stream = stream
        self.sleep = sleep

    def append(
        self, dataset: Mapping[str, Any], version: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Put every event; the records Firehose refuses are sent again (backing off).

        Raises HistoryUnavailable when some are still refused after ``ATTEMPTS`` calls.
        """
        records = [firehose_record(dataset, version, event) for event in events]
        for batch in record_batches(records):
            self._put(batch)

    def _put(self, records: list[bytes]) -> None:
        client = aws_client("firehose")
        pending = records
        for attempt in range(ATTEMPTS):
            if attempt:
                self.sleep(FIRST_BACKOFF_S * 2 ** (attempt - 1))
            answer = client.put_record_batch(
                DeliveryStreamName=self.stream, Records=[{"Data": data} for data in pending]
            )
            if not answer.get("FailedPutCount"):
                return
            # Answers come in the order of the records; the failed ones carry an ErrorCode.
            failed = [
                data
                for data, response in zip(pending, answer["RequestResponses"], strict=True)
                if response.get("ErrorCode")
            ]
            log.warning(
                "Firehose refused %d of %d records (%s); retrying",
                len(failed),
                len(pending),
                answer["RequestResponses"][0].get("ErrorCode"),
            )
            pending = failed
        raise HistoryUnavailable(
            f"Firehose stream {self.stream} refused {len(pending)} records {ATTEMPTS} times"
        )
