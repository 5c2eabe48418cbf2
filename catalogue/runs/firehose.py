"""AWS history of event datasets: accepted events go to an Amazon Data Firehose stream.

The api function puts each batch's accepted events to the delivery stream named by
``BRYGGE_EVENTS_STREAM`` (direct put). Each record is one JSON line: the event under
``event`` beside the dataset, version and access level its object belongs to and the digest
of the schema it was accepted under (``schema``), which the stream's dynamic partitioning
reads (``deploy/brygge.yaml``) to write the objects under
``raw/<access>/<dataset>/version=<v>/events/schema=<digest>/``: an object holds the events
of one schema, as a local window does. The schema itself is kept in the store under its
digest when first used. Their arrival makes an edition and a run (``catalogue.runs.arrival``
→ ``event_windows``), which reads the events with that schema, not with the dataset's at
delivery, and stores the bare events.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import Unavailable
from catalogue.runs.event_pipeline import history_schema, schema_digest
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


def firehose_record(
    dataset: Mapping[str, Any], version: str, event: Mapping[str, Any], schema: str
) -> bytes:
    """One record: the routing fields dynamic partitioning reads (``schema``: the digest
    of the schema the event was accepted under), and the event, one line."""
    record = {
        "access": ZONES[dataset["accessRights"]],
        "dataset": dataset["id"],
        "version": version,
        "schema": schema,
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


KeepSchema = Callable[[Mapping[str, Any], str, Mapping[str, Any]], None]


class FirehoseWriter:
    """Puts accepted events to the delivery stream; ``append`` returns when all are in.

    ``keep_schema(dataset, digest, schema)`` stores a history schema under its digest
    (``EventWindowRepository.keep_schema``); it is called once per schema and process.
    """

    def __init__(
        self,
        stream: str,
        keep_schema: KeepSchema | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stream = stream
        self.keep_schema = keep_schema
        self.sleep = sleep
        self._kept: set[tuple[str, str, str]] = set()

    def append(
        self, dataset: Mapping[str, Any], version: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Put every event; the records Firehose refuses are sent again (backing off).

        The schema the events were accepted under is kept before any of them is put, so
        the window they are delivered in can always be read with it. Raises
        HistoryUnavailable when some are still refused after ``ATTEMPTS`` calls.
        """
        schema = history_schema(dataset["source"])
        digest = schema_digest(schema)
        kept = (dataset["id"], str(dataset.get("incarnation") or ""), digest)
        if self.keep_schema is not None and kept not in self._kept:
            self.keep_schema(dataset, digest, schema)
            self._kept.add(kept)
        records = [firehose_record(dataset, version, event, digest) for event in events]
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
