"""The audit trail: one append-only entry per change, written in the change's transaction.

Each dataset incarnation has its own trail (``keys.audit_pk``), and so has each pipeline
template (``keys.template_audit_pk``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from catalogue.domain.errors import NotFound
from catalogue.store import keys
from catalogue.store.base import Create, Item, ItemStore, Page, Query
from pipelines.timestamps import timestamp

from .records import resource


def dataset_audit_trail(dataset: Mapping[str, Any]) -> str:
    """The audit trail partition of a dataset (item or resource): that of its incarnation."""
    return keys.audit_pk(dataset["id"], dataset.get("incarnation"))


def audit_entry(
    partition: str,
    *,
    principal: str,
    action: str,
    resource_path: str,
    changes: dict[str, Any],
    now: datetime,
) -> Create:
    """The operation that appends one audit entry to the trail ``partition``."""
    at = timestamp(now)
    # A microsecond prefix keeps entries of the same second in order; the uuid keeps them unique.
    sort = f"{now.strftime('%Y%m%dT%H%M%S.%f')}#{uuid.uuid4().hex}"
    return Create(
        {
            "pk": partition,
            "sk": sort,
            "kind": "history",
            "at": at,
            "principal": principal,
            "action": action,
            "resource": resource_path,
            "changes": changes,
        }
    )


class AuditRepository:
    """Reads the audit trail; nothing here edits or deletes it."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def list(self, partition: str, *, limit: int, cursor: str | None) -> Page:
        """The entries of one trail, newest first."""
        page = self.store.query(Query(partition, descending=True), limit=limit, cursor=cursor)
        return Page([_entry(item) for item in page.items], page.next_cursor)

    def for_dataset(
        self, dataset_id: str, *, incarnation: str | None, limit: int, cursor: str | None
    ) -> Page:
        """The trail of the dataset's current incarnation, or of the ``incarnation`` given.

        An incarnation may be a deleted dataset's. Raises NotFound for a dataset that does
        not exist (no ``incarnation`` given) or an incarnation the id never had.
        """
        if incarnation is None:
            item = self.store.get(keys.dataset_pk(dataset_id), keys.DATASET_SK)
            if item is None:
                raise NotFound(f"dataset {dataset_id!r} not found")
            partition = dataset_audit_trail(item)
        elif self.store.get(keys.incarnations_pk(dataset_id), incarnation) is None:
            raise NotFound(f"dataset {dataset_id!r} never had the incarnation {incarnation!r}")
        else:
            partition = keys.audit_pk(dataset_id, incarnation)
        return self.list(partition, limit=limit, cursor=cursor)

    def incarnations(self, dataset_id: str, *, limit: int, cursor: str | None) -> Page:
        """Every incarnation of a dataset id, newest first: when made and when deleted."""
        page = self.store.query(
            Query(keys.incarnations_pk(dataset_id), descending=True), limit=limit, cursor=cursor
        )
        return Page([_entry(item) for item in page.items], page.next_cursor)


def _entry(item: Item) -> dict[str, Any]:
    return {name: value for name, value in resource(item).items() if name != "rev"}
