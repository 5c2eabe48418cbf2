"""Runs follow Step Functions by themselves: status change events, reconcile, lost executions.

Runs execute on moto's state machine executor; its Lambda answers each task with the next
step result the test queued. Status change events are the shapes AWS documents
(``tests/events/stepfunctions_status_changes.json``), filled in with the execution's ARN.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from catalogue.runs.execution_sync import EXECUTION_LOST
from catalogue.runs.service import RunService
from catalogue.runs.status import StatusOutcome, handle_status_change
from pipelines.stepfunctions import state_machine_name
from tests.pipelines import run_steps, test_stepfunctions
from tests.pipelines.test_stepfunctions import EDITION, RAW, join_moto_threads, start_aws_run

# moto running state machines, the steps function, a migrated table and an aws app.
aws = test_stepfunctions.aws

EVENTS = Path(__file__).resolve().parents[2] / "events" / "stepfunctions_status_changes.json"
INTERMEDIATE = RAW.replace("raw/", "intermediate/")
COMMAND = "catalogue.lambdas.execution_status_changed"


class QueuedSteps:
    """Stands in for the steps Lambda: answers each invocation with the next queued result."""

    def __init__(self) -> None:
        self.results: list[tuple[list[str] | dict[str, str], bool]] = []
        self.payloads: list[dict[str, Any]] = []

    def succeed(self, *keys: str) -> None:
        self.results.append((list(keys), False))

    def fail(self, error: str, message: str) -> None:
        # What Lambda's Python runtime answers for an unhandled exception.
        self.results.append(({"errorMessage": message, "errorType": error}, True))

    def invoke(self, event: Any) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, str | bytes) else dict(event)
        self.payloads.append(payload)
        result, failed = self.results.pop(0)
        if not failed:
            # A step answers its event's shape with the keys it wrote.
            coordinates = ("run", "dataset", "version", "edition")
            result = {**{name: payload[name] for name in coordinates}, "input": {"keys": result}}
        return json.dumps(result), failed, ""


@pytest.fixture
def queued(aws, monkeypatch: pytest.MonkeyPatch) -> QueuedSteps:  # type: ignore[no-untyped-def]
    steps = QueuedSteps()
    monkeypatch.setattr(aws["function"], "invoke", steps.invoke)
    aws["objects"].put(RAW, io.BytesIO(b"lake\n"))
    return steps


@pytest.fixture
def runs(aws) -> RunService:  # type: ignore[no-untyped-def]
    return aws["app"].extensions["brygge"].runs  # type: ignore[no-any-return]


def two_steps() -> dict[str, Any]:
    return run_steps.chain(("Upper", "upper"), ("Check", "check"))


def status_event(aws, run_id: str, shape: str, **detail: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The event EventBridge delivers for the run's execution, in the recorded ``shape``."""
    sfn = aws["sfn"]
    machine_arn = next(
        machine["stateMachineArn"]
        for machine in sfn.list_state_machines()["stateMachines"]
        if machine["name"] == state_machine_name("brygge-", "text", 1)
    )
    execution_arn = machine_arn.replace(":stateMachine:", ":execution:") + f":{run_id}"
    described = sfn.describe_execution(executionArn=execution_arn)
    text = EVENTS.read_text()
    for placeholder, value in {
        "EXECUTION_ARN": execution_arn,
        "STATE_MACHINE_ARN": machine_arn,
        "EXECUTION_NAME": run_id,
        "ACCOUNT": machine_arn.split(":")[4],
        "REGION": machine_arn.split(":")[3],
    }.items():
        text = text.replace(f'"{placeholder}"', json.dumps(value))
    event = copy.deepcopy(json.loads(text)[shape])
    filled = {"input": described["input"], "output": described.get("output")}
    filled.update(error=described.get("error"), cause=described.get("cause"))
    for name, value in filled.items():
        if event["detail"].get(name) in ("OUTPUT", "ERROR", "CAUSE", "{}"):
            event["detail"][name] = value
    event["detail"].update(detail)
    return event


def command(event: dict[str, Any]) -> dict[str, Any]:
    """What the rule's input transformer hands the steps function (deploy/brygge.yaml)."""
    return {"command": COMMAND, "event": event}


