"""A local run's top-level transitions, written to its items in the store as they happen."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.runs.service import RunService


class RunStopped(Exception):
    """The run was aborted, or another worker took it over: this worker stops driving it."""


class StoreListener:
    """Writes every top-level transition of a local run to the store (``asl.Listener``)."""

    def __init__(self, service: RunService, run_id: str, steps: Mapping[str, str]) -> None:
        self.service = service
        self.runs = service.repository
        self.run_id = run_id
        self.steps = steps
        self.entered: dict[str, Any] = {}
        # Workflow variables as they stood when each state was entered: where a redrive
        # or a resume starts again, it needs them back.
        self.variables: dict[str, Any] = {}
        self.entered_variables: dict[str, dict[str, Any]] = {}
        self.base_attempts: dict[str, int] = {}

    def _update_run(self, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        def guarded(run: dict[str, Any]) -> dict[str, Any]:
            if run["status"] != "RUNNING" or run.get("owner") != self.service.owner:
                raise RunStopped(run["status"])
            return change(run)

        self.runs.update_run(self.run_id, guarded)

    def _now(self) -> str:
        return timestamp(self.service.clock())

    def variables_changed(self, variables: dict[str, Any]) -> None:
        self.variables = dict(variables)

    def state_entered(self, name: str, input: Any) -> None:
        self.entered[name] = input
        self.entered_variables[name] = dict(self.variables)

        def enter(run: dict[str, Any]) -> dict[str, Any]:
            run["position"] = {"state": name, "input": input}
            if self.variables:
                run["position"]["variables"] = dict(self.variables)
            return run

        self._update_run(enter)
        if name not in self.steps:
            return
        now = self._now()

        def start(record: dict[str, Any]) -> dict[str, Any]:
            self.base_attempts[name] = int(record.get("attempts") or 0)
            record.setdefault("order", self.service.clock().isoformat())
            record.update(
                status="RUNNING",
                startedAt=record.get("startedAt") or now,
                endedAt=None,
                error=None,
                attempts=self.base_attempts[name] + 1,
            )
            return record

        self.runs.update_step(self.run_id, name, start)

    def state_exited(self, name: str, output: Any) -> None:
        if name not in self.steps:
            return
        now = self._now()

        def done(record: dict[str, Any]) -> dict[str, Any]:
            record.update(status="SUCCEEDED", endedAt=now, error=None)
            return record

        self.runs.update_step(self.run_id, name, done)

    def task_attempt_failed(self, name: str, attempt: int, error: str, cause: str) -> None:
        if name not in self.steps:
            return

        def retrying(record: dict[str, Any]) -> dict[str, Any]:
            record.update(
                status="RUNNING",
                attempts=self.base_attempts.get(name, 0) + attempt + 1,
                error={"error": error, "cause": cause},
            )
            return record

        self.runs.update_step(self.run_id, name, retrying)

    def state_failed(self, name: str, error: str, cause: str) -> None:
        failed = {
            "state": name,
            "input": self.entered.get(name),
            "variables": self.entered_variables.get(name, {}),
        }

        def note(run: dict[str, Any]) -> dict[str, Any]:
            # A Catch may route a failed step to a Fail state: the step is where a redrive
            # starts, not the Fail state.
            if name in self.steps or not run.get("failedState"):
                run["failedState"] = failed
            return run

        self._update_run(note)
        if name not in self.steps:
            return
        now = self._now()

        def fail(record: dict[str, Any]) -> dict[str, Any]:
            record.update(status="FAILED", endedAt=now, error={"error": error, "cause": cause})
            return record

        self.runs.update_step(self.run_id, name, fail)
