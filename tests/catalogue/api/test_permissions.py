"""Grants over HTTP: PUT/DELETE, the last admin, team grants, /me and the audit trail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalogue.auth.world import World, build_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = build_world(tmp_path / "home")
    built.create_dataset("d", "non-public")
    yield built
    built.app.extensions["brygge"].store.close()


def test_put_sets_scopes_and_get_lists_them(world) -> None:  # type: ignore[no-untyped-def]
    owner = world.client("owner")
    response = owner.put("/datasets/d/permissions/user:carol", json={"scopes": ["write", "read"]})
    assert response.status_code == 200
    assert response.json == {"dataset": "d", "principal": "user:carol", "scopes": ["read", "write"]}
    listed = owner.get("/datasets/d/permissions").json
    assert {grant["principal"]: grant["scopes"] for grant in listed["items"]} == {
        "team:owners": ["read", "update", "write", "admin"],
        "user:carol": ["read", "write"],
    }


@pytest.mark.parametrize(
    ("principal", "body", "field"),
    [
        ("carol", {"scopes": ["read"]}, "principal"),
        ("group:x", {"scopes": ["read"]}, "principal"),
        ("user:carol", {"scopes": []}, "scopes"),
        ("user:carol", {"scopes": ["delete"]}, "scopes"),
    ],
)
def test_bad_grants_are_422(world, principal, body, field) -> None:  # type: ignore[no-untyped-def]
    response = world.client("owner").put(f"/datasets/d/permissions/{principal}", json=body)
    assert response.status_code == 422
    assert field in str(response.json["errors"])


def test_removing_the_last_admin_is_409_and_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    owner = world.client("owner")
    assert owner.delete("/datasets/d/permissions/team:owners").status_code == 409
    demoted = owner.put("/datasets/d/permissions/team:owners", json={"scopes": ["read"]})
    assert demoted.status_code == 409
    assert "last admin" in demoted.json["message"]
    # With a second admin the owner team may go.
    assert (
        owner.put("/datasets/d/permissions/user:dana", json={"scopes": ["admin"]}).status_code
        == 200
    )
    assert owner.delete("/datasets/d/permissions/team:owners").status_code == 204
    assert owner.get("/datasets/d").status_code == 404  # its members lost their read too
    dana = world.mint("dana", "user:dana")
    assert dana and world.client("dana").get("/datasets/d").status_code == 200
    assert world.client("dana").delete("/datasets/d/permissions/user:dana").status_code == 409


def test_deleting_a_grant_nobody_holds_is_404(world) -> None:  # type: ignore[no-untyped-def]
    response = world.client("owner").delete("/datasets/d/permissions/user:nobody")
    assert response.status_code == 404


def test_a_team_grant_applies_to_every_member_and_only_to_them(world) -> None:  # type: ignore[no-untyped-def]
    world.grant("d", "team:analysts", ["read"])
    world.mint("member", "user:erin", ("team:analysts",))
    world.mint("outsider", "user:finn", ("team:sales",))
    assert world.client("member").get("/datasets/d").status_code == 200
    assert world.client("member").patch("/datasets/d", json={"title": "x"}).status_code == 403
    assert world.client("outsider").get("/datasets/d").status_code == 404


def test_site_admins_may_do_anything_and_are_audited(world) -> None:  # type: ignore[no-untyped-def]
    admin = world.as_admin()
    assert admin.patch("/datasets/d", json={"description": "by root"}).status_code == 200
    assert (
        admin.put("/datasets/d/permissions/user:gus", json={"scopes": ["update"]}).status_code
        == 200
    )
    history = world.client("owner").get("/datasets/d/history").json["items"]
    assert [(entry["action"], entry["principal"]) for entry in history] == [
        ("grant", "user:root"),
        ("update", "user:root"),
        ("create", "user:root"),
    ]
    assert history[0]["resource"] == "/datasets/d/permissions/user:gus"
    assert history[0]["changes"] == {"scopes": {"before": None, "after": ["update"]}}


def test_history_is_paginated_newest_first_and_needs_update(world) -> None:  # type: ignore[no-untyped-def]
    owner = world.client("owner")
    for number in range(5):
        assert owner.patch("/datasets/d", json={"description": f"v{number}"}).status_code == 200
    owner.delete("/datasets/d/permissions/user:nobody")
    seen, cursor = [], None
    while True:
        page = owner.get("/datasets/d/history?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200
        assert len(page.json["items"]) <= 2
        seen.extend(page.json["items"])
        cursor = page.json["next"]
        if cursor is None:
            break
    assert [entry["action"] for entry in seen] == ["update"] * 5 + ["create"]
    assert [entry["changes"]["description"]["after"] for entry in seen[:5]] == [
        "v4",
        "v3",
        "v2",
        "v1",
        "v0",
    ]
    assert set(seen[0]) == {"at", "principal", "action", "resource", "changes"}
    world.grant("d", "user:reader", ["read"])
    assert world.client("reader").get("/datasets/d/history").status_code == 403
    world.grant("d", "user:updater", ["update"])
    assert world.client("updater").get("/datasets/d/history").status_code == 200


def test_me_lists_own_and_team_grants_page_by_page(world) -> None:  # type: ignore[no-untyped-def]
    for number in range(3):
        world.create_dataset(f"team-{number}", "public")
    world.create_dataset("mine", "restricted", owner="team:other")
    world.grant("mine", "user:owner", ["read", "write"])
    owner = world.client("owner")
    items, cursor = [], None
    while True:
        page = owner.get("/me?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200
        body = page.json
        assert body["principal"] == "user:owner"
        assert body["teams"] == ["team:owners"]
        assert len(body["datasets"]["items"]) <= 2
        items.extend(body["datasets"]["items"])
        cursor = body["datasets"]["next"]
        if cursor is None:
            break
    assert [(grant["dataset"], grant["principal"]) for grant in items] == [
        ("mine", "user:owner"),
        ("d", "team:owners"),
        ("team-0", "team:owners"),
        ("team-1", "team:owners"),
        ("team-2", "team:owners"),
    ]
    assert owner.get("/me?cursor=bogus").status_code == 422


def test_me_needs_a_token(world) -> None:  # type: ignore[no-untyped-def]
    response = world.client("anonymous").get("/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_dataset_delete_needs_admin_and_removes_it_from_me(world) -> None:  # type: ignore[no-untyped-def]
    world.grant("d", "user:updater", ["update"])
    assert world.client("updater").delete("/datasets/d").status_code == 403
    assert world.client("owner").delete("/datasets/d").status_code == 204
    assert world.client("owner").get("/me").json["datasets"]["items"] == []
    assert world.client("updater").get("/me").json["datasets"]["items"] == []


def test_changing_the_owner_needs_admin_and_grants_the_new_team_everything(world) -> None:  # type: ignore[no-untyped-def]
    world.grant("d", "user:updater", ["update"])
    updater = world.client("updater")
    assert updater.patch("/datasets/d", json={"owner": "team:other"}).status_code == 403
    assert updater.patch("/datasets/d", json={"title": "Renamed"}).status_code == 200
    other = world.client("other_admin")  # a member of team:other
    assert other.get("/datasets/d").status_code == 404
    assert (
        world.client("owner").patch("/datasets/d", json={"owner": "team:other"}).status_code == 200
    )
    assert other.delete("/datasets/d/permissions/team:owners").status_code == 204
    assert world.client("owner").get("/datasets/d").status_code == 404
    history = other.get("/datasets/d/history").json["items"]
    assert [entry["action"] for entry in history[:3]] == ["revoke", "grant", "update"]
    grant = next(entry for entry in history if entry["action"] == "grant")
    assert grant["resource"] == "/datasets/d/permissions/team:other"
    assert grant["changes"]["scopes"]["after"] == ["read", "update", "write", "admin"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_principal_of_the_path_that_is_not_one_is_422_naming_the_path(
    client, method: str
) -> None:  # type: ignore[no-untyped-def]
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201
    body = {"scopes": ["read"]} if method == "PUT" else None

    answer = client.open("/datasets/air/permissions/nobody", method=method, json=body)

    assert answer.status_code == 422
    # The principal is a path parameter: a client looking for it among the body's fields
    # would find nothing to correct there.
    assert answer.json["errors"] == {
        "path": {"principal": ["must be user:<name>, team:<name> or client:<name>"]}
    }
