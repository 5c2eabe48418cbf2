"""The run loop: transitions reported to a Listener, redrive, Retry, Catch and TimeoutSeconds."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.asl import LAMBDA_INVOKE, RunResult, StatesError, lambda_handlers, run
from pipelines.asl.definition import Retrier
from pipelines.asl.run import matches_error, retry_delay_s
from pipelines.asl.states import STATE_FUNCTIONS, call_handler

START = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)


class Recorder:
    """A Listener that writes every call down, as a run store would persist it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def state_entered(self, name: str, input: Any) -> None:
        self.calls.append(("entered", name, input))

    def state_exited(self, name: str, output: Any) -> None:
        self.calls.append(("exited", name, output))

    def task_attempt_failed(self, name: str, attempt: int, error: str, cause: str) -> None:
        self.calls.append(("attempt_failed", name, attempt, error, cause))

    def state_failed(self, name: str, error: str, cause: str) -> None:
        self.calls.append(("failed", name, error, cause))


class Clock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def task(resource: str, **fields: Any) -> dict[str, Any]:
    state = {"Type": "Task", "Resource": f"brygge:step:{resource}", **fields}
    if "Next" not in state:
        state["End"] = True
    return state


def machine(start: str, **states: Any) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


PIPELINE = machine(
    "Extract",
    Extract=task("extract", ResultPath="$.extracted", Next="Convert"),
    Convert=task(
        "convert",
        ResultPath="$.converted",
        Retry=[{"ErrorEquals": ["Flaky"], "IntervalSeconds": 2, "MaxAttempts": 1}],
        Next="Publish",
    ),
    Publish=task("publish", ResultPath="$.published"),
)


class Flaky(Exception):
    """A transient step failure."""


def steps(convert: Any) -> dict[str, Any]:
    return {
        "brygge:step:extract": lambda event: {"rows": 3},
        "brygge:step:convert": convert,
        "brygge:step:publish": lambda event: "ok",
    }


