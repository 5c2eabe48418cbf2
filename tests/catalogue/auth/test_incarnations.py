"""A dataset made again with a deleted one's id starts clean: history, grants, ETags, runs."""

from __future__ import annotations

from tests.catalogue.auth.world import OWNER_TEAM, World

OLD_TITLE = "Salaries of the board"


def make(world: World, caller: str, owner: str, title: str) -> dict:
    response = world.client(caller).post(
        "/datasets",
        json={"id": "reused", "title": title, "accessRights": "non-public", "owner": owner},
    )
    assert response.status_code == 201, response.json
    return {"etag": response.headers["ETag"], "body": response.json}


def live_then_deleted(world: World) -> str:
    """The first ``reused``: edited, granted, run, then deleted; return its last ETag."""
    make(world, "owner", OWNER_TEAM, OLD_TITLE)
    owner = world.client("owner")
    etag = owner.patch("/datasets/reused", json={"description": "secret numbers"}).headers["ETag"]
    world.grant("reused", "user:reader", ["read"])
    editions = "/datasets/reused/versions/1/editions"
    assert owner.post(editions, json={"edition": "20260101T000000"}).status_code == 201
    run = owner.post(
        f"{editions}/20260101T000000/runs",
        json={"input": {"keys": ["raw/red/reused/version=1/edition=20260101T000000/a.csv"]}},
    )
    assert run.status_code == 202, run.json
    assert owner.delete("/datasets/reused?cascade=true").status_code == 204
    return etag


def test_a_dataset_made_again_shows_nothing_of_the_deleted_one(world: World) -> None:
    old_etag = live_then_deleted(world)
    new = make(world, "other_admin", "team:other", "Bus stops")
    other = world.client("other_admin")

    history = other.get("/datasets/reused/history").json["items"]
    assert [entry["action"] for entry in history] == ["create"]
    assert OLD_TITLE not in str(history) and "secret numbers" not in str(history)
    grants = other.get("/datasets/reused/permissions").json["items"]
    assert [grant["principal"] for grant in grants] == ["team:other"]
    assert other.get("/datasets/reused/runs").json["items"] == []
    assert other.get("/datasets/reused/versions/1/editions").json["items"] == []
    # The old reader's grant was of the other incarnation: it confers nothing.
    assert world.client("reader").get("/datasets/reused").status_code == 404
    # ETags of the deleted dataset match nothing of the new one, though both are at r1/r2.
    assert new["etag"] != old_etag
    stale = other.patch("/datasets/reused", json={"title": "x"}, headers={"If-Match": old_etag})
    assert stale.status_code == 412
    assert other.get("/datasets/reused").headers["ETag"] == new["etag"]


def test_site_admins_read_the_history_of_a_deleted_dataset(world: World) -> None:
    live_then_deleted(world)
    make(world, "other_admin", "team:other", "Bus stops")
    admin = world.as_admin()

    incarnations = admin.get("/datasets/reused/incarnations").json["items"]
    assert len(incarnations) == 2
    newest, deleted = incarnations
    assert newest["deleted"] is None and deleted["deleted"] is not None
    old = admin.get(f"/datasets/reused/history?incarnation={deleted['incarnation']}")
    assert old.status_code == 200
    actions = [entry["action"] for entry in old.json["items"]]
    assert actions[0] == "delete" and actions[-1] == "create" and "grant" in actions
    assert OLD_TITLE in str(old.json["items"])
    current = admin.get(f"/datasets/reused/history?incarnation={newest['incarnation']}")
    assert [entry["action"] for entry in current.json["items"]] == ["create"]


def test_only_site_admins_address_incarnations(world: World) -> None:
    live_then_deleted(world)
    make(world, "owner", OWNER_TEAM, "Again")
    incarnation = world.as_admin().get("/datasets/reused/incarnations").json["items"][1]
    owner = world.client("owner")

    assert owner.get("/datasets/reused/incarnations").status_code == 403
    asked = owner.get(f"/datasets/reused/history?incarnation={incarnation['incarnation']}")
    assert asked.status_code == 403
    assert world.client("anonymous").get("/datasets/reused/incarnations").status_code == 401
    unknown = world.as_admin().get("/datasets/reused/history?incarnation=20200101T000000-00000000")
    assert unknown.status_code == 404
    assert world.as_admin().get("/datasets/reused/history?incarnation=x").status_code == 422
