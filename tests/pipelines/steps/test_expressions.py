"""The transform expression language: what it computes, and what it refuses."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from pipelines.steps.expressions import ExpressionError, compile_expression

FRAME = pl.DataFrame(
    {
        "a": [1, 2, 3, None],
        "b": [10.0, 20.0, 30.0, 40.0],
        "name": ["Oslo", "bergen", " Tromsø ", None],
        "day": pl.Series(["2024-01-31", "2023-02-01", "2022-03-15", "2021-12-01"]).str.to_date(),
        "with space": ["x", "y", "z", "w"],
    }
)


def evaluate(text: str) -> list[Any]:
    expression, _ = compile_expression(text)
    return FRAME.with_columns(expression.alias("result")).get_column("result").to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * 2", [21.0, 42.0, 63.0, None]),
        ("(a + 1) * -2", [-4, -6, -8, None]),
        ("b / 4 - a % 2", [1.5, 5.0, 6.5, None]),
        ("a >= 2 and b < 30", [False, True, False, False]),
        ("a = 1 or not (b <> 30)", [True, False, True, None]),
        ("a is null", [False, False, False, True]),
        ("name is not null", [True, True, True, False]),
        ("a in (1, 3)", [True, False, True, None]),
        ("a not in (1, 3)", [False, True, False, None]),
        ("lower(trim(name))", ["oslo", "bergen", "tromsø", None]),
        ("upper(name) = 'OSLO'", [True, False, False, None]),
        ("length(name)", [4, 6, 8, None]),
        ("coalesce(a, 0)", [1, 2, 3, 0]),
        ("concat(name, '-', a)", ["Oslo-1", "bergen-2", " Tromsø -3", None]),
        ("year(day) * 100 + month(day)", [202401, 202302, 202203, 202112]),
        ("round(b / 3, 1)", [3.3, 6.7, 10.0, 13.3]),
        ("\"with space\" = 'y'", [False, True, False, False]),
        ("'it''s'", ["it's"] * 4),
        ("starts_with(name, 'O')", [True, False, False, None]),
        ("contains(name, 'erg')", [False, True, False, None]),
        ("abs(a - 3)", [2, 1, 0, None]),
        ("1.5e1", [15.0] * 4),
        ("true and a > 0", [True, True, True, None]),
        ("a in (-1, 2)", [False, True, False, None]),
    ],
)
def test_expressions_compute(text: str, expected: list[Any]) -> None:
    assert evaluate(text) == expected


def test_columns_read_are_reported() -> None:
    _, columns = compile_expression('a + length("with space") > b')
    assert columns == {"a", "with space", "b"}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('id')", "unexpected character '.'"),
        ("exec('1')", "unknown function 'exec'"),
        ("a.b", "unexpected character '.'"),
        ("a +", "unexpected the end"),
        ("a = = 1", "unexpected '='"),
        ("(a + 1", "expected ')'"),
        ("a; drop", "unexpected character ';'"),
        ("lower()", "lower takes 1 arguments"),
        ("a in (b)", "expected a number or a 'text' literal"),
        ("a b", "unexpected 'b'"),
        ("", "the expression is empty"),
        ("(" * 100 + "a" + ")" * 100, "nested deeper than 40 levels"),
        ("-" * 100 + "1", "nested deeper than 40 levels"),
        ("a" * 3000, "longer than 2000 characters"),
        ("'unterminated", "unexpected character"),
    ],
)
def test_anything_outside_the_grammar_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression(text)
    assert reason in str(raised.value)


def test_errors_give_the_position() -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression("a + $")
    assert raised.value.position == 4
