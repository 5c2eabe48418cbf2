"""One function per state type: given the state, its raw input and a scope, return an Outcome.

Retry and Catch wrap these functions in ``run.py``; here each state only computes its output
and the name of the next state (``None`` when the machine ends).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from random import Random
from typing import Any

from pipelines.asl import paths
from pipelines.asl.choice import choose_rule, is_number, is_timestamp, parse_timestamp
from pipelines.asl.definition import Machine, State
from pipelines.asl.errors import Cancelled, Runtime, StatesError, Timeout

Handler = Callable[[Any], Any]
# An inline Map runs at most 40 iterations at once on AWS; an unbounded MaxConcurrency (0)
# is capped the same way here so a large array does not start thousands of threads.
_MAP_CONCURRENCY_CAP = 40
# Threads one execution may add for Parallel branches and Map iterations, nested ones
# included; past it, the thread that reaches a Parallel or Map runs its jobs itself.
MAX_EXTRA_THREADS = 40
# AWS's quota of history events per Standard execution.
MAX_HISTORY_EVENTS = 25_000


class History:
    """Counts an execution's history events, so a cause can name the event a state entered at.

    The count follows AWS's history for states run one after another (ExecutionStarted is
    event 1; a state adds Entered and Exited; a Task adds Scheduled, Started and
    Succeeded/Failed). Inside Parallel and Map, AWS's own numbering depends on timing.
    Past ``limit`` events, ``check`` fails the execution, as AWS's quota does.
    """

    def __init__(self, limit: int = MAX_HISTORY_EVENTS) -> None:
        self._last = 1
        self._lock = threading.Lock()
        self.limit = limit

    def add(self, count: int = 1) -> int:
        """Record ``count`` events and return the id of the last one."""
        with self._lock:
            self._last += count
            return self._last

    def check(self) -> None:
        """Raise Runtime once the execution has more events than its limit."""
        if self._last > self.limit:
            raise Runtime(
                f"The execution reached the limit of {self.limit} history events; a loop or "
                "a Map this large cannot finish"
            )


class ThreadBudget:
    """How many more threads one execution may start for its Parallel and Map states."""

    def __init__(self, threads: int = MAX_EXTRA_THREADS) -> None:
        self._free = threads
        self._lock = threading.Lock()

    def take(self, wanted: int) -> int:
        """Reserve up to ``wanted`` threads; returns how many were granted (maybe 0)."""
        with self._lock:
            granted = max(0, min(wanted, self._free))
            self._free -= granted
            return granted

    def give(self, count: int) -> None:
        with self._lock:
            self._free += count


@dataclass(frozen=True, slots=True)
class Execution:
    """What every state of one run shares: its name, input, handlers, clock and randomness."""

    name: str
    state_machine_name: str
    input: Any
    start_time: datetime
    handlers: Mapping[str, Handler]
    sleep: Callable[[float], None]
    now: Callable[[], datetime]
    random: Random
    # Runs a Parallel branch or Map iteration: (machine, input, execution, outer variables).
    run_machine: Callable[[Machine, Any, Execution, Mapping[str, Any]], Any]
    redrive_count: int = 0
    history: History = field(default_factory=History)
    # Where $$.Execution.Id, $$.StateMachine.Id and $$.Execution.RoleArn say the run is.
    region: str = "local"
    account: str = "000000000000"
    role_arn: str | None = None
    # The run's latest end (from its TimeoutSeconds and the caller's maximum), and the
    # event that cancels it; a Wait or a Retry's delay ends early when either comes.
    deadline: datetime | None = None
    cancel: threading.Event | None = None
    threads: ThreadBudget = field(default_factory=ThreadBudget)

    def check(self) -> None:
        """Raise Cancelled once the run is cancelled, Timeout once it is past its deadline."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled")
        if self.deadline is not None and self.now() > self.deadline:
            raise Timeout(f"The execution ran past its time limit ({iso_time(self.deadline)})")

    def wait(self, seconds: float) -> None:
        """Wait ``seconds``, ending early (Cancelled) when the run is cancelled.

        Raises Timeout at once when the wait would end past the run's deadline: a Wait
        years ahead fails now rather than holding a worker until then.
        """
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled")
        if self.deadline is not None:
            left_s = (self.deadline - self.now()).total_seconds()
            if seconds > left_s:
                raise Timeout(
                    f"The wait of {seconds:.0f} s would end after the execution's time limit "
                    f"({iso_time(self.deadline)})"
                )
        self.sleep(seconds)
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled while it waited")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a state runs: the execution, the state's name, entry time and retry count.

    ``variables`` are the workflow variables the state sees, as they were when it was
    entered: its own ``Assign`` takes effect for the states after it.
    """

    execution: Execution
    state_name: str
    entered: datetime
    retry_count: int = 0
    map_item: tuple[int, Any] | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    task_token: str | None = None
    entered_event: int = 0

    def context(self) -> dict[str, Any]:
        """Build the context object (``$$``) as AWS documents it."""
        execution = self.execution
        machine_id = (
            f"arn:aws:states:{execution.region}:{execution.account}:stateMachine:"
            f"{execution.state_machine_name}"
        )
        context: dict[str, Any] = {
            "Execution": {
                "Id": f"arn:aws:states:{execution.region}:{execution.account}:execution:"
                f"{execution.state_machine_name}:{execution.name}",
                "Input": execution.input,
                "Name": execution.name,
                "RoleArn": execution.role_arn
                or f"arn:aws:iam::{execution.account}:role/brygge-local",
                "StartTime": iso_time(execution.start_time),
                "RedriveCount": execution.redrive_count,
            },
            "StateMachine": {"Id": machine_id, "Name": execution.state_machine_name},
            "State": {
                "Name": self.state_name,
                "EnteredTime": iso_time(self.entered),
                "RetryCount": self.retry_count,
            },
        }
        if self.task_token is not None:
            # AWS sets $$.Task only for a waitForTaskToken integration.
            context["Task"] = {"Token": self.task_token}
        if self.map_item is not None:
            # Item.Key and Item.Source exist only in a distributed Map, which is not supported.
            context["Map"] = {"Item": {"Index": self.map_item[0], "Value": self.map_item[1]}}
        return context


@dataclass(frozen=True, slots=True)
class Outcome:
    """A state's output and the next state's name (``None``: the machine ends here).

    ``is_caught`` marks the output of a Catcher: the state failed and the run goes on.
    ``assigned`` holds the workflow variables the state (or its Catcher) assigns.
    """

    output: Any
    next: str | None
    is_caught: bool = False
    assigned: Mapping[str, Any] | None = None


def iso_time(moment: datetime) -> str:
    """Format a time as AWS does in the context object: UTC, milliseconds, ``Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _select(path: str | None, document: Any, scope: Scope, field: str) -> Any:
    return paths.select(path, document, scope.context, field, scope.variables)


