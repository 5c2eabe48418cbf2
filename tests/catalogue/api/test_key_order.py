"""Pipeline definitions and taskConfig come back in the key order they were written, on every
store (DynamoDB maps keep no order: these fields are stored as JSON text)."""

from __future__ import annotations

import json
from typing import Any

from catalogue.repositories.runs import RunRepository
from catalogue.store import keys
from catalogue.store.base import Put

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
# Names out of alphabetical (and hash) order, so a store that reorders them shows it.
NAMES = ["Zulu", "Echo", "Alpha", "Mike", "Bravo", "Yankee", "Charlie", "Xray", "Delta"]
TASKS = ("Zulu", "Alpha")


def ordered_definition() -> dict[str, Any]:
    states: dict[str, Any] = {}
    for index, name in enumerate(NAMES):
        state: dict[str, Any] = {"Type": "Pass", "Comment": f"state {index}"}
        if name in TASKS:
            state.update(Type="Task", Resource="brygge:step:csv_to_parquet")
        else:
            state["Result"] = {name.lower(): index, "z": 1, "a": 2, "m": 3}
        if index + 1 < len(NAMES):
            state["Next"] = NAMES[index + 1]
        else:
            state["End"] = True
        states[name] = state
    return {"Comment": "ordered", "StartAt": NAMES[0], "States": states, "TimeoutSeconds": 60}


def order(document: Any) -> Any:
    """Every object's keys, in order, all the way down."""
    if isinstance(document, dict):
        return [(name, order(value)) for name, value in document.items()]
    if isinstance(document, list):
        return [order(value) for value in document]
    return document


def answer(response: Any) -> Any:
    assert response.status_code in (200, 201), response.get_data(as_text=True)[:300]
    return json.loads(response.get_data())


def test_definitions_and_task_config_keep_their_key_order(app_on_store, store) -> None:  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    definition = ordered_definition()
    template = {"id": "ordered", "title": "Ordered", "definition": definition}
    created = answer(client.post("/pipelines", json=template))
    assert client.post("/datasets", json=DATASET).status_code == 201
    task_config = {
        "Zulu": {"quoteChar": "'", "delimiter": ";", "header": True},
        "Alpha": {"header": False, "delimiter": ","},
    }
    pipeline = {"template": "ordered", "taskConfig": task_config}

    read = answer(client.get("/pipelines/ordered"))
    pinned = answer(client.put("/datasets/air/pipeline", json=pipeline))
    update = {"title": "Again", "definition": definition}
    changed = answer(client.put("/pipelines/ordered", json=update))

    for found in (created, read, changed):
        assert order(found["definition"]) == order(definition)
    assert order(pinned["taskConfig"]) == order(task_config)
    again = answer(client.get("/datasets/air/pipeline"))
    assert order(again["taskConfig"]) == order(task_config)
    runs = RunRepository(store, app_on_store.extensions["brygge"].clock)
    run = {
        "id": "run-1",
        "dataset": "air",
        "version": "1",
        "edition": "e",
        "status": "WAITING",
        "created": "2026-01-02T03:04:05Z",
        "taskConfig": task_config,
    }
    store.write(Put(runs._run_item(run)))
    assert order(runs.get_run("run-1")["taskConfig"]) == order(task_config)


def test_a_definition_stored_as_a_map_is_still_read(app_on_store, store) -> None:  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    definition = ordered_definition()
    answer(client.post("/pipelines", json={"id": "old", "title": "Old", "definition": definition}))
    item = store.get(keys.pipeline_pk("old"), keys.PIPELINE_SK)
    assert isinstance(item["definition"], str)  # stored as text now
    # As items written before held it: a map.
    store.write(Put({**item, "definition": definition}))

    read = answer(client.get("/pipelines/old"))

    assert read["definition"] == definition
