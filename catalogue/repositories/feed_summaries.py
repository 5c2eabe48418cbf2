"""Feed summaries: which edition and distributions of a dataset ``/catalog`` shows.

Finding a dataset's newest edition with distributions takes a query of its versions, of
their editions and of the chosen edition's distributions, each after a read of the parent:
about six store calls per dataset, three hundred for a feed page of 50. The summary item
(``pk = dataset#<id>``, ``sk = feed``) names the version, edition and distribution ids, so a
page reads the summaries and then the items they name in two or three batch reads.

The summary is a cache that cannot lie: every write that can change the answer (a
distribution created or deleted, an edition or version deleted) marks it stale in its own
transaction; a read that finds it stale, missing, of another incarnation or naming an item
that is gone works the answer out the long way and saves it only if no write marked it stale
meanwhile (the save is conditional on the revision read).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.store import keys
from catalogue.store.base import Create, Item, ItemStore, Put, Replace

Key = tuple[str, str]


def mark_stale(dataset_id: str) -> Put:
    """The write that makes the next feed read work the dataset's summary out again."""
    return Put({"pk": keys.dataset_pk(dataset_id), "sk": keys.FEED_SK, "kind": "feed-summary"})


def read(store: ItemStore, datasets: Sequence[Mapping[str, Any]]) -> dict[str, Item]:
    """The stored summaries of ``datasets`` by dataset id (one batch read)."""
    found = store.get_many([(keys.dataset_pk(d["id"]), keys.FEED_SK) for d in datasets])
    return {item["pk"].removeprefix(keys.dataset_pk("")): item for item in found}


def is_fresh(summary: Mapping[str, Any] | None, dataset: Mapping[str, Any]) -> bool:
    """Whether ``summary`` was worked out for this incarnation and not marked stale since."""
    return (
        summary is not None
        and "version" in summary
        and summary.get("incarnation") == dataset.get("incarnation")
    )


def named_keys(dataset_id: str, summary: Mapping[str, Any]) -> list[Key]:
    """The keys of the edition and distributions a fresh summary names (none: no edition)."""
    version, edition = summary["version"], summary["edition"]
    if version is None:
        return []
    pk = keys.dataset_pk(dataset_id)
    return [
        (pk, keys.edition_sk(version, edition)),
        *((pk, keys.distribution_sk(version, edition, d)) for d in summary["distributions"]),
    ]


def save(
    store: ItemStore,
    dataset: Mapping[str, Any],
    read_summary: Mapping[str, Any] | None,
    editions: Sequence[Mapping[str, Any]],
    distributions: Sequence[Mapping[str, Any]],
) -> None:
    """Store the summary worked out from what was read, unless it changed since ``read_summary``.

    ``editions`` is the chosen edition (or nothing); ``distributions`` are its distributions.
    A save that loses to a write marking the summary stale is dropped: the next read tries.
    """
    edition = editions[0] if editions else None
    item = {
        "pk": keys.dataset_pk(dataset["id"]),
        "sk": keys.FEED_SK,
        "kind": "feed-summary",
        "incarnation": dataset.get("incarnation"),
        "version": edition["version"] if edition else None,
        "edition": edition["edition"] if edition else None,
        "distributions": [d["id"] for d in distributions],
    }
    op = Create(item) if read_summary is None else Replace(item, rev=read_summary["rev"])
    with contextlib.suppress(AlreadyExists, NotFound, PreconditionFailed):
        store.write(op)
