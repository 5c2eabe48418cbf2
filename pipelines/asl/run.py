"""The run loop: move from state to state, applying Retry and Catch, and report transitions."""

from __future__ import annotations

import random as random_module
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from pipelines.asl import paths
from pipelines.asl.definition import ALL_ERRORS, Catcher, Machine, Retrier, State, parse
from pipelines.asl.errors import Cancelled, Runtime, StatesError, Timeout
from pipelines.asl.execution import (
    MAX_EXTRA_THREADS,
    MAX_HISTORY_EVENTS,
    Execution,
    Handler,
    History,
    Outcome,
    Scope,
    ThreadBudget,
)
from pipelines.asl.states import STATE_FUNCTIONS, StateFunction, assign, check_payload_size

# Only these state types take Retry and Catch; a Fail inside them is what they retry.
_RETRYABLE_TYPES = frozenset({"Task", "Parallel", "Map"})
# States.ALL and States.TaskFailed never match these (AWS: they end the execution).
_RUNTIME_PREFIX = "An error occurred while executing the state"
_UNCATCHABLE = frozenset({"States.Runtime"})


class Listener(Protocol):
    """Told of every top-level transition, so a caller can persist the run's state.

    States inside Parallel branches and Map iterations are not reported. A listener may
    also define ``variables_changed(variables: dict)``, called with the top-level workflow
    variables after each state that assigned some, so a redrive can pass them back to
    ``run(..., variables=...)``; listeners without it keep working.
    """

    def state_entered(self, name: str, input: Any) -> None:
        """A state starts with this raw input (the input a redrive would give it)."""

    def state_exited(self, name: str, output: Any) -> None:
        """A state ended successfully with this output (not called when a Catch routed on)."""

    def task_attempt_failed(self, name: str, attempt: int, error: str, cause: str) -> None:
        """Attempt number ``attempt`` (from 1) failed and a Retrier will try again."""

    def state_failed(self, name: str, error: str, cause: str) -> None:
        """A state failed for good; a Catch may still route the run on."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run ended. ``failed_state`` names the top-level state a redrive restarts at."""

    status: Literal["SUCCEEDED", "FAILED"]
    output: Any = None
    error: str | None = None
    cause: str | None = None
    failed_state: str | None = None


class _Failed(Exception):
    """Carries a StatesError out of the top-level loop with the state it happened in."""

    def __init__(self, error: StatesError, state_name: str) -> None:
        super().__init__(error.error)
        self.error = error
        self.state_name = state_name


def _utc_now() -> datetime:
    return datetime.now(UTC)


def run(
    definition: Mapping[str, Any],
    input: Any,
    handlers: Mapping[str, Handler],
    *,
    execution_name: str = "local",
    start_at: str | None = None,
    listener: Listener | None = None,
    sleep: Callable[[float], None] | None = None,
    now: Callable[[], datetime] = _utc_now,
    random: random_module.Random | None = None,
    state_machine_name: str = "brygge",
    redrive_count: int = 0,
    variables: Mapping[str, Any] | None = None,
    region: str = "local",
    account: str = "000000000000",
    role_arn: str | None = None,
    max_seconds: float | None = None,
    max_history_events: int = MAX_HISTORY_EVENTS,
    max_threads: int = MAX_EXTRA_THREADS,
    cancel: threading.Event | None = None,
) -> RunResult:
    """Run a state machine definition on ``input`` and return how it ended.

    ``handlers`` maps a Task's ``Resource`` to a callable taking the effective input.
    ``start_at`` resumes at a top-level state with that state's recorded input (redrive).
    Wait and Retry delays call ``sleep`` (default: wait on ``cancel``, so that setting it
    ends a wait at once, as a failing Parallel branch or Map iteration ends its siblings'
    waits); times come from ``now``. The run fails with States.Timeout past
    ``max_seconds`` or its own ``TimeoutSeconds`` (a Wait that would end later fails at
    once), and with States.Runtime past ``max_history_events``; its Parallel and Map states
    start at most ``max_threads`` threads in all. Setting ``cancel`` raises Cancelled out of
    ``run`` at the next state, wait or Map iteration. A redrive passes the
    workflow ``variables`` the top level held when the failed state was entered (see
    ``Listener.variables_changed``) and its ``redrive_count`` (``$$.Execution.RedriveCount``).
    ``region``, ``account`` and ``role_arn`` only shape the ARNs of the context object.
    Raises ValidationError for an invalid definition and ValueError for an unknown
    ``start_at``; every failure inside the run is a FAILED result, not an exception.
    """
    machine = parse(definition)
    if start_at is not None and start_at not in machine.states:
        raise ValueError(f"start_at names no top-level state: {start_at!r}")
    start_time = now()
    limits_s = [s for s in (machine.timeout_seconds, max_seconds) if s is not None]
    deadline = start_time + timedelta(seconds=min(limits_s)) if limits_s else None
    execution = Execution(
        name=execution_name,
        state_machine_name=state_machine_name,
        input=input,
        start_time=start_time,
        handlers=handlers,
        sleep=sleep,
        now=now,
        random=random or random_module.Random(),
        run_machine=lambda branch, data, execution, outer: run_machine(
            branch, data, execution, None, outer=outer
        ),
        redrive_count=redrive_count,
        region=region,
        account=account,
        role_arn=role_arn,
        history=History(max_history_events),
        deadline=deadline,
        cancel=cancel,
        threads=ThreadBudget(max_threads),
    )
    try:
        output = run_machine(
            machine, input, execution, listener, start_at, is_top=True, own=variables
        )
    except _Failed as failed:
        return RunResult(
            "FAILED",
            error=failed.error.error or None,
            cause=failed.error.cause or None,
            failed_state=failed.state_name,
        )
    return RunResult("SUCCEEDED", output=output)


