"""The run service: ids, the interface uploads use, abort, resume after a crash."""

from __future__ import annotations

import io
import json
import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.domain.errors import Conflict, NotFound
from catalogue.repositories.runs import RunRepository
from catalogue.runs.local_resume import INTERRUPTED, MAX_RESUMES
from pipelines.objects import LocalObjectStore
from pipelines.runs import StepRegistry, run_id_for
from pipelines.steps.runtime import run_step
from tests.pipelines import run_steps

EDITION = "20260102T030405"
RAW = f"raw/green/air/version=1/edition={EDITION}/data.txt"
DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


@pytest.fixture
def services(app, client, monkeypatch):  # type: ignore[no-untyped-def]
    run_steps.register(monkeypatch, "hold")
    assert client.post("/datasets", json=DATASET).status_code == 201
    assert (
        client.post("/datasets/air/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    run_steps.CALLS.clear()
    services = app.extensions["brygge"]
    services.runs.registry = run_steps.registry()
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"lake\n"))
    return services


def set_pipeline(client, definition) -> None:  # type: ignore[no-untyped-def]
    template = {"id": "text", "title": "Text", "definition": definition}
    assert client.post("/pipelines", json=template).status_code == 201
    assert client.put("/datasets/air/pipeline", json={"template": "text"}).status_code == 200


@given(
    dataset=st.from_regex(r"[a-z0-9-]{1,64}", fullmatch=True),
    version=st.text(min_size=1, max_size=10),
    edition=st.text(min_size=1, max_size=20),
    key=st.text(min_size=1, max_size=300),
)
def test_run_ids_are_valid_execution_names_and_deterministic(
    dataset, version, edition, key
) -> None:  # type: ignore[no-untyped-def]
    run_id = run_id_for(dataset, version, edition, key)
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", run_id)
    assert run_id == run_id_for(dataset, version, edition, key)
    assert run_id != run_id_for(dataset, version, edition, key + "x")


def test_create_waiting_pins_the_pipeline_and_start_runs_once(services, client, clock) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    runs = services.runs
    run = runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    assert run["id"] == run_id_for("air", "1", EDITION, RAW)
    assert run["status"] == "WAITING"
    assert run["pipeline"] == {"template": "text", "version": 1}
    assert runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")["id"] == run["id"]
    # Racing starts in the same second: exactly one wins.
    services.runs.clock = lambda: clock.now
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(runs.start(run["id"]) is not None))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert runs.wait_idle(timeout_s=60)
    assert runs.get(run["id"])["status"] == "SUCCEEDED"
    assert run_steps.CALLS == {"upper": 1}


def test_create_waiting_without_pipeline_pins_none(services) -> None:  # type: ignore[no-untyped-def]
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    assert run["pipeline"] is None
    assert run["status"] == "WAITING"
    with pytest.raises(NotFound):
        services.runs.create_waiting("air", "1", "20990101T000000", RAW, principal="user:tester")


