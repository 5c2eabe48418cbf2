"""Dataset ids are one namespace: creating one tells nothing about hidden datasets."""

from __future__ import annotations

import json
import re

from tests.catalogue.auth.world import World


def test_an_id_a_hidden_dataset_holds_is_409_as_for_a_visible_one(world: World) -> None:
    world.create_dataset("hidden-set", "non-public")
    world.create_dataset("shown-set", "public")
    caller = world.client("other_admin")
    assert caller.get("/datasets/hidden-set").status_code == 404

    answers = {
        dataset_id: caller.post(
            "/datasets",
            json={
                "id": dataset_id,
                "title": "Mine",
                "accessRights": "public",
                "owner": "team:other",
            },
        )
        for dataset_id in ("hidden-set", "shown-set")
    }

    assert {answer.status_code for answer in answers.values()} == {409}
    hidden, shown = (answers[name].json for name in ("hidden-set", "shown-set"))
    # The same answer but for the id it names.
    assert json.dumps(hidden) == json.dumps(shown).replace("shown-set", "hidden-set")
    assert "ETag" not in answers["hidden-set"].headers
    assert caller.get("/datasets/hidden-set").status_code == 404


def test_derived_ids_do_not_count_hidden_datasets(world: World) -> None:
    for _ in range(3):
        response = world.as_admin().post(
            "/datasets",
            json={"title": "Secret plans", "accessRights": "non-public", "owner": "team:owners"},
        )
        assert response.status_code == 201
    caller = world.client("other_admin")

    made = caller.post(
        "/datasets",
        json={"title": "Secret plans", "accessRights": "public", "owner": "team:other"},
    )

    assert made.status_code == 201
    # A counter would answer secret-plans-4 and tell that three hidden datasets exist.
    assert re.fullmatch(r"secret-plans-[a-z0-9]{6}", made.json["id"])