def run_machine(
    machine: Machine,
    data: Any,
    execution: Execution,
    listener: Listener | None,
    start_at: str | None = None,
    *,
    is_top: bool = False,
    outer: Mapping[str, Any] | None = None,
    own: Mapping[str, Any] | None = None,
) -> Any:
    """Run a machine (or branch, or Map processor) from its start to its end state.

    ``outer`` are the variables of the enclosing scopes, which this machine's states read
    but may not assign; ``own`` are variables of this scope to start with (a redrive).
    Returns the output. Raises _Failed at the top level and the bare StatesError in a
    branch, so the enclosing Parallel or Map can retry or catch it.
    """
    name = start_at or machine.start_at
    outer = outer or {}
    variables: dict[str, Any] = dict(own or {})
    while True:
        state = machine.states[name]
        if listener is not None:
            listener.state_entered(name, data)
        entered_event = execution.history.add()
        try:
            if is_top:
                _check_execution_time(machine, execution)
            else:
                execution.check()
            execution.history.check()
            visible = {**outer, **variables} if outer else dict(variables)
            outcome = _run_state(state, data, execution, listener, visible, entered_event)
            check_payload_size(outcome.output, name)
            if outcome.assigned:
                try:
                    _assign(variables, outer, outcome.assigned)
                except StatesError as error:
                    raise located(error, name, entered_event) from None
        except StatesError as error:
            if listener is not None:
                listener.state_failed(name, error.error, error.cause)
            if is_top:
                raise _Failed(error, name) from None
            raise
        if listener is not None and outcome.assigned:
            variables_changed = getattr(listener, "variables_changed", None)
            if variables_changed is not None:
                variables_changed(dict(variables))
        if listener is not None and not outcome.is_caught:
            listener.state_exited(name, outcome.output)
        execution.history.add()  # StateExited
        if outcome.next is None:
            return outcome.output
        name, data = outcome.next, outcome.output


def _assign(
    variables: dict[str, Any], outer: Mapping[str, Any], assigned: Mapping[str, Any]
) -> None:
    """Set a state's assignments in its scope; a variable of an enclosing scope is read-only.

    Raises Runtime for an assignment to an outer variable, as AWS does inside a Parallel
    branch or Map iteration (its outputs are the only way data leaves it).
    """
    for name, value in assigned.items():
        if name in outer:
            raise Runtime(
                f"Cannot assign the variable '{name}': it belongs to an outer scope "
                "(a Parallel branch or Map iteration reads outer variables only)"
            )
        variables[name] = value


def _check_execution_time(machine: Machine, execution: Execution) -> None:
    """Raise Cancelled for a cancelled run, Timeout when the run has outlived its deadline
    (the machine's own ``TimeoutSeconds`` or the caller's ``max_seconds``)."""
    if execution.cancel is not None and execution.cancel.is_set():
        raise Cancelled("the run was cancelled")
    if execution.deadline is None:
        return
    now = execution.now()
    elapsed_s = (now - execution.start_time).total_seconds()
    if machine.timeout_seconds is not None and elapsed_s > machine.timeout_seconds:
        raise Timeout(
            f"The execution ran {elapsed_s:.0f} s, longer than its TimeoutSeconds "
            f"({machine.timeout_seconds} s)"
        )
    if now > execution.deadline:
        raise Timeout(
            f"The execution ran {elapsed_s:.0f} s, longer than the longest a run may take"
        )


