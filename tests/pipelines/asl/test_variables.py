"""Workflow variables in JSONPath states: Assign, ``$name`` paths, evaluation order and scopes.

moto 5.2 cannot read a variable (it evaluates them with a JSONata runtime it does not ship),
so these cases run on Brygge's engine only and follow the AWS developer guide, "Passing data
between states with variables".
"""

from __future__ import annotations

from random import Random
from typing import Any

import pytest

from pipelines.asl import run, validate


def machine(start: str, **states: Any) -> dict[str, Any]:
    return {"StartAt": start, "States": states}


def echo(event: Any) -> Any:
    return event


def boom(event: Any) -> Any:
    raise ValueError("bad row")


HANDLERS = {
    "brygge:step:echo": echo,
    "brygge:step:boom": boom,
    "brygge:step:rows": lambda event: {"rows": 3, "key": "a.csv"},
}


def outcome(definition: dict[str, Any], input: Any = None) -> Any:
    result = run(definition, {} if input is None else input, HANDLERS, random=Random(0))
    if result.status == "SUCCEEDED":
        return result.output
    return (result.error, result.cause)


SHOW = {"Type": "Pass", "Parameters": {"x.$": "$x"}, "End": True}


@pytest.mark.parametrize(
    ("first", "input", "expected"),
    [
        # A literal, a path on the input, a nested template and an intrinsic function.
        ({"Type": "Pass", "Assign": {"x": 42}, "Next": "Show"}, {}, 42),
        ({"Type": "Pass", "Assign": {"x.$": "$.n"}, "Next": "Show"}, {"n": 7}, 7),
        (
            {"Type": "Pass", "Assign": {"x": {"deep.$": "$.n", "k": [1]}}, "Next": "Show"},
            {"n": 7},
            {"deep": 7, "k": [1]},
        ),
        (
            {"Type": "Pass", "Assign": {"x.$": "States.Format('n={}', $.n)"}, "Next": "Show"},
            {"n": 7},
            "n=7",
        ),
        (
            {"Type": "Pass", "Assign": {"x.$": "$$.State.Name"}, "Next": "Show"},
            {},
            "First",
        ),
        # Pass: $ in Assign is the Result when there is one, else the effective input.
        (
            {"Type": "Pass", "Result": {"r": 1}, "Assign": {"x.$": "$.r"}, "Next": "Show"},
            {"r": 9},
            1,
        ),
        (
            {
                "Type": "Pass",
                "Parameters": {"p.$": "$.n"},
                "Assign": {"x.$": "$.p"},
                "Next": "Show",
            },
            {"n": 5},
            5,
        ),
        # Task: $ is the raw result, before ResultSelector, ResultPath and OutputPath.
        (
            {
                "Type": "Task",
                "Resource": "brygge:step:rows",
                "ResultSelector": {"renamed.$": "$.rows"},
                "ResultPath": "$.out",
                "OutputPath": "$.out",
                "Assign": {"x.$": "$.rows"},
                "Next": "Show",
            },
            {},
            3,
        ),
        # Wait and Choice: $ is the input after InputPath.
        (
            {
                "Type": "Wait",
                "Seconds": 0,
                "InputPath": "$.a",
                "Assign": {"x.$": "$.b"},
                "Next": "Show",
            },
            {"a": {"b": "waited"}},
            "waited",
        ),
    ],
)
def test_assign_sets_a_variable_the_next_state_reads(
    first: dict[str, Any], input: Any, expected: Any
) -> None:
    assert outcome(machine("First", First=first, Show=SHOW), input) == {"x": expected}


def test_choice_assigns_from_the_matching_rule_or_from_the_state_for_the_default() -> None:
    definition = machine(
        "C",
        C={
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.n",
                    "NumericGreaterThan": 10,
                    "Assign": {"x": "big"},
                    "Next": "Show",
                    "Comment": "rules may carry comments",
                }
            ],
            "Default": "Show",
            "Assign": {"x": "default"},
        },
        Show=SHOW,
    )
    assert outcome(definition, {"n": 11}) == {"x": "big"}
    assert outcome(definition, {"n": 1}) == {"x": "default"}


def test_choice_state_assign_applies_whichever_rule_matches() -> None:
    # AWS documents the state-level Assign of a Choice as applying "regardless of which
    # choice rule matches"; a variable both assign takes the matched rule's value, as an
    # execution recorded on AWS shows.
    definition = machine(
        "C",
        C={
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.n",
                    "NumericGreaterThan": 10,
                    "Assign": {"size": "big"},
                    "Next": "Show",
                }
            ],
            "Default": "Show",
            "Assign": {"size": "small", "seen.$": "$.n"},
        },
        Show={
            "Type": "Pass",
            "Parameters": {"size.$": "$size", "seen.$": "$seen"},
            "End": True,
        },
    )
    assert run(definition, {"n": 11}, {}).output == {"size": "big", "seen": 11}
    assert run(definition, {"n": 1}, {}).output == {"size": "small", "seen": 1}


