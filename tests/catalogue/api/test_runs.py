"""The runs API: the shape of a run, and who may start, read, abort and redrive runs."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from pipelines.objects import LocalObjectStore
from tests.pipelines import run_steps

EDITION = "20260102T030405"
RAW = f"raw/red/secret/version=1/edition={EDITION}/data.txt"
RUNS = f"/datasets/secret/versions/1/editions/{EDITION}/runs"
RUN_FIELDS = {
    "id",
    "dataset",
    "version",
    "edition",
    "pipeline",
    "status",
    "created",
    "startedAt",
    "endedAt",
    "input",
    "output",
    "error",
    "steps",
}
STEP_FIELDS = {"name", "status", "attempts", "startedAt", "endedAt", "error", "outputs", "summary"}


@pytest.fixture
def run_id(app, client, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    run_steps.register(monkeypatch)
    dataset = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=dataset).status_code == 201
    editions = "/datasets/secret/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    template = {"id": "text", "title": "Text", "definition": run_steps.chain(("Upper", "upper"))}
    assert client.post("/pipelines", json=template).status_code == 201
    assert client.put("/datasets/secret/pipeline", json={"template": "text"}).status_code == 200
    services = app.extensions["brygge"]
    services.runs.registry = run_steps.registry()
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"a\nb\n"))
    started = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert started.status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    return str(started.json["id"])


def test_a_run_has_every_documented_field(client, run_id) -> None:  # type: ignore[no-untyped-def]
    run = client.get(f"/runs/{run_id}").json
    assert set(run) == RUN_FIELDS
    assert run["status"] == "SUCCEEDED"
    assert run["input"] == {"keys": [RAW]}
    (step,) = run["steps"]
    assert set(step) == STEP_FIELDS
    assert set(step["outputs"][0]) == {"key", "bytes", "sha256", "rows", "n", "download"}
    assert step["outputs"][0]["rows"] == 2
    listed = client.get("/datasets/secret/runs").json["items"]
    assert [item["id"] for item in listed] == [run_id]
    assert "steps" not in listed[0]


def test_anonymous_callers_cannot_see_or_touch_runs_of_a_non_public_dataset(  # type: ignore[no-untyped-def]
    app, run_id
) -> None:
    anonymous = FlaskClient(app)
    assert anonymous.get(f"/runs/{run_id}").status_code == 404
    assert anonymous.get("/datasets/secret/runs").status_code == 404
    assert anonymous.get("/datasets/secret/pipeline").status_code == 404
    assert anonymous.post(f"/runs/{run_id}/redrive").status_code == 401
    assert anonymous.post(f"/runs/{run_id}/rerun").status_code == 401
    assert anonymous.get(f"/runs/{run_id}/outputs/1/download").status_code == 404
    assert anonymous.post(f"/runs/{run_id}/abort").status_code == 401
    assert anonymous.post(RUNS, json={"input": {"keys": [RAW]}}).status_code == 401
    assert anonymous.put("/datasets/secret/pipeline", json={"template": "text"}).status_code == 401
    template = {"id": "other", "title": "Other", "definition": run_steps.chain(("Upper", "upper"))}
    assert anonymous.post("/pipelines", json=template).status_code == 401
    assert anonymous.get("/pipelines/text").status_code == 200
