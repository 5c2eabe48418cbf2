"""Choice rules: every operator, its *Path variant, And/Or/Not, and missing variables."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.asl.choice import (
    ChoiceRule,
    Combination,
    Comparison,
    choose,
    is_timestamp,
    matches,
)
from pipelines.asl.errors import NoChoiceMatched, Runtime

CONTEXT = {"State": {"Name": "Route"}}


def context() -> dict[str, Any]:
    return CONTEXT


@pytest.mark.parametrize(
    ("operator", "value", "operand", "expected"),
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", "a", "A", False),
        ("StringEquals", 1, "1", False),
        ("StringLessThan", "a", "b", True),
        ("StringGreaterThan", "b", "a", True),
        ("StringLessThanEquals", "a", "a", True),
        ("StringGreaterThanEquals", "a", "b", False),
        ("StringMatches", "log-2024.csv", "log-*.csv", True),
        ("StringMatches", "log-2024.csv.gz", "log-*.csv", False),
        ("StringMatches", "a*b", "a\\*b", True),
        ("StringMatches", "axb", "a\\*b", False),
        ("StringMatches", "a\\b", "a\\\\b", True),
        ("StringMatches", "anything", "*", True),
        ("StringMatches", "a.b", "a?b", False),
        ("NumericEquals", 1, 1.0, True),
        ("NumericEquals", True, 1, False),
        ("NumericEquals", "1", 1, False),
        ("NumericLessThan", 1, 2, True),
        ("NumericGreaterThan", 2.5, 2, True),
        ("NumericLessThanEquals", 2, 2, True),
        ("NumericGreaterThanEquals", 1, 2, False),
        ("BooleanEquals", True, True, True),
        ("BooleanEquals", 1, True, False),
        ("BooleanEquals", False, True, False),
        ("TimestampEquals", "2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00Z", True),
        ("TimestampLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.001Z", True),
        ("TimestampGreaterThan", "2025-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("TimestampLessThanEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
        ("TimestampGreaterThanEquals", "2023-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
        ("TimestampEquals", "2024-01-01", "2024-01-01T00:00:00Z", False),
        ("IsNull", None, True, True),
        ("IsNull", 0, True, False),
        ("IsNumeric", 3.5, True, True),
        ("IsNumeric", False, True, False),
        ("IsString", "", True, True),
        ("IsString", 1, False, True),
        ("IsBoolean", False, True, True),
        ("IsTimestamp", "2024-05-06T07:08:09.123Z", True, True),
        ("IsTimestamp", "2024-05-06 07:08:09", True, False),
        # AWS takes an uppercase T and Z only, and a date that exists.
        ("IsTimestamp", "2024-05-06t07:08:09z", True, False),
        ("IsTimestamp", "2024-13-45T25:61:00Z", True, False),
        ("IsTimestamp", "2024-02-30T00:00:00Z", True, False),
        ("IsTimestamp", "2024-02-29T00:00:00+01:00", True, True),
        ("IsTimestamp", "2024-05-06T07:08:09Z\n", True, False),
        ("TimestampLessThan", "2024-13-45T25:61:00Z", "2030-01-01T00:00:00Z", False),
        ("TimestampEquals", "2024-01-01t00:00:00z", "2024-01-01T00:00:00Z", False),
        # Digits past the microsecond count, as in the instants AWS compares (nanoseconds).
        ("TimestampEquals", "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00.1234568Z", False),
        ("TimestampLessThan", "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00.1234568Z", True),
        (
            "TimestampGreaterThan",
            "2024-01-01T00:00:00.123456789Z",
            "2024-01-01T00:00:00.123456Z",
            True,
        ),
        ("TimestampEquals", "2024-01-01T00:00:00.1234560Z", "2024-01-01T00:00:00.123456Z", True),
        (
            "TimestampEquals",
            "2024-01-01T01:00:00.0000001+01:00",
            "2024-01-01T00:00:00.0000001Z",
            True,
        ),
        (
            "TimestampLessThanEquals",
            "2024-01-01T00:00:00.9999999Z",
            "2024-01-01T00:00:00.999999Z",
            False,
        ),
    ],
)
def test_comparison(operator: str, value: Any, operand: Any, expected: bool) -> None:
    assert matches(Comparison("$.v", operator, operand), {"v": value}, context) is expected


@pytest.mark.parametrize(
    ("operator", "value", "other", "expected"),
    [
        ("StringEqualsPath", "a", "a", True),
        ("StringLessThanPath", "a", "b", True),
        ("StringGreaterThanEqualsPath", "a", "b", False),
        ("NumericEqualsPath", 2, 2.0, True),
        ("NumericGreaterThanPath", 3, 2, True),
        ("NumericLessThanEqualsPath", 3, 2, False),
        ("BooleanEqualsPath", False, False, True),
        ("TimestampLessThanPath", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", True),
        ("TimestampGreaterThanEqualsPath", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z", False),
    ],
)
def test_path_variant_compares_with_another_field(
    operator: str, value: Any, other: Any, expected: bool
) -> None:
    rule = Comparison("$.v", operator, "$.other")
    assert matches(rule, {"v": value, "other": other}, context) is expected


@pytest.mark.parametrize(
    ("document", "is_present", "expected"),
    [({"v": None}, True, True), ({}, True, False), ({}, False, True), ({"v": 1}, False, False)],
)
def test_is_present(document: Any, is_present: bool, expected: bool) -> None:
    assert matches(Comparison("$.v", "IsPresent", is_present), document, context) is expected


ONE = Comparison("$.n", "NumericEquals", 1)
STRING = Comparison("$.s", "StringEquals", "x")


@pytest.mark.parametrize(
    ("rule", "document", "expected"),
    [
        (Combination("And", (ONE, STRING)), {"n": 1, "s": "x"}, True),
        (Combination("And", (ONE, STRING)), {"n": 1, "s": "y"}, False),
        (Combination("Or", (ONE, STRING)), {"n": 2, "s": "x"}, True),
        (Combination("Or", (ONE, STRING)), {"n": 2, "s": "y"}, False),
        (Combination("Not", (ONE,)), {"n": 2}, True),
        (Combination("Not", (Combination("Or", (ONE, STRING)),)), {"n": 1, "s": "y"}, False),
    ],
)
def test_combinations(rule: Any, document: Any, expected: bool) -> None:
    assert matches(rule, document, context) is expected


def test_variable_may_read_the_context_object() -> None:
    assert matches(Comparison("$$.State.Name", "StringEquals", "Route"), {}, context)


@pytest.mark.parametrize(
    "rule",
    [
        Comparison("$.missing", "StringEquals", "x"),
        Comparison("$.v", "NumericEqualsPath", "$.gone"),
    ],
)
def test_missing_variable_or_operand_path_is_a_runtime_error(rule: Comparison) -> None:
    with pytest.raises(Runtime, match="Invalid path"):
        matches(rule, {"v": 1}, context)


def test_choose_takes_the_first_match_then_default_then_fails() -> None:
    choices = (
        ChoiceRule(ONE, "first"),
        ChoiceRule(Comparison("$.n", "NumericLessThan", 5), "second"),
    )
    assert choose(choices, None, {"n": 1}, context, "C") == "first"
    assert choose(choices, None, {"n": 3}, context, "C") == "second"
    assert choose(choices, "fallback", {"n": 9}, context, "C") == "fallback"
    with pytest.raises(NoChoiceMatched):
        choose(choices, None, {"n": 9}, context, "C")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00.5+01:00", True),
        ("2024-01-01T00:00:00", False),
        ("2024-01-01", False),
        (20240101, False),
    ],
)
def test_is_timestamp(value: Any, expected: bool) -> None:
    assert is_timestamp(value) is expected
