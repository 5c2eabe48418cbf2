"""What the states of one run share: the execution, a state's scope, and a state's outcome.

``Execution`` holds the run's input, handlers, clock, randomness and bounds (history events,
threads, deadline); ``Scope`` is where one state runs and builds its context object (``$$``);
``Outcome`` is what a state function in ``states.py`` returns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from random import Random
from typing import Any

from pipelines.asl.definition import Machine
from pipelines.asl.errors import Cancelled, Halted, Runtime, Timeout

Handler = Callable[[Any], Any]
# Threads one execution may add for Parallel branches and Map iterations, nested ones
# included; past it, the thread that reaches a Parallel or Map runs its jobs itself.
MAX_EXTRA_THREADS = 40
# AWS's quota of history events per Standard execution.
MAX_HISTORY_EVENTS = 25_000
# A wait that more than one event may end looks at them at least this often.
_POLL_S = 0.05


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
    # Waits and Retry delays; None waits on ``cancel`` and ``halts``, which end it early.
    sleep: Callable[[float], None] | None
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
    # Set when another branch or iteration of an enclosing Parallel or Map failed, one per
    # enclosing state: this branch then stops, as AWS stops the branches of a failed state.
    halts: tuple[threading.Event, ...] = ()

    def check(self) -> None:
        """Raise Cancelled once the run is cancelled, Halted once a sibling branch failed,
        Timeout once the run is past its deadline."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled")
        self._check_halts()
        if self.deadline is not None and self.now() > self.deadline:
            raise Timeout(f"The execution ran past its time limit ({iso_time(self.deadline)})")

    def wait(self, seconds: float) -> None:
        """Wait ``seconds``, ending early (Cancelled) when the run is cancelled.

        Raises Timeout at once when the wait would end past the run's deadline: a Wait
        years ahead fails now rather than holding a worker until then.
        """
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled")
        self._check_halts()
        if self.deadline is not None:
            left_s = (self.deadline - self.now()).total_seconds()
            if seconds > left_s:
                raise Timeout(
                    f"The wait of {seconds:.0f} s would end after the execution's time limit "
                    f"({iso_time(self.deadline)})"
                )
        if self.sleep is not None:
            self.sleep(seconds)
        else:
            self._pause(seconds)
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the run was cancelled while it waited")
        self._check_halts()

    def _check_halts(self) -> None:
        if any(halt.is_set() for halt in self.halts):
            raise Halted("another branch or iteration of the state failed")

    def _pause(self, seconds: float) -> None:
        """Sleep ``seconds`` or until the run is cancelled or this branch is halted."""
        events = [event for event in (self.cancel, *self.halts) if event is not None]
        if not events:
            time.sleep(seconds)
            return
        if len(events) == 1:
            events[0].wait(seconds)
            return
        # threading has no wait on several events: wait on the innermost, look at all.
        end = time.monotonic() + seconds
        while not any(event.is_set() for event in events):
            left_s = end - time.monotonic()
            if left_s <= 0:
                return
            events[-1].wait(min(left_s, _POLL_S))


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a state runs: the execution, the state's name, entry time and retry count.

    ``variables`` are the workflow variables the state sees, as they were when it was
    entered: its own ``Assign`` takes effect for the states after it.
    """

    execution: Execution
    state_name: str
    entered: datetime
    # None for a state type that takes no Retry: AWS gives its $$.State no RetryCount.
    retry_count: int | None = None
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
            "State": {"Name": self.state_name, "EnteredTime": iso_time(self.entered)},
        }
        if self.retry_count is not None:
            context["State"]["RetryCount"] = self.retry_count
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
