"""Local runs on Brygge's engine: a pool of threads driving each run, fairly across datasets.

Every top-level transition is written to the run (``StoreListener``), so a run interrupted
by a crash is resumed from the state it last entered when the service starts again, or
failed with a clear error once it has been interrupted too often (``local_resume``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import InvalidValue, NotFound
from catalogue.runs.listener import RunStopped, StoreListener
from catalogue.runs.local_resume import Resumption
from catalogue.runs.recovery import remove_partial_objects, step_temp_root
from catalogue.runs.templates import TEMPLATE_DELETED, template_deleted
from pipelines.asl.errors import Cancelled, StatesError, Timeout
from pipelines.asl.lambdas import function_error, invoked
from pipelines.compiler import (
    compile_definition,
    execution_input,
    restart_input,
    task_steps,
    task_timeouts,
)
from pipelines.object_keys import parse_object_key
from pipelines.objects import LocalObjectStore
from pipelines.runs.processes import ProcessLimits, StepCrashed, StepProcesses, shared_pool
from pipelines.runs.steps import task_resources

if TYPE_CHECKING:
    from catalogue.runs.service import RunService

log = logging.getLogger(__name__)

# Error names Brygge itself gives a run (Brygge.Interrupted: see local_resume).
ENGINE_ERROR = "Brygge.EngineError"


# Threads driving runs per BRYGGE_WORKERS: a run mostly waits (for its step's worker
# process, or in a Wait state), so several runs share one step worker.
RUN_THREADS_PER_WORKER = 4


@dataclass
class _Queued:
    run_id: str
    dataset: str
    start_at: str | None
    state_input: Any
    variables: dict[str, Any] | None
    stop: threading.Event
    future: Future[None]


class LocalWorkers(Resumption):
    """The threads of one RunService driving its local runs, fairly across datasets.

    At most ``RUN_THREADS_PER_WORKER * BRYGGE_WORKERS`` runs execute at once, and at most
    ``BRYGGE_WORKERS`` of one dataset: the runs of one team, however long, leave room for
    the others'. Waiting runs start in turn across datasets (round robin), each dataset's
    in the order they came.
    """

    def __init__(self, service: RunService) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._resumed = False
        self._closed = False
        # Set when a run this process drives is aborted: its waiting step or Wait ends.
        self._stops: dict[str, threading.Event] = {}
        self._futures: set[Future[None]] = set()
        self._queues: dict[str, deque[_Queued]] = {}
        self._turns: deque[str] = deque()
        self._running: Counter[str] = Counter()

    @property
    def slots(self) -> int:
        return self.service.settings.workers * RUN_THREADS_PER_WORKER

    @property
    def per_dataset(self) -> int:
        return self.service.settings.workers

    def submit(
        self,
        run_id: str,
        start_at: str | None = None,
        state_input: Any = None,
        variables: dict[str, Any] | None = None,
        *,
        dataset: str | None = None,
    ) -> None:
        """Drive a RUNNING run owned by this process, from its start or from ``start_at``.

        ``variables`` are the workflow variables the run held when it entered ``start_at``.
        ``dataset`` (default: read from the run) is whose turn the run takes.
        """
        if dataset is None:
            dataset = str(self.service.repository.get_run(run_id)["dataset"])
        future: Future[None] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the run workers have shut down")
            stop = self._stops[run_id] = threading.Event()
            queued = _Queued(run_id, dataset, start_at, state_input, variables, stop, future)
            if dataset not in self._queues:
                self._queues[dataset] = deque()
                self._turns.append(dataset)
            self._queues[dataset].append(queued)
            self._futures.add(future)
        future.add_done_callback(self._forget)
        self._dispatch()

    def _dispatch(self) -> None:
        """Start queued runs while there are free threads, taking datasets in turn."""
        while True:
            with self._lock:
                queued = self._next_queued()
                if queued is None:
                    return
                self._running[queued.dataset] += 1
            thread = threading.Thread(
                target=self._drive, args=(queued,), name=f"brygge-run-{queued.run_id}"
            )
            thread.start()

    def _next_queued(self) -> _Queued | None:
        if sum(self._running.values()) >= self.slots:
            return None
        for _ in range(len(self._turns)):
            dataset = self._turns[0]
            self._turns.rotate(-1)
            if self._running[dataset] >= self.per_dataset:
                continue
            queue = self._queues[dataset]
            queued = queue.popleft()
            if not queue:
                del self._queues[dataset]
                self._turns.remove(dataset)
            return queued
        return None

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
        """Stop taking runs and wait for those queued or executing."""
        with self._lock:
            self._closed = True
        self.wait_idle()

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

        def run_handler(event: Any) -> Any:
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
            try:
                return self.processes.call(
                    location,
                    event,
                    objects=service.objects,
                    recorder=service.recorder,
                    limits=settings.step_limits,
                    timeout_s=timeouts.get(state or "", settings.step_timeout_seconds),
                    cancelled=lambda: self.is_stopped(run_id),
                )
            except (StepCrashed, Timeout, Cancelled):
                # The worker was killed mid-step: what it was writing is half done.
                self._remove_partial_outputs(event)
                raise

        def run_step(event: Any) -> Any:
            try:
                return run_handler(event)
            except (StepCrashed, Timeout, Cancelled):
                raise
            except StatesError as error:  # the step raised in its worker process
                raise function_error(error.error, error.cause) from error

        # A step answers as the steps Lambda does through Step Functions' lambda:invoke: its
        # result inside the invoke response, its failure as Lambda's error payload, so
        # Catch, ResultPath and Assign see the same shapes in both modes.
        return invoked(run_step)

    @property
    def processes(self) -> StepProcesses:
        """The warm pool of step worker processes (shared by the services of one process)."""
        settings = self.service.settings
        limits = ProcessLimits(
            settings.step_memory_mb,
            settings.step_cpu_seconds,
            temp_root=str(step_temp_root(settings.home)),
        )
        return shared_pool(settings.workers, limits)

    def _remove_partial_outputs(self, event: Any) -> None:
        """Delete the ``.put-*.part`` files in the output folders of a killed step."""
        objects = self.service.objects
        if not isinstance(objects, LocalObjectStore):
            return
        try:
            step = str(event["step"])
            folders = {
                str(parse_object_key(key).for_step(step, "x")).rpartition("/")[0]
                for key in event["input"]["keys"]
            }
        except (KeyError, TypeError, InvalidValue):
            return
        for folder in folders:
            remove_partial_objects(objects.root, folder)

    def _drive(self, queued: _Queued) -> None:
        try:
            self._execute(queued.run_id, queued.start_at, queued.state_input, queued.variables)
        finally:
            with self._lock:
                if self._stops.get(queued.run_id) is queued.stop:
                    del self._stops[queued.run_id]
                self._running[queued.dataset] -= 1
            queued.future.set_result(None)
            self._dispatch()

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
            template = service.pipelines.find_version(
                run["pipeline"]["template"], run["pipeline"]["version"]
            )
            if template is None:
                error = {"error": TEMPLATE_DELETED, "cause": template_deleted(run)}
                self._finish(run_id, "FAILED", error=error)
                return
            definition = compile_definition(template["definition"])
            first_input = execution_input(run, template["definition"], run.get("taskConfig", {}))
            listener = StoreListener(service, run_id, task_steps(template["definition"]))
            if start_at is not None and variables:
                listener.variables = dict(variables)
            with self._lock:
                stop = self._stops.get(run_id)
            result = asl.run(
                definition,
                (
                    restart_input(run, template["definition"], state_input)
                    if start_at is not None
                    else first_input
                ),
                self._task_handlers(run_id, definition),
                execution_name=run_id,
                start_at=start_at,
                variables=variables if start_at is not None else None,
                listener=listener,
                sleep=service.sleep,
                now=service.clock,
                state_machine_name=f"{service.settings.state_machine_prefix}{template['id']}",
                max_seconds=self._seconds_left(run),
                max_history_events=service.settings.run_max_history_events,
                cancel=stop,
            )
        except (RunStopped, asl.Cancelled):
            return
        except NotFound:
            # The run went with its dataset (a cascade delete) while it ran.
            log.info("run %s was deleted while it ran", run_id)
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

    def _seconds_left(self, run: Mapping[str, Any]) -> float:
        """What is left of BRYGGE_RUN_MAX_SECONDS since the run first started."""
        limit_s = float(self.service.settings.run_max_seconds)
        started = run.get("startedAt")
        if not started:
            return limit_s
        began = datetime.strptime(started, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return limit_s - (self.service.clock() - began).total_seconds()

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

        try:
            self.service.repository.update_run(run_id, end)
        except NotFound:
            log.info("run %s was deleted before it ended %s", run_id, status)