def test_a_failed_execution_ends_its_run_through_the_status_event(aws, queued, runs) -> None:  # type: ignore[no-untyped-def]
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.fail("InputError", "data.txt holds BAD in row 3")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    assert runs.repository.get_run(run_id)["status"] == "RUNNING"  # nobody has asked yet

    outcome = handle_status_change(command(status_event(aws, run_id, "FAILED")), runs)

    assert outcome == StatusOutcome(run_id, "ended", run_id)
    run = runs.repository.get(run_id)
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "InputError"
    assert json.loads(run["error"]["cause"])["errorMessage"] == "data.txt holds BAD in row 3"
    assert run["endedAt"] == "2026-01-02T03:04:09Z"  # the event's stopDate
    assert run["failedState"]["state"] == "Check"  # a redrive starts there
    # Neither step could record (the queue answered): the history tells how each ended.
    assert {step["name"]: step["status"] for step in run["steps"]} == {
        "Upper": "SUCCEEDED",
        "Check": "FAILED",
    }
    # Nothing was published: the edition has no distribution.
    distributions = aws["client"].get(f"/datasets/air/versions/1/editions/{EDITION}/distributions")
    assert distributions.status_code == 200
    assert distributions.json["items"] == []
    assert [payload["step"] for payload in queued.payloads] == ["Upper", "Check"]


def test_a_run_whose_template_was_deleted_while_it_ran_still_ends(aws, queued, runs) -> None:  # type: ignore[no-untyped-def]
    # Step Functions runs a started execution to its end whatever happens to the template.
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.fail("InputError", "data.txt holds BAD in row 3")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    assert aws["client"].delete("/datasets/air/pipeline").status_code == 204
    assert aws["client"].delete("/pipelines/text").status_code == 204

    event = status_event(aws, run_id, "FAILED")
    assert handle_status_change(command(event), runs) == StatusOutcome(run_id, "ended", run_id)
    read = aws["client"].get(f"/runs/{run_id}")
    assert read.status_code == 200
    assert read.json["status"] == "FAILED"
    assert read.json["error"]["error"] == "InputError"


def test_a_succeeded_event_records_the_output_and_a_duplicate_changes_nothing(  # type: ignore[no-untyped-def]
    aws, queued, runs
) -> None:
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.succeed(f"{INTERMEDIATE}.checked")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    event = status_event(aws, run_id, "SUCCEEDED")

    first = handle_status_change(command(event), runs)
    ended = runs.repository.get_run(run_id)
    again = handle_status_change(command(event), runs)

    assert first.outcome == "ended"
    assert ended["status"] == "SUCCEEDED"
    assert ended["output"]["input"]["keys"] == [f"{INTERMEDIATE}.checked"]
    assert ended["error"] is None
    assert again == StatusOutcome(run_id, "ignored", run_id, "the run has ended (SUCCEEDED)")
    assert runs.repository.get_run(run_id)["rev"] == ended["rev"]


@pytest.mark.parametrize(
    ("shape", "results", "status"),
    [
        # Older events carry no error or cause: DescribeExecution has them.
        ("TIMED_OUT", [("ok",), ("fail", "Sandbox.Timedout", "Task timed out")], "FAILED"),
        # An output too large for the event is left out of it.
        ("SUCCEEDED_TRUNCATED", [("ok",), ("ok",)], "SUCCEEDED"),
    ],
)
def test_what_an_event_leaves_out_is_read_from_step_functions(  # type: ignore[no-untyped-def]
    aws, queued, runs, shape, results, status
) -> None:
    for result in results:
        if result[0] == "ok":
            queued.succeed(f"{INTERMEDIATE}.out")
        else:
            queued.fail(result[1], result[2])
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()

    handle_status_change(status_event(aws, run_id, shape), runs)

    run = runs.repository.get_run(run_id)
    assert run["status"] == status
    if status == "FAILED":
        assert run["error"]["error"] == "Sandbox.Timedout"
    else:
        assert run["output"]["input"]["keys"] == [f"{INTERMEDIATE}.out"]


