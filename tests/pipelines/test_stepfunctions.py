"""Templates compiled for Step Functions, and aws-mode runs, on moto's state machine executor.

moto runs Lambda functions in Docker; ``LambdaFunction._invoke_lambda`` is replaced so the
steps function dispatches each payload's ``command`` to the test steps, in-process, with a
recorder on the same (moto) DynamoDB table. Retry delays are recorded, not slept.
"""

from __future__ import annotations

import io
import json
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalogue.app import create_app
from catalogue.runs.recorder import StoreRecorder
from catalogue.settings import Settings
from pipelines import asl
from pipelines.asl.lambdas import invoked
from pipelines.compiler import compile_definition, execution_input
from pipelines.objects import LocalObjectStore
from pipelines.stepfunctions import start_execution, state_machine_name
from pipelines.steps.runtime import use_environment
from tests.fixtures.app import SITE_ADMIN, authenticate_as_site_admin
from tests.pipelines import run_steps

EDITION = "20260102T030405"
RAW = f"raw/green/air/version=1/edition={EDITION}/data.txt"
RUNS = f"/datasets/air/versions/1/editions/{EDITION}/runs"
DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
FUNCTION = "brygge-steps"


def join_moto_threads() -> None:
    """Wait for moto's executions: joining its worker threads replaces polling."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    while TMP_THREADS:
        thread = TMP_THREADS.pop(0)
        while True:
            try:
                thread.join()
                break
            except RuntimeError:  # listed before it started: let it start
                time.sleep(0)


class StepsFunction:
    """Stands in for the steps Lambda: routes ``command`` to a test step."""

    def __init__(self, objects: LocalObjectStore, recorder: StoreRecorder) -> None:
        self.objects = objects
        self.recorder = recorder
        self.sleeps: list[float] = []

    def invoke(self, event: Any) -> tuple[str, bool, str]:
        payload = json.loads(event) if isinstance(event, str | bytes) else dict(event)
        command = payload.pop("command")
        step = command.removeprefix("pipelines.steps.").removesuffix(".handler")
        if step == "crash":  # dies before it can record anything, as a timed-out Lambda
            body = {"errorMessage": "Task timed out", "errorType": "Sandbox.Timedout"}
            return json.dumps(body), True, ""
        handler = run_steps.HANDLERS[f"brygge:step:{step}"]
        try:
            with use_environment(self.objects, self.recorder):
                result = handler(payload, None)
        except Exception as error:
            body = {"errorMessage": str(error), "errorType": type(error).__name__}
            return json.dumps(body), True, ""
        return json.dumps(result), False, ""


@pytest.fixture
def aws(aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto with state machines executed, the steps function, a migrated table, an aws app."""
    run_steps.register(monkeypatch, "crash")
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

    from catalogue.store import migrations
    from catalogue.store.factory import open_store

    holder: dict[str, StepsFunction] = {}

    class RecordingTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            holder["function"].sleeps.append(float(seconds))

    patched = [
        (LambdaFunction, "_invoke_lambda", lambda fn, event=None: holder["function"].invoke(event)),
        (retrier_decl, "time", RecordingTime),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            iam = boto3.client("iam")
            role = iam.create_role(RoleName="brygge-states", AssumeRolePolicyDocument="{}")
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as archive:
                archive.writestr("step.py", "def handler(event, context):\n    return event\n")
            boto3.client("lambda").create_function(
                FunctionName=FUNCTION,
                Runtime="python3.12",
                Role=role["Role"]["Arn"],
                Handler="step.handler",
                Code={"ZipFile": buffer.getvalue()},
            )
            settings = Settings(
                backend="aws",
                home=tmp_path / "home",
                dynamodb_table=f"brygge-test-{uuid.uuid4().hex[:12]}",
                steps_function=FUNCTION,
                principal=SITE_ADMIN,
                admins=(SITE_ADMIN,),
                state_machine_role_arn=role["Role"]["Arn"],
            )
            migrations.apply(settings)
            store = open_store(settings)
            objects = LocalObjectStore(tmp_path / "objects")
            holder["function"] = StepsFunction(objects, StoreRecorder(lambda: store))
            app = create_app(settings, store=store)
            app.config["TESTING"] = True
            authenticate_as_site_admin(app)
            run_steps.CALLS.clear()
            yield {
                "app": app,
                "client": app.test_client(),
                "objects": objects,
                "function": holder["function"],
                "sfn": boto3.client("stepfunctions"),
            }
            join_moto_threads()
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


def test_both_engines_give_the_same_output(aws, tmp_path) -> None:  # type: ignore[no-untyped-def]
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"), retry=True, catch=True)
    aws["objects"].put(RAW, io.BytesIO(b"lake\n"))
    run = {
        "id": "r1",
        "dataset": "air",
        "version": "1",
        "edition": EDITION,
        "input": {"keys": [RAW]},
    }
    payload = execution_input(run, definition, {"Upper": {"suffix": "!"}})
    recorder = aws["function"].recorder
    handlers = {
        resource: invoked(lambda event, handler=handler: handler(event, None))
        for resource, handler in run_steps.HANDLERS.items()
    }
    with use_environment(aws["objects"], recorder):
        local = asl.run(compile_definition(definition), payload, handlers, sleep=lambda s: None)
    sfn = aws["sfn"]
    arn = sfn.create_state_machine(
        name="parity",
        definition=json.dumps(compile_definition(definition, target="aws", function_name=FUNCTION)),
        roleArn="arn:aws:iam::123456789012:role/brygge-states",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="r1", input=json.dumps(payload))
    join_moto_threads()
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert local.status == described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == local.output
    assert local.output["input"]["keys"] == [
        f"intermediate/green/air/version=1/edition={EDITION}/Check/checked.txt"
    ]
    assert (
        aws["objects"].get(
            RAW.replace("raw/", "intermediate/").replace("data.txt", "Upper/data.txt")
        )
        == b"LAKE\n!"
    )


def start_aws_run(aws, definition: dict) -> str:  # type: ignore[no-untyped-def]
    client = aws["client"]
    assert client.post("/datasets", json=DATASET).status_code == 201
    assert (
        client.post("/datasets/air/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    template = {"id": "text", "title": "Text", "definition": definition}
    assert client.post("/pipelines", json=template).status_code == 201
    assert client.put("/datasets/air/pipeline", json={"template": "text"}).status_code == 200
    started = client.post(RUNS, json={"input": {"keys": [RAW]}})
    assert started.status_code == 202, started.json
    return str(started.json["id"])


def test_registering_a_template_deploys_one_state_machine_per_version(aws) -> None:  # type: ignore[no-untyped-def]
    client = aws["client"]
    template = {"id": "text", "title": "Text", "definition": run_steps.chain(("Upper", "upper"))}
    assert client.post("/pipelines", json=template).status_code == 201
    changed = {
        "title": "Text",
        "definition": run_steps.chain(("Upper", "upper"), ("Check", "check")),
    }
    assert client.put("/pipelines/text", json=changed).status_code == 200
    machines = {
        m["name"]: m["stateMachineArn"] for m in aws["sfn"].list_state_machines()["stateMachines"]
    }
    assert set(machines) == {
        state_machine_name("brygge-", "text", 1),
        state_machine_name("brygge-", "text", 2),
    }
    described = aws["sfn"].describe_state_machine(stateMachineArn=machines["brygge-text-v2"])
    states = json.loads(described["definition"])["States"]
    assert states["Check"]["Parameters"]["Payload"]["command"] == "pipelines.steps.check.handler"


def test_aws_run_starts_one_execution_and_reports_steps(aws) -> None:  # type: ignore[no-untyped-def]
    aws["objects"].put(RAW, io.BytesIO(b"lake\n"))
    run_id = start_aws_run(aws, run_steps.chain(("Upper", "upper"), ("Check", "check")))
    again = aws["client"].post(RUNS, json={"input": {"keys": [RAW]}})
    assert again.json["id"] == run_id
    machine = state_machine_name("brygge-", "text", 1)
    assert start_execution(machine, run_id, {}) is False  # the name is taken
    join_moto_threads()
    run = aws["client"].get(f"/runs/{run_id}").json
    assert run["status"] == "SUCCEEDED", run["error"]
    assert run["output"]["input"]["keys"][0].endswith("/Check/checked.txt")
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("Upper", "SUCCEEDED"),
        ("Check", "SUCCEEDED"),
    ]
    assert run["steps"][0]["outputs"][0]["key"].endswith("/Upper/data.txt")
    executions = aws["sfn"].list_executions(
        stateMachineArn=aws["sfn"].list_state_machines()["stateMachines"][0]["stateMachineArn"]
    )
    assert [e["name"] for e in executions["executions"]] == [run_id]
    assert run_steps.CALLS == {"upper": 1, "check": 1}


def test_aws_run_fails_after_retries_and_redrives_from_the_failed_step(aws) -> None:  # type: ignore[no-untyped-def]
    aws["objects"].put(RAW, io.BytesIO(b"bad\n"))
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"), retry=True, catch=True)
    run_id = start_aws_run(aws, definition)
    join_moto_threads()
    run = aws["client"].get(f"/runs/{run_id}").json
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "InputError"
    assert run_steps.CALLS == {"upper": 1, "check": 3}
    assert aws["function"].sleeps == [1.0, 2.0]
    check = run["steps"][1]
    assert (check["name"], check["status"], check["attempts"]) == ("Check", "FAILED", 3)

    upper_key = run["steps"][0]["outputs"][0]["key"]
    aws["objects"].put(upper_key, io.BytesIO(b"GOOD\n"))
    redriven = aws["client"].post(f"/runs/{run_id}/redrive")
    assert redriven.status_code == 202, redriven.json
    join_moto_threads()
    run = aws["client"].get(f"/runs/{run_id}").json
    assert run["status"] == "SUCCEEDED", run["error"]
    assert run_steps.CALLS == {"upper": 1, "check": 4}
    assert [s["status"] for s in run["steps"]] == ["SUCCEEDED", "SUCCEEDED"]


def test_a_step_that_could_not_record_is_reported_from_the_history(aws) -> None:  # type: ignore[no-untyped-def]
    aws["objects"].put(RAW, io.BytesIO(b"lake\n"))
    run_id = start_aws_run(aws, run_steps.chain(("Upper", "upper"), ("Crash", "crash")))
    join_moto_threads()
    run = aws["client"].get(f"/runs/{run_id}").json
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "Sandbox.Timedout"
    upper, crash = run["steps"]
    assert (upper["name"], upper["status"]) == ("Upper", "SUCCEEDED")
    assert (crash["name"], crash["status"], crash["attempts"]) == ("Crash", "FAILED", 1)
    assert crash["error"]["error"] == "Sandbox.Timedout"
    assert crash["outputs"] == []


def test_aws_rerun_starts_a_new_execution_with_the_current_pipeline(aws) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    import boto3

    aws["objects"].put(RAW, io.BytesIO(b"bad\n"))
    # The rerun checks that the upload is still in the data bucket.
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="brygge-data")
    s3.put_object(Bucket="brygge-data", Key=RAW, Body=b"bad\n")
    client = aws["client"]
    run_id = start_aws_run(aws, run_steps.chain(("Upper", "upper"), ("Check", "check")))
    join_moto_threads()
    assert client.get(f"/runs/{run_id}").json["status"] == "FAILED"

    fixed = {"title": "Text", "definition": run_steps.chain(("Upper", "upper"))}
    assert client.put("/pipelines/text", json=fixed).status_code == 200
    # The dataset keeps the version it pinned until its owner names the new one.
    repinned = client.put("/datasets/air/pipeline", json={"template": "text", "version": 2})
    assert repinned.status_code == 200
    answer = client.post(f"/runs/{run_id}/rerun")
    assert answer.status_code == 202, answer.json
    join_moto_threads()
    rerun = client.get(f"/runs/{answer.json['id']}").json
    assert rerun["status"] == "SUCCEEDED", rerun["error"]
    assert (rerun["rerunOf"], rerun["pipeline"]["version"]) == (run_id, 2)
    assert [step["name"] for step in rerun["steps"]] == ["Upper"]
    assert client.get(f"/runs/{run_id}").json["rerunBy"] == rerun["id"]
    [output] = rerun["steps"][0]["outputs"]
    assert output["download"].endswith(f"/runs/{rerun['id']}/outputs/1/download")
    redirect = client.get(f"/runs/{rerun['id']}/outputs/1/download")
    assert redirect.status_code == 302
    assert "X-Amz-Signature=" in redirect.headers["Location"]
    assert quote(output["key"], safe="/") in redirect.headers["Location"]
    machines = {
        m["name"]: m["stateMachineArn"] for m in aws["sfn"].list_state_machines()["stateMachines"]
    }
    executions = aws["sfn"].list_executions(stateMachineArn=machines["brygge-text-v2"])
    assert [e["name"] for e in executions["executions"]] == [rerun["id"]]


def test_a_task_config_at_its_size_limit_stays_within_step_functions_payload_quota(
    aws,  # type: ignore[no-untyped-def]
) -> None:
    """What Step Functions sends each step and takes back stays under 256 KiB of UTF-8.

    A pipeline's taskConfig may be up to MAX_TASK_CONFIG_BYTES, all of it one step's options
    (a Table Schema with long enums): a step's event must not carry it twice.
    """
    from catalogue.repositories.pipeline_checks import MAX_TASK_CONFIG_BYTES
    from pipelines.asl.states import MAX_PAYLOAD_BYTES

    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"))
    aws["objects"].put(RAW, io.BytesIO(b"lake\n"))
    task_config = {"Upper": {"suffix": ""}, "Check": {}}
    overhead = len(json.dumps(task_config, separators=(",", ":")).encode())
    task_config["Upper"]["suffix"] = "x" * (MAX_TASK_CONFIG_BYTES - overhead)
    run = {"id": "r1", "dataset": "air", "version": "1", "edition": EDITION}
    payload = execution_input({**run, "input": {"keys": [RAW]}}, definition, task_config)
    sfn = aws["sfn"]
    arn = sfn.create_state_machine(
        name="big-config",
        definition=json.dumps(compile_definition(definition, target="aws", function_name=FUNCTION)),
        roleArn="arn:aws:iam::123456789012:role/brygge-states",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="r1", input=json.dumps(payload))
    join_moto_threads()
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "SUCCEEDED", described.get("cause")
    history = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    sizes = {
        event["type"]: len(text.encode())
        for event in history
        for details in event.values()
        if isinstance(details, dict)
        for text in (details.get("parameters"), details.get("input"), details.get("output"))
        if isinstance(text, str)
    }
    assert {"TaskScheduled", "TaskSucceeded"} <= set(sizes)
    assert max(sizes.values()) <= MAX_PAYLOAD_BYTES, sizes