def _call(function: StateFunction, state: State, data: Any, scope: Scope) -> Outcome:
    """Run a state function; an error the engine did not foresee becomes States.Runtime.

    Errors raised by a Listener are not wrapped: they pass through run_machine unchanged,
    so a caller can stop a run from its listener.
    """
    try:
        return function(state, data, scope)
    except Cancelled:
        raise
    except StatesError as error:
        if error.error != Runtime.name:
            raise
        raise located(error, state.name, scope.entered_event) from None
    except Exception as exc:
        raise located(
            Runtime(f"{type(exc).__name__}: {exc}"), state.name, scope.entered_event
        ) from exc


def located(error: StatesError, state_name: str, entered_event: int) -> StatesError:
    """Name the state and the history event it entered at in a States.Runtime cause, as
    AWS does; a cause that already names one is kept."""
    if error.cause.startswith(_RUNTIME_PREFIX):
        return error
    return Runtime(
        f"{_RUNTIME_PREFIX} '{state_name}' (entered at the event id #{entered_event}). "
        f"{error.cause}"
    )


def matches_error(error_equals: tuple[str, ...], error: str) -> bool:
    """Whether an ``ErrorEquals`` list matches an error name.

    ``States.ALL`` matches every error but States.Runtime; ``States.TaskFailed`` matches
    every error but States.Timeout and States.Runtime.
    """
    if error in _UNCATCHABLE:
        return False
    for name in error_equals:
        if name in (error, ALL_ERRORS):
            return True
        if name == "States.TaskFailed" and error != "States.Timeout":
            return True
    return False


def retry_delay_s(retrier: Retrier, retry_number: int, random: random_module.Random) -> float:
    """Seconds to wait before retry number ``retry_number`` (from 1) of a Retrier."""
    delay = retrier.interval_seconds * retrier.backoff_rate ** (retry_number - 1)
    if retrier.max_delay_seconds is not None:
        delay = min(delay, retrier.max_delay_seconds)
    if retrier.jitter_strategy == "FULL":
        delay = random.uniform(0, delay)
    return float(delay)


def _run_state(
    state: State,
    data: Any,
    execution: Execution,
    listener: Listener | None,
    variables: Mapping[str, Any],
    entered_event: int = 0,
) -> Outcome:
    """Run one state, retrying per its Retry and routing a failure per its Catch."""
    function = STATE_FUNCTIONS[state.type]
    entered = execution.now()
    if state.type not in _RETRYABLE_TYPES:
        scope = Scope(
            execution, state.name, entered, variables=variables, entered_event=entered_event
        )
        return _call(function, state, data, scope)
    retries = [0] * len(state.retry)
    attempt = 0
    while True:
        # $$.State.EnteredTime stays the state's entry time across retries, as on AWS.
        scope = Scope(
            execution,
            state.name,
            entered,
            attempt,
            variables=variables,
            entered_event=entered_event,
        )
        attempt += 1
        try:
            return _call(function, state, data, scope)
        except StatesError as error:
            if error.error in _UNCATCHABLE:
                raise
            retrier_index = next(
                (
                    i
                    for i, r in enumerate(state.retry)
                    if matches_error(r.error_equals, error.error)
                ),
                None,
            )
            if retrier_index is not None:
                retrier = state.retry[retrier_index]
                if retries[retrier_index] < retrier.max_attempts:
                    retries[retrier_index] += 1
                    if listener is not None:
                        listener.task_attempt_failed(state.name, attempt, error.error, error.cause)
                    execution.wait(retry_delay_s(retrier, retries[retrier_index], execution.random))
                    continue
            catcher = _catcher_for(state.catch, error.error)
            if catcher is None:
                raise
            if listener is not None:
                listener.state_failed(state.name, error.error, error.cause)
            caught = {"Error": error.error, "Cause": error.cause}
            # A Catcher's Assign reads the error output; the state's own Assign is skipped.
            assigned = assign(catcher.assign, caught, scope)
            output = paths.apply_result_path(catcher.result_path, data, caught)
            return Outcome(output, catcher.next, is_caught=True, assigned=assigned)


def _catcher_for(catchers: tuple[Catcher, ...], error: str) -> Catcher | None:
    return next((c for c in catchers if matches_error(c.error_equals, error)), None)


__all__ = [
    "Cancelled",
    "Listener",
    "RunResult",
    "Runtime",
    "matches_error",
    "retry_delay_s",
    "run",
]
