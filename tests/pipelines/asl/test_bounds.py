"""Bounds of one run: its duration, its history, its threads, and cancelling it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.asl import Cancelled, run
from pipelines.asl.execution import MAX_HISTORY_EVENTS

START = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


class SteppingClock:
    """A clock that stands still until ``sleep`` moves it, as a real one would."""

    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def wait(**fields: Any) -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "End": True, **fields}}}


@pytest.mark.parametrize(
    "fields",
    [
        {"Timestamp": "2031-01-01T00:00:00Z"},
        {"Seconds": 99_999_999},
        {"TimestampPath": "$.until"},
    ],
)
def test_a_wait_ending_past_the_maximum_fails_at_once(fields: dict[str, Any]) -> None:
    clock = SteppingClock()
    result = run(
        wait(**fields),
        {"until": "2030-06-01T00:00:00Z"},
        {},
        now=clock,
        sleep=clock.sleep,
        max_seconds=24 * 3600,
    )
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert "time limit" in (result.cause or "")
    assert clock.slept == []  # nothing waited


def test_a_wait_within_the_maximum_waits() -> None:
    clock = SteppingClock()
    result = run(wait(Seconds=3600), {}, {}, now=clock, sleep=clock.sleep, max_seconds=7200)
    assert result.status == "SUCCEEDED"
    assert clock.slept == [3600]


def test_a_loop_of_waits_ends_at_the_maximum_duration() -> None:
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 600, "Next": "Again"},
            "Again": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "W",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    clock = SteppingClock()
    result = run(definition, {}, {}, now=clock, sleep=clock.sleep, max_seconds=3600)
    assert (result.status, result.error) == ("FAILED", "States.Timeout")
    assert sum(clock.slept) <= 3600


def endless_loop() -> dict[str, Any]:
    """A Pass and a Choice that send the run round for ever (no input sets ``$.stop``)."""
    return {
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Next": "Loop"},
            "Loop": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}],
                "Default": "Count",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def single_map(resource: str) -> dict[str, Any]:
    """A Map running a Task on each item of ``$.items``, one at a time."""
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 1,
                "ItemProcessor": {
                    "StartAt": "T",
                    "States": {"T": {"Type": "Task", "Resource": resource, "End": True}},
                },
                "End": True,
            }
        },
    }


def test_an_endless_pass_choice_loop_ends_at_the_history_limit() -> None:
    result = run(endless_loop(), {}, {}, max_history_events=1000)
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert "limit of 1000 history events" in (result.cause or "")
    assert MAX_HISTORY_EVENTS == 25_000  # AWS's quota for a Standard execution


def test_a_map_past_the_history_limit_fails_without_running_every_item() -> None:
    calls: list[int] = []
    result = run(
        single_map("count"),
        {"items": list(range(1_000_000))},
        {"count": lambda item: calls.append(item)},
        max_history_events=2000,
    )
    assert (result.status, result.error) == ("FAILED", "States.Runtime")
    assert len(calls) < 1000


def nested_map(items: int, concurrency: int = 0) -> dict[str, Any]:
    inner = {
        "StartAt": "T",
        "States": {"T": {"Type": "Task", "Resource": "probe", "End": True}},
    }
    middle = {
        "StartAt": "Inner",
        "States": {
            "Inner": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": concurrency,
                "ItemProcessor": inner,
                "End": True,
            }
        },
    }
    return {
        "StartAt": "Outer",
        "States": {
            "Outer": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": concurrency,
                "ItemSelector": {"items": list(range(items))},
                "ItemProcessor": middle,
                "End": True,
            }
        },
    }


def test_nested_maps_share_one_bounded_set_of_threads() -> None:
    baseline = threading.active_count()
    peak = [0]
    lock = threading.Lock()

    def probe(item: Any) -> Any:
        with lock:
            peak[0] = max(peak[0], threading.active_count() - baseline)
        return item

    result = run(nested_map(30), {"items": list(range(30))}, {"probe": probe}, max_threads=8)
    assert result.status == "SUCCEEDED"
    assert len(result.output) == 30 and len(result.output[0]) == 30
    assert peak[0] <= 8


def test_cancelling_ends_a_wait_at_once() -> None:
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def drive() -> None:
        try:
            run(wait(Seconds=3600), {}, {}, cancel=cancel)
        except Cancelled as error:
            outcome.append(error)

    thread = threading.Thread(target=drive)
    thread.start()
    cancel.set()
    thread.join(60)
    assert not thread.is_alive()
    assert len(outcome) == 1


def test_cancelling_stops_a_map_from_starting_more_items() -> None:
    cancel = threading.Event()
    calls: list[int] = []

    def item(value: int) -> int:
        calls.append(value)
        if value == 5:
            cancel.set()
        return value

    with pytest.raises(Cancelled):
        run(single_map("item"), {"items": list(range(1000))}, {"item": item}, cancel=cancel)
    assert calls == list(range(6))