def test_abort_stops_a_run_between_steps(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Hold", "hold"), ("Upper", "upper")))
    entered, release = threading.Event(), threading.Event()

    def hold(event, context):  # type: ignore[no-untyped-def]
        entered.set()
        assert release.wait(60)
        return run_step(
            event, run_steps.NoConfig, lambda o, c, keys, out: run_steps.StepResult(keys, [])
        )

    services.runs.registry = StepRegistry({**run_steps.HANDLERS, "brygge:step:hold": hold})
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert entered.wait(60)
    aborted = client.post(f"/runs/{run['id']}/abort")
    assert aborted.status_code == 200
    assert aborted.json["status"] == "ABORTED"
    release.set()
    assert services.runs.wait_idle(timeout_s=60)
    after = client.get(f"/runs/{run['id']}").json
    assert after["status"] == "ABORTED"
    assert run_steps.CALLS["upper"] == 0
    assert client.post(f"/runs/{run['id']}/abort").status_code == 409


def interrupt(services, run_id: str, *, state: str | None, resumes: int) -> None:  # type: ignore[no-untyped-def]
    """Leave a run as a crashed process would: RUNNING, owned by a process that is gone."""
    repository = RunRepository(services.store, services.clock)

    def crashed(run):  # type: ignore[no-untyped-def]
        run.update(status="RUNNING", owner="gone", resumes=resumes)
        if state:
            run["position"] = {
                "state": state,
                "input": {
                    "run": run_id,
                    "dataset": "air",
                    "version": "1",
                    "edition": EDITION,
                    "input": {"keys": [RAW]},
                    "taskConfig": {"Upper": {}},
                },
            }
        return run

    repository.update_run(run_id, crashed)


def fresh_run_service(services):  # type: ignore[no-untyped-def]
    """What a restarted process makes: a new run service over the same store."""
    from catalogue.runs.service import RunService

    runs = RunService(
        services.settings, services.store, services.repositories, services.pipelines, services.clock
    )
    runs.registry = run_steps.registry()
    return runs


def test_a_restart_resumes_running_runs_from_their_last_state(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    interrupt(services, run["id"], state="Upper", resumes=0)
    restarted = fresh_run_service(services)
    assert restarted.resume_interrupted() == [run["id"]]
    assert restarted.resume_interrupted() == []  # once per process
    assert restarted.wait_idle(timeout_s=60)
    after = restarted.get(run["id"])
    assert after["status"] == "SUCCEEDED"
    assert after["resumes"] == 1
    assert after["steps"][0]["outputs"][0]["key"].endswith("/Upper/data.txt")


def test_reading_the_run_service_resumes_nothing_start_up_does(services, client) -> None:  # type: ignore[no-untyped-def]
    from catalogue.runs.recovery import recover_at_startup
    from catalogue.services import Services

    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    interrupt(services, run["id"], state="Upper", resumes=0)
    restarted = Services(services.settings, store=services.store, clock=services.clock)
    restarted.runs.registry = run_steps.registry()
    stored = RunRepository(services.store, services.clock).get_run(run["id"])
    assert (stored["status"], stored["owner"]) == ("RUNNING", "gone")
    assert recover_at_startup(restarted).resumed == [run["id"]]
    assert restarted.runs.wait_idle(timeout_s=60)
    assert restarted.runs.get(run["id"])["status"] == "SUCCEEDED"


def test_a_run_interrupted_too_often_is_failed_not_resumed(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    interrupt(services, run["id"], state="Upper", resumes=MAX_RESUMES)
    restarted = fresh_run_service(services)
    assert restarted.resume_interrupted() == []
    after = restarted.get(run["id"])
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == INTERRUPTED
    assert "Upper" in after["error"]["cause"]
    assert RunRepository(services.store, services.clock).running() == []
    # The failed run can be redriven from where it stopped.
    restarted.redrive(run["id"])
    assert restarted.wait_idle(timeout_s=60)
    assert restarted.get(run["id"])["status"] == "SUCCEEDED"
    with pytest.raises(Conflict):
        restarted.redrive(run["id"])


def test_a_run_stopped_twice_in_the_same_step_is_not_resumed_again(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    entered, release = threading.Event(), threading.Event()

    def hold(event, context):  # type: ignore[no-untyped-def]
        entered.set()
        assert release.wait(60)
        raise RuntimeError("a stopped process records nothing more")

    def stop_in_step(state_entered: bool) -> None:
        repository = RunRepository(services.store, services.clock)
        if state_entered:
            repository.update_step(run["id"], "Upper", lambda step: {**step, "status": "RUNNING"})
        interrupt(services, run["id"], state="Upper", resumes=0)

    stop_in_step(True)  # the first process stopped while Upper ran
    first = fresh_run_service(services)
    first.registry = StepRegistry({"brygge:step:upper": hold})
    assert first.resume_interrupted() == [run["id"]]
    assert entered.wait(60)
    stop_in_step(False)  # ... and the process that resumed it stopped in Upper again
    release.set()
    assert first.wait_idle(timeout_s=60)

    second = fresh_run_service(services)
    assert second.resume_interrupted() == []
    after = second.get(run["id"])
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == INTERRUPTED
    assert "stopped twice while step Upper was running" in after["error"]["cause"]


def test_a_redrive_gets_back_the_workflow_variables(services, client) -> None:  # type: ignore[no-untyped-def]
    definition = {
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"firstKey.$": "$.input.keys[0]"},
                "Next": "Check",
            },
            "Check": {"Type": "Task", "Resource": "brygge:step:check", "Next": "Report"},
            "Report": {"Type": "Pass", "Parameters": {"remembered.$": "$firstKey"}, "End": True},
        },
    }
    set_pipeline(client, definition)
    objects = LocalObjectStore(services.settings.objects_dir)
    objects.put(RAW, io.BytesIO(b"BAD\n"))
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert services.runs.wait_idle(timeout_s=60)
    failed = client.get(f"/runs/{run['id']}").json
    assert failed["status"] == "FAILED"
    assert failed["error"]["error"] == "InputError"

    objects.put(RAW, io.BytesIO(b"good\n"))
    assert client.post(f"/runs/{run['id']}/redrive").status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    after = client.get(f"/runs/{run['id']}").json
    assert after["status"] == "SUCCEEDED", after["error"]
    assert after["output"] == {"remembered": RAW}


def test_a_step_failure_reaches_catch_as_lambda_reports_it(services, client) -> None:  # type: ignore[no-untyped-def]
    # On AWS a Lambda task's failure reaches Catch as {"Error": errorType, "Cause": the JSON
    # text of Lambda's error payload}; a template parsing Cause works the same locally.
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"bad\n"))
    set_pipeline(client, run_steps.chain(("Upper", "upper"), ("Check", "check"), catch=True))
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert services.runs.wait_idle(timeout_s=60)
    error = client.get(f"/runs/{run['id']}").json["error"]
    assert error["error"] == "InputError"
    assert json.loads(error["cause"]) == {
        "errorMessage": "data.txt holds BAD",
        "errorType": "InputError",
        "stackTrace": [],
    }


