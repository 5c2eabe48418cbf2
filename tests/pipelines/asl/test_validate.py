"""The validator: messages name the state and the field; Task resources can be checked."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.asl import ValidationError, parse, validate

VALID = {
    "Comment": "convert and publish",
    "StartAt": "Convert",
    "States": {
        "Convert": {
            "Type": "Task",
            "Resource": "brygge:step:to_parquet",
            "Retry": [{"ErrorEquals": ["States.TaskFailed"], "JitterStrategy": "FULL"}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed", "ResultPath": "$.error"}],
            "Next": "Publish",
        },
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
        "Failed": {"Type": "Fail", "Error": "Pipeline.Failed"},
    },
}


def test_valid_definition_has_no_messages() -> None:
    assert validate(VALID) == []


def test_unknown_resource_is_reported_only_when_resources_are_given() -> None:
    known = {"brygge:step:to_parquet"}
    assert validate(VALID, known_resources=known) == [
        "state 'Publish': field 'Resource' names 'brygge:step:publish', which has no handler"
    ]
    assert validate(VALID) == []


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ([], "state machine: the definition must be a JSON object"),
        (
            {"StartAt": "A"},
            "state machine: field 'States' is required and must be a non-empty object",
        ),
        (
            {"StartAt": 1, "States": {"A": {"Type": "Succeed"}}},
            "state machine: field 'StartAt' is required and must be a string",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1},
            "state machine: field 'Extra' is not allowed at the top level",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "TimeoutSeconds": 0},
            "state machine: field 'TimeoutSeconds' must be a positive integer",
        ),
        (
            {"StartAt": "A", "States": {"A": "Succeed"}},
            "state 'A': the state must be a JSON object",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": False}}},
            "state 'A': field 'End' must be true when present",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True, "Parameters": []}}},
            "state 'A': field 'Parameters' must be a JSON object",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Succeed", "Next": "A"}}},
            "state 'A': field 'Next' is not allowed in a Succeed state",
        ),
        (
            {"StartAt": "A", "States": {"A": {"Type": "Fail", "Cause": 3}}},
            "state 'A': field 'Cause' must be a string",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Task",
                        "Resource": "r",
                        "End": True,
                        "Catch": [{"ErrorEquals": ["X"]}],
                    }
                },
            },
            "state 'A': field 'Catch[0].Next' is required",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Task",
                        "Resource": "r",
                        "End": True,
                        "Retry": [{"ErrorEquals": ["X"], "Tries": 3}],
                    }
                },
            },
            "state 'A': field 'Retry[0].Tries' is not allowed in a Retrier",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Map",
                        "End": True,
                        "ItemsPath": "$.x[*]",
                        "Iterator": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}},
                    }
                },
            },
            "state 'A': field 'ItemsPath' must be a reference path",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Choice",
                        "Choices": [
                            {"Variable": "$.t", "TimestampEquals": "tomorrow", "Next": "A"}
                        ],
                    }
                },
            },
            "state 'A': field 'Choices[0].TimestampEquals' must be an RFC 3339 timestamp",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.t", "IsNull": "yes", "Next": "A"}],
                    }
                },
            },
            "state 'A': field 'Choices[0].IsNull' must be true or false",
        ),
        (
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.t", "StringEqualsPath": "t", "Next": "A"}],
                    }
                },
            },
            "state 'A': field 'Choices[0].StringEqualsPath' must be a path",
        ),
        (
            {
                "StartAt": "A",
                "States": {"A": {"Type": "Choice", "Choices": [{"Not": [], "Next": "A"}]}},
            },
            "state 'A': field 'Choices[0].Not' must be an object",
        ),
    ],
)
def test_message_names_the_state_and_field(definition: Any, message: str) -> None:
    assert message in validate(definition)


def test_every_problem_is_reported_at_once() -> None:
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Next": "Gone", "TimeoutSeconds": -1},
            "B": {"Type": "Wait", "End": True},
        },
    }
    messages = validate(definition)
    assert len(messages) >= 5
    for fragment in ("'Resource'", "'Gone'", "'TimeoutSeconds'", "state 'B'", "unreachable"):
        assert any(fragment in message for message in messages), fragment


def test_parse_raises_validation_error_with_the_messages() -> None:
    with pytest.raises(ValidationError) as raised:
        parse({"StartAt": "A", "States": {}})
    assert raised.value.messages == validate({"StartAt": "A", "States": {}})
    assert "States" in str(raised.value)


@pytest.mark.parametrize(
    "rule",
    [
        {"Variable": "$.items.length()", "NumericGreaterThan": 0, "Next": "A"},
        {"Variable": "$.a", "NumericEqualsPath": "$.items.sum()", "Next": "A"},
    ],
)
def test_choice_rule_path_with_a_function_is_rejected(rule: dict[str, Any]) -> None:
    # A Choice rule's paths are reference paths, where AWS allows no function.
    definition = {"StartAt": "A", "States": {"A": {"Type": "Choice", "Choices": [rule]}}}
    field = next(key for key, value in rule.items() if "()" in str(value))
    message = f"state 'A': field 'Choices[0].{field}' must be a path without a function"
    assert any(problem.startswith(message) for problem in validate(definition))


def test_malformed_input_path_says_what_is_wrong() -> None:
    definition = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "InputPath": "$.a[?(@.x like 1)]", "End": True}},
    }
    [message] = validate(definition)
    assert message.startswith("state 'A': field 'InputPath' must be a JSONPath or null (")
    assert "'like' is not supported" in message


@pytest.mark.parametrize("moment", ["2024-02-30T00:00:00Z", "2024-01-31t12:00:00z"])
def test_wait_timestamp_that_aws_refuses_is_refused(moment: str) -> None:
    definition = {
        "StartAt": "W",
        "States": {"W": {"Type": "Wait", "Timestamp": moment, "End": True}},
    }
    assert validate(definition) == ["state 'W': field 'Timestamp' must be an RFC 3339 timestamp"]
