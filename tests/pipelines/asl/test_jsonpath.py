"""JSONPath results as AWS's JSONPath library (Jayway) gives them: functions and shapes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pipelines.asl.jsonpath import PathError, compile_path, evaluate

DOCUMENT = {
    "numbers": [3, 1, 2],
    "negatives": [-3, -1],
    "mixed": [1, "2", None, 4.5],
    "words": [],
    "order": {"id": 7, "lines": [{"qty": 2, "tags": ["a", "b"]}, {"qty": 5, "tags": []}]},
    "text": "abc",
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.numbers.length()", 3),
        ("$.numbers.size()", 3),
        ("$.order.length()", 2),
        ("$.text.length()", None),
        ("$.numbers.min()", 1.0),
        ("$.numbers.max()", 3.0),
        ("$.numbers.sum()", 6.0),
        ("$.numbers.avg()", 2.0),
        ("$.mixed.sum()", 5.5),
        ("$.order.lines[*].tags.length()", [2, 0]),
        ("$..qty.sum()", 7.0),
        ("$..lines.length()", 2),
        # Jayway's maximum starts at Double.MIN_VALUE, so AWS answers this too.
        ("$.negatives.max()", 5e-324),
    ],
)
def test_path_ending_in_a_function(path: str, expected: Any) -> None:
    result = evaluate(path, DOCUMENT)
    assert result == expected
    assert type(result) is type(expected)


def test_standard_deviation_is_the_population_one() -> None:
    ten = {"numbers": list(range(1, 11))}
    assert evaluate("$.numbers.stddev()", ten) == pytest.approx(2.8722813232690143)


@pytest.mark.parametrize(
    "path", ["$.words.sum()", "$.text.avg()", "$.order.lines[*].qty.sum()", "$.missing.length()"]
)
def test_aggregation_without_numbers_or_target_raises(path: str) -> None:
    with pytest.raises(PathError, match=r"\$\."):
        evaluate(path, DOCUMENT)


@pytest.mark.parametrize(
    "path",
    ["$.numbers.first()", "$.numbers.sum(1)", "$.numbers.length().x", "$..length()", "$.a.b("],
)
def test_unknown_or_misplaced_function_is_rejected(path: str) -> None:
    with pytest.raises(PathError):
        compile_path(path)


def test_functions_are_not_reference_paths() -> None:
    compiled = compile_path("$.numbers.length()")
    assert compiled.is_definite
    assert not compiled.is_reference


SHAPES = {"a": {"x": 1, "y": 2, "z": 3}, "list": [0, 1, 2, 3, 4], "rows": [{"x": 1}, {"x": 2}]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # A union of names at the end is one object of the names found (a value, not a list).
        ("$.a['x','y']", {"x": 1, "y": 2}),
        ("$.a['x','nope']", {"x": 1}),
        ("$.rows[0]['x','y']", {"x": 1}),
        ("$.rows[*]['x','y']", [{"x": 1}, {"x": 2}]),
        # Elsewhere, or of indexes, it is a list.
        ("$['a','a'].x", [1, 1]),
        ("$.list[0,2]", [0, 2]),
        # Slices as Jayway takes them: [from:to] does not count a negative bound from the end.
        ("$.list[1:3]", [1, 2]),
        ("$.list[-2:]", [3, 4]),
        ("$.list[:-3]", [0, 1]),
        ("$.list[1:-1]", []),
        ("$.list[-2:2]", [3, 4, 0, 1]),
        ("$.list[2:9]", [2, 3, 4]),
        ("$.list[0:4:2]", [0, 1, 2, 3]),
    ],
)
def test_result_shapes_follow_jayway(path: str, expected: Any) -> None:
    assert evaluate(path, SHAPES) == expected


def test_union_of_names_on_a_non_object_finds_nothing() -> None:
    with pytest.raises(PathError):
        evaluate("$.list['x','y']", SHAPES)


@pytest.mark.parametrize("path", ["$.list[::2]", "$.list[:]"])
def test_slice_without_bounds_is_rejected(path: str) -> None:
    with pytest.raises(PathError, match="slice"):
        compile_path(path)


@pytest.mark.parametrize("path", ["$.odd key", "$.a.first name", "$..my key"])
def test_dotted_name_with_a_space_is_rejected_naming_brackets(path: str) -> None:
    with pytest.raises(PathError, match=r"holds a space: write it in brackets"):
        compile_path(path)


def test_deeply_nested_filters_are_refused_not_a_stack_overflow() -> None:
    path = "$" + "[?(@" * 600 + ")]" * 600
    with pytest.raises(PathError, match="nests brackets more than 32 deep"):
        compile_path(path)


def test_deep_scan_reaches_the_bottom_of_a_deeply_nested_document() -> None:
    document: Any = {"x": "bottom"}
    for _ in range(5000):
        document = [document]
    assert evaluate("$..x", document) == ["bottom"]


@pytest.mark.parametrize("path", ["$.a[::2]", "$.a[?(@.x like 1)]", "$.a[x]", "$.a[?(@.b[::2])]"])
def test_refused_bracket_names_the_whole_path(path: str) -> None:
    with pytest.raises(PathError, match=re.escape(f"in the path {path!r}")):
        compile_path(path)
