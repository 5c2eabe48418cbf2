"""One function per state type: given the state, its raw input and a scope, return an Outcome.

Retry and Catch wrap these functions in ``run.py``; here each state only computes its output
and the name of the next state (``None`` when the machine ends).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from random import Random
from typing import Any

from pipelines.asl import paths
from pipelines.asl.choice import choose, is_number, is_timestamp, parse_timestamp
from pipelines.asl.definition import Machine, State
from pipelines.asl.errors import Runtime, StatesError, Timeout

Handler = Callable[[Any], Any]
# An inline Map runs at most 40 iterations at once on AWS; an unbounded MaxConcurrency (0)
# is capped the same way here so a large array does not start thousands of threads.
_MAP_CONCURRENCY_CAP = 40


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
    run_machine: Callable[[Machine, Any, Execution], Any]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a state runs: the execution, the state's name, entry time and retry count."""

    execution: Execution
    state_name: str
    entered: datetime
    retry_count: int = 0
    map_item: tuple[int, Any] | None = None

    def context(self) -> dict[str, Any]:
        """Build the context object (``$$``) as AWS documents it."""
        execution = self.execution
        machine_id = (
            f"arn:aws:states:local:000000000000:stateMachine:{execution.state_machine_name}"
        )
        context: dict[str, Any] = {
            "Execution": {
                "Id": f"arn:aws:states:local:000000000000:execution:"
                f"{execution.state_machine_name}:{execution.name}",
                "Input": execution.input,
                "Name": execution.name,
                "RoleArn": "arn:aws:iam::000000000000:role/brygge-local",
                "StartTime": iso_time(execution.start_time),
                "RedriveCount": 0,
            },
            "StateMachine": {"Id": machine_id, "Name": execution.state_machine_name},
            "State": {
                "Name": self.state_name,
                "EnteredTime": iso_time(self.entered),
                "RetryCount": self.retry_count,
            },
        }
        if self.map_item is not None:
            context["Map"] = {"Item": {"Index": self.map_item[0], "Value": self.map_item[1]}}
        return context


@dataclass(frozen=True, slots=True)
class Outcome:
    """A state's output and the next state's name (``None``: the machine ends here).

    ``is_caught`` marks the output of a Catcher: the state failed and the run goes on.
    """

    output: Any
    next: str | None
    is_caught: bool = False


