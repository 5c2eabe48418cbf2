"""Run a corpus state machine on moto's Step Functions executor, Lambda tasks done locally.

moto runs Lambda functions in Docker; ``LambdaFunction._invoke_lambda`` is replaced so each
invocation calls the corpus handler named like the function instead. Retry and Wait delays
are recorded, not slept.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tests.pipelines.asl.handlers import Steps

REGION = "us-east-1"
ACCOUNT = "123456789012"
STEP_PREFIX = "brygge:step:"


def lambda_arn(step: str) -> str:
    """The ARN a ``brygge:step:<name>`` resource becomes on moto."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{step}"


def to_aws(definition: Any) -> Any:
    """Return a copy of a definition with each ``brygge:step:`` resource as a Lambda ARN."""
    if isinstance(definition, dict):
        copied = {key: to_aws(value) for key, value in definition.items()}
        resource = copied.get("Resource")
        if isinstance(resource, str) and resource.startswith(STEP_PREFIX):
            copied["Resource"] = lambda_arn(resource[len(STEP_PREFIX) :])
        return copied
    if isinstance(definition, list):
        return [to_aws(item) for item in definition]
    return definition


@dataclass
class MotoResult:
    """How an execution ended on moto, plus the delays it asked for."""

    status: str
    output: Any
    error: str | None
    cause: str | None
    sleeps: list[float] = field(default_factory=list)


class MotoStepFunctions:
    """Creates state machines and runs executions inside one ``mock_aws`` context."""

    def __init__(self, sfn: Any, role_arn: str) -> None:
        self.sfn = sfn
        self.role_arn = role_arn
        self.steps = Steps()
        self.sleeps: list[float] = []

    def run(self, name: str, definition: dict[str, Any], input: Any) -> MotoResult:
        """Run one execution named ``name`` to its end and describe it."""
        from moto.stepfunctions.parser.utils import TMP_THREADS

        self.steps = Steps()
        self.sleeps = []
        machine_arn = self.sfn.create_state_machine(
            name=name, definition=json.dumps(to_aws(definition)), roleArn=self.role_arn
        )["stateMachineArn"]
        try:
            execution_arn = self.sfn.start_execution(
                stateMachineArn=machine_arn, name=name, input=json.dumps(input)
            )["executionArn"]
            # moto runs the execution in worker threads; joining them replaces polling.
            while TMP_THREADS:
                join_worker(TMP_THREADS.pop(0))
            described = self.sfn.describe_execution(executionArn=execution_arn)
        finally:
            self.sfn.delete_state_machine(stateMachineArn=machine_arn)
        output = described.get("output")
        return MotoResult(
            status=described["status"],
            output=json.loads(output) if output is not None else None,
            error=described.get("error"),
            cause=described.get("cause"),
            sleeps=list(self.sleeps),
        )

    def invoke(self, function_name: str, event: Any) -> tuple[str, bool, str]:
        """Stand in for ``LambdaFunction._invoke_lambda``: (payload, errored, logs)."""
        payload = json.loads(event) if isinstance(event, str) else event
        try:
            result = self.steps.functions[function_name](payload)
        except Exception as exc:
            # The payload Lambda's Python runtime returns for an unhandled exception.
            error = {"errorMessage": str(exc), "errorType": type(exc).__name__}
            return json.dumps(error), True, ""
        return json.dumps(result), False, ""


def join_worker(thread: threading.Thread) -> None:
    """Join a moto worker thread, which moto lists just before it starts it."""
    while True:
        try:
            thread.join()
            return
        except RuntimeError:  # listed but not started yet: yield to the starting thread
            time.sleep(0)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("step.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@contextmanager
def moto_step_functions() -> Iterator[MotoStepFunctions]:
    """Start moto with state machine execution on and every corpus step as a function."""
    import boto3
    from moto import mock_aws
    from moto.awslambda.models import LambdaFunction
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
        wait_function,
    )

    holder: dict[str, MotoStepFunctions] = {}

    def invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
        return holder["moto"].invoke(function.function_name, event)

    class RecordingTime:
        @staticmethod
        def sleep(seconds: float) -> None:
            holder["moto"].sleeps.append(float(seconds))

    def wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
        if wait_seconds > 0:
            holder["moto"].sleeps.append(float(wait_seconds))

    patched = [
        (LambdaFunction, "_invoke_lambda", invoke_lambda),
        (retrier_decl, "time", RecordingTime),
        (wait_function.WaitFunction, "_wait_interval", wait_interval),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patched]
    for owner, name, replacement in patched:
        setattr(owner, name, replacement)
    # moto logs every state failure with its whole parse tree; the tests assert on results.
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    try:
        with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
            iam = boto3.client("iam", region_name=REGION)
            role_arn = iam.create_role(
                RoleName="brygge-conformance", AssumeRolePolicyDocument="{}"
            )["Role"]["Arn"]
            lambda_client = boto3.client("lambda", region_name=REGION)
            for name in Steps().functions:
                lambda_client.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=role_arn,
                    Handler="step.handler",
                    Code={"ZipFile": _zip()},
                )
            moto = MotoStepFunctions(boto3.client("stepfunctions", region_name=REGION), role_arn)
            holder["moto"] = moto
            yield moto
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
