"""The step recorder over the catalogue's store: what steps report lands on their run.

Store-backed in both modes: locally the steps run in the API's process, on AWS in the steps
Lambda, which opens the DynamoDB table itself (lazily, on the first record): there
``pipelines.steps.runtime`` imports this module when it builds the steps' environment.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import AlreadyExists, NotFound
from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.repositories import Repositories
    from catalogue.settings import Settings
    from catalogue.store.base import ItemStore
    from pipelines.steps.contract import StepOutput

# Who registers distributions and editions' runs in the audit trail.
PIPELINE_PRINCIPAL = "client:brygge-pipelines"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreRecorder:
    """A StepRecorder (pipelines.steps.contract) writing to the run's items in the store."""

    def __init__(
        self, store: Callable[[], ItemStore], clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self._open_store = store
        self.clock = clock
        self._repositories: Repositories | None = None
        self._lock = threading.Lock()

    @property
    def repositories(self) -> Repositories:
        # The store opens on the first record: a Lambda cold start that records nothing
        # never connects.
        if self._repositories is None:
            with self._lock:
                if self._repositories is None:
                    from catalogue.repositories import Repositories

                    self._repositories = Repositories(self._open_store(), self.clock)
        return self._repositories

    def _runs(self) -> Any:
        from catalogue.repositories.runs import RunRepository

        return RunRepository(self.repositories.store, self.clock)

    def step_started(self, run: str, step: str, attempt: int) -> None:
        now = timestamp(self.clock())

        def started(record: dict[str, Any]) -> dict[str, Any]:
            record.setdefault("startedAt", now)
            # Full precision: steps started within the same second still list in order.
            record.setdefault("order", self.clock().isoformat())
            record.update(
                status="RUNNING",
                attempts=max(int(record.get("attempts") or 0), attempt),
                endedAt=None,
            )
            return record

        self._runs().update_step(run, step, started)

    def output_written(self, run: str, step: str, output: StepOutput) -> None:
        self._runs().put_output(run, step, dataclasses.asdict(output))

    def step_finished(
        self,
        run: str,
        step: str,
        status: str,
        error: dict[str, str] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        now = timestamp(self.clock())

        def finished(record: dict[str, Any]) -> dict[str, Any]:
            record.setdefault("startedAt", now)
            record.update(status=status, endedAt=now, error=error, summary=summary or {})
            record["attempts"] = max(int(record.get("attempts") or 0), 1)
            return record

        self._runs().update_step(run, step, finished)

    def register_distribution(
        self, dataset: str, version: str, edition: str, distribution: dict[str, Any]
    ) -> str:
        """Create the distribution unless its id exists; mark the edition with its ``run``.

        Returns the distribution's id. Raises NotFound when the edition does not exist.
        """
        repositories = self.repositories
        run = distribution.get("run")
        path = [dataset, version, edition]
        try:
            created = repositories.distributions.create(
                path, dict(distribution), principal=PIPELINE_PRINCIPAL
            )
            distribution_id = str(created["id"])
        except AlreadyExists:
            distribution_id = str(distribution["id"])
        if run:
            edition_item = repositories.editions.get(path)
            if edition_item.get("run") != run:
                repositories.editions.patch(
                    path, {"run": run}, if_match=None, principal=PIPELINE_PRINCIPAL
                )
        return distribution_id

    def latest_distribution_keys(self, dataset: str) -> list[str]:
        """The object keys of the dataset's newest edition that has distributions.

        The same choice the feed and the publishing job make: an edition without
        distributions (an unused upload URL, a failed run) never hides an older one.
        """
        from catalogue.dcat.selection import publish_item

        try:
            item = publish_item(self.repositories, {"id": dataset})
        except NotFound:
            return []
        return [d["key"] for d in item.distributions if d.get("key")]

    def lookup_access(self, dataset: str, lookups: list[str]) -> dict[str, str]:
        """The access rights of each of ``lookups`` the owner team of ``dataset`` may read."""
        from catalogue.repositories.lookups import owner_team_readable

        return owner_team_readable(self.repositories.store, dataset, lookups)


_recorders: dict[tuple[str, str, str], StoreRecorder] = {}
_recorders_lock = threading.Lock()


def store_recorder(settings: Settings) -> StoreRecorder:
    """The process's recorder for ``settings``' store, opened on its first record."""
    from catalogue.repositories.change_events import configure_source

    # Steps record outside any request: their events take BRYGGE_BASE_URL as source.
    configure_source(settings.base_url)
    cache_key = (settings.backend, str(settings.database_path), settings.dynamodb_table)
    with _recorders_lock:
        recorder = _recorders.get(cache_key)
        if recorder is None:

            def open_settings_store() -> ItemStore:
                from catalogue.store.factory import open_store

                return open_store(settings)

            recorder = StoreRecorder(open_settings_store)
            _recorders[cache_key] = recorder
        return recorder
