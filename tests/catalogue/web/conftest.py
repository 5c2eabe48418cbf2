"""The web tests' fixtures: a failed run of a two-step pipeline on the local engine."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipelines.objects import LocalObjectStore
from tests.pipelines import run_steps

EDITION = "20260102T030405"


@pytest.fixture
def failed_run(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> str:
    run_steps.register(monkeypatch)
    dataset = {"id": "text", "title": "Text", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201
    assert (
        client.post("/datasets/text/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"))
    template = {"id": "text", "title": "Text", "definition": definition}
    assert client.post("/pipelines", json=template).status_code == 201
    assert client.put("/datasets/text/pipeline", json={"template": "text"}).status_code == 200
    services = app.extensions["brygge"]
    services.runs.registry = run_steps.registry()
    raw = f"raw/green/text/version=1/edition={EDITION}/data.txt"
    LocalObjectStore(services.settings.objects_dir).put(raw, io.BytesIO(b"good\nBAD\n"))
    runs = f"/datasets/text/versions/1/editions/{EDITION}/runs"
    started = client.post(runs, json={"input": {"keys": [raw]}})
    assert started.status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    return str(started.json["id"])
