"""How a dataset is indexed: its filter entries, facet values, search keys and orders."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from catalogue.domain import datasets as rules
from catalogue.store import keys
from catalogue.store.base import Item, Predicate
from catalogue.store.ranking import SearchOrder

from .facets import values_of

# Filters that have their own index partition, most selective first: the first one given
# drives the query and the others are checked on its entries.
INDEXED_FILTERS = ("keyword", "theme", "owner", "format", "state", "accessRights")
# Attribute copied into filter entries, so filters combine without reading the datasets.
FILTER_FIELDS = (
    "id",
    "incarnation",
    "owner",
    "accessRights",
    "state",
    "keywords",
    "themes",
    "formats",
)


def _newest_first(item: Item) -> float:
    """A number that sorts newer ``modified`` timestamps first."""
    modified = item.get("modified")
    if not isinstance(modified, str):
        return 0.0
    return -datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp()


# The store's ``find`` order of each ``sort`` (ties by key, that is by id, as below).
FIND_ORDERS = {"relevance": "relevance", "modified": "recency", "title": "title"}


def search_meta(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """What the store's ``find`` needs of a dataset: visibility and the keys of its orders."""
    meta: dict[str, Any] = {
        "access": dataset["accessRights"],
        "recency": _newest_first(dataset),
        "title": str(dataset.get("title", "")).casefold(),
    }
    if dataset["accessRights"] == "non-public":
        # Seen by the callers granted read on this incarnation (Audience.grants).
        meta["grant"] = grant_token(dataset["id"], dataset.get("incarnation"))
    return meta


def grant_token(dataset_id: str, incarnation: str | None) -> str:
    """The ``search_meta`` grant of a non-public dataset's incarnation."""
    return json.dumps([dataset_id, incarnation], separators=(",", ":"))


# Orders of a text search; ids break every remaining tie.
SEARCH_ORDERS = {
    "relevance": SearchOrder(
        "relevance", lambda item, score: [-score, _newest_first(item), item["id"]]
    ),
    "modified": SearchOrder("modified", lambda item, _: [_newest_first(item), item["id"]]),
    "title": SearchOrder(
        "title", lambda item, _: [str(item.get("title", "")).casefold(), item["id"]]
    ),
}


def filter_values(dataset: Mapping[str, Any]) -> dict[str, list[str]]:
    """The values under which a dataset is listed, per indexed filter."""
    return {
        "keyword": sorted({rules.normalise_keyword(k) for k in dataset.get("keywords", [])}),
        "theme": sorted(set(dataset.get("themes", []))),
        "owner": [dataset["owner"]] if dataset.get("owner") else [],
        "state": [dataset.get("state", "active")],
        "accessRights": [dataset["accessRights"]],
        "format": sorted(set(dataset.get("formats", []))),
    }


def exact_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """The exact filters among a list's parameters (q and options such as facets are not)."""
    return {name: filters[name] for name in INDEXED_FILTERS if filters.get(name)}


def normalise_filter(name: str, value: str) -> str:
    """A filter value as the dataset's values are listed (keywords and formats ignore case)."""
    if name == "keyword":
        return rules.normalise_keyword(value)
    if name == "format":
        return rules.normalise_format(value)
    return value


def facet_scope(dataset: Mapping[str, Any]) -> str:
    """The counters a dataset counts in: one set per access class (see repositories/facets)."""
    return f"{keys.DATASET_SCOPE}#{dataset['accessRights']}"


def filter_entry_keys(dataset: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (keys.filter_pk(name, value), dataset["id"])
        for name, values in filter_values(dataset).items()
        for value in values
    }


def filter_entries(dataset: Mapping[str, Any]) -> list[Item]:
    """The filter entries of a dataset: one per indexed filter value, with copied fields."""
    copy = {name: dataset[name] for name in FILTER_FIELDS if name in dataset}
    return [
        {**copy, "pk": pk, "sk": sk, "kind": "filter"}
        for pk, sk in sorted(filter_entry_keys(dataset))
    ]


def matches(filters: Mapping[str, str]) -> Predicate:
    """A predicate true for dataset items and filter entries that pass every filter."""
    wanted = {name: normalise_filter(name, value) for name, value in filters.items()}
    if not wanted:
        return lambda item: True

    def check(item: Item) -> bool:
        # Dataset items carry their values; filter entries have them computed.
        values = values_of(item, filter_values)
        return all(value in values.get(name, ()) for name, value in wanted.items())

    return check
