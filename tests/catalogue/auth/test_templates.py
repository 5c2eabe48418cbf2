"""Pipeline templates have an owner team: only it (or site admins) changes them, audited."""

from __future__ import annotations

from catalogue.store import keys
from catalogue.store.base import Query
from tests.catalogue.api.test_pipeline_templates import definition
from tests.catalogue.auth.world import OWNER_TEAM, World

TEMPLATE = {
    "id": "shared",
    "title": "Shared",
    "definition": definition("csv_to_parquet", "publish"),
}
VERSION_2 = {"title": "Shared", "definition": definition("publish")}


def make_template(world: World, caller: str = "owner", **changes: object) -> dict:
    response = world.client(caller).post("/pipelines", json={**TEMPLATE, **changes})
    assert response.status_code == 201, response.json
    return response.json


def test_the_callers_only_team_owns_a_template_by_default(world: World) -> None:
    assert make_template(world)["owner"] == OWNER_TEAM
    named = world.client("other_admin").post(
        "/pipelines", json={**TEMPLATE, "id": "theirs", "owner": OWNER_TEAM}
    )
    assert named.status_code == 403
    teamless = world.client("reader").post("/pipelines", json={**TEMPLATE, "id": "mine"})
    assert teamless.status_code == 422
    assert "owner" in teamless.json["errors"]["json"]


def test_only_the_owner_team_or_site_admins_change_or_delete_a_template(world: World) -> None:
    make_template(world)
    other = world.client("other_admin")

    assert other.put("/pipelines/shared", json=VERSION_2).status_code == 403
    assert (
        other.put("/pipelines/shared", json={**VERSION_2, "owner": "team:other"}).status_code == 403
    )
    assert other.delete("/pipelines/shared").status_code == 403
    assert other.get("/pipelines/shared/history").status_code == 403
    assert world.client("anonymous").put("/pipelines/shared", json=VERSION_2).status_code == 401
    assert world.client("anonymous").delete("/pipelines/shared").status_code == 401
    assert world.client("anonymous").get("/pipelines/shared").json["version"] == 1

    assert world.client("owner").put("/pipelines/shared", json=VERSION_2).status_code == 200
    handed = world.as_admin().put("/pipelines/shared", json={**VERSION_2, "owner": "team:other"})
    assert handed.status_code == 200 and handed.json["owner"] == "team:other"
    assert world.client("owner").delete("/pipelines/shared").status_code == 403
    assert other.delete("/pipelines/shared").status_code == 204


def test_every_template_change_is_audited(world: World) -> None:
    make_template(world)
    incarnation = world.app.extensions["brygge"].pipelines.get("shared")["incarnation"]
    owner = world.client("owner")
    assert owner.put("/pipelines/shared", json=VERSION_2).status_code == 200

    history = owner.get("/pipelines/shared/history").json["items"]
    assert [(entry["action"], entry["principal"]) for entry in history] == [
        ("update", "user:owner"),
        ("create", "user:owner"),
    ]
    assert history[0]["changes"]["version"] == {"before": 1, "after": 2}
    assert "definition" in history[0]["changes"]

    assert world.as_admin().delete("/pipelines/shared").status_code == 204
    store = world.app.extensions["brygge"].store
    trail = store.query(Query(keys.template_audit_pk("shared", incarnation)), limit=10).items
    assert [(entry["action"], entry["principal"]) for entry in trail][-1] == ("delete", "user:root")
    # A template made again with the id starts a trail of its own.
    make_template(world)
    assert [entry["action"] for entry in owner.get("/pipelines/shared/history").json["items"]] == [
        "create"
    ]


def test_a_dataset_keeps_the_version_it_pinned_until_its_owner_names_another(
    world: World,
) -> None:
    make_template(world, "other_admin")
    world.create_dataset("pinned", "public")
    owner = world.client("owner")
    pipeline = "/datasets/pinned/pipeline"
    assert owner.put(pipeline, json={"template": "shared"}).json["version"] == 1

    # The template's team publishes version 2: the dataset does not follow on its own...
    assert world.client("other_admin").put("/pipelines/shared", json=VERSION_2).status_code == 200
    assert owner.get(pipeline).json["version"] == 1
    # ... not even when its owner sets the pipeline again without naming a version.
    again = owner.put(
        pipeline, json={"template": "shared", "taskConfig": {"CsvToParquet": {"delimiter": ";"}}}
    )
    assert again.status_code == 200, again.json
    assert again.json["version"] == 1

    missing = owner.put(pipeline, json={"template": "shared", "version": 9})
    assert missing.status_code == 422
    assert "version" in missing.json["errors"]["json"]
    moved = owner.put(pipeline, json={"template": "shared", "version": 2})
    assert moved.status_code == 200 and moved.json["version"] == 2
    runs_with = world.app.extensions["brygge"].pipelines.get_dataset_pipeline("pinned")
    assert runs_with["version"] == 2
