"""Dataset rules: access levels, states, which fields are immutable, what is searchable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACCESS_RIGHTS = ("public", "restricted", "non-public")
STATES = ("active", "deprecated")
SOURCE_TYPES = ("file", "api", "none")
IMMUTABLE_FIELDS = ("id", "accessRights")
# Fields the server owns: a client may not set them.
SERVER_FIELDS = ("created", "modified")
# Each keyword and theme is an index entry written in the dataset's transaction.
MAX_KEYWORDS = 20
MAX_THEMES = 13
FIRST_VERSION = "1"


def search_fields(dataset: Mapping[str, Any]) -> list[str]:
    """The fields free-text search looks at, most weighty first: title, keywords, description.

    Title and keywords come first, so they are always indexed.
    """
    keywords = " ".join(dataset.get("keywords", []))
    return [dataset.get("title", ""), keywords, dataset.get("description", "")]


def normalise_keyword(keyword: str) -> str:
    """Keywords match case-insensitively and ignore surrounding space."""
    return " ".join(keyword.casefold().split())


def normalise_format(format_name: str) -> str:
    """A distribution format as datasets are listed and counted under it: CSV, PARQUET."""
    return " ".join(format_name.upper().split())


def dataset_formats(distributions: Iterable[Mapping[str, Any]]) -> list[str]:
    """The formats of a dataset: those its distributions name, normalised, sorted, once each."""
    found = {normalise_format(str(item["format"])) for item in distributions if item.get("format")}
    return sorted(name for name in found if name)
