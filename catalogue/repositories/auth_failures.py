"""Failed authentications, one item per failure, so every process of a deployment counts them.

A failure of a key (``address:<client>``, ``token:<id>``; see ``catalogue.auth.throttle``)
is its own item, made by a conditional create under a sort key of its time and a random
suffix: failures from two processes at once are two items, and both count, with no read
before the write. Beside them, the key's ``recent`` item holds the time of its newest
failure (``PutNewer``: a late write of an older time never wins), so asking about a key
that has not failed within the window is one read by key, which may take another item
along (a request's API token: one round trip for both); only a key that has failed reads
its failures, newest first, stopping after the number the limit needs.

Each item carries ``expiresAt`` (epoch seconds; DynamoDB's time to live deletes it some
time after); a failure older than the window asked about is not counted, on every backend,
whether or not it was deleted yet.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence

from catalogue.store import keys
from catalogue.store.base import Create, Item, ItemStore, Op, PutNewer, Query


class AuthFailures:
    """The recent failed authentications of one store."""

    def __init__(self, store: ItemStore) -> None:
        self.store = store

    def newest(self, key: str, count: int, since: float) -> list[float]:
        """The times (epoch seconds) of ``key``'s newest ``count`` failures after ``since``,
        newest first."""
        recent = self.store.get(*self._recent_key(key))
        return self._newest(key, recent, count, since)

    def newest_reading(
        self, key: str, count: int, since: float, other: tuple[str, str]
    ) -> tuple[list[float], Item | None]:
        """``newest(key, count, since)`` and the item ``other`` (or None), read by key in one
        round trip: a request's credential is read with its client's failures."""
        recent_key = self._recent_key(key)
        found = {
            (item["pk"], item["sk"]): item for item in self.store.get_many([recent_key, other])
        }
        return self._newest(key, found.get(recent_key), count, since), found.get(other)

    def _newest(self, key: str, recent: Item | None, count: int, since: float) -> list[float]:
        if recent is None or recent["at"] <= since:
            return []
        query = Query(keys.auth_failures_pk(key), prefix=keys.AUTH_FAILURE_PREFIX, descending=True)
        page = self.store.query(query, limit=count)
        return [item["at"] for item in page.items if item["at"] > since]

    @staticmethod
    def _recent_key(key: str) -> tuple[str, str]:
        return keys.auth_failures_pk(key), keys.AUTH_FAILURES_RECENT_SK

    def record(self, failure_keys: Sequence[str], at: float, kept_s: float) -> None:
        """Count one failure at ``at`` against each key, kept ``kept_s`` seconds."""
        expires = math.ceil(at + kept_s)
        failures: list[Op] = []
        recents: list[Op] = []
        for key in failure_keys:
            item = {"pk": keys.auth_failures_pk(key), "at": at, "expiresAt": expires}
            failure_sk = keys.auth_failure_sk(at, secrets.token_hex(8))
            failures.append(Create({**item, "sk": failure_sk, "kind": "auth-failure"}))
            recent = {**item, "sk": keys.AUTH_FAILURES_RECENT_SK, "kind": "auth-failures"}
            recents.append(PutNewer(recent, "at"))
        # The failures first: a reader that finds the newer time finds its failure too. A
        # refused PutNewer is a newer failure written by another process, which stays.
        self.store.write_each([*failures, *recents])
