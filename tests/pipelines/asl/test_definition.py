"""Reading a definition into frozen dataclasses: defaults, nulls and the older Map fields."""

from __future__ import annotations

import dataclasses

import pytest

from pipelines.asl import parse
from pipelines.asl.choice import ChoiceRule, Combination, Comparison
from pipelines.asl.definition import Catcher, Retrier

INNER = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def test_absent_paths_default_to_dollar_and_null_paths_are_none() -> None:
    machine = parse(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Next": "B"},
                "B": {
                    "Type": "Pass",
                    "End": True,
                    "InputPath": None,
                    "OutputPath": None,
                    "ResultPath": None,
                },
            },
        }
    )
    first, second = machine.states["A"], machine.states["B"]
    assert (first.input_path, first.output_path, first.result_path) == ("$", "$", "$")
    assert (second.input_path, second.output_path, second.result_path) == (None, None, None)
    assert second.end and first.next == "B"


def test_retry_and_catch_take_the_specification_defaults() -> None:
    machine = parse(
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["X"]}],
                    "Catch": [{"ErrorEquals": ["Y"], "Next": "T"}],
                },
            },
        }
    )
    state = machine.states["T"]
    assert state.retry == (Retrier(("X",), 1, 3, 2.0, None, "NONE"),)
    assert state.catch == (Catcher(("Y",), "T", "$"),)


def test_a_pass_result_of_null_is_kept_apart_from_no_result() -> None:
    machine = parse(
        {
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Result": None, "Next": "B"},
                "B": {"Type": "Pass", "End": True},
            },
        }
    )
    assert machine.states["A"].has_result and machine.states["A"].result is None
    assert not machine.states["B"].has_result


@pytest.mark.parametrize(
    ("map_fields", "selector"),
    [
        (
            {"Iterator": INNER, "Parameters": {"v.$": "$$.Map.Item.Value"}},
            {"v.$": "$$.Map.Item.Value"},
        ),
        (
            {"ItemProcessor": INNER, "ItemSelector": {"i.$": "$$.Map.Item.Index"}},
            {"i.$": "$$.Map.Item.Index"},
        ),
        ({"ItemProcessor": INNER}, None),
    ],
)
def test_map_reads_the_current_and_older_field_names(map_fields: dict, selector: object) -> None:
    machine = parse({"StartAt": "M", "States": {"M": {"Type": "Map", "End": True, **map_fields}}})
    state = machine.states["M"]
    assert state.item_selector == selector
    assert state.parameters is None  # in a Map, Parameters is per item, never the Map's own
    assert state.processor is not None and state.processor.start_at == "P"


def test_choice_rules_become_a_tree() -> None:
    machine = parse(
        {
            "StartAt": "C",
            "States": {
                "C": {
                    "Type": "Choice",
                    "Default": "D",
                    "Choices": [
                        {"Not": {"Variable": "$.a", "IsNull": True}, "Next": "D"},
                        {
                            "And": [
                                {"Variable": "$.n", "NumericGreaterThan": 1},
                                {"Or": [{"Variable": "$.s", "StringEquals": "x"}]},
                            ],
                            "Next": "D",
                        },
                    ],
                },
                "D": {"Type": "Succeed"},
            },
        }
    )
    assert machine.states["C"].choices == (
        ChoiceRule(Combination("Not", (Comparison("$.a", "IsNull", True),)), "D"),
        ChoiceRule(
            Combination(
                "And",
                (
                    Comparison("$.n", "NumericGreaterThan", 1),
                    Combination("Or", (Comparison("$.s", "StringEquals", "x"),)),
                ),
            ),
            "D",
        ),
    )


def test_states_are_frozen() -> None:
    state = parse({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}).states["A"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.type = "Fail"  # type: ignore[misc]
