"""End to end over the API: template → dataset pipeline → run → step records → redrive."""

from __future__ import annotations

import io

import pytest

from pipelines.objects import LocalObjectStore
from tests.pipelines import run_steps

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EDITION = "20260102T030405"
RAW = f"raw/green/air/version=1/edition={EDITION}/data.txt"
RUNS = f"/datasets/air/versions/1/editions/{EDITION}/runs"


@pytest.fixture
def sleeps(app) -> list[float]:  # type: ignore[no-untyped-def]
    """The run service of the app with the test steps, recording Retry delays."""
    recorded: list[float] = []
    runs = app.extensions["brygge"].runs
    runs.registry = run_steps.registry()
    runs.sleep = recorded.append
    run_steps.CALLS.clear()
    return recorded


@pytest.fixture
def objects(settings) -> LocalObjectStore:  # type: ignore[no-untyped-def]
    return LocalObjectStore(settings.objects_dir)


@pytest.fixture
def edition(client, monkeypatch):  # type: ignore[no-untyped-def]
    run_steps.register(monkeypatch)
    assert client.post("/datasets", json=DATASET).status_code == 201
    response = client.post("/datasets/air/versions/1/editions", json={"edition": EDITION})
    assert response.status_code == 201
    return EDITION


def set_pipeline(client, definition: dict, task_config: dict | None = None) -> None:  # type: ignore[no-untyped-def]
    template = {"id": "text", "title": "Text", "definition": definition}
    assert client.post("/pipelines", json=template).status_code == 201
    body = {"template": "text", "taskConfig": task_config or {}}
    response = client.put("/datasets/air/pipeline", json=body)
    assert response.status_code == 200, response.json


def finish(app) -> None:  # type: ignore[no-untyped-def]
    assert app.extensions["brygge"].runs.wait_idle(timeout_s=60)


def test_run_records_each_step_then_retries_catches_and_redrives(  # type: ignore[no-untyped-def]
    app, client, edition, objects, sleeps
) -> None:
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"), retry=True, catch=True)
    set_pipeline(client, definition, {"Upper": {"suffix": "\n"}})
    objects.put(RAW, io.BytesIO(b"good\nbad\n"))

    started = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert started.status_code == 202, started.json
    run_id = started.json["id"]
    assert started.headers["Location"].endswith(f"/runs/{run_id}")
    finish(app)

    run = client.get(f"/runs/{run_id}").json
    assert run["status"] == "FAILED"
    assert run["pipeline"] == {"template": "text", "version": 1}
    assert run["error"]["error"] == "InputError"
    assert "holds BAD" in run["error"]["cause"]
    upper_step, check_step = run["steps"]
    assert upper_step["name"] == "Upper"
    assert upper_step["status"] == "SUCCEEDED"
    assert upper_step["attempts"] == 1
    upper_key = f"intermediate/green/air/version=1/edition={EDITION}/Upper/data.txt"
    assert [o["key"] for o in upper_step["outputs"]] == [upper_key]
    assert upper_step["outputs"][0]["bytes"] == len(b"GOOD\nBAD\n\n")
    assert upper_step["outputs"][0]["rows"] == 3
    assert upper_step["summary"] == {"files": 1}
    assert objects.get(upper_key) == b"GOOD\nBAD\n\n"
    # Retry: 2 more attempts after the first, 1 s then 2 s apart; then Catch → Rejected.
    assert check_step["name"] == "Check"
    assert check_step["status"] == "FAILED"
    assert check_step["attempts"] == 3
    assert check_step["error"]["error"] == "InputError"
    assert check_step["outputs"] == []
    assert sleeps == [1.0, 2.0]
    assert run_steps.CALLS == {"upper": 1, "check": 3}

    objects.put(upper_key, io.BytesIO(b"GOOD\n"))  # fix the failed step's input
    redriven = client.post(f"/runs/{run_id}/redrive")
    assert redriven.status_code == 202
    finish(app)

    run = client.get(f"/runs/{run_id}").json
    assert run["status"] == "SUCCEEDED", (run["error"], run["steps"])
    assert run["error"] is None
    checked = f"intermediate/green/air/version=1/edition={EDITION}/Check/checked.txt"
    assert run["output"]["input"] == {"keys": [checked]}
    assert [step["status"] for step in run["steps"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert run["steps"][1]["outputs"][0]["key"] == checked
    assert run_steps.CALLS == {"upper": 1, "check": 4}
    assert objects.get(checked) == b"GOOD\n"


def test_starting_the_same_run_twice_starts_one_execution(  # type: ignore[no-untyped-def]
    app, client, edition, objects, sleeps
) -> None:
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    objects.put(RAW, io.BytesIO(b"x"))
    first = client.post(RUNS, json={"input": {"keys": [RAW]}})
    second = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert first.json["id"] == second.json["id"]
    finish(app)
    assert run_steps.CALLS == {"upper": 1}
    assert app.extensions["brygge"].runs.start(first.json["id"]) is None
    run = client.get(f"/runs/{first.json['id']}").json
    assert run["status"] == "SUCCEEDED"
    assert run["steps"][0]["outputs"][0]["bytes"] == 1


def test_runs_of_a_dataset_are_listed_newest_first(  # type: ignore[no-untyped-def]
    app, client, edition, objects, sleeps
) -> None:
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    ids = []
    for name in ("a.txt", "b.txt", "c.txt"):
        key = RAW.replace("data.txt", name)
        objects.put(key, io.BytesIO(b"x"))
        ids.append(client.post(RUNS, json={"input": {"keys": [key]}}).json["id"])
    finish(app)
    page = client.get("/datasets/air/runs", query_string={"limit": 2}).json
    assert [run["id"] for run in page["items"]] == ids[::-1][:2]
    rest = client.get("/datasets/air/runs", query_string={"cursor": page["next"]}).json
    assert [run["id"] for run in rest["items"]] == ids[:1]
    assert rest["next"] is None
    assert client.get("/datasets/none/runs").status_code == 404


def test_unknown_run_edition_and_bad_requests(client, edition) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/runs/nothing").status_code == 404
    assert client.post("/runs/nothing/abort").status_code == 404
    missing = "/datasets/air/versions/1/editions/20990101T000000/runs"
    assert client.post(missing, json={"input": {"keys": [RAW]}}).status_code == 404
    assert client.post(RUNS, json={"input": {"keys": []}}).status_code == 422


def test_a_run_without_pipeline_publishes_its_objects_as_they_are(  # type: ignore[no-untyped-def]
    app, client, edition, objects
) -> None:
    objects.put(RAW, io.BytesIO(b"lake\n"))
    response = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert response.status_code == 202
    assert response.json["pipeline"] is None
    assert response.json["status"] == "SUCCEEDED"
    assert response.json["steps"] == []
    published = RAW.replace("raw/", "processed/", 1)
    assert objects.get(published) == b"lake\n"
    listed = client.get(f"/datasets/air/versions/1/editions/{EDITION}/distributions").json
    assert [item["filenames"] for item in listed["items"]] == [[published.rpartition("/")[2]]]
    assert client.post(f"/runs/{response.json['id']}/redrive").status_code == 409
    assert client.post(f"/runs/{response.json['id']}/abort").status_code == 409


def test_a_run_without_pipeline_over_a_missing_object_fails(  # type: ignore[no-untyped-def]
    client, edition
) -> None:
    response = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert response.status_code == 202
    assert response.json["status"] == "FAILED"
    assert response.json["error"]["error"] == "ObjectNotFound"
