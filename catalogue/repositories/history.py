"""The audit trail: one append-only entry per change, written in the change's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from catalogue.domain.ids import timestamp
from catalogue.store import keys
from catalogue.store.base import Create, ItemStore, Page, Query

from .records import resource


def history_entry(
    dataset: str,
    *,
    principal: str,
    action: str,
    resource_path: str,
    changes: dict[str, Any],
    now: datetime,
) -> Create:
    """The operation that appends one audit entry for a change to ``dataset``."""
    at = timestamp(now)
    # A microsecond prefix keeps entries of the same second in order; the uuid keeps them unique.
    sort = f"{now.strftime('%Y%m%dT%H%M%S.%f')}#{uuid.uuid4().hex}"
    return Create(
        {
            "pk": keys.history_pk(dataset),
            "sk": sort,
            "kind": "history",
            "at": at,
            "principal": principal,
            "action": action,
            "resource": resource_path,
            "changes": changes,
        }
    )


class HistoryRepository:
    """Reads the audit trail; nothing here edits or deletes it."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def list(self, dataset: str, *, limit: int, cursor: str | None) -> Page:
        """Newest first."""
        page = self.store.query(
            Query(keys.history_pk(dataset), descending=True), limit=limit, cursor=cursor
        )
        items = [{k: v for k, v in resource(item).items() if k != "rev"} for item in page.items]
        return Page(items, page.next_cursor)
