"""The feed reads each dataset's latest edition through a summary that writes keep honest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from catalogue.dcat.feed import feed_page
from catalogue.dcat.selection import latest_items, publish_item
from catalogue.repositories import Repositories
from catalogue.store import keys
from catalogue.store.base import ItemStore
from pipelines.objects import LocalObjectStore
from tests.catalogue.dcat.test_selection import PRINCIPAL, add_edition, create_dataset


def shown(repositories: Repositories, dataset_id: str) -> tuple[list[str], list[str]]:
    """The editions and keys the feed shows for a dataset, checked against the long way."""
    dataset = repositories.datasets.get(dataset_id)
    [item] = latest_items(repositories, [dataset])
    expected = publish_item(repositories, dataset)
    assert (item.editions, item.distributions, item.keys) == (
        expected.editions,
        expected.distributions,
        expected.keys,
    )
    return [edition["edition"] for edition in item.editions], list(item.keys)


def catalogue(store: ItemStore, tmp_path: Path) -> tuple[Repositories, LocalObjectStore]:
    clock = lambda: datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)  # noqa: E731 - a fixed clock
    return Repositories(store, clock), LocalObjectStore(tmp_path / "objects")


def test_every_change_that_moves_the_latest_edition_reaches_the_feed(
    store: ItemStore, tmp_path: Path
) -> None:
    repositories, objects = catalogue(store, tmp_path)
    create_dataset(repositories, "air")
    assert shown(repositories, "air") == ([], [])
    first = add_edition(repositories, objects, "air", "20240101T000000", b"a\n1\n")
    assert shown(repositories, "air") == (["20240101T000000"], [first])
    # Read again from the saved summary: the same answer.
    assert shown(repositories, "air") == (["20240101T000000"], [first])

    repositories.editions.create(["air", "1"], {"edition": "20250101T000000"}, principal=PRINCIPAL)
    assert shown(repositories, "air") == (["20240101T000000"], [first])
    second = add_edition(repositories, objects, "air", "20250202T000000", b"a\n2\n")
    assert shown(repositories, "air") == (["20250202T000000"], [second])

    path = ["air", "1", "20250202T000000", "d1"]
    repositories.distributions.delete(path, if_match=None, cascade=False, principal=PRINCIPAL)
    assert shown(repositories, "air") == (["20240101T000000"], [first])

    repositories.versions.create(["air"], {"version": "2"}, principal=PRINCIPAL)
    third = add_edition(repositories, objects, "air", "20230303T000000", b"b\n", version="2")
    assert shown(repositories, "air") == (["20230303T000000"], [third])
    repositories.versions.delete(["air", "2"], if_match=None, cascade=True, principal=PRINCIPAL)
    assert shown(repositories, "air") == (["20240101T000000"], [first])

    edition = ["air", "1", "20240101T000000"]
    repositories.editions.delete(edition, if_match=None, cascade=True, principal=PRINCIPAL)
    assert shown(repositories, "air") == ([], [])


def test_a_dataset_made_again_does_not_inherit_the_summary(
    store: ItemStore, tmp_path: Path
) -> None:
    repositories, objects = catalogue(store, tmp_path)
    create_dataset(repositories, "air")
    add_edition(repositories, objects, "air", "20240101T000000", b"a\n1\n")
    assert shown(repositories, "air")[0] == ["20240101T000000"]

    repositories.datasets.delete("air", if_match=None, cascade=True, principal=PRINCIPAL)
    assert store.get(keys.dataset_pk("air"), keys.FEED_SK) is None
    create_dataset(repositories, "air")

    assert shown(repositories, "air") == ([], [])


def test_a_feed_page_saves_the_summaries_it_worked_out(store: ItemStore, tmp_path: Path) -> None:
    repositories, objects = catalogue(store, tmp_path)
    for dataset_id in ("air", "water"):
        create_dataset(repositories, dataset_id)
        add_edition(repositories, objects, dataset_id, "20240101T000000", b"a\n1\n")

    page = feed_page(repositories, 10, None, None)

    assert [item.dataset["id"] for item in page.items] == ["air", "water"]
    for dataset_id in ("air", "water"):
        summary = store.get(keys.dataset_pk(dataset_id), keys.FEED_SK)
        assert summary is not None
        assert (summary["edition"], summary["distributions"]) == ("20240101T000000", ["d1"])
