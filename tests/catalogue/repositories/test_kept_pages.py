"""A page with facet counts asked again is the answer the store kept, shaped once.

``DatasetSearch.list_with_facets`` keeps its page as the caller's ``shape`` made it, with
its counts: asked again with nothing written, neither the store's items nor the shape run
again. By default each caller gets a copy it may change; ``copy=False`` hands over the kept
answer itself, for callers that only write it out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalogue.repositories import Repositories
from catalogue.repositories.facets import Audience
from catalogue.store.base import Item
from tests.catalogue.repositories.test_dataset_bulk import corpus, repositories, seed

EVERYONE = Audience(("public", "restricted", "non-public"))
# A text search, a filtered list and the plain list: the three ways a page is made.
QUERIES = ({"q": "data"}, {"theme": "ENVI"}, {})


@pytest.fixture
def made(tmp_path: Path) -> Iterator[Repositories]:
    found = repositories(tmp_path / "home")
    seed(found, corpus(40), bulk=True)
    yield found
    found.store.close()


class CountingShape:
    """A page's shape that counts the items it shaped."""

    def __init__(self) -> None:
        self.shaped = 0

    def __call__(self, item: Item) -> dict[str, Any]:
        self.shaped += 1
        return {"id": item["id"], "title": item["title"], "keywords": list(item["keywords"])}


def page_of(made: Repositories, filters: dict[str, str], shape: CountingShape, **options: Any):  # type: ignore[no-untyped-def]
    return made.datasets.list_with_facets(
        dict(filters), limit=10, cursor=None, audience=EVERYONE, shape=shape, **options
    )


@pytest.mark.parametrize("filters", QUERIES, ids=("q", "filter", "plain"))
def test_a_page_asked_again_is_not_shaped_again(made: Repositories, filters: dict) -> None:
    shape = CountingShape()
    first, first_facets = page_of(made, filters, shape)
    shaped = shape.shaped
    assert shaped == len(first.items) > 0
    again, again_facets = page_of(made, filters, shape)
    assert shape.shaped == shaped
    assert again.items == first.items and again_facets == first_facets


@pytest.mark.parametrize("filters", QUERIES, ids=("q", "filter", "plain"))
def test_a_kept_page_is_copied_unless_the_caller_only_reads_it(
    made: Repositories, filters: dict
) -> None:
    shape = CountingShape()
    first, facets = page_of(made, filters, shape)
    expected = [dict(item, keywords=list(item["keywords"])) for item in first.items]
    first.items[0]["keywords"].append("changed")
    first.items[0]["title"] = "changed"
    facets.values["theme"].clear()
    copied, copied_facets = page_of(made, filters, shape)
    assert copied.items == expected
    assert copied_facets.values["theme"]
    shared, _ = page_of(made, filters, shape, copy=False)
    assert shared.items == expected
    assert page_of(made, filters, shape, copy=False)[0].items[0] is shared.items[0]


def test_a_write_shows_in_the_next_page(made: Repositories) -> None:
    shape = CountingShape()
    before, _ = page_of(made, {"q": "data"}, shape, copy=False)
    dataset_id = before.items[0]["id"]
    made.datasets.patch(dataset_id, {"title": "Renamed data"}, if_match=None, principal="user:seed")
    after, _ = page_of(made, {"q": "data"}, shape, copy=False)
    assert {item["id"]: item["title"] for item in after.items}[dataset_id] == "Renamed data"
