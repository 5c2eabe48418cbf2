"""The owner team's grant is written in the dataset's own transaction, on every backend."""

from __future__ import annotations

import pytest

from catalogue.store import keys
from catalogue.store.base import Create, Delete, Query

DATASET = {
    "title": "Bridge openings",
    "accessRights": "public",
    "owner": "team:harbour",
    "keywords": ["bridges"],
    "themes": ["TRAN"],
}


def leftovers(store, dataset_id: str) -> list:  # type: ignore[no-untyped-def]
    """Every item a create of ``dataset_id`` could have written."""
    found = []
    for partition in (
        keys.dataset_pk(dataset_id),
        # The incarnation record is written with the dataset's first history entry.
        keys.incarnations_pk(dataset_id),
        keys.filter_pk("keyword", "bridges"),
        keys.filter_pk("theme", "TRAN"),
        keys.filter_pk("owner", "team:harbour"),
        keys.filter_pk("state", "active"),
        keys.filter_pk("accessRights", "public"),
        keys.grants_pk("team:harbour"),
    ):
        found.extend(store.query(Query(partition), limit=100).items)
    found.extend(store.query(Query(keys.ALL_DATASETS, index=keys.GSI1), limit=100).items)
    found.extend(store.search(keys.DATASET_SCOPE, "bridge openings", limit=100).items)
    head = store.get(keys.permissions_pk(dataset_id), keys.PERMISSIONS_HEAD_SK)
    return found + ([head] if head else [])


@pytest.mark.parametrize("given_id", [True, False], ids=["given-id", "derived-id"])
def test_a_create_whose_owner_grant_fails_leaves_nothing_behind(  # type: ignore[no-untyped-def]
    app_on_store, store, given_id
) -> None:
    # A stale grant in the way makes the owner grant's conditional create fail inside the
    # dataset's transaction.
    blocker = {
        "pk": keys.permissions_pk("bridge-openings"),
        "sk": keys.grant_sk("team:harbour"),
        "kind": "grant",
        "dataset": "bridge-openings",
        "principal": "team:harbour",
        "scopes": ["read"],
    }
    store.write(Create(blocker))
    client = app_on_store.test_client()
    body = {**DATASET, "id": "bridge-openings"} if given_id else DATASET

    response = client.post("/datasets", json=body)

    assert response.status_code == 409
    assert leftovers(store, "bridge-openings") == []
    assert client.get("/datasets/bridge-openings").status_code == 404
    assert client.get("/datasets?q=bridge").json["items"] == []
    kept = store.get(blocker["pk"], blocker["sk"])
    assert kept is not None and kept["scopes"] == ["read"]

    # With the blocker gone the same request succeeds and writes dataset and grant together.
    store.write(Delete(blocker["pk"], blocker["sk"]))
    assert client.post("/datasets", json=body).status_code == 201
    grant = store.get(keys.permissions_pk("bridge-openings"), keys.grant_sk("team:harbour"))
    assert grant["scopes"] == ["read", "update", "write", "admin"]
    assert store.get(keys.grants_pk("team:harbour"), "bridge-openings") is not None


def test_deleting_a_dataset_deletes_its_grants_so_a_new_one_inherits_none(  # type: ignore[no-untyped-def]
    app_on_store, store
) -> None:
    client = app_on_store.test_client()
    body = {**DATASET, "id": "bridge-openings"}
    assert client.post("/datasets", json=body).status_code == 201
    granted = client.put(
        "/datasets/bridge-openings/permissions/user:carol", json={"scopes": ["write"]}
    )
    assert granted.status_code == 200
    assert client.delete("/datasets/bridge-openings").status_code == 204
    assert store.query(Query(keys.permissions_pk("bridge-openings")), limit=10).items == []
    assert store.query(Query(keys.grants_pk("user:carol")), limit=10).items == []
    assert client.post("/datasets", json=body).status_code == 201
    listed = client.get("/datasets/bridge-openings/permissions").json["items"]
    assert [grant["principal"] for grant in listed] == ["team:harbour"]
