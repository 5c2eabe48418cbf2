"""The sweep: stale uploads expire and the partial files of broken transfers go.

An upload URL that expired unused leaves a run ``WAITING`` for ever and, when the upload made
it, an empty newest edition. The sweep ends such runs (``EXPIRED``), removes their empty
editions and, locally, the ``.put-*.part`` files a broken transfer left. It fails
(``FAILED``, saying why) a run whose upload landed but whose trigger never started it, every
retry included, and on AWS a batch window's run whose close was never retried into a start.
On SQLite it also deletes the items past their ``expiresAt`` (event ids, idempotency keys,
failed authentications), which DynamoDB's time to live deletes on AWS. It runs when
``brygge serve`` starts, every ``BRYGGE_SWEEP_INTERVAL_S`` while it serves, and on AWS as a
scheduled job of the ``steps`` function (``catalogue.lambdas.sweep_stale_uploads``), so it
also works after a restart.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from catalogue.object_stores import object_store
from catalogue.store.sqlite import SqliteStore
from pipelines.objects import LocalObjectStore

if TYPE_CHECKING:
    from catalogue.services import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did: runs expired, editions removed, partial files removed, runs
    failed (their upload landed, their trigger never started them), and how many expired
    items it deleted (SQLite)."""

    expired: list[str] = field(default_factory=list)
    editions: list[str] = field(default_factory=list)
    partial_files: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    expired_items: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "editions": self.editions,
            "partialFiles": self.partial_files,
            "failed": self.failed,
            "expiredItems": self.expired_items,
        }


def sweep(services: Services) -> SweepReport:
    """Expire the stale uploads' runs and remove what they left; never raises on one item."""
    grace = timedelta(seconds=services.settings.upload_grace_s)
    expired, editions, failed = services.runs.expire_stale_uploads(grace)
    partial: list[str] = []
    objects = object_store(services.settings)
    if isinstance(objects, LocalObjectStore):
        # A transfer writes its part file as bytes arrive: one untouched this long is dead.
        cutoff = services.clock() - grace
        partial = [str(path) for path in objects.remove_stale_parts(cutoff)]
    expired_items = 0
    if isinstance(services.store, SqliteStore):
        expired_items = services.store.remove_expired(int(services.clock().timestamp()))
    report = SweepReport(expired, editions, partial, failed, expired_items)
    if expired or editions or partial or failed or expired_items:
        log.info("sweep: %s", report.as_dict())
    return report


def start_periodic_sweep(services: Services, interval_s: float) -> threading.Event:
    """Sweep every ``interval_s`` seconds in a daemon thread; set the returned event to stop."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                sweep(services)
            except Exception:
                # The next round tries again; a store hiccup must not end the thread.
                log.exception("sweep failed")

    threading.Thread(target=loop, name="brygge-sweep", daemon=True).start()
    return stop