def _template(template: Any, document: Any, scope: Scope, field: str) -> Any:
    return paths.apply_template(
        template, document, scope.context, field, scope.execution.random, scope.variables
    )


def _input(state: State, raw: Any, scope: Scope) -> Any:
    return _select(state.input_path, raw, scope, "InputPath")


def _effective_input(state: State, raw: Any, scope: Scope) -> Any:
    document = _input(state, raw, scope)
    if state.parameters is None:
        return document
    return _template(state.parameters, document, scope, "Parameters")


def assign(template: Any, document: Any, scope: Scope) -> dict[str, Any] | None:
    """Evaluate an ``Assign`` object on ``document`` (``$``) with the variables on entry.

    Every value sees the variables as they were when the state was entered, so the
    assignments of one state do not depend on their order.
    """
    if template is None:
        return None
    built = _template(template, document, scope, "Assign")
    assert isinstance(built, dict)  # the validator requires an object
    return built


def _finish(state: State, raw: Any, result: Any, scope: Scope) -> Outcome:
    """Apply Assign, ResultSelector, ResultPath and OutputPath and pick the next state.

    ``Assign`` reads the raw result (``$``), as ResultSelector does, not the selected one;
    LocalStack, whose tests are recorded on AWS, evaluates it the same way.
    """
    assigned = assign(state.assign, result, scope)
    if state.result_selector is not None:
        result = _template(state.result_selector, result, scope, "ResultSelector")
    combined = paths.apply_result_path(state.result_path, raw, result)
    return Outcome(
        _select(state.output_path, combined, scope, "OutputPath"), state.next, assigned=assigned
    )


