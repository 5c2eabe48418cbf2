"""Which datasets the publishing job publishes: every public one, with its latest edition.

Reads the catalogue through its repositories, every page of every list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.domain.errors import InvalidValue
from catalogue.repositories import feed_summaries
from catalogue.repositories.records import resource
from catalogue.store.base import Item
from pipelines.object_keys import parse_object_key

PAGE_SIZE = 100
# Editions are read newest first a few at a time: the newest one nearly always has
# distributions, so reading a whole page of older editions would be wasted.
EDITION_PAGE_SIZE = 4


@dataclass(frozen=True, slots=True)
class PublishItem:
    """One dataset to publish: its metadata and the keys of its latest processed files.

    ``keys`` are object keys under ``processed/green/<dataset>/``; ``distributions`` and
    ``editions`` are the dicts the API returns.
    """

    dataset: Mapping[str, Any]
    distributions: Sequence[Mapping[str, Any]] = ()
    keys: Sequence[str] = ()
    editions: Sequence[Mapping[str, Any]] = ()


def publish_items(repositories: Any, *, page_size: int = PAGE_SIZE) -> Iterator[PublishItem]:
    """Yield a PublishItem per public dataset: the distributions of its latest edition.

    The latest edition is the newest with distributions of the highest version that has one
    (``publish_item``); a public dataset without one is published as metadata only.
    Distribution files are the ``key`` of each distribution when it is a public processed
    key (anything else stays in the lake).
    """
    for dataset in all_items(
        lambda cursor: repositories.datasets.list(
            {"accessRights": "public"}, limit=page_size, cursor=cursor
        )
    ):
        yield publish_item(repositories, dataset, page_size)


def publish_item(
    repositories: Any, dataset: Mapping[str, Any], page_size: int = PAGE_SIZE
) -> PublishItem:
    """The PublishItem of one dataset: its newest edition that has distributions.

    An edition without distributions (an upload URL never used, a run that failed) is never
    published and never hides an older one: versions are tried from the highest, and in each
    the editions from the newest, until one has a distribution. Reads every page of the
    versions and of the chosen edition's distributions, ``page_size`` at a time.
    """
    dataset_id = dataset["id"]
    versions = [
        version["version"]
        for version in all_items(
            lambda cursor: repositories.versions.list([dataset_id], limit=page_size, cursor=cursor)
        )
    ]

    def editions_of(version: str) -> Iterator[dict[str, Any]]:
        return all_items(
            lambda cursor: repositories.editions.list(
                [dataset_id, version],
                limit=min(page_size, EDITION_PAGE_SIZE),
                cursor=cursor,
                parent_known=True,
            )
        )

    return newest_publish_item(repositories, dataset, versions, editions_of, page_size)


def newest_publish_item(
    repositories: Any,
    dataset: Mapping[str, Any],
    versions: Iterable[str],
    editions_of: Callable[[str], Iterable[Mapping[str, Any]]],
    page_size: int = PAGE_SIZE,
) -> PublishItem:
    """``publish_item`` over versions and editions the caller has read (a page showing them).

    ``versions`` are all of the dataset's versions; ``editions_of(version)`` yields a version's
    editions newest first, all of them if asked for enough.
    """
    dataset_id = dataset["id"]
    for version in sorted(versions, key=version_order, reverse=True):
        for edition in editions_of(version):
            path = [dataset_id, version, edition["edition"]]
            distributions = list(
                all_items(
                    # The edition was just listed: no need to read it again.
                    lambda cursor, path=path: repositories.distributions.list(
                        path, limit=page_size, cursor=cursor, parent_known=True
                    )
                )
            )
            if not distributions:
                continue
            keys = [
                d["key"] for d in distributions if _is_public_processed(d.get("key"), dataset_id)
            ]
            return PublishItem(dict(dataset), distributions, keys, [edition])
    return PublishItem(dict(dataset))


def latest_items(repositories: Any, datasets: Sequence[Mapping[str, Any]]) -> list[PublishItem]:
    """``publish_item`` of each of ``datasets``, in order, read through their feed summaries.

    Two or three batch reads for a page of datasets whose summaries are fresh; a dataset
    whose summary is not is worked out by ``publish_item`` and its summary saved.
    """
    store = repositories.store
    summaries = feed_summaries.read(store, datasets)
    wanted = [
        key
        for dataset in datasets
        if feed_summaries.is_fresh(summary := summaries.get(dataset["id"]), dataset)
        for key in feed_summaries.named_keys(dataset["id"], summary)
    ]
    found = {(item["pk"], item["sk"]): item for item in store.get_many(wanted)} if wanted else {}
    items = []
    for dataset in datasets:
        summary = summaries.get(dataset["id"])
        item = None
        if feed_summaries.is_fresh(summary, dataset):
            item = _from_summary(dataset, feed_summaries.named_keys(dataset["id"], summary), found)
        if item is None:
            item = publish_item(repositories, dataset)
            feed_summaries.save(store, dataset, summary, item.editions, item.distributions)
        items.append(item)
    return items


def _from_summary(
    dataset: Mapping[str, Any], named: Sequence[tuple[str, str]], found: Mapping[Any, Item]
) -> PublishItem | None:
    """The PublishItem of the items a summary names; None if one of them is gone."""
    if not named:
        return PublishItem(dict(dataset))
    if any(key not in found for key in named):
        return None
    edition, *distributions = (resource(found[key]) for key in named)
    if not distributions:
        return None
    dataset_id = dataset["id"]
    public = [d["key"] for d in distributions if _is_public_processed(d.get("key"), dataset_id)]
    return PublishItem(dict(dataset), distributions, public, [edition])


def all_items(read_page: Any, cursor: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a paged list from ``cursor``, following ``next_cursor`` to the end."""
    while True:
        page = read_page(cursor)
        yield from page.items
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def version_order(version: str) -> tuple[int, int, str]:
    """Numeric versions in number order ("10" after "9"), other ids after them by name."""
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def _is_public_processed(key: Any, dataset_id: str) -> bool:
    if not isinstance(key, str):
        return False
    try:
        parsed = parse_object_key(key)
    except InvalidValue:
        return False
    return (
        parsed.stage == "processed"
        and parsed.access_rights == "public"
        and parsed.dataset == dataset_id
    )
