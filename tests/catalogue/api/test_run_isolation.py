"""A run of one team's dataset cannot read, overwrite or publish another team's objects.

Team ``owners`` (the attacker) owns ``alice``; team ``other`` owns the non-public
``bob-hr``, whose published file the attacks aim at.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.objects import LocalObjectStore
from tests.catalogue.auth.world import World, build_world

EDITION = "20260101T000000"
VICTIM_KEY = f"processed/red/bob-hr/version=1/edition={EDITION}/salaries.csv"
VICTIM_BODY = b"name,salary\nBob,1000\n"
ALICE_RAW = f"raw/red/alice/version=1/edition={EDITION}/people.csv"
ALICE_RUNS = f"/datasets/alice/versions/1/editions/{EDITION}/runs"
TRANSFORM_AND_PUBLISH = {
    "StartAt": "Shape",
    "States": {
        "Shape": {"Type": "Task", "Resource": "brygge:step:transform", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}
ENRICH = {
    "StartAt": "Join",
    "States": {"Join": {"Type": "Task", "Resource": "brygge:step:enrich", "End": True}},
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = build_world(tmp_path / "home")
    built.create_dataset("alice", "non-public", owner="team:owners")
    built.create_dataset("bob-hr", "non-public", owner="team:other")
    built.create_dataset("open-codes", "public", owner="team:other")
    admin = built.as_admin()
    for dataset in ("alice", "bob-hr"):
        response = admin.post(f"/datasets/{dataset}/versions/1/editions", json={"edition": EDITION})
        assert response.status_code == 201, response.json
    for template, definition in (("shape", TRANSFORM_AND_PUBLISH), ("join", ENRICH)):
        body = {"id": template, "title": template, "definition": definition}
        assert admin.post("/pipelines", json=body).status_code == 201
    objects = lake(built)
    objects.put(VICTIM_KEY, io.BytesIO(VICTIM_BODY))
    objects.put(ALICE_RAW, io.BytesIO(b"name,code\nAda,A\n"))
    yield built
    services = built.app.extensions["brygge"]
    services.runs.shutdown()
    if services._store is not None:
        services.store.close()


def lake(world: World) -> LocalObjectStore:
    return LocalObjectStore(world.app.extensions["brygge"].settings.objects_dir)


def set_pipeline(world: World, template: str, task_config: dict[str, Any]) -> Any:
    body = {"template": template, "taskConfig": task_config}
    return world.client("owner").put("/datasets/alice/pipeline", json=body)


def assert_victim_untouched(world: World) -> None:
    assert lake(world).get(VICTIM_KEY) == VICTIM_BODY
    admin = world.as_admin()
    distributions = admin.get(f"/datasets/alice/versions/1/editions/{EDITION}/distributions")
    assert distributions.json["items"] == []


def test_a_run_over_another_teams_key_is_refused_and_touches_nothing(world: World) -> None:
    assert set_pipeline(world, "shape", {}).status_code == 200
    owner = world.client("owner")

    response = owner.post(ALICE_RUNS, json={"input": {"keys": [VICTIM_KEY]}})
    assert world.app.extensions["brygge"].runs.wait_idle(timeout_s=60)

    assert response.status_code == 422
    assert response.json["errors"] == {
        "json": {
            "input.keys": [
                "keys[0] is not an object of dataset 'alice', version '1', edition "
                f"'{EDITION}': its keys are <stage>/red/alice/version=1/edition={EDITION}/..."
            ]
        }
    }
    assert owner.get("/datasets/alice/runs").json["items"] == []
    assert_victim_untouched(world)


def test_a_foreign_key_that_exists_and_one_that_does_not_get_the_same_answer(
    world: World,
) -> None:
    assert set_pipeline(world, "shape", {}).status_code == 200
    owner = world.client("owner")
    missing = VICTIM_KEY.replace("salaries", "bonuses")
    assert not lake(world).exists(missing)

    existing = owner.post(ALICE_RUNS, json={"input": {"keys": [VICTIM_KEY]}})
    absent = owner.post(ALICE_RUNS, json={"input": {"keys": [missing]}})

    assert (existing.status_code, existing.json) == (absent.status_code, absent.json)


@pytest.mark.parametrize(
    "key",
    [
        # Own dataset name, another dataset's edition, version, zone or a key off the layout.
        "raw/red/alice/version=1/edition=20250101T000000/people.csv",
        f"raw/red/alice/version=2/edition={EDITION}/people.csv",
        f"raw/green/alice/version=1/edition={EDITION}/people.csv",
        f"raw/red/alice-2/version=1/edition={EDITION}/people.csv",
        "../../etc/passwd",
    ],
)
def test_only_keys_of_the_edition_in_the_url_are_accepted(world: World, key: str) -> None:
    assert set_pipeline(world, "shape", {}).status_code == 200
    response = world.client("owner").post(ALICE_RUNS, json={"input": {"keys": [ALICE_RAW, key]}})
    assert response.status_code == 422
    assert "keys[1] is not an object of dataset 'alice'" in response.json["message"]


def test_a_run_over_the_editions_own_key_still_publishes(world: World) -> None:
    assert set_pipeline(world, "shape", {}).status_code == 200
    owner = world.client("owner")
    response = owner.post(ALICE_RUNS, json={"input": {"keys": [ALICE_RAW]}})
    assert response.status_code == 202
    assert world.app.extensions["brygge"].runs.wait_idle(timeout_s=60)
    run = owner.get(f"/runs/{response.json['id']}").json
    assert run["status"] == "SUCCEEDED", run["error"]
    [published] = run["output"]["input"]["keys"]
    assert published == f"processed/red/alice/version=1/edition={EDITION}/people.csv"


# Enrich lookups ------------------------------------------------------------------------


def join_config(lookup: dict[str, str]) -> dict[str, Any]:
    return {"Join": {"lookup": lookup, "on": "name"}}


@pytest.mark.parametrize("lookup", ["bob-hr", "no-such-dataset"])
def test_saving_a_lookup_of_a_dataset_the_owner_team_may_not_read_is_403(
    world: World, lookup: str
) -> None:
    response = set_pipeline(world, "join", join_config({"dataset": lookup}))
    assert response.status_code == 403
    assert response.json["message"] == (
        f"taskConfig: state 'Join': lookup dataset {lookup!r} does not exist or the owner "
        "team of dataset 'alice' may not read it"
    )
    assert world.client("owner").get("/datasets/alice/pipeline").status_code == 404


def test_saving_a_lookup_key_outside_the_dataset_is_422(world: World) -> None:
    response = set_pipeline(world, "join", join_config({"key": VICTIM_KEY}))
    assert response.status_code == 422
    assert response.json["errors"]["json"]["taskConfig"] == [
        f"state 'Join': lookup key {VICTIM_KEY!r} is not an object of dataset 'alice'"
    ]


def test_saving_a_lookup_of_the_wrong_shape_is_422_naming_the_state(world: World) -> None:
    response = set_pipeline(world, "join", join_config({"url": "http://example.org/x.csv"}))
    assert response.status_code == 422
    assert "Join" in response.json["errors"]["json"]["taskConfig"]


def test_lookups_of_readable_datasets_and_own_keys_are_saved(world: World) -> None:
    assert set_pipeline(world, "join", join_config({"dataset": "open-codes"})).status_code == 200
    assert set_pipeline(world, "join", join_config({"key": ALICE_RAW})).status_code == 200
    world.grant("bob-hr", "team:owners", ["read"])
    assert set_pipeline(world, "join", join_config({"dataset": "bob-hr"})).status_code == 200


def test_a_run_fails_when_its_lookup_became_unreadable_since_the_save(world: World) -> None:
    world.grant("bob-hr", "team:owners", ["read"])
    assert set_pipeline(world, "join", join_config({"dataset": "bob-hr"})).status_code == 200
    revoked = world.as_admin().delete("/datasets/bob-hr/permissions/team:owners")
    assert revoked.status_code == 204

    owner = world.client("owner")
    response = owner.post(ALICE_RUNS, json={"input": {"keys": [ALICE_RAW]}})
    assert world.app.extensions["brygge"].runs.wait_idle(timeout_s=60)

    assert response.status_code == 202
    run = owner.get(f"/runs/{response.json['id']}").json
    assert run["status"] == "FAILED"
    assert run["error"] == {
        "error": "Brygge.LookupNotAllowed",
        "cause": "taskConfig: state 'Join': lookup dataset 'bob-hr' does not exist or the "
        "owner team of dataset 'alice' may not read it",
    }
    assert run["steps"] == []


def test_an_allowed_lookup_joins_the_published_file(world: World) -> None:
    world.grant("bob-hr", "team:owners", ["read"])
    # Registered as bob-hr's own pipeline would register it.
    world.app.extensions["brygge"].runs.recorder.register_distribution(
        "bob-hr",
        "1",
        EDITION,
        {
            "id": "salaries",
            "type": "file",
            "filenames": ["salaries.csv"],
            "key": VICTIM_KEY,
            "mediaType": "text/csv",
            "format": "CSV",
        },
    )
    assert set_pipeline(world, "join", join_config({"dataset": "bob-hr"})).status_code == 200
    owner = world.client("owner")
    lake(world).put(ALICE_RAW, io.BytesIO(b"name,code\nBob,B\n"))
    response = owner.post(ALICE_RUNS, json={"input": {"keys": [ALICE_RAW]}})
    assert world.app.extensions["brygge"].runs.wait_idle(timeout_s=60)
    run = owner.get(f"/runs/{response.json['id']}").json
    assert run["status"] == "SUCCEEDED", run["error"]
    [joined] = run["output"]["input"]["keys"]
    assert lake(world).get(joined) == b"name,code,salary\nBob,B,1000\n"
    assert (
        hashlib.sha256(lake(world).get(VICTIM_KEY)).hexdigest()
        == hashlib.sha256(VICTIM_BODY).hexdigest()
    )


# Crafted step events: the steps' own checks, whatever the API let through -------------


def crafted_event(step: str, keys: list[str], config: dict[str, Any]) -> dict[str, Any]:
    return {
        "run": "crafted",
        "dataset": "alice",
        "version": "1",
        "edition": EDITION,
        "step": step,
        "config": config,
        "input": {"keys": keys},
    }


@pytest.mark.parametrize(
    ("lookup", "error"),
    [
        ({"dataset": "bob-hr"}, "lookup dataset 'bob-hr' does not exist or the owner team"),
        ({"key": VICTIM_KEY}, "is not an object of dataset 'alice'"),
    ],
)
def test_a_crafted_enrich_event_cannot_read_another_teams_lookup(
    world: World, lookup: dict[str, str], error: str
) -> None:
    from pipelines.steps import enrich
    from pipelines.steps.lookups import LookupNotAllowed
    from pipelines.steps.runtime import use_environment

    services = world.app.extensions["brygge"]
    event = crafted_event("Join", [ALICE_RAW], {"lookup": lookup, "on": "name"})
    with (
        use_environment(lake(world), services.runs.recorder),
        pytest.raises(LookupNotAllowed) as raised,
    ):
        enrich.handler(event, None)
    assert error in raised.value.message
    assert not any(lake(world).list("intermediate/"))


@pytest.mark.parametrize(("step", "name"), [("transform", "Shape"), ("publish", "Publish")])
def test_a_crafted_step_event_cannot_read_overwrite_or_publish_another_teams_object(
    world: World, step: str, name: str
) -> None:
    import importlib

    from pipelines.objects import ObjectOutOfScope
    from pipelines.steps.runtime import use_environment

    handler = importlib.import_module(f"pipelines.steps.{step}").handler
    services = world.app.extensions["brygge"]
    with use_environment(lake(world), services.runs.recorder), pytest.raises(ObjectOutOfScope):
        handler(crafted_event(name, [VICTIM_KEY], {}), None)
    assert_victim_untouched(world)
    assert not any(lake(world).list("intermediate/"))


# The step event's run, dataset, version and edition -------------------------------------

VICTIM_COORDINATES = {"dataset": "bob-hr", "version": "1", "edition": EDITION}
# A Pass state makes the state input name another team's edition and its file: the step
# event must still name the run's own dataset, whose scope refuses that file.
POSING_AS_THE_VICTIM = {
    "StartAt": "Pose",
    "States": {
        "Pose": {
            "Type": "Pass",
            "Parameters": {
                **VICTIM_COORDINATES,
                "run.$": "$.run",
                "taskConfig.$": "$.taskConfig",
                "input": {"keys": [VICTIM_KEY]},
            },
            "Next": "Shape",
        },
        "Shape": {"Type": "Task", "Resource": "brygge:step:transform", "End": True},
    },
}


def test_a_pipeline_that_rewrites_its_state_cannot_read_another_teams_edition(
    world: World,
) -> None:
    owner = world.client("owner")
    body = {"id": "pose", "title": "pose", "definition": POSING_AS_THE_VICTIM}
    assert owner.post("/pipelines", json={**body, "owner": "team:owners"}).status_code == 201
    assert set_pipeline(world, "pose", {}).status_code == 200

    response = owner.post(ALICE_RUNS, json={"input": {"keys": [ALICE_RAW]}})
    assert response.status_code == 202, response.json
    assert world.app.extensions["brygge"].runs.wait_idle(timeout_s=60)

    run = owner.get(f"/runs/{response.json['id']}").json
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "ObjectOutOfScope"
    assert [output for step in run["steps"] for output in step["outputs"]] == []
    assert_victim_untouched(world)
    assert not any(lake(world).list("intermediate/"))


@pytest.mark.parametrize("field", ["run", "dataset", "version.$", "edition", "taskConfig.$"])
def test_a_task_cannot_set_the_step_events_run_coordinates(world: World, field: str) -> None:
    task = {"Type": "Task", "Resource": "brygge:step:transform", "End": True}
    definition = {
        "StartAt": "Shape",
        "States": {"Shape": {**task, "Parameters": {field: "$.x" if ".$" in field else "bob-hr"}}},
    }
    response = world.client("owner").post("/pipelines/validate", json={"definition": definition})
    assert response.status_code == 422
    [problem] = response.json["errors"]["json"]["definition"]
    assert "state 'Shape': field 'Parameters'" in problem
    assert repr(field.removesuffix(".$")) in problem