def test_running_and_foreign_events_change_no_run(aws, queued, runs) -> None:  # type: ignore[no-untyped-def]
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.succeed(f"{INTERMEDIATE}.checked")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    failed = status_event(aws, run_id, "FAILED", error="Nope", cause="not this run's")
    elsewhere = copy.deepcopy(failed)
    elsewhere["detail"]["stateMachineArn"] = elsewhere["detail"]["stateMachineArn"] + "-other"
    unknown = status_event(aws, run_id, "FAILED", name="no-such-run")
    earlier = status_event(aws, run_id, "FAILED", name=f"{run_id}-r7")

    outcomes = [
        handle_status_change(status_event(aws, run_id, "RUNNING"), runs).outcome,
        handle_status_change(elsewhere, runs).reason,
        handle_status_change(unknown, runs).reason,
        handle_status_change(earlier, runs).reason,
    ]

    assert outcomes == [
        "running",
        "the run does not run on brygge-text-v1-other",
        "no run has this execution",
        "not the run's current execution",
    ]
    assert runs.repository.get_run(run_id)["status"] == "RUNNING"
    with pytest.raises(ValueError, match="not a Step Functions Execution Status Change"):
        handle_status_change({"command": COMMAND, "event": {"source": "aws.s3"}}, runs)


def test_reconcile_ends_the_runs_whose_event_was_missed(aws, queued, runs) -> None:  # type: ignore[no-untyped-def]
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.fail("InputError", "bad")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()

    first = runs.reconcile()
    second = runs.reconcile()

    assert first == {"checked": [run_id], "ended": [run_id], "failed": []}
    assert second == {"checked": [], "ended": [], "failed": []}
    assert runs.repository.get_run(run_id)["error"]["error"] == "InputError"


def _point_run_at(runs: RunService, run_id: str, execution: str, started: str) -> None:
    def change(run: dict[str, Any]) -> dict[str, Any]:
        run.update(executions=[execution], startedAt=started)
        return run

    runs.repository.update_run(run_id, change)


@pytest.fixture
def long_ago(runs: RunService) -> str:
    from pipelines.timestamps import timestamp

    return timestamp(runs.clock() - timedelta(hours=1))


def test_a_run_whose_execution_is_missing_is_execution_lost_not_500(  # type: ignore[no-untyped-def]
    aws, queued, runs, long_ago
) -> None:
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.succeed(f"{INTERMEDIATE}.checked")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    _point_run_at(runs, run_id, "vanished", long_ago)

    response = aws["client"].get(f"/runs/{run_id}")
    listed = aws["client"].get("/datasets/air/runs")

    assert response.status_code == 200, response.json
    assert response.json["status"] == "FAILED"
    assert response.json["error"] == {
        "error": EXECUTION_LOST,
        "cause": "execution vanished of state machine brygge-text-v1 does not exist",
    }
    assert [(run["id"], run["status"]) for run in listed.json["items"]] == [(run_id, "FAILED")]


def test_a_run_pointing_at_another_runs_execution_is_execution_lost(  # type: ignore[no-untyped-def]
    aws, queued, runs, long_ago
) -> None:
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.succeed(f"{INTERMEDIATE}.checked")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    assert aws["client"].get(f"/runs/{run_id}").json["status"] == "SUCCEEDED"
    forged = runs.create("air", "1", EDITION, [RAW], principal="user:x", run_id="forged")
    runs.repository.update_run(forged["id"], lambda run: {**run, "status": "RUNNING"})
    _point_run_at(runs, "forged", run_id, long_ago)

    report = runs.reconcile()

    assert report["ended"] == ["forged"]
    lost = runs.repository.get_run("forged")
    assert lost["error"]["error"] == EXECUTION_LOST
    assert f"runs another run ({run_id})" in lost["error"]["cause"]


def test_a_missing_execution_just_after_the_start_is_still_running(aws, queued, runs) -> None:  # type: ignore[no-untyped-def]
    queued.succeed(f"{INTERMEDIATE}.upper")
    queued.succeed(f"{INTERMEDIATE}.checked")
    run_id = start_aws_run(aws, two_steps())
    join_moto_threads()
    _point_run_at(runs, run_id, "starting", runs.now())

    response = aws["client"].get(f"/runs/{run_id}")

    assert response.status_code == 200
    assert response.json["status"] == "RUNNING"


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    yield
    join_moto_threads()
