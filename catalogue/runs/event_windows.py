"""A closed batch window of an event dataset becomes an edition whose run is an upload's.

Both modes end here: the local buffer (``catalogue.runs.event_buffer``) when a window
closes, and on AWS the arrival of an object Amazon Data Firehose delivered
(``catalogue.runs.arrival``). The window's events become the JSON Lines object
``raw/<access>/<dataset>/version=<v>/edition=<e>/events.jsonl``, and its run is made and
started exactly as an upload's: a WAITING run for the key (``RunService.create_waiting``),
then the object-created trigger (``handle_object_created``). Every step finds what an earlier
attempt did (the window's edition, the run of the key, the stored object), so closing a
window again makes nothing twice.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC
from typing import IO, TYPE_CHECKING, Any

from catalogue.domain.errors import NotFound
from catalogue.object_stores import delivered_events_store, object_store
from catalogue.repositories.event_windows import EventWindowRepository
from catalogue.runs.event_pipeline import SYSTEM_PRINCIPAL
from pipelines.object_keys import DeliveredEvents, object_key
from pipelines.objects import CHUNK_BYTES, ObjectNotFound, ObjectStore
from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.runs.arrival import TriggerResult
    from catalogue.services import Services

    Trigger = Callable[[str, Services], TriggerResult]

log = logging.getLogger(__name__)

WINDOW_FILENAME = "events.jsonl"
MEDIA_TYPE = "application/x-ndjson"


@dataclass(frozen=True, slots=True)
class Window:
    """One closed batch window: whose events, its name, when it was open, how many.

    ``schema`` is the history schema (``event_pipeline.history_schema``) its events were
    accepted under; None when the window does not know it (the dataset's is then used).
    """

    dataset: str
    version: str
    name: str
    started: str  # ISO 8601 UTC
    ended: str
    events: int | None = None
    schema: Mapping[str, Any] | None = None


def close_window(
    services: Services,
    window: Window,
    body: Callable[[], AbstractContextManager[IO[bytes]]],
    trigger: Trigger,
    *,
    upload_expires: str | None = None,
) -> TriggerResult | None:
    """Make the window's edition, object and run (each once), and start the run.

    ``body`` opens the window's JSON Lines; ``trigger`` is ``arrival.handle_object_created``
    (passed in: arrival itself closes the windows Firehose delivers). ``upload_expires``
    dates the run as an upload URL would: the sweep fails the run still waiting once no
    retry of this close can come (``upload_expiry.TRIGGER_RETRIES`` after it); None keeps
    it waiting, for a caller that closes the window again until it succeeds. Returns what the
    trigger did; None when the dataset or version no longer exists (its events have nowhere
    to go). Store and object store failures are raised: the caller keeps the window and
    closes it again later.
    """
    repositories = services.repositories
    try:
        dataset = repositories.datasets.get_item(window.dataset)
        count = f"{window.events} events" if window.events is not None else "events"
        edition = EventWindowRepository(
            services.store, services.clock, repositories.editions
        ).edition_of(
            dataset,
            window.version,
            window.name,
            {
                "description": f"{count} received {window.started} to {window.ended}",
                "startTime": window.started,
                "endTime": window.ended,
            },
            principal=SYSTEM_PRINCIPAL,
        )
    except NotFound as error:
        log.warning("dropping batch window %s of %s: %s", window.name, window.dataset, error)
        return None
    key = str(
        object_key(
            "raw", dataset["accessRights"], window.dataset, window.version, edition, WINDOW_FILENAME
        )
    )
    services.runs.create_waiting(
        window.dataset,
        window.version,
        edition,
        key,
        principal=SYSTEM_PRINCIPAL,
        upload_expires=upload_expires,
        event_schema=window.schema,
    )
    objects = object_store(services.settings)
    if not objects.exists(key):
        with body() as stream:
            objects.put(key, stream, content_type=MEDIA_TYPE)
    # What the object-created hook (local) or the S3 notification (aws) does for an upload;
    # a later notification of the same key finds the run started.
    return trigger(key, services)


def close_delivered(
    services: Services, key: str, delivered: DeliveredEvents, trigger: Trigger
) -> TriggerResult | None:
    """Close the window of an object Firehose delivered: its edition stores the bare events.

    The delivered object (routing fields around each event) goes once its edition's object
    is stored, as the edition keeps the same events. A repeated notification of the same
    object finds the edition and run made the first time.
    """
    objects = delivered_events_store(services.settings)
    clock = services.clock()
    now = clock.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    window = Window(
        delivered.dataset,
        delivered.version,
        delivered.name,
        now,
        now,
        schema=delivered_schema(services, objects, key, delivered),
    )
    # Only a retry of this notification closes the window again (the local buffer retries
    # until it succeeds): the sweep fails the run when no retry can come any more.
    result = close_window(
        services,
        window,
        lambda: unwrapped_events(objects, key, delivered),
        trigger,
        upload_expires=timestamp(clock),
    )
    if result is not None:
        objects.delete_many([key])
    return result


def delivered_schema(
    services: Services, objects: ObjectStore, key: str, delivered: DeliveredEvents
) -> dict[str, Any] | None:
    """The history schema a delivered object's events were accepted under, as its first
    record names it (dynamic partitioning puts the events of one schema in an object);
    None when it names none (put before schemas were named) or the schema is lost: the
    dataset's is then used."""
    try:
        with objects.open(key) as source:
            first = io.BufferedReader(source, CHUNK_BYTES).readline()  # type: ignore[arg-type]
    except ObjectNotFound:
        # A repeated notification: the first one closed the window, and its run has the
        # schema; the object is gone.
        return None
    try:
        digest = json.loads(first).get("schema")
    except (ValueError, AttributeError):
        return None
    if not isinstance(digest, str):
        return None
    repositories = services.repositories
    try:
        dataset = repositories.datasets.get_item(delivered.dataset)
    except NotFound:
        return None
    schema = EventWindowRepository(services.store, services.clock, repositories.editions).schema(
        dataset, digest
    )
    if schema is None:
        log.warning("%s: its events' schema %s is lost; the dataset's is used", key, digest)
    return schema


@contextmanager
def unwrapped_events(
    objects: ObjectStore, key: str, delivered: DeliveredEvents
) -> Iterator[IO[bytes]]:
    """The events of a delivered object as JSON Lines, without the routing fields.

    Streams the object through a temporary file. Lines that are not a record of this
    dataset and version (which dynamic partitioning never writes here) are left out and
    logged.
    """
    skipped = 0
    with tempfile.TemporaryFile() as out, objects.open(key) as source:
        for line in io.BufferedReader(source, CHUNK_BYTES):  # type: ignore[arg-type]
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                ours = (record["dataset"], record["version"]) == (
                    delivered.dataset,
                    delivered.version,
                )
                event = record["event"]
            except (ValueError, KeyError, TypeError):
                ours, event = False, None
            if not ours or not isinstance(event, dict):
                skipped += 1
                continue
            out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())
            out.write(b"\n")
        if skipped:
            log.error("%s: left out %d lines that are not events of its dataset", key, skipped)
        out.seek(0)
        yield out
