"""Batch windows of an event dataset's history: each closed window becomes one edition, once.

A window (events buffered locally, or one object Amazon Data Firehose delivered) is named by
its writer; its item records the edition it became. The item and the edition are written in
one transaction, so a window closed twice (a crash between two steps of a flush, a
duplicated S3 notification) finds its edition instead of making a second one.

Item layout: ``catalogue.store.keys.event_window_pk`` / ``event_window_sk``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from catalogue.domain.errors import AlreadyExists
from catalogue.store import keys
from catalogue.store.base import Create, ItemStore, Op

from .editions import EditionRepository


class EventWindowRepository:
    """The editions the batch windows of event datasets became."""

    def __init__(
        self, store: ItemStore, clock: Callable[[], datetime], editions: EditionRepository
    ) -> None:
        self.store = store
        self.clock = clock
        self.editions = editions

    def edition_of(
        self,
        dataset: Mapping[str, Any],
        version: str,
        window: str,
        edition: Mapping[str, Any],
        *,
        principal: str,
    ) -> str:
        """The id of the edition the window became: made now (with ``edition``'s fields) or
        found, when the window was closed before.

        Raises NotFound for an unknown or deleted dataset or version.
        """
        pk = keys.event_window_pk(dataset["id"], dataset.get("incarnation") or "")
        sk = keys.event_window_sk(version, window)
        found = self.store.get(pk, sk)
        if found is not None:
            return str(found["edition"])

        def marker(edition_id: str) -> list[Op]:
            item = {
                "pk": pk,
                "sk": sk,
                "kind": "event-window",
                "version": version,
                "window": window,
                "edition": edition_id,
            }
            return [Create(item)]

        try:
            made = self.editions.create(
                [dataset["id"], version], dict(edition), principal=principal, also=marker
            )
        except AlreadyExists:
            # Another flush of the same window won the race: its edition is the one.
            found = self.store.get(pk, sk)
            if found is None:
                raise
            return str(found["edition"])
        return str(made["edition"])

    # Schemas ----------------------------------------------------------------------------

    def keep_schema(
        self, dataset: Mapping[str, Any], digest: str, schema: Mapping[str, Any]
    ) -> None:
        """Store a history schema under its digest, once (a second write finds it there)."""
        item = {
            "pk": keys.event_schema_pk(dataset["id"], dataset.get("incarnation") or ""),
            "sk": digest,
            "kind": "event-schema",
            "schema": dict(schema),
        }
        with contextlib.suppress(AlreadyExists):
            self.store.write(Create(item))

    def schema(self, dataset: Mapping[str, Any], digest: str) -> dict[str, Any] | None:
        """The history schema stored under ``digest``; None when there is none."""
        pk = keys.event_schema_pk(dataset["id"], dataset.get("incarnation") or "")
        found = self.store.get(pk, digest)
        return dict(found["schema"]) if found is not None else None
