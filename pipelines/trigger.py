"""Object created → run: S3 event notifications (aws) and the local store's hook (local).

The run of an upload was made (``WAITING``) when its upload URL was handed out, and its id is
derived from the object key; so the trigger finds it from the key alone, and a duplicated
notification finds a run that has already started and starts nothing new.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from catalogue.domain.errors import AlreadyExists, InvalidValue, NotFound
from catalogue.domain.object_keys import ObjectKey, parse_object_key
from pipelines.objects import LocalObjectStore, ObjectStore, S3ObjectStore, sha256_of
from pipelines.runs import run_id_for

if TYPE_CHECKING:
    from catalogue.repositories import Repositories
    from catalogue.services import Services
    from catalogue.settings import Settings

log = logging.getLogger(__name__)

STARTED = "started"
DUPLICATE = "duplicate"
PUBLISHED = "published"
IGNORED = "ignored"
REFUSED = "refused"
PUBLISHER = "service:trigger"


@dataclass(frozen=True, slots=True)
class TriggerResult:
    """What the trigger did for one object: started, duplicate, published, refused or ignored."""

    key: str
    outcome: str
    run: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "outcome": self.outcome, "run": self.run, "reason": self.reason}


def object_store(
    settings: Settings, on_created: Callable[[str], None] | None = None
) -> ObjectStore:
    """The data lake's object store for ``settings``; ``on_created`` applies to local only."""
    if settings.backend == "aws":
        return S3ObjectStore(settings.data_bucket)
    return LocalObjectStore(settings.objects_dir, on_created=on_created)


def handle_object_created(key: str, services: Services) -> TriggerResult:
    """Start the run waiting for ``key``, once; publish as-is when the run has no pipeline.

    ``key`` is already decoded. Keys outside ``raw/``, unknown keys and keys with no run are
    logged and ignored. Failures to start a run (store or Step Functions errors) are raised,
    so S3 retries the notification.
    """
    try:
        parsed = parse_object_key(key)
    except InvalidValue as error:
        return _ignored(key, None, f"not a key of the lake: {error.reason}")
    if parsed.stage != "raw":
        return _ignored(key, None, f"stage {parsed.stage} does not start runs", quiet=True)
    run_id = run_id_for(parsed.dataset, parsed.version, parsed.edition, key)
    try:
        run = services.runs.get(run_id)
    except NotFound:
        return _ignored(key, run_id, "no run waits for this key")
    if run.get("status") != "WAITING":
        return refuse_second_upload(key, run, services)
    if not run.get("pipeline"):
        return publish_as_is(parsed, run_id, services)
    if services.runs.start(run_id):
        log.info("started run %s for %s", run_id, key)
        return TriggerResult(key, STARTED, run_id)
    log.info("run %s for %s has already started; duplicate notification", run_id, key)
    return TriggerResult(key, DUPLICATE, run_id)


def refuse_second_upload(key: str, run: Mapping[str, Any], services: Services) -> TriggerResult:
    """Undo a second upload to a used S3 URL (its newer versions go); else a duplicate event.

    Local upload URLs refuse a second POST themselves (409); an S3 presigned POST cannot, so
    the versioned data bucket keeps the first object and this deletes what came after it.
    """
    objects = object_store(services.settings)
    removed = objects.keep_first_version(key) if isinstance(objects, S3ObjectStore) else []
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


def publish_as_is(parsed: ObjectKey, run_id: str, services: Services) -> TriggerResult:
    """Start a run without pipeline, which publishes the upload as it is (RunService.start)."""
    key = str(parsed)
    if not services.runs.start(run_id):
        log.info("run %s for %s has already ended; duplicate notification", run_id, key)
        return TriggerResult(key, DUPLICATE, run_id)
    log.info("published %s as-is (run %s has no pipeline)", key, run_id)
    return TriggerResult(key, PUBLISHED, run_id)


def publish_object(key: str, run_id: str, objects: ObjectStore, repositories: Repositories) -> str:
    """Copy an upload to ``processed/`` and register it as a distribution; the target key.

    Idempotent: the same target key, and a distribution id from run and key, so two racing
    calls may both copy but register one distribution. Raises ObjectNotFound.
    """
    from pipelines.steps.publish import DEFAULT_MEDIA_TYPE, MEDIA_TYPES, distribution_id

    parsed = parse_object_key(key)
    target = str(parsed.published())
    info = objects.copy(key, target)
    sha256 = info.sha256
    if sha256 is None:
        with objects.open(target) as body:
            sha256, _ = sha256_of(body)
    media_type, format_name = MEDIA_TYPES.get(
        PurePosixPath(parsed.filename).suffix.lower(), DEFAULT_MEDIA_TYPE
    )
    distribution = {
        "id": distribution_id(run_id, target),
        "type": "file",
        "filenames": [parsed.filename],
        "key": target,
        "run": run_id,
        "mediaType": media_type,
        "format": format_name,
        "byteSize": info.bytes,
        "checksum": sha256,
    }
    if not format_name:
        distribution.pop("format")
    try:
        repositories.distributions.create(
            [parsed.dataset, parsed.version, parsed.edition], distribution, principal=PUBLISHER
        )
    except AlreadyExists:
        log.info("distribution %s already registered", distribution["id"])
    # The edition names the run that made it, as a pipeline's publish step records it.
    edition_path = [parsed.dataset, parsed.version, parsed.edition]
    if repositories.editions.get(edition_path).get("run") != run_id:
        repositories.editions.patch(
            edition_path, {"run": run_id}, if_match=None, principal=PUBLISHER
        )
    return target


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


def handle_s3_event(
    event: Mapping[str, Any], services: Services, *, bucket: str | None = None
) -> list[TriggerResult]:
    """Handle every record of an S3 event notification; see ``handle_object_created``.

    A record that fails does not stop the others; the first failure is raised at the end, so
    Lambda retries the event (the records already handled find their runs started).
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


@functools.cache
def _lambda_services() -> Services:
    # Built on the first event and kept for the life of the Lambda container. Imported here:
    # the trigger Lambda drives the catalogue's runs, but pipelines imports no catalogue
    # service at module level.
    from catalogue.services import Services
    from catalogue.settings import Settings

    return Services(Settings.from_env())


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Lambda entry for S3 notifications (Zappa routes ``s3:ObjectCreated:*`` here)."""
    services = _lambda_services()
    results = handle_s3_event(event, services, bucket=services.settings.data_bucket)
    return {"results": [result.as_dict() for result in results]}


def local_hook(services: Services) -> Callable[[str], None]:
    """The local store's ``on_created``: trigger in-process, never failing the upload itself."""

    def on_created(key: str) -> None:
        try:
            handle_object_created(key, services)
        except Exception:
            # The object is stored; its run stays WAITING and can be started again by hand.
            log.exception("trigger failed for %s", key)

    return on_created


def _ignored(key: str, run_id: str | None, reason: str, *, quiet: bool = False) -> TriggerResult:
    (log.debug if quiet else log.warning)("ignoring %s: %s", key, reason)
    return TriggerResult(key, IGNORED, run_id, reason)
