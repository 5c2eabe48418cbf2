"""What an execution's history says: each step's outcome, and where a redrive restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from pipelines.timestamps import timestamp

_TASK_FAILURES = ("TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut")
_TASK_STARTS = ("TaskScheduled", "LambdaFunctionScheduled")
_TASK_SUCCESSES = ("TaskSucceeded", "LambdaFunctionSucceeded")


def step_outcomes_from_history(
    events: Sequence[Mapping[str, Any]], steps: Collection[str]
) -> dict[str, dict[str, Any]]:
    """Each step Task's status, attempts, times and last error, from an execution's history."""
    outcomes: dict[str, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for event in events:
        kind = str(event.get("type", ""))
        moment = event.get("timestamp")
        at = timestamp(moment) if isinstance(moment, datetime) else None
        entered = event.get("stateEnteredEventDetails")
        if entered is not None:
            name = entered.get("name")
            current = None
            if name in steps:
                current = outcomes.setdefault(name, {"attempts": 0, "startedAt": at})
                current.update(status="RUNNING", endedAt=None)
            continue
        if current is None:
            continue
        if kind in _TASK_STARTS:
            current["attempts"] += 1
            current["status"] = "RUNNING"
        elif kind in _TASK_SUCCESSES:
            current.update(status="SUCCEEDED", endedAt=at, error=None)
        elif kind in _TASK_FAILURES:
            details: Mapping[str, Any] = next(
                (v for k, v in event.items() if k.endswith("EventDetails")), {}
            )
            error = {"error": details.get("error") or kind, "cause": details.get("cause") or ""}
            current.update(status="FAILED", endedAt=at, error=error)
    return outcomes


def merge_outcome(outcome: Mapping[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """A step record change: history fills what the step could not record itself."""

    def merge(record: dict[str, Any]) -> dict[str, Any] | None:
        if record.get("status") in ("SUCCEEDED", "FAILED"):
            return None
        attempts = max(int(record.get("attempts") or 0), int(outcome.get("attempts") or 0))
        record.update({k: v for k, v in outcome.items() if v is not None or k == "error"})
        record["attempts"] = attempts
        record.setdefault("order", outcome.get("startedAt") or "")
        return record

    return merge


def failed_state_from_history(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The state a redrive restarts at, from an execution's history: the last Task that
    failed (after its retries), with the input it entered with; else the last state entered.
    """
    last_entered: dict[str, Any] | None = None
    failed: dict[str, Any] | None = None
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details is not None:
            raw = details.get("input")
            last_entered = {
                "state": details["name"],
                "input": json.loads(raw) if raw else None,
            }
        elif event.get("type") in ("TaskFailed", "LambdaFunctionFailed", "TaskTimedOut"):
            failed = last_entered
    return failed or last_entered
