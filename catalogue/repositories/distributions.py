"""An edition's distributions: their keys, random ids, previews."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogue.domain.errors import NotFound
from catalogue.domain.ids import check_distribution_id
from catalogue.store import keys
from catalogue.store.base import ItemStore

from .editions import EditionRepository
from .nested import NestedRepository
from .records import resource


def published_previews(
    store: ItemStore, run: Mapping[str, Any], step: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """The previews of the distributions a run's step published (``summary.distributions``),
    by the published object's key; those withdrawn since, or without a preview, are left
    out (one batch read)."""
    ids = (step.get("summary") or {}).get("distributions") or []
    if not ids or not run.get("edition"):
        return {}
    found = store.get_many(
        [
            (
                keys.dataset_pk(run["dataset"]),
                keys.distribution_sk(run["version"], run["edition"], distribution_id),
            )
            for distribution_id in ids
        ]
    )
    return {
        distribution["key"]: distribution["preview"]
        for distribution in map(resource, found)
        if distribution.get("key") and distribution.get("preview")
    }


class DistributionRepository(NestedRepository):
    kind = "distribution"
    id_field = "id"
    parent_kind = "edition"
    immutable = ("type",)

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], datetime],
        editions: EditionRepository,
        distributions_changed: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(store, clock, distributions_changed)
        self.editions = editions

    def preview(self, path: Sequence[str]) -> dict[str, Any]:
        """The Table Schema, first rows and column statistics publishing stored.

        Raises NotFound for a missing distribution and for one without a preview (not a CSV
        or Parquet file, or published before previews were computed).
        """
        found = self.get(path)
        if not found.get("preview"):
            raise NotFound(f"distribution {self.resource_path(path)} has no preview")
        return {"schema": found.get("schema"), **found["preview"]}

    def sort_key(self, path: Sequence[str]) -> str:
        return keys.distribution_sk(path[1], path[2], path[3])

    def list_prefix(self, parent_path: Sequence[str]) -> str:
        return keys.distribution_sk(parent_path[1], parent_path[2])

    def parent_sort_key(self, parent_path: Sequence[str]) -> str:
        return keys.edition_sk(parent_path[1], parent_path[2])

    def new_ids(self, parent_path: Sequence[str], data: Mapping[str, Any]) -> Iterator[str]:
        if data.get("id"):
            yield check_distribution_id(data["id"])
            return
        yield from (uuid.uuid4().hex[:12] for _ in range(3))

    def resolve(self, path: Sequence[str]) -> list[str]:
        return [*self.editions.resolve(path[:3]), *path[3:]]

    def resolve_parent(self, parent_path: Sequence[str]) -> list[str]:
        return self.editions.resolve(parent_path)
