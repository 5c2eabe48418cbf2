"""Pipelines are checked when saved, over real HTTP against ``brygge serve``."""

from __future__ import annotations

import requests

from tests.e2e.conftest import Server


def test_steps_are_listed_and_bad_pipelines_are_refused_before_any_upload(
    brygge_server: Server,
) -> None:
    url = brygge_server.url
    session = requests.Session()
    steps = requests.get(f"{url}/steps", timeout=30)
    assert steps.status_code == 200
    names = [step["name"] for step in steps.json()["items"]]
    assert names == [
        "csv_to_parquet",
        "json_to_parquet",
        "excel_to_csv",
        "validate",
        "transform",
        "enrich",
        "publish",
    ]

    state = {"Type": "Task", "Resource": "brygge:step:excel_to_cvs", "End": True}
    typo = {
        "id": "excel",
        "title": "Excel",
        "definition": {"StartAt": "ToCsv", "States": {"ToCsv": state}},
    }
    refused = session.post(f"{url}/pipelines", json=typo, timeout=30)
    assert refused.status_code == 422
    (message,) = refused.json()["errors"]["json"]["definition"]
    assert "'ToCsv'" in message and "'brygge:step:excel_to_cvs' names no step" in message

    typo["definition"]["States"]["ToCsv"]["Resource"] = "brygge:step:excel_to_csv"
    assert session.post(f"{url}/pipelines", json=typo, timeout=30).status_code == 201
    dataset = {"id": "budsjett", "title": "Budsjett", "accessRights": "public", "owner": "team:x"}
    assert session.post(f"{url}/datasets", json=dataset, timeout=30).status_code == 201

    bad = {"template": "excel", "taskConfig": {"ToCsv": {"sheet": "", "headerRow": "1"}}}
    checked = session.post(f"{url}/datasets/budsjett/pipeline/validate", json=bad, timeout=30)
    assert checked.status_code == 422
    assert checked.json()["errors"]["json"] == {
        "taskConfig": {"ToCsv": {"headerRow": ['must be an integer or null, not "1"']}}
    }
    saved = session.put(f"{url}/datasets/budsjett/pipeline", json=bad, timeout=30)
    assert saved.status_code == 422
    assert saved.json()["errors"] == checked.json()["errors"]
    assert session.get(f"{url}/datasets/budsjett/pipeline", timeout=30).status_code == 404

    good = {"template": "excel", "taskConfig": {"ToCsv": {"sheet": 2, "range": "A3:F20"}}}
    checked = session.post(f"{url}/datasets/budsjett/pipeline/validate", json=good, timeout=30)
    assert checked.json() == {"valid": True}
    saved = session.put(f"{url}/datasets/budsjett/pipeline", json=good, timeout=30)
    assert saved.status_code == 200, saved.text
