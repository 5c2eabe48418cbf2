"""Runs on Step Functions (aws mode): starting their executions, copying their ends back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipelines.compiler import task_steps
from pipelines.runs.execution_history import merge_outcome
from pipelines.runs.executions import (
    ExecutionMissing,
    execution_end,
    run_machine,
    start_or_deploy,
    start_payload,
)
from pipelines.timestamps import timestamp

if TYPE_CHECKING:
    from catalogue.repositories.pipeline_templates import PipelineRepository
    from catalogue.repositories.runs import RunRepository
    from catalogue.settings import Settings

log = logging.getLogger(__name__)

# Error name of a run whose Step Functions execution cannot be found, or is another run's.
EXECUTION_LOST = "Brygge.ExecutionLost"
# A run is RUNNING a moment before StartExecution answers: until this long after its start
# (or redrive), a missing execution may still be starting.
EXECUTION_START_GRACE = timedelta(minutes=5)


class ExecutionSync:
    """RunService's Step Functions side; the service inherits it."""

    settings: Settings
    pipelines: PipelineRepository
    repository: RunRepository
    clock: Callable[[], datetime]
    now: Callable[[], str]
    is_local: bool

    def _machine(self, run: Mapping[str, Any]) -> str:
        return run_machine(self.settings.state_machine_prefix, run)

    def _start_execution(
        self, run: Mapping[str, Any], execution: str, restart: Mapping[str, Any] | None
    ) -> None:
        template = self.pipelines.get_version(
            run["pipeline"]["template"], run["pipeline"]["version"]
        )
        start_or_deploy(
            self._machine(run),
            execution,
            start_payload(run, template["definition"], restart),
            template["definition"],
            function_name=self.settings.steps_function,
            role_arn=self.settings.state_machine_role_arn,
        )

    def sync_execution(
        self, run: Mapping[str, Any], described: Mapping[str, Any] | None = None
    ) -> bool:
        """Copy the end of a RUNNING run's execution from Step Functions into the store.

        ``described`` is the execution as DescribeExecution (or a status change event) gave
        it; without it Step Functions is asked. A missing or foreign execution ends the
        run FAILED with ``Brygge.ExecutionLost``, once it is past its start grace. Returns
        whether the run ended here.
        """

        def steps() -> Collection[str]:
            template = self.pipelines.find_version(
                run["pipeline"]["template"], run["pipeline"]["version"]
            )
            if template is None:
                # Deleted while its execution ran on (Step Functions finishes a started one):
                # the step Tasks the run's taskConfig names still get their outcomes.
                return list(run.get("taskConfig") or {})
            return task_steps(template["definition"])

        execution = run["executions"][-1]
        try:
            ended = execution_end(
                self._machine(run), execution, steps, run_id=run["id"], described=described
            )
        except ExecutionMissing as lost:
            return self._lose_execution(run, str(lost))
        if ended is None:
            return False
        for name, outcome in ended.steps.items():
            self.repository.update_step(run["id"], name, merge_outcome(outcome))
        return self._end_execution(
            run,
            status=ended.status,
            endedAt=ended.ended or self.now(),
            output=ended.output,
            error=ended.error,
            failedState=ended.failed_state,
        )

    def _lose_execution(self, run: Mapping[str, Any], cause: str) -> bool:
        started = max(run.get("startedAt") or "", run.get("redrivenAt") or "")
        if started > timestamp(self.clock() - EXECUTION_START_GRACE):
            return False
        log.warning("run %s lost its execution: %s", run["id"], cause)
        error = {"error": EXECUTION_LOST, "cause": cause}
        return self._end_execution(
            run, status="FAILED", endedAt=self.now(), output=None, error=error, failedState=None
        )

    def _end_execution(self, run: Mapping[str, Any], **end: Any) -> bool:
        """End the run as ``end`` says, unless it ended or moved to another execution."""

        def finish(current: dict[str, Any]) -> dict[str, Any] | None:
            if current["status"] != "RUNNING" or current.get("executions") != run["executions"]:
                return None
            current.update(end)
            return current

        after = self.repository.update_run(run["id"], finish)
        return after["status"] != "RUNNING" and after.get("endedAt") == end["endedAt"]

    def reconcile(self) -> dict[str, list[str]]:
        """Bring every RUNNING aws run up to date with Step Functions (for missed events).

        Returns the runs that ended and those whose sync failed; one failure stops nothing.
        """
        report: dict[str, list[str]] = {"checked": [], "ended": [], "failed": []}
        if self.is_local:
            return report
        for run in self.repository.running():
            if not run.get("executions") or run.get("pipeline") is None:
                continue
            report["checked"].append(run["id"])
            try:
                if self.sync_execution(run):
                    report["ended"].append(run["id"])
            except Exception:
                log.exception("reconciling run %s failed", run["id"])
                report["failed"].append(run["id"])
        return report
