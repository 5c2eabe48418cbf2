"""A run's Step Functions execution: its state machine, starting it, and how it ended.

A run is passed as the mapping the catalogue keeps (``id``, coordinates, ``input``,
``pipeline``, ``taskConfig``); nothing here reads or writes the catalogue's store.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.compiler import REDRIVE_FIELD, execution_input, restart_input
from pipelines.runs.execution_history import failed_state_from_history, step_outcomes_from_history
from pipelines.stepfunctions import (
    deploy_state_machine,
    describe_execution,
    execution_history,
    start_execution,
    state_machine_name,
)
from pipelines.timestamps import timestamp

# How an ended execution's status reads as a run's status.
_RUN_STATUS = {"SUCCEEDED": "SUCCEEDED", "ABORTED": "ABORTED"}


@dataclass(frozen=True, slots=True)
class ExecutionEnd:
    """How an execution ended, in a run's terms."""

    status: str  # SUCCEEDED, ABORTED or FAILED (failed, timed out)
    ended: str | None  # the stop date; None when Step Functions gave none
    output: Any
    error: dict[str, str] | None
    failed_state: dict[str, Any] | None  # where a redrive restarts
    steps: dict[str, dict[str, Any]]  # each step Task's outcome, from the history


class ExecutionMissing(Exception):
    """A run's execution does not exist in Step Functions, or is another run's."""


def run_machine(prefix: str, run: Mapping[str, Any]) -> str:
    """The state machine of the template version a run pinned."""
    pipeline = run["pipeline"]
    return state_machine_name(prefix, pipeline["template"], pipeline["version"])


def start_payload(
    run: Mapping[str, Any], definition: Mapping[str, Any], restart: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The input of a run's execution: from its start, or from ``restart`` (state, input)."""
    if restart is None:
        # The redrive entry state reads this field: present, so no path ever fails.
        return {
            **execution_input(run, definition, run.get("taskConfig", {})),
            REDRIVE_FIELD: "",
        }
    return {
        **restart_input(run, definition, restart["input"] or {}),
        REDRIVE_FIELD: restart["state"],
    }


def start_or_deploy(
    machine: str,
    execution: str,
    payload: Any,
    definition: Mapping[str, Any],
    *,
    function_name: str,
    role_arn: str,
) -> None:
    """Start an execution, first deploying ``definition`` as ``machine`` if it is missing."""
    try:
        start_execution(machine, execution, payload)
    except Exception as error:
        if "StateMachineDoesNotExist" not in type(error).__name__ + str(error):
            raise
        # Made on registration; a version registered before aws mode gets it now.
        deploy_state_machine(machine, definition, function_name=function_name, role_arn=role_arn)
        start_execution(machine, execution, payload)


def execution_end(
    machine: str,
    execution: str,
    steps: Callable[[], Collection[str]],
    *,
    run_id: str | None = None,
    described: Mapping[str, Any] | None = None,
) -> ExecutionEnd | None:
    """How an execution ended; None while it runs.

    ``described`` is what DescribeExecution answers (say, from a status change event);
    without it Step Functions is asked. ``steps`` names the step Tasks whose outcomes to
    read from the history; it is asked only once the execution has ended. Raises
    ExecutionMissing when the execution does not exist, or its input names a run other
    than ``run_id``.
    """
    try:
        described = described or describe_execution(machine, execution)
        status = described["status"]
        if status == "RUNNING":
            return None
        history = execution_history(machine, execution)
    except Exception as error:
        if type(error).__name__ != "ExecutionDoesNotExist":
            raise
        raise ExecutionMissing(
            f"execution {execution} of state machine {machine} does not exist"
        ) from None
    ran = (described.get("input") or {}).get("run")
    if run_id is not None and ran is not None and ran != run_id:
        raise ExecutionMissing(f"execution {execution} of {machine} runs another run ({ran})")
    failed = None
    error = None
    if status != "SUCCEEDED":
        error = {"error": described.get("error") or "", "cause": described.get("cause") or ""}
        failed = failed_state_from_history(history)
    stopped = described.get("stopDate")
    return ExecutionEnd(
        status=_RUN_STATUS.get(status, "FAILED"),
        ended=timestamp(stopped) if isinstance(stopped, datetime) else None,
        output=described["output"],
        error=error,
        failed_state=failed,
        # A step killed before it could record (Lambda timeout, crash) still shows its end.
        steps=step_outcomes_from_history(history, steps()),
    )


def described_from_event(detail: Mapping[str, Any]) -> dict[str, Any]:
    """A status change event's ``detail`` as ``describe_execution`` answers.

    The event carries what DescribeExecution does, with times in epoch milliseconds and
    input and output as JSON text (null when not included).
    """

    def moment(value: Any) -> datetime | None:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, tz=UTC)
        return None

    def document(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) and value else None

    return {
        "status": detail["status"],
        "input": document(detail.get("input")),
        "output": document(detail.get("output")),
        "error": detail.get("error"),
        "cause": detail.get("cause"),
        "startDate": moment(detail.get("startDate")),
        "stopDate": moment(detail.get("stopDate")),
    }
