"""Runs follow Step Functions by themselves: status change events, and a reconcile for misses.

An EventBridge rule (``deploy/brygge.yaml``, ``ExecutionStatusRule``) sends each "Step
Functions Execution Status Change" of the deployment's state machines to the ``steps``
function as a direct command (``catalogue.lambdas.execution_status_changed``, the event
under ``event``), so Zappa's handler routes it as it routes step commands. EventBridge
delivers at least once and best effort: a duplicate finds the run ended and changes
nothing, and the scheduled reconcile (a Zappa ``events`` job of the steps stage) syncs
every RUNNING run whose event never came.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.runs.executions import described_from_event, run_machine

if TYPE_CHECKING:
    from catalogue.runs.service import RunService

log = logging.getLogger(__name__)

EXECUTION_STATUS_CHANGE = "Step Functions Execution Status Change"
# A redrive runs as a new execution named "<run id>-r<n>".
_REDRIVE_NAME = re.compile(r"^(?P<run>.+)-r\d+$")


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """What one status change event did to its run."""

    execution: str
    outcome: str  # ended, running or ignored
    run: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "execution": self.execution,
            "outcome": self.outcome,
            "run": self.run,
            "reason": self.reason,
        }


def status_change_event(event: Mapping[str, Any]) -> Mapping[str, Any]:
    """The EventBridge event of an invocation: given as is, or under ``event`` in a command."""
    inner = event.get("event")
    found = inner if isinstance(inner, Mapping) else event
    if found.get("source") != "aws.states" or found.get("detail-type") != EXECUTION_STATUS_CHANGE:
        raise ValueError(f"not a {EXECUTION_STATUS_CHANGE} event: {sorted(found)[:6]}")
    return found


def handle_status_change(event: Mapping[str, Any], runs: RunService) -> StatusOutcome:
    """Record how a run's execution ended, as a status change event tells it.

    Events of executions that are no run's current execution (another deployment's, an
    earlier attempt before a redrive) change nothing.
    """
    detail = status_change_event(event)["detail"]
    execution = str(detail["name"])
    machine = str(detail["stateMachineArn"]).rsplit(":", 1)[-1]
    run = runs.repository.find_run(execution)
    redrive = _REDRIVE_NAME.match(execution)
    if run is None and redrive is not None:
        run = runs.repository.find_run(redrive["run"])
    if run is None:
        return _ignored(execution, None, "no run has this execution", logging.WARNING)
    if (
        run.get("pipeline") is None
        or run_machine(runs.settings.state_machine_prefix, run) != machine
    ):
        reason = f"the run does not run on {machine}"
        return _ignored(execution, run["id"], reason, logging.WARNING)
    if (run.get("executions") or [None])[-1] != execution:
        # An attempt a redrive replaced, whose event came late: expected.
        return _ignored(execution, run["id"], "not the run's current execution", logging.INFO)
    if run["status"] != "RUNNING":
        # A duplicate (EventBridge delivers at least once), or the run was aborted.
        reason = f"the run has ended ({run['status']})"
        return _ignored(execution, run["id"], reason, logging.DEBUG)
    if detail["status"] == "RUNNING":
        return StatusOutcome(execution, "running", run["id"])
    runs.sync_execution(run, described_from_event(detail) if is_complete(detail) else None)
    return StatusOutcome(execution, "ended", run["id"])


def is_complete(detail: Mapping[str, Any]) -> bool:
    """Whether an event tells all DescribeExecution would: else Step Functions is asked.

    Events leave out an input or output too large for them (``included: false``), and
    older ones carry no ``error`` and ``cause`` for an execution that did not succeed.
    """
    for part in ("inputDetails", "outputDetails"):
        if (detail.get(part) or {}).get("included") is False:
            return False
    return detail["status"] == "SUCCEEDED" or "error" in detail


def _ignored(execution: str, run: str | None, reason: str, level: int) -> StatusOutcome:
    """An outcome that changes no run, logged at ``level``: WARNING for an event of no use
    here (the steps function logs at WARNING), lower for the expected ones."""
    log.log(level, "status change of %s ignored: %s", execution, reason)
    return StatusOutcome(execution, "ignored", run, reason)
