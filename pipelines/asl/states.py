"""One function per state type: given the state, its raw input and a scope, return an Outcome.

Retry and Catch wrap these functions in ``run.py``; here each state only computes its output
and the name of the next state (``None`` when the machine ends).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from pipelines.asl import paths
from pipelines.asl.choice import choose_rule, is_number, is_timestamp, parse_timestamp
from pipelines.asl.definition import Machine, State
from pipelines.asl.errors import (
    Cancelled,
    DataLimitExceeded,
    Halted,
    Runtime,
    StatesError,
    Timeout,
)
from pipelines.asl.execution import Execution, Handler, Outcome, Scope

# An inline Map runs at most 40 iterations at once on AWS; an unbounded MaxConcurrency (0)
# is capped the same way here so a large array does not start thousands of threads.
_MAP_CONCURRENCY_CAP = 40
# The longest Wait Step Functions accepts (2^31 - 1 seconds, about 68 years).
_MAX_WAIT_S = 2_147_483_647
# Java's Integer.parseInt: an optional sign, ASCII digits, a 32-bit value.
_JAVA_INT = re.compile(r"[+-]?[0-9]+")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
# Step Functions' quota for a task's result and a state's output: 256 KiB of UTF-8 JSON.
MAX_PAYLOAD_BYTES = 262_144


def _select(path: str | None, document: Any, scope: Scope, field: str) -> Any:
    return paths.select(path, document, scope.context, field, scope.variables)


def _template(template: Any, document: Any, scope: Scope, field: str) -> Any:
    return paths.apply_template(
        template, document, scope.context, field, scope.execution.random, scope.variables
    )


def check_payload_size(document: Any, name: str, what: str = "returned a result") -> None:
    """Raise DataLimitExceeded when ``document`` is over the payload quota, as AWS does.

    ``name`` is the state or task named in the cause, worded as AWS words it; ``what``
    says which payload it is (a result, or an input built by Parameters).
    """
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    if len(text) * 4 > MAX_PAYLOAD_BYTES and len(text.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise DataLimitExceeded(
            f"The state/task '{name}' {what} with a size exceeding the maximum "
            "number of bytes service limit."
        )


def _input(state: State, raw: Any, scope: Scope) -> Any:
    return _select(state.input_path, raw, scope, "InputPath")


def _effective_input(state: State, raw: Any, scope: Scope) -> Any:
    document = _input(state, raw, scope)
    if state.parameters is None:
        return document
    built = _template(state.parameters, document, scope, "Parameters")
    # AWS fails a state whose input, once Parameters built it, is over the quota.
    check_payload_size(built, state.name, "has an input built by Parameters")
    return built


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
    # AWS names a service integration by its service ('lambda'), any other resource in full.
    is_integration = resource.startswith("arn:aws:states:::")
    check_payload_size(result, resource.split(":")[5] if is_integration else resource)
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
    # AWS applies the state's Assign whichever rule matches, and a matched rule's Assign
    # with it; a variable both assign takes the rule's value.
    assigned = assign(state.assign, document, scope)
    if rule is not None and rule.assign is not None:
        assigned = {**(assigned or {}), **(assign(rule.assign, document, scope) or {})}
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
    if seconds > _MAX_WAIT_S:
        raise Runtime("Wait state delay is too long.")
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
    jobs: list[Callable[[Execution], Any]], concurrency: int, execution: Execution
) -> list[Any]:
    """Run jobs, at most ``concurrency`` at a time, and return their outputs in order.

    Each job is given the execution as its branch sees it. The calling thread runs jobs
    too; extra threads come from the execution's thread budget (none left: the caller runs
    them all), so nested Maps cannot multiply threads. Jobs start in order and none starts
    after one failed; the running ones are halted at their next state or wait, as AWS stops
    the branches of a failed Parallel or Map (a handler already called runs to its end).
    The first failure by position is raised, which does not depend on thread timing.
    """
    outputs: list[Any] = [None] * len(jobs)
    failures: list[tuple[int, BaseException]] = []
    lock = threading.Lock()
    upcoming = iter(enumerate(jobs))
    halt = threading.Event()
    branch = replace(execution, halts=(*execution.halts, halt))

    def work() -> None:
        while True:
            with lock:
                if failures:
                    return
                index, job = next(upcoming, (-1, None))
            if job is None:
                return
            try:
                outputs[index] = job(branch)
            except BaseException as exc:  # re-raised below once the started jobs ended
                with lock:
                    failures.append((index, exc))
                halt.set()

    wanted = min(concurrency, len(jobs)) - 1
    budget = execution.threads
    extra = budget.take(wanted) if wanted > 0 else 0
    threads = [threading.Thread(target=work, name="brygge-map") for _ in range(extra)]
    try:
        for thread in threads:
            thread.start()
        work()
    finally:
        for thread in threads:
            thread.join()
        budget.give(extra)
    if failures:
        # A halted branch only followed another's failure, which is the one to report.
        causes = [failure for failure in failures if not isinstance(failure[1], Halted)]
        raise min(causes or failures, key=lambda failure: failure[0])[1]
    return outputs


def _branch_job(branch: Machine, document: Any, scope: Scope) -> Callable[[Execution], Any]:
    return lambda execution: execution.run_machine(branch, document, execution, scope.variables)


def run_parallel(state: State, raw: Any, scope: Scope) -> Outcome:
    """Parallel: run every branch on the effective input; the result is their outputs."""
    document = _effective_input(state, raw, scope)
    jobs = [_branch_job(branch, document, scope) for branch in state.branches]
    scope.execution.history.add()  # ParallelStateStarted
    outputs = _run_all(jobs, len(jobs), scope.execution)
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
        concurrency = _java_int(concurrency)
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

    def job(index: int, item: Any) -> Callable[[Execution], Any]:
        def run_item(execution: Execution) -> Any:
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
    outputs = _run_all([job(i, item) for i, item in enumerate(items)], concurrency, execution)
    execution.history.add()  # MapStateSucceeded
    return _finish(state, raw, outputs, scope)


def _java_int(value: Any) -> Any:
    """A string Java's ``Integer.parseInt`` reads (``"4"``, ``"+4"``) as that integer, since
    AWS takes MaxConcurrencyPath's value so; any other value as it is."""
    if isinstance(value, str) and _JAVA_INT.fullmatch(value) and _INT_MIN <= int(value) <= _INT_MAX:
        return int(value)
    return value


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
