"""Facet counts of a dataset list: how many visible datasets hold each value of each facet.

Counting is disjunctive, as search portals do it: the counts of a facet are taken over the
datasets matching the query and every *other* filter, so choosing a second value of the
same facet shows how many it would add. A dataset failing exactly one filter counts only
in that filter's facet; one failing two counts nowhere.

Where the counts come from (``DatasetRepository.list_with_facets`` picks):

- no query and no filter: the store's facet counters, kept per access class in the
  transaction of every dataset write (``facet_scope = "dataset#<accessRights>"``), added up
  over the classes the caller sees whole, plus the non-public datasets granted to the
  caller, read one by one (``Audience.granted``);
- a query: the store's ``find``, which counts the matches it ranks (in SQL on SQLite);
- filters without a query: the filter partitions the list reads from.

At most MAX_EXACT visible datasets are counted; past that the counts are those of the first
MAX_EXACT read (in the store's index order) and the answer says ``approximate``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalogue.store.base import Item
from catalogue.store.finding import top as top_values

FACETS = ("owner", "theme", "keyword", "accessRights", "state", "format")
TOP_VALUES = 20
MAX_EXACT = 10_000


@dataclass
class Audience:
    """Which datasets a caller may see, decided without reading anything per dataset.

    ``classes`` are the access rights the caller sees whole (public; restricted when signed
    in; all three for site admins). ``granted`` loads, once, the non-public datasets the
    caller holds ``read`` on: dataset id -> the incarnations the grants belong to.
    """

    classes: tuple[str, ...]
    load_granted: Callable[[], Mapping[str, frozenset[str | None]]] | None = None
    _granted: Mapping[str, frozenset[str | None]] | None = field(default=None, repr=False)

    @property
    def granted(self) -> Mapping[str, frozenset[str | None]]:
        if self._granted is None:
            self._granted = {} if self.load_granted is None else self.load_granted()
        return self._granted

    def sees(self, item: Mapping[str, Any]) -> bool:
        """Whether the caller may see the dataset of ``item`` (its item or filter entry)."""
        access_rights = item.get("accessRights", "non-public")
        if access_rights in self.classes:
            return True
        if access_rights != "non-public":
            return False
        return item.get("incarnation") in self.granted.get(item.get("id", ""), ())


@dataclass(frozen=True, slots=True)
class Facets:
    """The facet counts of a list: top values per facet, datasets matched, whether estimated."""

    values: dict[str, list[dict[str, Any]]]
    total: int
    approximate: bool


def merge(*sources: Mapping[str, Mapping[str, int]]) -> dict[str, Counter[str]]:
    """Add up counts per facet name and value."""
    total: dict[str, Counter[str]] = {}
    for source in sources:
        for name, counts in source.items():
            total.setdefault(name, Counter()).update(counts)
    return total


def top(counts: Mapping[str, Mapping[str, int]]) -> dict[str, list[dict[str, Any]]]:
    """The TOP_VALUES values of every facet with the most datasets (ties by value)."""
    return {
        name: [
            {"value": value, "count": count}
            for value, count in top_values(counts.get(name, {}), TOP_VALUES).items()
        ]
        for name in FACETS
    }


def values_of(item: Item, compute: Callable[[Item], Mapping[str, Sequence[str]]]) -> Any:
    """The facet values of a dataset item (stored on it) or a filter entry (computed)."""
    stored = item.get("facet_values")
    return stored if isinstance(stored, Mapping) else compute(item)