def test_every_assignment_of_a_state_reads_the_values_from_before_the_state() -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
        Swap={
            "Type": "Pass",
            # The new values are not visible inside the state that assigns them:
            # Parameters, Assign and OutputPath all see a=1, b=2.
            "Parameters": {"seen.$": "$a"},
            "Assign": {"a.$": "$b", "b.$": "$a"},
            "Next": "Show",
        },
        Show={
            "Type": "Pass",
            "Parameters": {"a.$": "$a", "b.$": "$b", "seen.$": "$.seen"},
            "End": True,
        },
    )
    assert outcome(definition) == {"a": 2, "b": 1, "seen": 1}


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("InputPath", "$cfg", {"bucket": "lake", "n": 2}),
        ("OutputPath", "$cfg.bucket", "lake"),
        (
            "Parameters",
            {"b.$": "$cfg.bucket", "f.$": "States.Format('{}/{}', $cfg.bucket, $.k)"},
            {"b": "lake", "f": "lake/a.csv"},
        ),
    ],
)
def test_variables_are_read_in_paths_templates_and_intrinsic_arguments(
    field: str, value: Any, expected: Any
) -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"cfg": {"bucket": "lake", "n": 2}}, "Next": "Use"},
        Use={"Type": "Pass", field: value, "End": True},
    )
    assert outcome(definition, {"k": "a.csv"}) == expected


def test_choice_rules_and_wait_paths_read_variables() -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"limit": 5, "delay": 0}, "Next": "Wait"},
        Wait={"Type": "Wait", "SecondsPath": "$delay", "Next": "C"},
        C={
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanPath": "$limit", "Next": "Big"}],
            "Default": "Small",
        },
        Big={"Type": "Pass", "Result": "big", "End": True},
        Small={"Type": "Pass", "Result": "small", "End": True},
    )
    assert outcome(definition, {"n": 6}) == "big"
    assert outcome(definition, {"n": 5}) == "small"


def test_a_catcher_assigns_from_the_error_output_and_the_state_assign_is_skipped() -> None:
    definition = machine(
        "T",
        T={
            "Type": "Task",
            "Resource": "brygge:step:boom",
            "Assign": {"ok": True},
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Assign": {"failure.$": "$.Error", "ok": False},
                    "ResultPath": None,
                    "Next": "Show",
                }
            ],
            "End": True,
        },
        Show={"Type": "Pass", "Parameters": {"f.$": "$failure", "ok.$": "$ok"}, "End": True},
    )
    assert outcome(definition) == {"f": "ValueError", "ok": False}


PARALLEL_READS_OUTER = machine(
    "Init",
    Init={"Type": "Pass", "Assign": {"prefix": "p"}, "Next": "Par"},
    Par={
        "Type": "Parallel",
        "Branches": [
            {
                "StartAt": "Inner",
                "States": {
                    "Inner": {"Type": "Pass", "Assign": {"local": 1}, "Next": "Use"},
                    "Use": {
                        "Type": "Pass",
                        "Parameters": {"p.$": "$prefix", "l.$": "$local"},
                        "End": True,
                    },
                },
            }
        ],
        "Assign": {"branches.$": "States.ArrayLength($)"},
        "Next": "Show",
    },
    Show={"Type": "Pass", "Parameters": {"out.$": "$", "n.$": "$branches"}, "End": True},
)


def test_inner_states_read_outer_variables_and_their_own_do_not_leak_out() -> None:
    assert outcome(PARALLEL_READS_OUTER) == {"out": [{"p": "p", "l": 1}], "n": 1}
    # Reading the inner variable after the Parallel is a reference to no variable in scope.
    leaked = {**PARALLEL_READS_OUTER, "States": dict(PARALLEL_READS_OUTER["States"])}
    leaked["States"]["Show"] = {"Type": "Pass", "Parameters": {"l.$": "$local"}, "End": True}
    assert validate(leaked) == [
        "state 'Show': field 'Parameters' reads the variable '$local', which no state of "
        "this scope or an enclosing one assigns"
    ]


def test_map_iterations_read_outer_variables_and_item_context() -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"bucket": "lake"}, "Next": "Map"},
        Map={
            "Type": "Map",
            "ItemsPath": "$.keys",
            "ItemSelector": {"key.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index"},
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Path",
                "States": {
                    "Path": {
                        "Type": "Pass",
                        "Parameters": {"p.$": "States.Format('{}/{}/{}', $bucket, $.i, $.key)"},
                        "End": True,
                    }
                },
            },
            "End": True,
        },
    )
    assert outcome(definition, {"keys": ["a", "b"]}) == [{"p": "lake/0/a"}, {"p": "lake/1/b"}]