def run_pass(state: State, raw: Any, scope: Scope) -> Outcome:
    """Pass: output its ``Result`` (or its effective input) through ResultPath/OutputPath."""
    document = _effective_input(state, raw, scope)
    result = state.result if state.has_result else document
    assigned = assign(state.assign, result, scope)
    combined = paths.apply_result_path(state.result_path, raw, result)
    return Outcome(
        _select(state.output_path, combined, scope, "OutputPath"), state.next, assigned=assigned
    )


def run_task(state: State, raw: Any, scope: Scope) -> Outcome:
    """Task: call the handler registered for ``Resource`` with the effective input.

    Raises Runtime for an unknown resource, Timeout past ``TimeoutSeconds``, and a
    StatesError named after the handler's exception class when the handler fails.
    """
    resource = state.resource or ""
    if resource.endswith(".waitForTaskToken"):
        scope = replace(scope, task_token=task_token(scope))
    payload = _effective_input(state, raw, scope)
    handler = scope.execution.handlers.get(resource)
    if handler is None:
        raise Runtime(f"No handler is registered for the resource '{state.resource}'")
    timeout_s = state.timeout_seconds
    if state.timeout_seconds_path is not None:
        timeout_s = _select(state.timeout_seconds_path, raw, scope, "TimeoutSecondsPath")
        if not is_number(timeout_s) or timeout_s <= 0:
            raise Runtime(f"TimeoutSecondsPath gave {timeout_s!r}, not a positive integer")
    try:
        result = call_handler(handler, payload, timeout_s, scope.execution.now)
    finally:
        scope.execution.history.add(3)  # Scheduled, Started, Succeeded or Failed
    return _finish(state, raw, result, scope)


def task_token(scope: Scope) -> str:
    """A task token for a waitForTaskToken Task: opaque text, as AWS's is."""
    bits = scope.execution.random.getrandbits(384)
    return base64.urlsafe_b64encode(bits.to_bytes(48, "big")).decode("ascii")


def call_handler(
    handler: Handler, payload: Any, timeout_s: float | None, now: Callable[[], datetime]
) -> Any:
    """Call a Task handler on a JSON copy of its payload and return a JSON copy of its result.

    The copies keep a handler from changing the run's data behind its back, as the JSON
    boundary of a Lambda invocation does. Raises Timeout when the handler runs longer than
    ``timeout_s`` (by the wall clock, or by the injected clock ``now``).
    """
    started = now()
    try:
        text = json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise Runtime(f"The task input is not JSON: {exc}") from None
    if timeout_s is None:
        result = _invoke(handler, text)
    else:
        result = _invoke_with_deadline(handler, text, timeout_s)
    if timeout_s is not None and (now() - started).total_seconds() > timeout_s:
        raise Timeout(f"The task ran longer than its TimeoutSeconds ({timeout_s} s)")
    try:
        return json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        # Lambda's Python runtime names this failure so when a result is not JSON.
        raise StatesError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None


def _invoke(handler: Handler, payload_text: str) -> Any:
    try:
        return handler(json.loads(payload_text))
    except (StatesError, Cancelled):
        raise
    except Exception as exc:
        # As on Lambda: the exception's class name is the error, its message the cause.
        raise StatesError(type(exc).__name__, str(exc)) from exc


