"""The Step Functions side of pipelines: state machines of template versions, executions.

Definitions are compiled by ``pipelines.compiler``; this module makes the AWS calls (the
client is made on first use).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from pipelines.compiler import compile_definition


def state_machine_name(prefix: str, template: str, version: int) -> str:
    """The state machine of one template version, so a dataset runs the version it pinned.

    Names are at most 80 characters; a long one is shortened with a hash to stay unique.
    """
    name = f"{prefix}{template}-v{version}"
    if len(name) <= 80:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[:67]}-{digest}"


def _sfn() -> Any:
    from pipelines.aws import aws_client

    return aws_client("stepfunctions")


def state_machine_arn(name: str) -> str:
    """The ARN of the state machine called ``name`` in the caller's account and region."""
    from pipelines.aws import account_id

    client = _sfn()
    return f"arn:aws:states:{client.meta.region_name}:{account_id()}:stateMachine:{name}"


def deploy_state_machine(
    name: str, definition: Mapping[str, Any], *, function_name: str, role_arn: str
) -> str:
    """Create the template's state machine, or update it when it exists; return its ARN."""
    client = _sfn()
    body = json.dumps(compile_definition(definition, target="aws", function_name=function_name))
    try:
        return str(
            client.create_state_machine(name=name, definition=body, roleArn=role_arn)[
                "stateMachineArn"
            ]
        )
    except client.exceptions.StateMachineAlreadyExists:
        arn = state_machine_arn(name)
        client.update_state_machine(stateMachineArn=arn, definition=body, roleArn=role_arn)
        return arn


def delete_state_machine(name: str) -> None:
    """Delete a template's state machine; one that does not exist is already deleted."""
    client = _sfn()
    with contextlib.suppress(client.exceptions.StateMachineDoesNotExist):
        client.delete_state_machine(stateMachineArn=state_machine_arn(name))


def execution_arn(machine_name: str, execution_name: str) -> str:
    return state_machine_arn(machine_name).replace(":stateMachine:", ":execution:") + (
        f":{execution_name}"
    )


def start_execution(machine_name: str, execution_name: str, input: Any) -> bool:
    """Start an execution named ``execution_name``; False when it was already started.

    Step Functions refuses a second execution of the same name with the same input
    (ExecutionAlreadyExists, or an idempotent answer), so a duplicate start starts nothing.
    """
    client = _sfn()
    try:
        client.start_execution(
            stateMachineArn=state_machine_arn(machine_name),
            name=execution_name,
            input=json.dumps(input),
        )
    except client.exceptions.ExecutionAlreadyExists:
        return False
    return True


def describe_execution(machine_name: str, execution_name: str) -> dict[str, Any]:
    """DescribeExecution of a run: status, input, output, error and cause (parsed)."""
    described = _sfn().describe_execution(executionArn=execution_arn(machine_name, execution_name))
    output = described.get("output")
    given = described.get("input")
    stopped = described.get("stopDate")
    return {
        "status": described["status"],
        "input": json.loads(given) if given else None,
        "output": json.loads(output) if output else None,
        "error": described.get("error"),
        "cause": described.get("cause"),
        "startDate": described.get("startDate"),
        "stopDate": stopped,
    }


def execution_history(machine_name: str, execution_name: str) -> list[dict[str, Any]]:
    """Every event of an execution's history, oldest first, all pages."""
    client = _sfn()
    events: list[dict[str, Any]] = []
    arn = execution_arn(machine_name, execution_name)
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"executionArn": arn, "maxResults": 1000}
        if token:
            kwargs["nextToken"] = token
        page = client.get_execution_history(**kwargs)
        events.extend(page["events"])
        token = page.get("nextToken")
        if not token:
            return events


def stop_execution(machine_name: str, execution_name: str, cause: str) -> None:
    """StopExecution (ABORTED on AWS); an execution that already ended is left as it is."""
    client = _sfn()
    with contextlib.suppress(client.exceptions.ExecutionDoesNotExist):
        client.stop_execution(executionArn=execution_arn(machine_name, execution_name), cause=cause)


def check_reachable(prefix: str) -> None:
    """Ask Step Functions about a state machine that never exists; raise if it cannot answer.

    StateMachineDoesNotExist is the answer expected: the service is reachable and lets this
    role describe the deployment's machines.
    """
    client = _sfn()
    with contextlib.suppress(client.exceptions.StateMachineDoesNotExist):
        client.describe_state_machine(stateMachineArn=state_machine_arn(f"{prefix}health-probe"))
