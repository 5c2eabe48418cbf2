"""The grant repository on every backend: racing changes cannot remove the last admin."""

from __future__ import annotations

from typing import Any

import pytest

from catalogue.domain.errors import Conflict
from catalogue.repositories.permissions import PermissionRepository
from catalogue.store import keys
from catalogue.store.base import Create, Query
from tests.fixtures.app import Clock


class RacingStore:
    """A store that lets another writer act right after the head is first read."""

    def __init__(self, store: Any, race: Any) -> None:
        self.store = store
        self.race = race

    def get(self, pk: str, sk: str) -> Any:
        item = self.store.get(pk, sk)
        if sk == keys.PERMISSIONS_HEAD_SK and self.race is not None:
            race, self.race = self.race, None
            race()
        return item

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def dataset_item(dataset_id: str) -> Create:
    """A bare dataset (of no incarnation): grant changes are conditional on it."""
    return Create({"pk": keys.dataset_pk(dataset_id), "sk": keys.DATASET_SK, "id": dataset_id})


def test_two_admins_removing_each_other_at_once_leave_one(store) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    grants = PermissionRepository(store, clock)
    store.transact([dataset_item("d"), *grants.owner_ops({"id": "d"}, "team:a")])
    grants.put("d", "user:b", ["admin"], principal="user:b")

    def other_admin_removes_b() -> None:
        grants.delete("d", "user:b", principal="team:a")

    racing = PermissionRepository(RacingStore(store, other_admin_removes_b), clock)
    # The lost race is tried again on the new state, where team:a is the last admin.
    with pytest.raises(Conflict):
        racing.delete("d", "team:a", principal="user:b")

    head = store.get(keys.permissions_pk("d"), keys.PERMISSIONS_HEAD_SK)
    assert head["admins"] == ["team:a"]
    remaining = store.query(Query(keys.permissions_pk("d"), prefix=keys.GRANT_PREFIX), limit=10)
    assert [grant["principal"] for grant in remaining.items] == ["team:a"]
    with pytest.raises(Conflict):
        grants.delete("d", "team:a", principal="team:a")


def test_grants_are_mirrored_under_the_principal(store) -> None:  # type: ignore[no-untyped-def]
    grants = PermissionRepository(store, Clock())
    store.transact([dataset_item("d"), *grants.owner_ops({"id": "d"}, "team:a")])
    grants.put("d", "user:b", ["write", "read"], principal="team:a")
    assert grants.scopes_of({"id": "d"}, ["user:b", "team:z"]) == {"read", "write"}
    assert grants.for_principals(["user:b"], limit=10, cursor=None).items == [
        {"dataset": "d", "principal": "user:b", "scopes": ["read", "write"]}
    ]
    grants.delete("d", "user:b", principal="team:a")
    assert grants.for_principals(["user:b"], limit=10, cursor=None).items == []
    assert grants.scopes_of({"id": "d"}, ["user:b"]) == set()
