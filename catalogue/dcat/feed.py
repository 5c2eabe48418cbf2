"""The DCAT-AP feed's pages: which datasets a page of ``/catalog`` holds, and when they changed.

The feed pages with the store's opaque cursors over the public datasets, in id order.
``previous`` of a page reached through ``next`` is the page before it, and ``last`` holds
the final ``limit`` datasets (it need not line up with the pages ``next`` walks through).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.selection import latest_items, publish_item
from catalogue.dcat.terms import latest_change
from catalogue.store.base import Predicate

if TYPE_CHECKING:
    from catalogue.dcat.selection import PublishItem
    from catalogue.repositories import Repositories

# Datasets examined per feed request at most (each costs six store reads when its feed
# summary is stale, none of its own when fresh): with
# ``modifiedSince`` or many datasets failing the gate, a page may come out short (with a
# ``next``) rather than read the whole partition.
MAX_EXAMINED = 200
# The datasets the feed holds, before the publish gate.
PUBLIC = {"accessRights": "public"}


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed: its datasets in id order and the cursors around it."""

    items: list[PublishItem]
    next_cursor: str | None
    previous_cursor: str | None


def publication_problems(repositories: Repositories, dataset_id: str) -> list[dict[str, str]]:
    """The publish gate's ``{field, reason}`` list for a dataset, distributions included."""
    item = latest_item(repositories, repositories.datasets.get(dataset_id))
    return missing_for_publication(item.dataset, item.distributions)


def feed_page(
    repositories: Repositories, limit: int, cursor: str | None, since: datetime | None
) -> FeedPage:
    """Up to ``limit`` publishable public datasets from ``cursor``, with the cursors around them.

    A ``next`` cursor (or none) reads forwards; a ``previous`` or ``last`` cursor reads the
    datasets before its position, going further back until the page is full. Each store read
    asks for no more than the page still lacks, so the cursor after it is exactly where the
    adjoining page starts. Stops early after MAX_EXAMINED datasets.
    """
    datasets = repositories.datasets
    items: list[PublishItem] = []
    examined = 0
    first = page = datasets.list(PUBLIC, limit=limit, cursor=cursor)
    while True:
        examined += len(page.items)
        chosen = [
            item
            for item in latest_items(repositories, page.items)
            if (since is None or last_change(item) >= since)
            and not missing_for_publication(item.dataset, item.distributions)
        ]
        if page.backwards:
            items[:0] = chosen
            cursor = page.previous_cursor
        else:
            items.extend(chosen)
            cursor = page.next_cursor
        if cursor is None or len(items) >= limit or examined >= MAX_EXAMINED:
            break
        page = datasets.list(PUBLIC, limit=limit - len(items), cursor=cursor)
    if first.backwards:
        return FeedPage(items, first.next_cursor, cursor)
    return FeedPage(items, cursor, first.previous_cursor)


def last_change(item: PublishItem) -> datetime:
    """When the dataset's entry in the feed last changed: its metadata or its latest edition.

    A new edition does not touch the dataset's ``modified``, yet brings new distributions
    that an incremental harvest must not miss.
    """
    return parse_time(latest_change(item.dataset, item.distributions, item.editions) or "")


def latest_item(repositories: Repositories, dataset: Mapping[str, Any]) -> PublishItem:
    """The dataset with the distributions and edition of its latest edition."""
    return publish_item(repositories, dataset)


def visible_sources(
    repositories: Repositories, source_ids: Sequence[str], check: Predicate | None
) -> list[str]:
    """The ids among ``source_ids`` of existing datasets passing ``check`` (None: all)."""
    if not source_ids:
        return []
    found = repositories.datasets.items(source_ids)
    return [item["id"] for item in found if check is None or check(item)]


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time (validated, with a time zone) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