def iso_time(moment: datetime) -> str:
    """Format a time as AWS does in the context object: UTC, milliseconds, ``Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def _effective_input(state: State, raw: Any, scope: Scope) -> Any:
    document = paths.select(state.input_path, raw, scope.context, "InputPath")
    if state.parameters is None:
        return document
    return paths.apply_template(
        state.parameters, document, scope.context, "Parameters", scope.execution.random
    )


def _finish(state: State, raw: Any, result: Any, scope: Scope) -> Outcome:
    """Apply ResultSelector, ResultPath and OutputPath and pick the next state."""
    if state.result_selector is not None:
        result = paths.apply_template(
            state.result_selector, result, scope.context, "ResultSelector", scope.execution.random
        )
    combined = paths.apply_result_path(state.result_path, raw, result)
    return Outcome(
        paths.select(state.output_path, combined, scope.context, "OutputPath"), state.next
    )


def run_pass(state: State, raw: Any, scope: Scope) -> Outcome:
    """Pass: output its ``Result`` (or its effective input) through ResultPath/OutputPath."""
    document = _effective_input(state, raw, scope)
    result = state.result if state.has_result else document
    combined = paths.apply_result_path(state.result_path, raw, result)
    return Outcome(
        paths.select(state.output_path, combined, scope.context, "OutputPath"), state.next
    )


def run_task(state: State, raw: Any, scope: Scope) -> Outcome:
    """Task: call the handler registered for ``Resource`` with the effective input.

    Raises Runtime for an unknown resource, Timeout past ``TimeoutSeconds``, and a
    StatesError named after the handler's exception class when the handler fails.
    """
    payload = _effective_input(state, raw, scope)
    handler = scope.execution.handlers.get(state.resource or "")
    if handler is None:
        raise Runtime(f"No handler is registered for the resource '{state.resource}'")
    timeout_s = state.timeout_seconds
    if state.timeout_seconds_path is not None:
        timeout_s = paths.select(
            state.timeout_seconds_path, raw, scope.context, "TimeoutSecondsPath"
        )
        if not is_number(timeout_s) or timeout_s <= 0:
            raise Runtime(f"TimeoutSecondsPath gave {timeout_s!r}, not a positive integer")
    result = call_handler(handler, payload, timeout_s, scope.execution.now)
    return _finish(state, raw, result, scope)


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
    except StatesError:
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
    document = paths.select(state.input_path, raw, scope.context, "InputPath")
    target = choose(state.choices, state.default, document, scope.context, state.name)
    return Outcome(paths.select(state.output_path, document, scope.context, "OutputPath"), target)


def run_wait(state: State, raw: Any, scope: Scope) -> Outcome:
    """Wait: sleep for ``Seconds``/``SecondsPath`` or until ``Timestamp``/``TimestampPath``.

    Raises Runtime when a path gives something that is not a number or timestamp.
    """
    document = paths.select(state.input_path, raw, scope.context, "InputPath")
    execution = scope.execution
    seconds: float
    if state.seconds is not None:
        seconds = state.seconds
    elif state.seconds_path is not None:
        value = paths.select(state.seconds_path, document, scope.context, "SecondsPath")
        if not is_number(value) or value < 0:
            raise Runtime(f"SecondsPath '{state.seconds_path}' gave {value!r}, not seconds")
        seconds = value
    else:
        moment = state.timestamp
        if state.timestamp_path is not None:
            moment = paths.select(state.timestamp_path, document, scope.context, "TimestampPath")
        if not is_timestamp(moment):
            raise Runtime(f"TimestampPath gave {moment!r}, not an RFC 3339 timestamp")
        assert isinstance(moment, str)
        seconds = max(0.0, (parse_timestamp(moment) - execution.now()).total_seconds())
    if seconds > 0:
        execution.sleep(seconds)
    return Outcome(
        paths.select(state.output_path, document, scope.context, "OutputPath"), state.next
    )


def run_succeed(state: State, raw: Any, scope: Scope) -> Outcome:
    """Succeed: end the machine with the effective input as output."""
    document = paths.select(state.input_path, raw, scope.context, "InputPath")
    return Outcome(paths.select(state.output_path, document, scope.context, "OutputPath"), None)


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
        value = paths.value_of(expression, raw, scope.context, scope.execution.random)
    except paths.PathError:
        raise Runtime(f"Invalid path '{expression}' in {field} of '{scope.state_name}'") from None
    if not isinstance(value, str):
        raise Runtime(f"{field} '{expression}' gave {paths.to_json(value)}, not a string")
    return value


def _run_all(jobs: list[Callable[[], Any]], concurrency: int) -> list[Any]:
    """Run jobs, at most ``concurrency`` at a time, and return their outputs in order.

    Every job runs to its end; the first failure by position is then raised, so the error a
    Parallel or Map reports does not depend on thread timing.
    """
    if concurrency <= 1 or len(jobs) <= 1:
        return [job() for job in jobs]
    outputs: list[Any] = [None] * len(jobs)
    failures: list[tuple[int, BaseException]] = []
    with ThreadPoolExecutor(max_workers=min(concurrency, len(jobs))) as pool:
        futures = [pool.submit(job) for job in jobs]
        for index, future in enumerate(futures):
            try:
                outputs[index] = future.result()
            except BaseException as exc:  # re-raised below once every job ended
                failures.append((index, exc))
    if failures:
        raise min(failures, key=lambda failure: failure[0])[1]
    return outputs


def _branch_job(branch: Machine, document: Any, execution: Execution) -> Callable[[], Any]:
    return lambda: execution.run_machine(branch, document, execution)


def run_parallel(state: State, raw: Any, scope: Scope) -> Outcome:
    """Parallel: run every branch on the effective input; the result is their outputs."""
    document = _effective_input(state, raw, scope)
    execution = scope.execution
    jobs = [_branch_job(branch, document, execution) for branch in state.branches]
    return _finish(state, raw, _run_all(jobs, len(jobs)), scope)


def run_map(state: State, raw: Any, scope: Scope) -> Outcome:
    """Map: run the item processor on each item of ``ItemsPath``; the result is the outputs.

    Raises Runtime when ItemsPath does not give an array.
    """
    document = paths.select(state.input_path, raw, scope.context, "InputPath")
    items = paths.select(state.items_path, document, scope.context, "ItemsPath")
    if not isinstance(items, list):
        raise Runtime(
            f"Item selector in '{state.name}': ItemsPath '{state.items_path}' gave "
            f"{paths.to_json(items)}, not an array"
        )
    concurrency = state.max_concurrency
    if state.max_concurrency_path is not None:
        concurrency = paths.select(
            state.max_concurrency_path, document, scope.context, "MaxConcurrencyPath"
        )
        if not is_number(concurrency) or concurrency < 0:
            raise Runtime(f"MaxConcurrencyPath gave {concurrency!r}, not a count")
    concurrency = int(concurrency) or _MAP_CONCURRENCY_CAP
    execution = scope.execution
    processor = state.processor
    assert processor is not None  # the validator requires ItemProcessor or Iterator

    def job(index: int, item: Any) -> Callable[[], Any]:
        def run_item() -> Any:
            item_input = item
            if state.item_selector is not None:
                item_scope = replace(scope, map_item=(index, item))
                item_input = paths.apply_template(
                    state.item_selector,
                    document,
                    item_scope.context,
                    "ItemSelector",
                    execution.random,
                )
            return execution.run_machine(processor, item_input, execution)

        return run_item

    outputs = _run_all([job(i, item) for i, item in enumerate(items)], concurrency)
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
