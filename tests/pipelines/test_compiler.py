"""Pipeline templates: Brygge's rules on top of ASL, and compiling for either engine."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.compiler import (
    LAMBDA_INVOKE,
    LAMBDA_SERVICE_RETRY,
    REDRIVE_FIELD,
    REDRIVE_STATE,
    compile_definition,
    execution_input,
    restart_input,
    task_steps,
    task_timeouts,
    template_errors,
)
from tests.pipelines import run_steps


def test_compiled_task_invokes_the_steps_function_with_the_step_event() -> None:
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"), retry=True)
    compiled = compile_definition(definition, target="aws", function_name="fn")
    upper = compiled["States"]["Upper"]
    assert upper["Resource"] == LAMBDA_INVOKE
    assert upper["Parameters"]["FunctionName"] == "fn"
    payload = upper["Parameters"]["Payload"]
    assert payload["command"] == "pipelines.steps.upper.handler"
    assert payload["config.$"] == "$$.Execution.Input.taskConfig.Upper"
    assert payload["dataset.$"] == "$$.Execution.Input.dataset"
    assert payload["step"] == "Upper"
    assert upper["ResultSelector"]["input.$"] == "$.Payload.input"
    assert upper["Retry"] == [LAMBDA_SERVICE_RETRY, *definition["States"]["Upper"]["Retry"]]
    local = compile_definition(definition)["States"]["Upper"]
    assert local["Resource"] == "brygge:step:upper"
    assert {k: v for k, v in payload.items() if k != "command"} == local["Parameters"]
    assert definition["States"]["Upper"].get("Parameters") is None  # template unchanged


def test_an_aws_definition_starts_at_a_choice_that_can_jump_to_any_state() -> None:
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"))
    compiled = compile_definition(definition, target="aws", function_name="fn")
    assert compiled["StartAt"] == REDRIVE_STATE
    entry = compiled["States"][REDRIVE_STATE]
    assert entry["Default"] == "Upper"
    assert [choice["Next"] for choice in entry["Choices"]] == ["Upper", "Check"]
    assert entry["Choices"][1]["And"][0] == {"Variable": f"$.{REDRIVE_FIELD}", "IsPresent": True}
    assert REDRIVE_STATE not in compile_definition(definition)["States"]


def _with_state(name: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": name, "States": {name: {**body, "End": True}}}


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ([], "definition: must be a JSON object"),
        (
            _with_state("Copy", {"Type": "Task", "Resource": "arn:aws:lambda:eu-north-1:1:f"}),
            "state 'Copy': field 'Resource': must be 'brygge:step:<name>'",
        ),
        (
            _with_state("Copy", {"Type": "Task", "Resource": "brygge:step:Bad-Name"}),
            "state 'Copy': field 'Resource': step name 'Bad-Name' must match",
        ),
        (
            _with_state("copy file", {"Type": "Task", "Resource": "brygge:step:copy"}),
            "state 'copy file': a step's state name must match",
        ),
        (
            _with_state(
                "Copy",
                {"Type": "Task", "Resource": "brygge:step:copy", "ResultSelector": {"a.$": "$"}},
            ),
            "state 'Copy': field 'ResultSelector': not allowed on a step",
        ),
        (_with_state(REDRIVE_STATE, {"Type": "Pass"}), f"state {REDRIVE_STATE!r}: the name is"),
    ],
)
def test_template_errors_name_the_broken_rule(definition: Any, problem: str) -> None:
    problems = template_errors(definition)
    assert any(found.startswith(problem) for found in problems), problems


def test_a_valid_template_has_no_errors() -> None:
    assert template_errors(run_steps.chain(("Upper", "upper"), ("Check", "check"))) == []


def test_nested_step_tasks_are_found_with_their_timeouts() -> None:
    branch = _with_state(
        "Inner", {"Type": "Task", "Resource": "brygge:step:inner", "TimeoutSeconds": 30}
    )
    definition = _with_state("Both", {"Type": "Parallel", "Branches": [branch]})
    assert task_steps(definition) == {"Inner": "inner"}
    assert task_timeouts(definition) == {"Inner": 30}
    assert template_errors(definition) == []


def test_execution_input_has_a_task_config_entry_for_every_step() -> None:
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"))
    run = {
        "id": "r1",
        "dataset": "air",
        "version": "1",
        "edition": "20260102T030405",
        "input": {"keys": ("raw/a.csv",)},
    }
    document = execution_input(run, definition, {"Upper": {"delimiter": ";"}, "Gone": {}})
    assert document == {
        "run": "r1",
        "dataset": "air",
        "version": "1",
        "edition": "20260102T030405",
        "input": {"keys": ["raw/a.csv"]},
        "taskConfig": {"Upper": {"delimiter": ";"}, "Check": {}},
    }


def test_a_restart_takes_the_runs_own_coordinates_whatever_its_recorded_input() -> None:
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"))
    run = {
        "id": "alice-1",
        "dataset": "alice",
        "version": "1",
        "edition": "20260101T000000",
        "input": {"keys": ["raw/red/alice/version=1/edition=20260101T000000/a.csv"]},
        "taskConfig": {"Upper": {"x": 1}},
    }
    # A state of the template rewrote these before the step that failed.
    recorded = {
        "run": "bob-1",
        "dataset": "bob-hr",
        "version": "2",
        "edition": "20250101T000000",
        "taskConfig": {"Upper": {"x": 2}},
        "input": {"keys": ["intermediate/red/alice/version=1/edition=20260101T000000/U/a"]},
    }
    assert restart_input(run, definition, recorded) == {
        **execution_input(run, definition, run["taskConfig"]),
        "input": recorded["input"],
    }
    assert restart_input(run, definition, ["not", "an", "object"]) == ["not", "an", "object"]


def _invoke_failing(errors: list[str]) -> Any:
    """A lambda:invoke handler raising each of ``errors`` in turn, then echoing the step event."""
    from pipelines.asl.errors import StatesError

    def invoke(parameters: dict[str, Any]) -> dict[str, Any]:
        if errors:
            raise StatesError(errors.pop(0), "from the Lambda service")
        return {"Payload": dict(parameters["Payload"])}

    return invoke


RUN = {"id": "r1", "dataset": "d", "version": "1", "edition": "e", "input": {"keys": ["k"]}}


@pytest.mark.parametrize(
    "error",
    ["Lambda.ServiceException", "Lambda.TooManyRequestsException", "Lambda.SdkClientException"],
)
def test_an_aws_step_retries_lambdas_transient_errors_before_the_templates_own_rules(
    error: str,
) -> None:
    from pipelines.asl.run import run

    # The template catches every error into a Fail state: a throttled invoke failed the run.
    definition = run_steps.chain(("Upper", "upper"), ("Check", "check"), catch=True)
    compiled = compile_definition(definition, target="aws", function_name="fn")
    delays: list[float] = []

    result = run(
        compiled,
        execution_input(RUN, definition, {}),
        {LAMBDA_INVOKE: _invoke_failing([error, error])},
        sleep=delays.append,
    )

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert len(delays) == 2
    refused = run(
        compiled,
        execution_input(RUN, definition, {}),
        {LAMBDA_INVOKE: _invoke_failing(["InputError"])},
        sleep=delays.append,
    )
    assert (refused.status, refused.error) == ("FAILED", "InputError")
    assert len(delays) == 2  # a step's own failure is the template's to retry
    assert compile_definition(definition)["States"]["Upper"].get("Retry") is None
