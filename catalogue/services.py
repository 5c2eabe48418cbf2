"""What one application holds: settings, the store (opened on first use), repositories."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from flask import current_app

from catalogue.repositories import Repositories
from catalogue.settings import Settings
from catalogue.store.base import ItemStore

if TYPE_CHECKING:
    from catalogue.repositories.pipeline_templates import PipelineRepository
    from catalogue.runs.event_buffer import EventBuffer
    from catalogue.runs.firehose import FirehoseWriter

    EventHistory = EventBuffer | FirehoseWriter
    from catalogue.runs.service import RunService

# One run service per application, even when two first requests race to make it.
_RUNS_LOCK = threading.RLock()


def utc_now() -> datetime:
    return datetime.now(UTC)


class Services:
    """Per-application state, kept in ``app.extensions["brygge"]``."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: ItemStore | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._store = store
        self._lock = threading.Lock()
        self._history_lock = threading.Lock()

    @property
    def store(self) -> ItemStore:
        # Opened on first use: importing or creating the app touches no file or network.
        if self._store is None:
            with self._lock:
                if self._store is None:
                    from catalogue.store.factory import open_store

                    self._store = open_store(self.settings)
        return self._store

    @cached_property
    def repositories(self) -> Repositories:
        repositories = Repositories(self.store, self.clock, self.settings.site_admins)
        repositories.events.on_accepted = self.append_history
        return repositories

    @cached_property
    def event_history(self) -> EventHistory:
        """Where accepted events go: buffer files (local) or a Firehose stream (aws)."""
        if self.settings.backend == "aws":
            from catalogue.repositories.event_windows import EventWindowRepository
            from catalogue.runs.firehose import FirehoseWriter

            windows = EventWindowRepository(self.store, self.clock, self.repositories.editions)
            return FirehoseWriter(self.settings.events_stream, windows.keep_schema)
        from catalogue.runs.event_buffer import event_buffer

        return event_buffer(self)

    def append_history(
        self, dataset: Mapping[str, Any], version: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Hand accepted events to the dataset's history (made on first use)."""
        with self._history_lock:
            history = self.event_history
        history.append(dataset, version, events)

    @cached_property
    def pipelines(self) -> PipelineRepository:
        """Pipeline templates and dataset pipelines (aws mode: deploys state machines)."""
        from catalogue.runs.templates import pipeline_repository

        return pipeline_repository(self.settings, self.store, self.clock)

    @property
    def runs(self) -> RunService:
        """The run service, made on first use (which resumes nothing: start-up does)."""
        with _RUNS_LOCK:
            if "_runs" not in self.__dict__:
                from catalogue.runs.service import run_service

                self.__dict__["_runs"] = run_service(self)
        return self.__dict__["_runs"]  # type: ignore[no-any-return]


def services() -> Services:
    # The proxy resolved once: each attribute read through it looks the context up again.
    return current_app._get_current_object().extensions["brygge"]  # type: ignore[attr-defined]


def repositories() -> Repositories:
    return services().repositories
