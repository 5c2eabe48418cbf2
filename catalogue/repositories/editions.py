"""A version's editions: their keys, ids from the clock, and ``latest``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import NotFound
from catalogue.domain.ids import LATEST, check_edition_id, edition_id, next_edition_id
from catalogue.store import keys
from catalogue.store.base import Query

from .nested import NestedRepository

# Tries at a free edition id of one second: each round of racing writers lets at least one
# through, so this many concurrent creates within one second all succeed.
MAX_EDITION_ATTEMPTS = 200


class EditionRepository(NestedRepository):
    kind = "edition"
    id_field = "edition"
    parent_kind = "version"

    def sort_key(self, path: Sequence[str]) -> str:
        return keys.edition_sk(path[1], path[2])

    def list_prefix(self, parent_path: Sequence[str]) -> str:
        return keys.edition_sk(parent_path[1])

    def parent_sort_key(self, parent_path: Sequence[str]) -> str:
        return keys.version_sk(parent_path[1])

    def new_ids(self, parent_path: Sequence[str], data: Mapping[str, Any]) -> Iterator[str]:
        """The second's id, then the id after the newest of that second (``next_edition_id``)."""
        if data.get("edition"):
            yield check_edition_id(data["edition"])
            return
        second = edition_id(self.clock())
        yield second
        query = Query(
            keys.dataset_pk(parent_path[0]),
            prefix=keys.edition_sk(parent_path[1], second),
            descending=True,
        )
        for attempt in range(MAX_EDITION_ATTEMPTS):
            newest = self.store.query(query, limit=1).items
            latest = str(newest[0]["edition"]) if newest else None
            # Writers that lost a race spread over the next few numbers instead of all
            # trying the same one again.
            yield next_edition_id(second, latest, secrets.randbelow(attempt + 1))

    def resolve(self, path: Sequence[str]) -> list[str]:
        path = list(path)
        if len(path) > 2 and path[2] == LATEST:
            path[2] = self.latest_id(path[:2])
        return path

    def latest_id(self, version_path: Sequence[str]) -> str:
        """The newest edition of a version; raises NotFound when it has none."""
        query = Query(
            keys.dataset_pk(version_path[0]),
            prefix=keys.edition_sk(version_path[1]),
            descending=True,
        )
        page = self.store.query(query, limit=1)
        if not page.items:
            raise NotFound(f"version {self.resource_path(version_path)} has no editions")
        return str(page.items[0]["edition"])

    def descendant_prefixes(self, path: Sequence[str]) -> list[str]:
        return [keys.distribution_sk(path[1], path[2])]