def test_an_inner_state_cannot_assign_an_outer_variable() -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"count": 0}, "Next": "Map"},
        Map={
            "Type": "Map",
            "ItemProcessor": {
                "StartAt": "Bump",
                "States": {"Bump": {"Type": "Pass", "Assign": {"count": 1}, "End": True}},
            },
            "End": True,
        },
    )
    error, cause = outcome(definition, [1])
    assert error == "States.Runtime"
    assert "Cannot assign the variable 'count': it belongs to an outer scope" in cause


def test_a_variable_assigned_later_on_the_path_is_a_runtime_error_when_read_first() -> None:
    definition = machine(
        "Read",
        Read={"Type": "Pass", "Parameters": {"x.$": "$later"}, "Next": "Set"},
        Set={"Type": "Pass", "Assign": {"later": 1}, "End": True},
    )
    assert validate(definition) == []
    error, cause = outcome(definition)
    assert error == "States.Runtime"
    assert cause.startswith(
        "An error occurred while executing the state 'Read' (entered at the event id #2). "
        "The variable '$later' is not defined"
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (
            {"Type": "Pass", "Parameters": {"x.$": "$nobody"}, "End": True},
            "state 'S': field 'Parameters' reads the variable '$nobody'",
        ),
        (
            {"Type": "Pass", "OutputPath": "$nobody.x", "End": True},
            "state 'S': field 'OutputPath' reads the variable '$nobody'",
        ),
        (
            {"Type": "Fail", "CausePath": "States.Format('{}', $nobody)"},
            "state 'S': field 'CausePath' reads the variable '$nobody'",
        ),
        (
            {
                "Type": "Choice",
                "Choices": [{"Not": {"Variable": "$nobody", "IsPresent": True}, "Next": "S"}],
                "Default": "S2",
            },
            "state 'S': field 'Choices[0].Variable' reads the variable '$nobody'",
        ),
        (
            {"Type": "Pass", "Assign": {"1st": 1}, "End": True},
            "state 'S': field 'Assign.1st': a variable name is a letter or '_'",
        ),
        (
            {"Type": "Pass", "Assign": ["x"], "End": True},
            "state 'S': field 'Assign' must be a JSON object",
        ),
        (
            {"Type": "Pass", "Assign": {"x.$": "$..[bad"}, "End": True},
            "state 'S': field 'Assign.x.$' is not a valid path or intrinsic function",
        ),
        (
            {"Type": "Pass", "ResultPath": "$var", "End": True},
            "state 'S': field 'ResultPath' must be a reference path or null",
        ),
    ],
)
def test_validator_rejects_bad_assignments_and_unknown_variables(
    state: dict[str, Any], message: str
) -> None:
    states = {"S": state}
    if state["Type"] == "Choice":
        states["S2"] = {"Type": "Succeed"}
    messages = validate({"StartAt": "S", "States": states})
    assert any(m.startswith(message) for m in messages), messages


def test_assign_in_a_nested_choice_rule_is_rejected() -> None:
    rule = {"And": [{"Variable": "$.a", "IsPresent": True, "Assign": {"x": 1}}], "Next": "E"}
    definition = machine(
        "C", C={"Type": "Choice", "Choices": [rule], "Default": "E"}, E={"Type": "Succeed"}
    )
    assert validate(definition) == [
        "state 'C': field 'Choices[0].And[0].Assign' is only allowed in a top-level rule"
    ]


class VariableRecorder:
    """A Listener that keeps the top-level variables, as a run store would for a redrive."""

    def __init__(self) -> None:
        self.variables: dict[str, Any] = {}
        self.failed: list[str] = []

    def state_entered(self, name: str, input: Any) -> None:
        pass

    def state_exited(self, name: str, output: Any) -> None:
        pass

    def task_attempt_failed(self, name: str, attempt: int, error: str, cause: str) -> None:
        pass

    def state_failed(self, name: str, error: str, cause: str) -> None:
        self.failed.append(name)

    def variables_changed(self, variables: dict[str, Any]) -> None:
        self.variables = variables


def test_a_redrive_gets_back_the_variables_the_listener_was_told_of() -> None:
    definition = machine(
        "Init",
        Init={"Type": "Pass", "Assign": {"bucket": "lake"}, "Next": "Load"},
        Load={
            "Type": "Task",
            "Resource": "brygge:step:load",
            "Parameters": {"b.$": "$bucket", "k.$": "$.key"},
            "End": True,
        },
    )
    broken = {"brygge:step:load": boom}
    listener = VariableRecorder()
    first = run(definition, {"key": "a.csv"}, broken, listener=listener)
    assert (first.status, first.failed_state, listener.variables) == (
        "FAILED",
        "Load",
        {"bucket": "lake"},
    )
    again = run(
        definition,
        {"key": "a.csv"},
        {"brygge:step:load": echo},
        start_at="Load",
        variables=listener.variables,
        redrive_count=1,
    )
    assert again.output == {"b": "lake", "k": "a.csv"}
