"""The store-backed step recorder: step records, outputs, distributions, latest keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from catalogue.repositories.runs import RunRepository
from catalogue.runs.recorder import StoreRecorder, store_recorder
from catalogue.settings import Settings
from catalogue.store import keys
from catalogue.store.base import ItemStore, Query, query_all
from pipelines.steps.contract import StepOutput

EDITION = "20260102T030405"
DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
PROCESSED = f"processed/green/air/version=1/edition={EDITION}/data.parquet"


@pytest.fixture
def store(app, client) -> ItemStore:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    editions = "/datasets/air/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    services = app.extensions["brygge"]
    run = {
        "id": "run-1",
        "dataset": "air",
        "version": "1",
        "edition": EDITION,
        "status": "RUNNING",
        "created": "2026-01-02T03:04:05Z",
        "input": {"keys": []},
        "incarnation": services.repositories.datasets.get_item("air")["incarnation"],
    }
    RunRepository(services.store, services.clock).create(run)
    return services.store


@pytest.fixture
def recorder(settings: Settings, store: ItemStore) -> StoreRecorder:
    # Through its own connection to the same SQLite file, as the steps Lambda would.
    return store_recorder(settings)


def test_steps_and_outputs_are_recorded_against_the_run(recorder, store, clock) -> None:  # type: ignore[no-untyped-def]
    recorder.step_started("run-1", "ToParquet", 1)
    recorder.step_finished("run-1", "ToParquet", "FAILED", error={"error": "X", "cause": "y"})
    recorder.step_started("run-1", "ToParquet", 2)
    output = StepOutput(
        "intermediate/green/air/version=1/edition=1/ToParquet/a.parquet", 10, "ab", 3
    )
    recorder.output_written("run-1", "ToParquet", output)
    recorder.output_written("run-1", "ToParquet", output)  # a retried write records once
    recorder.step_finished("run-1", "ToParquet", "SUCCEEDED", summary={"rows": 3})
    run = RunRepository(store, clock).get("run-1")
    (step,) = run["steps"]
    assert step["name"] == "ToParquet"
    assert step["status"] == "SUCCEEDED"
    assert step["attempts"] == 2
    assert step["error"] is None
    assert step["summary"] == {"rows": 3}
    assert step["outputs"] == [{"key": output.key, "bytes": 10, "sha256": "ab", "rows": 3}]


def test_register_distribution_is_idempotent_and_marks_the_edition(  # type: ignore[no-untyped-def]
    recorder, client
) -> None:
    recorder.step_started("run-1", "Publish", 1)
    distribution = {
        "id": "d1",
        "type": "file",
        "filenames": ["data.parquet"],
        "key": PROCESSED,
        "run": "run-1",
        "mediaType": "application/vnd.apache.parquet",
    }
    assert recorder.register_distribution("air", "1", EDITION, distribution) == "d1"
    assert recorder.register_distribution("air", "1", EDITION, distribution) == "d1"
    listed = client.get(f"/datasets/air/versions/1/editions/{EDITION}/distributions").json
    assert [item["id"] for item in listed["items"]] == ["d1"]
    assert listed["items"][0]["run"] == "run-1"
    assert client.get(f"/datasets/air/versions/1/editions/{EDITION}").json["run"] == "run-1"
    assert recorder.latest_distribution_keys("air") == [PROCESSED]
    assert recorder.latest_distribution_keys("nothing") == []


def test_lookups_read_the_newest_edition_that_has_distributions(recorder, client) -> None:  # type: ignore[no-untyped-def]
    recorder.step_started("run-1", "Publish", 1)
    distribution = {
        "id": "d1",
        "type": "file",
        "filenames": ["data.parquet"],
        "key": PROCESSED,
        "run": "run-1",
    }
    recorder.register_distribution("air", "1", EDITION, distribution)
    # A newer edition whose upload never came (or whose run failed) holds no distribution.
    newer = {"edition": "20260301T000000"}
    assert client.post("/datasets/air/versions/1/editions", json=newer).status_code == 201
    assert recorder.latest_distribution_keys("air") == [PROCESSED]


def test_a_step_ended_with_its_start_has_its_started_event_keyed_first(store) -> None:  # type: ignore[no-untyped-def]
    # A clock that reads the same time twice: the two events of one write must still be
    # keyed in order (with equal times, their random ids would order them).
    stopped = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    runs = RunRepository(store, lambda: stopped)
    steps = [f"Step{n}" for n in range(4)]
    for step in steps:
        runs.update_step("run-1", step, lambda record: {**record, "status": "SUCCEEDED"})
    written: dict[str, list[tuple[str, str]]] = {}
    for item in query_all(store, Query(keys.EVENTS_PK)):
        event = item["event"]
        written.setdefault(event["subject"], []).append((item["sk"], event["type"]))
    for step in steps:
        (started, finished) = sorted(written[f"/runs/run-1/steps/{step}"])
        assert started[1].endswith(".step.started")
        assert finished[1].endswith(".step.finished")
        assert started[0].split("#")[0] < finished[0].split("#")[0]
