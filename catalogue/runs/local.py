"""Local runs on Brygge's engine: a worker pool driving each run, and resuming after a crash.

Every top-level transition is written to the run (``StoreListener``), so a run interrupted
by a crash is resumed from the state it last entered when the service starts again, or
failed with a clear error once it has been interrupted too often.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from typing import TYPE_CHECKING, Any

from catalogue.runs.listener import RunStopped, StoreListener
from pipelines.runs.processes import ProcessLimits, StepProcesses, shared_pool
from pipelines.runs.steps import task_resources
from pipelines.stepfunctions import (
    compile_definition,
    execution_input,
    task_steps,
    task_timeouts,
)

if TYPE_CHECKING:
    from catalogue.runs.service import RunService

log = logging.getLogger(__name__)

# A run interrupted this often is failed rather than resumed again (a step that kills
# the process would otherwise restart it for ever).
MAX_RESUMES = 3
# Error names Brygge itself gives a run.
INTERRUPTED = "Brygge.Interrupted"
ENGINE_ERROR = "Brygge.EngineError"
NO_PIPELINE = "Brygge.NoPipeline"


class LocalWorkers:
    """The thread pool of one RunService driving its local runs, made on the first run."""

    def __init__(self, service: RunService) -> None:
        self.service = service
        self._pool: ThreadPoolExecutor | None = None
        self._futures: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._resumed = False
        # Set when a run this process drives is aborted: its waiting step or Wait ends.
        self._stops: dict[str, threading.Event] = {}

    def submit(
        self,
        run_id: str,
        start_at: str | None = None,
        state_input: Any = None,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """Drive a RUNNING run owned by this process, from its start or from ``start_at``.

        ``variables`` are the workflow variables the run held when it entered ``start_at``.
        """
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.service.settings.workers, thread_name_prefix="brygge-run"
                )
            stop = self._stops[run_id] = threading.Event()
            future = self._pool.submit(self._drive, stop, run_id, start_at, state_input, variables)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def stop(self, run_id: str) -> None:
        """Tell the worker driving ``run_id`` (if this process drives it) to stop now."""
        with self._lock:
            event = self._stops.get(run_id)
        if event is not None:
            event.set()

    def is_stopped(self, run_id: str) -> bool:
        with self._lock:
            event = self._stops.get(run_id)
        return event is not None and event.is_set()

    def _forget(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until no run is executing in this process; False on timeout (tests, tools)."""
        while True:
            with self._lock:
                pending = set(self._futures)
            if not pending:
                return True
            _, not_done = wait_futures(pending, timeout=timeout_s)
            if not_done:
                return False

    def shutdown(self) -> None:
        """Stop taking runs and wait for those executing."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def _task_handlers(
        self, run_id: str, definition: Mapping[str, Any]
    ) -> dict[str, Callable[[Any], Any]]:
        timeouts = task_timeouts(definition)
        handlers: dict[str, Callable[[Any], Any]] = {}
        for resource in set(task_resources(definition)):
            handlers[resource] = self._task_handler(run_id, resource, timeouts)
        return handlers

    def _task_handler(
        self, run_id: str, resource: str, timeouts: Mapping[str, int]
    ) -> Callable[[Any], Any]:
        service = self.service
        settings = service.settings

        def call(event: Any) -> Any:
            from pipelines.steps.runtime import use_environment, use_limits

            location = service.registry.location(resource)
            if location is None or settings.step_isolation == "thread":
                handler = service.registry.resolve(resource)
                with (
                    use_environment(service.objects, service.recorder),
                    use_limits(settings.step_limits),
                ):
                    return handler(event, None)
            state = event.get("step") if isinstance(event, dict) else None
            return self.processes.call(
                location,
                event,
                objects=service.objects,
                recorder=service.recorder,
                limits=settings.step_limits,
                timeout_s=timeouts.get(state or "", settings.step_timeout_seconds),
                cancelled=lambda: self.is_stopped(run_id),
            )

        return call

    @property
    def processes(self) -> StepProcesses:
        """The warm pool of step worker processes (shared by the services of one process)."""
        settings = self.service.settings
        limits = ProcessLimits(settings.step_memory_mb, settings.step_cpu_seconds)
        return shared_pool(settings.workers, limits)

    def _drive(
        self,
        stop: threading.Event,
        run_id: str,
        start_at: str | None,
        state_input: Any,
        variables: dict[str, Any] | None,
    ) -> None:
        try:
            self._execute(run_id, start_at, state_input, variables)
        finally:
            with self._lock:
                if self._stops.get(run_id) is stop:
                    del self._stops[run_id]

    def _execute(
        self,
        run_id: str,
        start_at: str | None,
        state_input: Any,
        variables: dict[str, Any] | None = None,
    ) -> None:
        """Drive one local run to its end (in a worker thread); never raises."""
        from pipelines import asl

        service = self.service
        try:
            run = service.repository.get_run(run_id)
            template = service.pipelines.get_version(
                run["pipeline"]["template"], run["pipeline"]["version"]
            )
            definition = compile_definition(template["definition"])
            first_input = execution_input(run, template["definition"], run.get("taskConfig", {}))
            listener = StoreListener(service, run_id, task_steps(template["definition"]))
            if start_at is not None and variables:
                listener.variables = dict(variables)
            result = asl.run(
                definition,
                state_input if start_at is not None else first_input,
                self._task_handlers(run_id, definition),
                execution_name=run_id,
                start_at=start_at,
                variables=variables if start_at is not None else None,
                listener=listener,
                sleep=service.sleep,
                now=service.clock,
                state_machine_name=f"{service.settings.state_machine_prefix}{template['id']}",
            )
        except RunStopped:
            return
        except Exception as error:
            log.exception("run %s could not be executed", run_id)
            self._finish(run_id, "FAILED", error={"error": ENGINE_ERROR, "cause": str(error)})
            return
        if result.status == "SUCCEEDED":
            self._finish(run_id, "SUCCEEDED", output=result.output)
        else:
            failed = None
            if result.failed_state in listener.entered:
                failed = {
                    "state": result.failed_state,
                    "input": listener.entered[result.failed_state],
                    "variables": listener.entered_variables.get(result.failed_state, {}),
                }
            self._finish(
                run_id,
                "FAILED",
                error={"error": result.error or "", "cause": result.cause or ""},
                failed_state=failed,
            )

    def _finish(
        self,
        run_id: str,
        status: str,
        *,
        output: Any = None,
        error: dict[str, str] | None = None,
        failed_state: dict[str, Any] | None = None,
    ) -> None:
        now = self.service.now()
        owner = self.service.owner

        def end(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "RUNNING" or run.get("owner") != owner:
                return None
            run.update(status=status, endedAt=now, output=output, error=error)
            # A Catch routes to a Fail state; the step that failed is where a redrive starts.
            if status == "FAILED" and not run.get("failedState") and failed_state:
                run["failedState"] = failed_state
            return run

        self.service.repository.update_run(run_id, end)

    def resume_interrupted(self) -> list[str]:
        """Take over every RUNNING run (after a crash or restart) and resume or fail it.

        Once per process; later calls return []. Returns the run ids resumed.
        """
        with self._lock:
            if self._resumed:
                return []
            self._resumed = True
        taken: list[str] = []
        for found in self.service.repository.running():
            resumed = self._take_over(found["id"], self._step_in_flight(found["id"]))
            if resumed is None:
                continue
            position = resumed.get("position")
            if position:
                self.submit(
                    found["id"], position["state"], position["input"], position.get("variables")
                )
            else:
                self.submit(found["id"])
            taken.append(found["id"])
        return taken

    def _step_in_flight(self, run_id: str) -> str | None:
        """The step a run was running when its process stopped, if it was in one."""
        run = self.service.repository.get(run_id)
        state = (run.get("position") or {}).get("state")
        for step in run.get("steps") or []:
            if step.get("name") == state and step.get("status") == "RUNNING":
                return str(state)
        return None

    def _take_over(self, run_id: str, in_flight: str | None = None) -> dict[str, Any] | None:
        """Claim a RUNNING run for this process; None when it is failed instead (or gone).

        ``in_flight`` names the step the run was in when its process stopped. A run whose
        process stopped twice in the same step is failed: the step may be what stops it.
        """
        now = self.service.now()
        owner = self.service.owner

        def take(run: dict[str, Any]) -> dict[str, Any] | None:
            if run["status"] != "RUNNING":
                return None
            resumes = int(run.get("resumes") or 0) + 1
            run.update(owner=owner, resumes=resumes)
            if in_flight is not None and run.get("resumedInStep") == in_flight:
                run.update(
                    status="FAILED",
                    endedAt=now,
                    error={
                        "error": INTERRUPTED,
                        "cause": f"the server stopped twice while step {in_flight} was "
                        "running; it is not resumed again; redrive the run to try again",
                    },
                    failedState=run.get("position"),
                )
                return run
            run["resumedInStep"] = in_flight
            if resumes > MAX_RESUMES or run.get("pipeline") is None:
                where = (run.get("position") or {}).get("state", "its start")
                run.update(
                    status="FAILED",
                    endedAt=now,
                    error={
                        "error": INTERRUPTED,
                        "cause": f"the run was interrupted {resumes} times, last in state "
                        f"{where}; redrive it to try again",
                    },
                    failedState=run.get("position"),
                )
            return run

        after = self.service.repository.update_run(run_id, take)
        if after.get("owner") != owner or after["status"] != "RUNNING":
            return None
        return after