def _invoke_with_deadline(handler: Handler, payload_text: str, timeout_s: float) -> Any:
    """Run the handler in a daemon thread and give up waiting after ``timeout_s``."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["result"] = _invoke(handler, payload_text)
        except BaseException as exc:  # handed over to the waiting thread below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True, name="brygge-task")
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise Timeout(f"The task ran longer than its TimeoutSeconds ({timeout_s} s)")
    if "error" in box:
        raise box["error"]
    return box.get("result")


def run_choice(state: State, raw: Any, scope: Scope) -> Outcome:
    """Choice: pick the next state by the first matching rule, else ``Default``."""
    document = _input(state, raw, scope)
    rule = choose_rule(
        state.choices, state.default, document, scope.context, state.name, scope.variables
    )
    # A matched rule assigns its own Assign; the state's Assign goes with the Default.
    assigned = assign(state.assign if rule is None else rule.assign, document, scope)
    target = state.default if rule is None else rule.next
    return Outcome(
        _select(state.output_path, document, scope, "OutputPath"), target, assigned=assigned
    )


def run_wait(state: State, raw: Any, scope: Scope) -> Outcome:
    """Wait: sleep for ``Seconds``/``SecondsPath`` or until ``Timestamp``/``TimestampPath``.

    Raises Runtime when a path gives something that is not a number or timestamp.
    """
    document = _input(state, raw, scope)
    execution = scope.execution
    seconds: float
    if state.seconds is not None:
        seconds = state.seconds
    elif state.seconds_path is not None:
        seconds = _wait_seconds(state.seconds_path, document, scope)
    else:
        moment = state.timestamp
        if state.timestamp_path is not None:
            moment = _select(state.timestamp_path, document, scope, "TimestampPath")
        if not is_timestamp(moment):
            raise Runtime(
                "The TimestampPath parameter does not reference a valid ISO-8601 extended "
                f"offset date-time format string: {state.timestamp_path} == {_shown(moment)}"
            )
        assert isinstance(moment, str)
        seconds = max(0.0, (parse_timestamp(moment) - execution.now()).total_seconds())
    if seconds > 0:
        execution.wait(seconds)
    assigned = assign(state.assign, document, scope)
    return Outcome(
        _select(state.output_path, document, scope, "OutputPath"), state.next, assigned=assigned
    )


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else paths.to_json(value)


def _wait_seconds(path: str, document: Any, scope: Scope) -> int:
    """Read SecondsPath: a whole number of seconds, worded as AWS words its failures."""
    try:
        value = paths.resolve(path, document, scope.context, scope.variables)
    except paths.PathError:
        raise Runtime(
            f"The SecondsPath parameter does not reference an input value: {path}"
        ) from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Runtime(
            f"The SecondsPath parameter cannot be parsed as a long value: {path} == {_shown(value)}"
        )
    if value < 0:
        raise Runtime(f"The SecondsPath parameter references a negative value: {path} == {value}")
    return value


def run_succeed(state: State, raw: Any, scope: Scope) -> Outcome:
    """Succeed: end the machine with the effective input as output."""
    document = _input(state, raw, scope)
    return Outcome(_select(state.output_path, document, scope, "OutputPath"), None)


def run_fail(state: State, raw: Any, scope: Scope) -> Outcome:
    """Fail: raise its ``Error``/``Cause`` (or those found by ``ErrorPath``/``CausePath``)."""
    error, cause = state.error, state.cause
    if state.error_path is not None:
        error = _text_from(state.error_path, raw, scope, "ErrorPath")
    if state.cause_path is not None:
        cause = _text_from(state.cause_path, raw, scope, "CausePath")
    raise StatesError(error or "", cause or "")


def _text_from(expression: str, raw: Any, scope: Scope, field: str) -> str:
    try:
        value = paths.value_of(
            expression, raw, scope.context, scope.execution.random, scope.variables
        )
    except paths.UndefinedVariable as exc:
        raise Runtime(f"{exc} ({field} of '{scope.state_name}')") from None
    except paths.PathError:
        raise Runtime(f"Invalid path '{expression}' in {field} of '{scope.state_name}'") from None
    if not isinstance(value, str):
        raise Runtime(f"{field} '{expression}' gave {paths.to_json(value)}, not a string")
    return value


def _run_all(
    jobs: list[Callable[[], Any]], concurrency: int, budget: ThreadBudget | None = None
) -> list[Any]:
    """Run jobs, at most ``concurrency`` at a time, and return their outputs in order.

    The calling thread runs jobs too; extra threads come from the execution's ``budget``
    (none left: the caller runs them all), so nested Maps cannot multiply threads. Jobs
    start in order and none starts after one failed; the started ones run to their end and
    the first failure by position is raised, which does not depend on thread timing.
    """
    outputs: list[Any] = [None] * len(jobs)
    failures: list[tuple[int, BaseException]] = []
    lock = threading.Lock()
    upcoming = iter(enumerate(jobs))

    def work() -> None:
        while True:
            with lock:
                if failures:
                    return
                index, job = next(upcoming, (-1, None))
            if job is None:
                return
            try:
                outputs[index] = job()
            except BaseException as exc:  # re-raised below once the started jobs ended
                with lock:
                    failures.append((index, exc))

    wanted = min(concurrency, len(jobs)) - 1
    extra = budget.take(wanted) if budget is not None and wanted > 0 else 0
    threads = [threading.Thread(target=work, name="brygge-map") for _ in range(extra)]
    try:
        for thread in threads:
            thread.start()
        work()
    finally:
        for thread in threads:
            thread.join()
        if budget is not None:
            budget.give(extra)
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return outputs


def _branch_job(branch: Machine, document: Any, scope: Scope) -> Callable[[], Any]:
    execution = scope.execution
    return lambda: execution.run_machine(branch, document, execution, scope.variables)


def run_parallel(state: State, raw: Any, scope: Scope) -> Outcome:
    """Parallel: run every branch on the effective input; the result is their outputs."""
    document = _effective_input(state, raw, scope)
    jobs = [_branch_job(branch, document, scope) for branch in state.branches]
    scope.execution.history.add()  # ParallelStateStarted
    outputs = _run_all(jobs, len(jobs), scope.execution.threads)
    scope.execution.history.add()  # ParallelStateSucceeded
    return _finish(state, raw, outputs, scope)


def run_map(state: State, raw: Any, scope: Scope) -> Outcome:
    """Map: run the item processor on each item of ``ItemsPath``; the result is the outputs.

    Raises Runtime when ItemsPath does not give an array.
    """
    document = _input(state, raw, scope)
    items = _select(state.items_path, document, scope, "ItemsPath")
    if not isinstance(items, list):
        raise Runtime(
            f"Item selector in '{state.name}': ItemsPath '{state.items_path}' gave "
            f"{paths.to_json(items)}, not an array"
        )
    concurrency = state.max_concurrency
    if state.max_concurrency_path is not None:
        concurrency = _select(state.max_concurrency_path, document, scope, "MaxConcurrencyPath")
        if not isinstance(concurrency, int) or isinstance(concurrency, bool):
            raise Runtime(
                f'The MaxConcurrencyPath field refers to value "{_shown(concurrency)}" which '
                f"is not a valid integer: {state.max_concurrency_path}"
            )
        if concurrency < 0:
            raise Runtime(
                f"Expected non-negative integer for MaxConcurrency, got '{concurrency}' instead."
            )
    concurrency = int(concurrency) or _MAP_CONCURRENCY_CAP
    execution = scope.execution
    processor = state.processor
    assert processor is not None  # the validator requires ItemProcessor or Iterator

    def job(index: int, item: Any) -> Callable[[], Any]:
        def run_item() -> Any:
            item_input = item
            if state.item_selector is not None:
                item_scope = replace(scope, map_item=(index, item))
                item_input = _template(state.item_selector, document, item_scope, "ItemSelector")
            execution.history.add()  # MapIterationStarted
            output = execution.run_machine(processor, item_input, execution, scope.variables)
            execution.history.add()  # MapIterationSucceeded
            return output

        return run_item

    execution.history.add()  # MapStateStarted
    outputs = _run_all(
        [job(i, item) for i, item in enumerate(items)], concurrency, execution.threads
    )
    execution.history.add()  # MapStateSucceeded
    return _finish(state, raw, outputs, scope)


StateFunction = Callable[[State, Any, Scope], Outcome]

STATE_FUNCTIONS: dict[str, StateFunction] = {
    "Pass": run_pass,
    "Task": run_task,
    "Choice": run_choice,
    "Wait": run_wait,
    "Succeed": run_succeed,
    "Fail": run_fail,
    "Parallel": run_parallel,
    "Map": run_map,
}