def test_assign_reads_a_steps_result_as_lambda_invoke_returns_it(services, client) -> None:  # type: ignore[no-untyped-def]
    # Assign sees the task's raw result: on AWS the lambda:invoke response around the
    # step's event, locally the same.
    definition = run_steps.chain(("Upper", "upper"))
    definition["States"]["Upper"]["Assign"] = {
        "status.$": "$.StatusCode",
        "keys.$": "$.Payload.input.keys",
    }
    definition["States"]["Upper"].pop("End")
    definition["States"]["Upper"]["Next"] = "Report"
    definition["States"]["Report"] = {
        "Type": "Pass",
        "Parameters": {"status.$": "$status", "keys.$": "$keys"},
        "End": True,
    }
    set_pipeline(client, definition)
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert services.runs.wait_idle(timeout_s=60)
    finished = client.get(f"/runs/{run['id']}").json
    assert finished["status"] == "SUCCEEDED", finished["error"]
    assert finished["output"]["status"] == 200
    assert finished["output"]["keys"][0].startswith("intermediate/green/air/")


def test_a_run_deleted_with_its_dataset_while_it_runs_ends_quietly(
    services, client, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Hold", "hold"), ("Upper", "upper")))
    entered, release = threading.Event(), threading.Event()
    escaped: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: escaped.append(args.exc_value))

    def hold(event, context):  # type: ignore[no-untyped-def]
        entered.set()
        assert release.wait(60)
        return run_step(
            event, run_steps.NoConfig, lambda o, c, keys, out: run_steps.StepResult(keys, [])
        )

    services.runs.registry = StepRegistry({**run_steps.HANDLERS, "brygge:step:hold": hold})
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert entered.wait(60)
    deleted = client.delete("/datasets/air?cascade=true")
    assert deleted.status_code == 204, deleted.json
    release.set()
    assert services.runs.wait_idle(timeout_s=60)

    # The run went with its dataset: its thread has nothing left to record, and says so
    # in the log instead of dying with NotFound.
    assert escaped == []
    assert client.get(f"/runs/{run['id']}").status_code == 404
    assert run_steps.CALLS["upper"] == 0


def delete_template(client) -> None:  # type: ignore[no-untyped-def]
    """Take the dataset's pipeline away and delete its template, as an owner switching may."""
    assert client.delete("/datasets/air/pipeline").status_code == 204
    assert client.delete("/pipelines/text").status_code == 204


def test_an_upload_landing_after_its_template_was_deleted_fails_its_run_saying_so(
    services, client
) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    delete_template(client)
    assert services.runs.start(run["id"])["status"] == "FAILED"
    assert services.runs.wait_idle(timeout_s=60)
    after = services.runs.get(run["id"])
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == "Brygge.TemplateDeleted"
    assert "'text' version 1 was deleted" in after["error"]["cause"]
    assert "rerun" in after["error"]["cause"]
    assert run_steps.CALLS["upper"] == 0


def test_a_run_resumed_after_its_template_was_deleted_fails_instead_of_hanging(
    services, client
) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    interrupt(services, run["id"], state="Upper", resumes=0)
    delete_template(client)
    restarted = fresh_run_service(services)
    assert restarted.resume_interrupted() == [run["id"]]
    assert restarted.wait_idle(timeout_s=60)
    after = restarted.get(run["id"])
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == "Brygge.TemplateDeleted"


def test_a_redrive_of_a_run_whose_template_was_deleted_is_409_and_changes_nothing(
    services, client
) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Check", "check")))
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"BAD\n"))
    run = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    ).json
    assert services.runs.wait_idle(timeout_s=60)
    assert client.get(f"/runs/{run['id']}").json["status"] == "FAILED"
    delete_template(client)

    redriven = client.post(f"/runs/{run['id']}/redrive")
    assert redriven.status_code == 409
    assert "'text' version 1" in redriven.json["message"]
    assert "rerun" in redriven.json["message"]
    assert services.runs.wait_idle(timeout_s=60)
    after = client.get(f"/runs/{run['id']}").json
    assert after["status"] == "FAILED"
    assert after["error"]["error"] == "InputError"