def test_listener_hears_every_top_level_transition_and_retry() -> None:
    attempts: list[int] = []

    def convert(event: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise Flaky("try again")
        return {"parquet": "a.parquet"}

    listener, sleeps = Recorder(), []
    result = run(PIPELINE, {"key": "a.csv"}, steps(convert), listener=listener, sleep=sleeps.append)
    extracted = {"key": "a.csv", "extracted": {"rows": 3}}
    converted = {**extracted, "converted": {"parquet": "a.parquet"}}
    assert result == RunResult("SUCCEEDED", {**converted, "published": "ok"})
    assert sleeps == [2]
    assert listener.calls == [
        ("entered", "Extract", {"key": "a.csv"}),
        ("exited", "Extract", extracted),
        ("entered", "Convert", extracted),
        ("attempt_failed", "Convert", 1, "Flaky", "try again"),
        ("exited", "Convert", converted),
        ("entered", "Publish", converted),
        ("exited", "Publish", {**converted, "published": "ok"}),
    ]


def test_failure_names_the_state_to_redrive_and_redrive_skips_what_succeeded() -> None:
    calls: list[str] = []

    def counting(name: str, result: Any) -> Any:
        def handler(event: Any) -> Any:
            calls.append(name)
            if isinstance(result, Exception):
                raise result
            return result

        return handler

    broken = {
        "brygge:step:extract": counting("extract", {"rows": 3}),
        "brygge:step:convert": counting("convert", ValueError("bad delimiter")),
        "brygge:step:publish": counting("publish", "ok"),
    }
    listener = Recorder()
    failed = run(PIPELINE, {"key": "a.csv"}, broken, listener=listener)
    assert failed == RunResult(
        "FAILED", error="ValueError", cause="bad delimiter", failed_state="Convert"
    )
    assert listener.calls[-1] == ("failed", "Convert", "ValueError", "bad delimiter")
    recorded_input = next(c[2] for c in listener.calls if c[:2] == ("entered", "Convert"))

    calls.clear()
    fixed = {**broken, "brygge:step:convert": counting("convert", {"parquet": "a.parquet"})}
    redriven = run(PIPELINE, recorded_input, fixed, start_at="Convert")
    assert redriven.status == "SUCCEEDED"
    assert redriven.output["extracted"] == {"rows": 3}
    assert calls == ["convert", "publish"]


def test_start_at_must_name_a_top_level_state() -> None:
    with pytest.raises(ValueError, match="start_at"):
        run(PIPELINE, {}, steps(lambda e: e), start_at="Nowhere")


def test_caught_failure_is_reported_as_failed_then_the_catcher_route_runs() -> None:
    definition = machine(
        "Load",
        Load=task(
            "load",
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Quarantine"}],
        ),
        Quarantine={"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
    )
    listener = Recorder()

    def load(event: Any) -> Any:
        raise KeyError("sheet")

    result = run(definition, {}, {"brygge:step:load": load}, listener=listener)
    assert result == RunResult(
        "FAILED", error="KeyError", cause="'sheet'", failed_state="Quarantine"
    )
    assert [c[:2] for c in listener.calls] == [
        ("entered", "Load"),
        ("failed", "Load"),
        ("entered", "Quarantine"),
        ("failed", "Quarantine"),
    ]


@pytest.mark.parametrize(
    ("retrier", "expected"),
    [
        ({"ErrorEquals": ["Flaky"]}, [1.0, 2.0, 4.0]),
        ({"ErrorEquals": ["Flaky"], "IntervalSeconds": 3, "BackoffRate": 1}, [3.0, 3.0, 3.0]),
        (
            {
                "ErrorEquals": ["Flaky"],
                "IntervalSeconds": 5,
                "MaxAttempts": 4,
                "MaxDelaySeconds": 12,
            },
            [5.0, 10.0, 12.0, 12.0],
        ),
        ({"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}, [1.0]),
        ({"ErrorEquals": ["Other"]}, []),
    ],
)
def test_retry_sleeps_per_backoff_then_fails(
    retrier: dict[str, Any], expected: list[float]
) -> None:
    sleeps: list[float] = []

    def always(event: Any) -> Any:
        raise Flaky("down")

    definition = machine("T", T=task("t", Retry=[retrier]))
    result = run(definition, {}, {"brygge:step:t": always}, sleep=sleeps.append)
    assert (result.status, result.error) == ("FAILED", "Flaky")
    assert sleeps == expected


def test_full_jitter_draws_each_delay_between_zero_and_the_backoff() -> None:
    retrier = Retrier(("X",), interval_seconds=4, backoff_rate=2.0, jitter_strategy="FULL")
    generator = random.Random(7)
    delays = [retry_delay_s(retrier, number, generator) for number in (1, 2, 3)]
    expected_generator = random.Random(7)
    assert delays == [expected_generator.uniform(0, limit) for limit in (4, 8, 16)]
    assert all(0 <= delay <= limit for delay, limit in zip(delays, (4, 8, 16), strict=True))


@pytest.mark.parametrize(
    ("error_equals", "error", "expected"),
    [
        (("States.ALL",), "ValueError", True),
        (("States.ALL",), "States.Timeout", True),
        (("States.ALL",), "States.Runtime", False),
        (("States.TaskFailed",), "ValueError", True),
        (("States.TaskFailed",), "States.Timeout", False),
        (("States.Timeout",), "States.Timeout", True),
        (("ValueError",), "KeyError", False),
        (("KeyError", "ValueError"), "ValueError", True),
    ],
)
def test_error_matching(error_equals: tuple[str, ...], error: str, expected: bool) -> None:
    assert matches_error(error_equals, error) is expected


def test_task_running_past_timeout_seconds_on_the_clock_is_a_timeout() -> None:
    clock = Clock()

    def slow(event: Any) -> Any:
        clock.now += timedelta(seconds=31)
        return "late"

    definition = machine(
        "T",
        T=task(
            "slow", TimeoutSeconds=30, Catch=[{"ErrorEquals": ["States.Timeout"], "Next": "Timed"}]
        ),
        Timed={"Type": "Pass", "End": True},
    )
    result = run(definition, {}, {"brygge:step:slow": slow}, now=clock)
    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.Timeout"


def test_task_timeout_from_timeout_seconds_path() -> None:
    clock = Clock()

    def slow(event: Any) -> Any:
        clock.now += timedelta(seconds=6)
        return "late"

    definition = machine("T", T=task("slow", TimeoutSecondsPath="$.limit"))
    assert (
        run(definition, {"limit": 5}, {"brygge:step:slow": slow}, now=clock).error
        == "States.Timeout"
    )
    assert (
        run(definition, {"limit": 60}, {"brygge:step:slow": slow}, now=clock).status == "SUCCEEDED"
    )


def test_unknown_resource_is_a_runtime_error_that_catch_does_not_route() -> None:
    definition = machine(
        "T",
        T=task("missing", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]),
        Recover={"Type": "Succeed"},
    )
    result = run(definition, {}, {})
    assert (result.status, result.error, result.failed_state) == ("FAILED", "States.Runtime", "T")
    assert "brygge:step:missing" in (result.cause or "")


def test_handler_raising_a_states_error_keeps_its_name() -> None:
    def handler(event: Any) -> Any:
        raise StatesError("Brygge.SchemaMismatch", "column 'x' missing")

    result = run(machine("T", T=task("t")), {}, {"brygge:step:t": handler})
    assert (result.error, result.cause) == ("Brygge.SchemaMismatch", "column 'x' missing")


def test_handler_result_that_is_not_json_fails_as_lambda_would() -> None:
    result = run(machine("T", T=task("t")), {}, {"brygge:step:t": lambda event: object()})
    assert result.error == "Runtime.MarshalError"


def test_handler_changing_its_input_does_not_change_the_run_data() -> None:
    def vandal(event: Any) -> Any:
        event["keys"].append("injected")
        return "done"

    data = {"keys": ["a.csv"]}
    result = run(machine("T", T=task("t", ResultPath="$.r")), data, {"brygge:step:t": vandal})
    assert result.output == {"keys": ["a.csv"], "r": "done"}
    assert data == {"keys": ["a.csv"]}


def test_map_runs_up_to_max_concurrency_items_at_once() -> None:
    lock, active, peak = threading.Lock(), [0], [0]
    both_started = threading.Barrier(2, timeout=10)

    def item(event: Any) -> Any:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        both_started.wait()  # passes only when two items run at the same time
        with lock:
            active[0] -= 1
        return event * 10

    definition = machine(
        "M",
        M={
            "Type": "Map",
            "MaxConcurrency": 2,
            "ItemProcessor": machine("I", I=task("item")),
            "End": True,
        },
    )
    result = run(definition, [1, 2, 3, 4], {"brygge:step:item": item})
    assert result.output == [10, 20, 30, 40]
    assert peak[0] == 2


def test_map_with_max_concurrency_one_runs_items_in_order() -> None:
    order: list[int] = []

    def item(event: Any) -> Any:
        order.append(event)
        return event

    definition = machine(
        "M",
        M={
            "Type": "Map",
            "MaxConcurrencyPath": "$.limit",
            "ItemsPath": "$.items",
            "ItemProcessor": machine("I", I=task("item")),
            "End": True,
        },
    )
    result = run(definition, {"limit": 1, "items": [3, 1, 2]}, {"brygge:step:item": item})
    assert result.output == order == [3, 1, 2]


@pytest.mark.parametrize("limit", ["1", "+1", "0"])
def test_map_takes_max_concurrency_path_as_an_integer_in_a_string(limit: str) -> None:
    # As AWS records it: MaxConcurrencyPath reading the string "1" runs the Map.
    definition = machine(
        "M",
        M={
            "Type": "Map",
            "MaxConcurrencyPath": "$.limit",
            "ItemsPath": "$.items",
            "ItemProcessor": machine("P", P={"Type": "Pass", "End": True}),
            "End": True,
        },
    )
    result = run(definition, {"limit": limit, "items": [3, 1, 2]}, {})
    assert result == RunResult("SUCCEEDED", [3, 1, 2])


@pytest.mark.parametrize("limit", ["1.5", " 1", "1e2", "", "99999999999"])
def test_map_refuses_max_concurrency_path_text_java_reads_as_no_integer(limit: str) -> None:
    definition = machine(
        "M",
        M={
            "Type": "Map",
            "MaxConcurrencyPath": "$.limit",
            "ItemProcessor": machine("P", P={"Type": "Pass", "End": True}),
            "ItemsPath": "$.items",
            "End": True,
        },
    )
    result = run(definition, {"limit": limit, "items": [1]}, {})
    assert result.error == "States.Runtime"
    assert f'refers to value "{limit}" which is not a valid integer' in (result.cause or "")


def test_map_over_a_non_array_is_a_runtime_error() -> None:
    definition = machine(
        "M",
        M={
            "Type": "Map",
            "ItemsPath": "$.items",
            "Iterator": machine("P", P={"Type": "Pass", "End": True}),
            "End": True,
        },
    )
    assert run(definition, {"items": {"a": 1}}, {}).error == "States.Runtime"


@pytest.mark.parametrize(
    ("wait", "data", "expected"),
    [
        ({"Seconds": 0}, {}, []),
        ({"Seconds": 90}, {}, [90]),
        ({"SecondsPath": "$.s"}, {"s": 2}, [2]),
        ({"Timestamp": "2026-03-01T08:01:00Z"}, {}, [60.0]),
        ({"TimestampPath": "$.t"}, {"t": "2026-03-01T09:00:00+01:00"}, []),
        ({"TimestampPath": "$.t"}, {"t": "2026-03-01T08:00:30.500Z"}, [30.5]),
    ],
)
def test_wait_sleeps_by_the_injected_clock(
    wait: dict[str, Any], data: Any, expected: list[float]
) -> None:
    sleeps: list[float] = []
    definition = machine("W", W={"Type": "Wait", "End": True, **wait})
    result = run(definition, data, {}, sleep=sleeps.append, now=Clock())
    assert result == RunResult("SUCCEEDED", data)
    assert sleeps == expected


@pytest.mark.parametrize(
    ("wait", "data"),
    [({"SecondsPath": "$.s"}, {"s": "soon"}), ({"TimestampPath": "$.t"}, {"t": "later"})],
)
def test_wait_path_of_the_wrong_type_is_a_runtime_error(wait: dict[str, Any], data: Any) -> None:
    definition = machine("W", W={"Type": "Wait", "End": True, **wait})
    assert run(definition, data, {}, sleep=lambda s: None).error == "States.Runtime"


def test_fail_without_error_or_cause_reports_none() -> None:
    assert run(machine("F", F={"Type": "Fail"}), {}, {}) == RunResult("FAILED", failed_state="F")


def test_context_object_reports_execution_and_entered_time() -> None:
    definition = machine(
        "P",
        P={
            "Type": "Pass",
            "End": True,
            "Parameters": {
                "id.$": "$$.Execution.Id",
                "start.$": "$$.Execution.StartTime",
                "entered.$": "$$.State.EnteredTime",
                "machine.$": "$$.StateMachine.Name",
            },
        },
    )
    result = run(definition, {}, {}, execution_name="run-7", now=Clock())
    assert result.output == {
        "id": "arn:aws:states:local:000000000000:execution:brygge:run-7",
        "start": "2026-03-01T08:00:00.000Z",
        "entered": "2026-03-01T08:00:00.000Z",
        "machine": "brygge",
    }


def test_parallel_failure_reports_the_first_failing_branch_by_position() -> None:
    definition = machine(
        "P",
        P={
            "Type": "Parallel",
            "End": True,
            "Branches": [
                machine("A", A={"Type": "Pass", "End": True}),
                machine("B", B={"Type": "Fail", "Error": "Second"}),
                machine("C", C={"Type": "Fail", "Error": "Third"}),
            ],
        },
    )
    assert run(definition, {}, {}).error == "Second"


def _run_in_thread(definition: dict[str, Any], handlers: dict[str, Any]) -> list[RunResult]:
    """Run on a thread; give it ten seconds, then cancel what is left and collect the result."""
    cancel = threading.Event()
    results: list[RunResult] = []
    thread = threading.Thread(
        target=lambda: results.append(run(definition, {"items": [1, 2]}, handlers, cancel=cancel)),
        daemon=True,
    )
    thread.start()
    thread.join(10)
    cancel.set()  # without a halt, the run is still waiting: it ends with no result
    thread.join(10)
    return results


def _fails(event: Any) -> Any:
    raise ValueError("the file is not a CSV")


def test_a_failing_branch_stops_the_other_branches_of_a_parallel() -> None:
    calls: list[Any] = []
    definition = machine(
        "P",
        P={
            "Type": "Parallel",
            "End": True,
            "Branches": [
                machine(
                    "Hold",
                    Hold={"Type": "Wait", "Seconds": 3600, "Next": "Publish"},
                    Publish=task("publish"),
                ),
                machine("Check", Check=task("check")),
            ],
        },
    )
    handlers = {"brygge:step:publish": calls.append, "brygge:step:check": _fails}
    results = _run_in_thread(definition, handlers)
    assert results == [
        RunResult("FAILED", error="ValueError", cause="the file is not a CSV", failed_state="P")
    ]
    assert calls == []


def test_a_failing_iteration_stops_the_other_iterations_of_a_map() -> None:
    calls: list[Any] = []
    item = machine(
        "Which",
        Which={
            "Type": "Choice",
            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Check"}],
            "Default": "Hold",
        },
        Check=task("check"),
        Hold={"Type": "Wait", "Seconds": 3600, "Next": "Publish"},
        Publish=task("publish"),
    )
    definition = machine(
        "M", M={"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": item, "End": True}
    )
    handlers = {"brygge:step:publish": calls.append, "brygge:step:check": _fails}
    results = _run_in_thread(definition, handlers)
    assert results == [
        RunResult("FAILED", error="ValueError", cause="the file is not a CSV", failed_state="M")
    ]
    assert calls == []


def test_handler_past_its_deadline_on_the_wall_clock_is_abandoned_as_a_timeout() -> None:
    release = threading.Event()

    def hung(event: Any) -> Any:
        release.wait()
        return "too late"

    try:
        with pytest.raises(StatesError) as raised:
            call_handler(hung, {}, 0.01, lambda: START)
    finally:
        release.set()
    assert raised.value.error == "States.Timeout"


def test_handler_within_its_deadline_returns_its_result_or_error() -> None:
    assert call_handler(lambda event: {"ok": event}, 1, 5, lambda: START) == {"ok": 1}
    with pytest.raises(StatesError) as raised:
        call_handler(lambda event: 1 / 0, 1, 5, lambda: START)
    assert raised.value.error == "ZeroDivisionError"


def test_execution_outliving_its_timeout_seconds_fails_with_states_timeout() -> None:
    clock = Clock()

    def slow(event: Any) -> Any:
        clock.now += timedelta(seconds=61)
        return event

    definition = {
        "TimeoutSeconds": 60,
        **machine("A", A=task("slow", Next="B"), B={"Type": "Pass", "End": True}),
    }
    result = run(definition, {}, {"brygge:step:slow": slow}, now=clock)
    assert (result.status, result.error, result.failed_state) == ("FAILED", "States.Timeout", "B")


def test_input_that_is_not_json_fails_the_task_as_a_runtime_error() -> None:
    result = run(
        machine("T", T=task("t")), {"when": datetime(2026, 1, 1)}, {"brygge:step:t": lambda e: e}
    )
    assert (result.status, result.error) == ("FAILED", "States.Runtime")


def test_unforeseen_engine_error_fails_the_run_instead_of_raising(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(state: Any, raw: Any, scope: Any) -> Any:
        raise ZeroDivisionError("engine bug")

    monkeypatch.setitem(STATE_FUNCTIONS, "Pass", broken)
    listener = Recorder()
    result = run(machine("P", P={"Type": "Pass", "End": True}), {}, {}, listener=listener)
    cause = (
        "An error occurred while executing the state 'P' (entered at the event id #2). "
        "ZeroDivisionError: engine bug"
    )
    assert (result.error, result.cause) == ("States.Runtime", cause)
    assert listener.calls[-1] == ("failed", "P", "States.Runtime", cause)


class Stop(Exception):
    """Raised by a listener to stop a run (as an abort does)."""


def test_an_error_raised_by_the_listener_stops_the_run_unchanged() -> None:
    class Stopping(Recorder):
        def task_attempt_failed(self, name: str, attempt: int, error: str, cause: str) -> None:
            raise Stop(name)

    def always(event: Any) -> Any:
        raise Flaky("down")

    definition = machine("T", T=task("t", Retry=[{"ErrorEquals": ["Flaky"]}]))
    with pytest.raises(Stop):
        run(definition, {}, {"brygge:step:t": always}, listener=Stopping(), sleep=lambda s: None)


# 257 KiB of text: over Step Functions' 256 KiB quota for a result or a state's output.
_OVERSIZED = "a" * (257 * 1024)
_LIMIT_CAUSE = (
    "The state/task '{}' returned a result with a size exceeding the maximum number of "
    "bytes service limit."
)


def test_task_result_over_the_payload_quota_is_data_limit_exceeded_and_catchable() -> None:
    # Recorded on AWS: a Lambda returning 257 KiB fails its Task with
    # States.DataLimitExceeded, which a States.ALL Catcher catches.
    definition = machine(
        "Fetch",
        Fetch=task("fetch", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Handled"}]),
        Handled={"Type": "Pass", "End": True},
    )
    result = run(definition, {}, {"brygge:step:fetch": lambda event: {"rows": _OVERSIZED}})
    assert result.status == "SUCCEEDED"
    assert result.output == {
        "Error": "States.DataLimitExceeded",
        "Cause": _LIMIT_CAUSE.format("brygge:step:fetch"),
    }


def test_state_output_over_the_payload_quota_fails_the_run() -> None:
    definition = machine("Big", Big={"Type": "Pass", "Result": {"Arg1": _OVERSIZED}, "End": True})
    result = run(definition, {}, {})
    assert (result.status, result.error, result.cause, result.failed_state) == (
        "FAILED",
        "States.DataLimitExceeded",
        _LIMIT_CAUSE.format("Big"),
        "Big",
    )


# 150 KiB of text: under the quota once, over it when Parameters copy it twice.
_HALF_OVER = "a" * (150 * 1024)


def test_task_input_over_the_quota_after_parameters_fails_before_the_call() -> None:
    # AWS documents States.DataLimitExceeded "when, after Parameters processing, the
    # input of a state is larger than the payload size quota".
    calls: list[Any] = []
    definition = machine(
        "Fetch",
        Fetch=task(
            "fetch",
            Parameters={"a.$": "$.text", "b.$": "$.text"},
            Catch=[{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Handled"}],
        ),
        Handled={"Type": "Pass", "ResultPath": "$.error", "End": True},
    )
    result = run(definition, {"text": _HALF_OVER}, {"brygge:step:fetch": calls.append})
    assert result.status == "SUCCEEDED"
    assert calls == []
    assert result.output["error"]["Error"] == "States.DataLimitExceeded"
    assert "'Fetch'" in result.output["error"]["Cause"]


def test_pass_parameters_over_the_quota_fail_even_when_the_result_is_dropped() -> None:
    definition = machine(
        "Copy",
        Copy={
            "Type": "Pass",
            "Parameters": {"a.$": "$.text", "b.$": "$.text"},
            "ResultPath": None,
            "End": True,
        },
    )
    result = run(definition, {"text": _HALF_OVER}, {})
    assert (result.status, result.error, result.failed_state) == (
        "FAILED",
        "States.DataLimitExceeded",
        "Copy",
    )


def test_parameters_at_the_quota_in_utf8_bytes_pass() -> None:
    # 2-byte characters: 87,381 of them are 174,762 bytes, under 256 KiB, though three
    # copies of them would not be.
    text = "\u00e6" * 87_381
    definition = machine(
        "Copy",
        Copy={"Type": "Pass", "Parameters": {"a.$": "$.text"}, "ResultPath": None, "End": True},
    )
    assert run(definition, {"text": text}, {}).status == "SUCCEEDED"


def test_wait_longer_than_aws_allows_fails_at_once() -> None:
    # Recorded on AWS: a Wait ending 24,856 days ahead (over 2^31 - 1 seconds) fails with
    # this cause; 24,855 days is accepted.
    sleeps: list[float] = []
    clock = Clock()
    until = (START + timedelta(days=24856)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    definition = machine("Hold", Hold={"Type": "Wait", "TimestampPath": "$.until", "End": True})
    result = run(definition, {"until": until}, {}, sleep=sleeps.append, now=clock)
    assert (result.status, result.error, sleeps) == ("FAILED", "States.Runtime", [])
    assert result.cause is not None
    assert result.cause.endswith("Wait state delay is too long.")


def test_lambda_invoke_result_over_the_quota_names_the_service_as_aws_does() -> None:
    definition = machine(
        "Invoke",
        Invoke={
            "Type": "Task",
            "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": "big", "Payload": {}},
            "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Handled"}],
            "End": True,
        },
        Handled={"Type": "Pass", "End": True},
    )
    result = run(definition, {}, lambda_handlers({"big": lambda event: _OVERSIZED}))
    assert result.output == {
        "Error": "States.DataLimitExceeded",
        "Cause": _LIMIT_CAUSE.format("lambda"),
    }


def test_filters_and_path_functions_run_as_on_aws() -> None:
    # Select the CSV files of an upload, count them and branch on the count.
    definition = {
        "StartAt": "Pick",
        "States": {
            "Pick": {
                "Type": "Pass",
                "InputPath": "$.files[?(@.mediaType =~ /text\\/csv.*/i)]",
                "Parameters": {
                    "count.$": "$.length()",
                    "names.$": "$[*].name",
                    "large.$": "$[?(@.bytes > 100 && @.name nin ['skip.csv'])].name",
                    "bytes.$": "$..bytes.sum()",
                },
                "Next": "Many?",
            },
            "Many?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.count", "NumericGreaterThan": 1, "Next": "Many"}],
                "Default": "One",
            },
            "Many": {"Type": "Succeed"},
            "One": {"Type": "Fail", "Error": "One"},
        },
    }
    files = [
        {"name": "a.csv", "mediaType": "text/csv; charset=utf-8", "bytes": 10},
        {"name": "b.CSV", "mediaType": "Text/CSV", "bytes": 500},
        {"name": "c.xlsx", "mediaType": "application/vnd.ms-excel", "bytes": 5},
    ]
    result = run(definition, {"files": files}, {})
    assert result.status == "SUCCEEDED"
    assert result.output == {
        "count": 2,
        "names": ["a.csv", "b.CSV"],
        "large": ["b.CSV"],
        "bytes": 510.0,
    }
