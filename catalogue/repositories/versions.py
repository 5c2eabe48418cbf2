"""A dataset's versions: their keys and how a new version number is chosen."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.ids import check_version_id, next_version_id
from catalogue.store import keys
from catalogue.store.base import Query, query_all

from .nested import NestedRepository


class VersionRepository(NestedRepository):
    kind = "version"
    id_field = "version"
    parent_kind = "dataset"

    def sort_key(self, path: Sequence[str]) -> str:
        return keys.version_sk(path[1])

    def list_prefix(self, parent_path: Sequence[str]) -> str:
        return "version#"

    def parent_sort_key(self, parent_path: Sequence[str]) -> str:
        return keys.DATASET_SK

    def new_ids(self, parent_path: Sequence[str], data: Mapping[str, Any]) -> Iterator[str]:
        if data.get("version"):
            yield check_version_id(str(data["version"]))
            return
        existing = [
            item["version"]
            for item in query_all(
                self.store, Query(keys.dataset_pk(parent_path[0]), prefix="version#")
            )
        ]
        first = int(next_version_id(existing))
        yield from (str(number) for number in range(first, first + 5))

    def descendant_prefixes(self, path: Sequence[str]) -> list[str]:
        return [keys.distribution_sk(path[1], "").removesuffix("#"), keys.edition_sk(path[1])]
