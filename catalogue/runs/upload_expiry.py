"""Runs whose upload never came: kept while their upload URL lasts, then ended (EXPIRED)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import HasChildren, NotFound
from catalogue.object_stores import object_store
from catalogue.runs.event_pipeline import SYSTEM_PRINCIPAL
from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.repositories import Repositories
    from catalogue.repositories.runs import RunRepository
    from catalogue.settings import Settings

log = logging.getLogger(__name__)

# Error name of a run whose upload never came, and who removes what such runs leave.
UPLOAD_EXPIRED = "Brygge.UploadExpired"
SWEEPER = "service:sweep"
# Error name of a run whose upload landed but whose trigger never started it.
TRIGGER_FAILED = "Brygge.TriggerFailed"
# Lambda retries an asynchronous invocation (S3's notification is one) for up to 6 hours,
# its largest maximum event age: until then the trigger may still start the run.
TRIGGER_RETRIES = timedelta(hours=6)


class UploadExpiry:
    """RunService's handling of waiting runs' upload deadlines; the service inherits it."""

    settings: Settings
    repositories: Repositories
    repository: RunRepository
    clock: Callable[[], datetime]

    def extend_upload(self, run_id: str, expires: str) -> dict[str, Any]:
        """Keep a WAITING run until ``expires`` (a newer upload URL for its object)."""

        def extend(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "WAITING" or (run.get("uploadExpires") or "") >= expires:
                return None
            run["uploadExpires"] = expires
            return run

        return self.repository.update_run(run_id, extend)

    def expire_stale_uploads(self, grace: timedelta) -> tuple[list[str], list[str], list[str]]:
        """End (EXPIRED) each WAITING run whose upload URL expired ``grace`` ago unused.

        An edition the upload made, still empty and used by no other run, is removed.
        A run whose upload landed but never started (its trigger failed) is failed once
        no retry of the trigger can come any more (``TRIGGER_RETRIES`` after its upload
        URL expired, the latest the upload can have landed); so is a batch window's run
        (its object stored or not) ``TRIGGER_RETRIES`` after the close that made it. A window
        the local buffer closes has no such date: the buffer retries it until its run
        starts. Returns the run ids expired, the paths of the editions removed and the run
        ids failed.
        """
        now = self.clock()
        until = timestamp(now - grace)
        retried_until = timestamp(now - max(grace, TRIGGER_RETRIES))
        ended = timestamp(now)
        objects = object_store(self.settings)
        expired: list[str] = []
        removed: list[str] = []
        failed: list[str] = []
        for waiting in self.repository.waiting_until(until):
            key = waiting["input"]["keys"][0]
            landed = objects.exists(key)
            # A batch window's run has no upload URL: until the close that made it can no
            # longer be retried, a retry may still store its object and start it.
            if landed or waiting.get("principal") == SYSTEM_PRINCIPAL:
                if (waiting.get("uploadExpires") or "~") > retried_until:
                    if landed:
                        log.warning("run %s waits although %s has landed", waiting["id"], key)
                elif self._fail_untriggered(
                    waiting["id"],
                    key,
                    retried_until,
                    ended,
                    landed=landed,
                    window=waiting.get("principal") == SYSTEM_PRINCIPAL,
                ):
                    failed.append(waiting["id"])
                continue

            after = self._end_waiting(
                waiting["id"],
                until,
                "EXPIRED",
                {"endedAt": ended},
                lambda run: {
                    "error": UPLOAD_EXPIRED,
                    "cause": f"the upload URL expired at {run['uploadExpires']} unused",
                },
            )
            if after is None:
                continue
            expired.append(after["id"])
            if after.get("madeEdition") and self._remove_empty_edition(after):
                removed.append(f"{after['dataset']}/{after['version']}/{after['edition']}")
        return expired, removed, failed

    def _fail_untriggered(
        self, run_id: str, key: str, until: str, now: str, *, landed: bool, window: bool
    ) -> bool:
        """Fail a WAITING run whose upload ``key`` landed (or, for a batch ``window``'s run,
        was never stored) and whose trigger gave up; whether this call failed it. Its start
        and end are ``now``: it was taken up to fail."""
        tried = (
            "failed every time it was tried (the log of the steps function, or of the "
            "server, says why)"
        )
        if landed:
            # A window's object was stored by the close, not uploaded: a rerun is the remedy.
            again = "" if window else " or upload the file again"
            cause = (
                f"{key} landed, but the trigger that starts its run {tried}; rerun it "
                f"(POST /runs/{run_id}/rerun){again}"
            )
        else:
            cause = (
                f"the batch window's events were never stored at {key}: closing the window "
                f"{tried}; the events stay where Amazon Data Firehose delivered them"
            )

        after = self._end_waiting(
            run_id,
            until,
            "FAILED",
            {"startedAt": now, "endedAt": now},
            lambda run: {"error": TRIGGER_FAILED, "cause": cause},
        )
        if after is None:
            return False
        log.warning("run %s failed: %s", run_id, cause)
        return True

    def _end_waiting(
        self,
        run_id: str,
        until: str,
        status: str,
        times: dict[str, str],
        error: Callable[[dict[str, Any]], dict[str, str]],
    ) -> dict[str, Any] | None:
        """End the run with ``status``, ``times`` and ``error(run)`` if it still waits for
        an upload dated ``until`` or earlier; the run as this call ended it, else None."""

        def end(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "WAITING" or (run.get("uploadExpires") or "~") > until:
                return None
            run.update(status=status, error=error(run), **times)
            return run

        after = self.repository.update_run(run_id, end)
        if after["status"] != status or after.get("endedAt") != times["endedAt"]:
            return None
        return after

    def _remove_empty_edition(self, run: Mapping[str, Any]) -> bool:
        """Delete the run's edition if it has no distributions and no other run that
        started or may still start (an expired run, or one aborted while it waited, will
        not)."""
        path = [run["dataset"], run["version"], run["edition"]]
        for other in self.repository.all_for_dataset(run["dataset"]):
            same = (other["version"], other["edition"]) == (run["version"], run["edition"])
            never_ran = other["status"] in ("EXPIRED", "ABORTED") and not other.get("startedAt")
            if same and other["id"] != run["id"] and not never_ran:
                return False
        try:
            self.repositories.editions.delete(path, if_match=None, cascade=False, principal=SWEEPER)
        except (HasChildren, NotFound):
            return False
        return True
