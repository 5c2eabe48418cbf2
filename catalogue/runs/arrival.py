"""Object arrived → run: S3 event notifications (aws) and the local store's hook (local).

The run of an upload was made (``WAITING``) when its upload URL was handed out, and its id is
derived from the object key; so the trigger finds it from the key alone, and a duplicated
notification finds a run that has already started and starts nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import InvalidValue, NotFound
from catalogue.object_stores import object_store
from pipelines import presign
from pipelines.object_keys import ObjectKey, parse_delivered_events, parse_object_key
from pipelines.objects import S3ObjectStore
from pipelines.runs import run_id_for
from pipelines.s3_events import s3_object_keys

if TYPE_CHECKING:
    from catalogue.services import Services

log = logging.getLogger(__name__)

STARTED = "started"
DUPLICATE = "duplicate"
PUBLISHED = "published"
FAILED = "failed"
IGNORED = "ignored"
REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """What the trigger did for one object: started, duplicate, published, failed, refused or
    ignored; ``reason`` says why for the last three."""

    key: str
    outcome: str
    run: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "outcome": self.outcome, "run": self.run, "reason": self.reason}


def handle_object_created(key: str, services: Services) -> TriggerResult:
    """Start the run waiting for ``key``, once; publish as-is when the run has no pipeline.

    Events Firehose delivered (``raw/.../version=<v>/events/...``) first become an edition
    of their own, whose run starts here (``event_windows.close_delivered``). ``key`` is
    already decoded. Keys outside ``raw/``, unknown keys and keys with no run are
    logged and ignored. Failures to start a run (store or Step Functions errors) are raised,
    so S3 retries the notification.
    """
    delivered = parse_delivered_events(key)
    if delivered is not None:
        # Events Firehose delivered: their own batch window, an edition made here.
        from catalogue.runs.event_windows import close_delivered

        closed = close_delivered(services, key, delivered, handle_object_created)
        return closed or _ignored(key, None, "the dataset or version of these events is gone")
    try:
        parsed = parse_object_key(key)
    except InvalidValue as error:
        return _ignored(key, None, f"not a key of the lake: {error.reason}")
    if parsed.stage != "raw":
        return _ignored(key, None, f"stage {parsed.stage} does not start runs", quiet=True)
    run_id = run_id_for(parsed.dataset, parsed.version, parsed.edition, key)
    try:
        run: Mapping[str, Any] | None = services.runs.get(run_id)
    except NotFound:
        run = None
    refused = remove_stale_upload(key, run, services)
    if refused is not None:
        return refused
    if run is None:
        return _ignored(key, run_id, "no run waits for this key")
    if run.get("status") != "WAITING":
        return refuse_second_upload(key, run, services)
    # A second POST to the URL may have landed before this notification came: the run
    # reads the first upload, so what came after it goes before the run starts.
    removed = remove_later_uploads(key, services)
    if removed:
        log.warning(
            "refused a second upload of %s before run %s started; deleted versions %s",
            key,
            run_id,
            ", ".join(removed),
        )
    if not run.get("pipeline"):
        return publish_as_is(parsed, run_id, services)
    return _start(key, run_id, services, STARTED, "started run %s for %s")


def remove_stale_upload(
    key: str, run: Mapping[str, Any] | None, services: Services
) -> TriggerResult | None:
    """Delete what an upload URL of a dataset that is gone put at ``key``; None if nothing.

    An S3 presigned POST cannot be withdrawn: it outlives a delete of its dataset until it
    expires. Its object carries the incarnation of the dataset it was made for
    (``presign.INCARNATION_METADATA``); a version of ``key`` whose run is gone, or whose
    run is of another incarnation (the dataset was made again under the same id), would
    lie in the lake where a later dataset of the id could read it, so it is deleted.
    Objects without that metadata (written by Brygge itself) are left alone.
    """
    objects = object_store(services.settings)
    if not isinstance(objects, S3ObjectStore):
        return None  # local upload URLs refuse such a POST themselves (409)
    incarnation = None if run is None else run.get("incarnation")
    removed = objects.delete_versions_marked(key, presign.INCARNATION_METADATA, incarnation)
    if not removed:
        return None
    reason = (
        "the dataset this upload URL was made for is gone"
        if run is None
        else "this upload URL was made for an earlier dataset of the id"
    )
    log.warning("deleted %s (versions %s): %s", key, ", ".join(removed), reason)
    return TriggerResult(key, REFUSED, None if run is None else run["id"], reason)


def refuse_second_upload(key: str, run: Mapping[str, Any], services: Services) -> TriggerResult:
    """Undo a second upload to a used S3 URL (its newer versions go); else a duplicate event.

    Local upload URLs refuse a second POST themselves (409); an S3 presigned POST cannot, so
    the versioned data bucket keeps the first object and this deletes what came after it.
    """
    removed = remove_later_uploads(key, services)
    if removed:
        log.warning(
            "refused a second upload of %s: run %s is %s; deleted versions %s",
            key,
            run["id"],
            run.get("status"),
            ", ".join(removed),
        )
        return TriggerResult(key, REFUSED, run["id"], "the upload URL had been used")
    log.info("run %s for %s is %s; duplicate notification", run["id"], key, run.get("status"))
    return TriggerResult(key, DUPLICATE, run["id"])


def remove_later_uploads(key: str, services: Services) -> list[str]:
    """Delete every version of ``key`` after the first (S3 only); return their version ids."""
    objects = object_store(services.settings)
    return objects.keep_first_version(key) if isinstance(objects, S3ObjectStore) else []


def publish_as_is(parsed: ObjectKey, run_id: str, services: Services) -> TriggerResult:
    """Start a run without pipeline, which publishes the upload as it is (RunService.start)."""
    return _start(str(parsed), run_id, services, PUBLISHED, "published run %s (no pipeline) for %s")


def _start(key: str, run_id: str, services: Services, outcome: str, started: str) -> TriggerResult:
    """Start the run of ``key`` and say what its start did: ``outcome`` (logged as
    ``started`` with the run id and key), a duplicate, or a failure.

    A run refused at its start (its template version deleted since the upload URL was made,
    or a file without pipeline that cannot be published) is said from what the start wrote,
    not read back: a run failing later fails for another reason.
    """
    run = services.runs.start(run_id)
    if run is None:
        log.info("run %s for %s has already started; duplicate notification", run_id, key)
        return TriggerResult(key, DUPLICATE, run_id)
    if run["status"] == "FAILED":
        return _failed(key, run)
    log.info(started, run_id, key)
    return TriggerResult(key, outcome, run_id)


def handle_s3_event(
    event: Mapping[str, Any], services: Services, *, bucket: str | None = None
) -> list[TriggerResult]:
    """Handle every object an S3 event announces; see ``handle_object_created``.

    The event is a notification, an EventBridge ``Object Created`` event or an SQS batch of
    notifications (``pipelines.s3_events``). A record that fails does not stop the others;
    the first failure is raised at the end, so Lambda retries the event, or SQS delivers the
    batch again (the records already handled find their runs started).
    """
    results = []
    failures: list[Exception] = []
    for key in s3_object_keys(event, bucket):
        try:
            results.append(handle_object_created(key, services))
        except Exception as error:
            log.exception("trigger failed for %s", key)
            failures.append(error)
    if failures:
        raise failures[0]
    return results


def local_hook(services: Services) -> Callable[[str], None]:
    """The local store's ``on_created``: trigger in-process, never failing the upload itself."""

    def on_created(key: str) -> None:
        try:
            handle_object_created(key, services)
        except Exception:
            # The object is stored; its run stays WAITING and can be started again by hand.
            log.exception("trigger failed for %s", key)

    return on_created


def _failed(key: str, run: Mapping[str, Any]) -> TriggerResult:
    reason = f"{run['error']['error']}: {run['error']['cause']}"
    log.warning("run %s for %s failed at its start: %s", run["id"], key, reason)
    return TriggerResult(key, FAILED, run["id"], reason)


def _ignored(key: str, run_id: str | None, reason: str, *, quiet: bool = False) -> TriggerResult:
    (log.debug if quiet else log.warning)("ignoring %s: %s", key, reason)
    return TriggerResult(key, IGNORED, run_id, reason)
