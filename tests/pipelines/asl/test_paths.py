"""JSONPath evaluation and the data-flow fields, as pure functions."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.asl import paths
from pipelines.asl.errors import ResultPathMatchFailure, Runtime

DOCUMENT = {
    "a": {"b": [10, 20, {"c": "deep"}]},
    "items": [{"name": "x", "price": 5}, {"name": "y", "price": 15}, {"name": "z"}],
    "odd key": 1,
    "flag": False,
    "nothing": None,
}
CONTEXT = {"Execution": {"Name": "run-1"}, "State": {"Name": "Load", "RetryCount": 0}}


def context() -> dict[str, Any]:
    return CONTEXT


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DOCUMENT),
        ("$.a.b[0]", 10),
        ("$.a.b[-1].c", "deep"),
        ("$['odd key']", 1),
        ('$["odd key"]', 1),
        ("$.flag", False),
        ("$.nothing", None),
        ("$.items[*].name", ["x", "y", "z"]),
        ("$.items[0:2].name", ["x", "y"]),
        ("$.items[1:].name", ["y", "z"]),
        ("$.items[-2:].name", ["y", "z"]),
        ("$.items[:-1].name", ["x", "y"]),
        ("$.items[0,2].name", ["x", "z"]),
        ("$.items[?(@.price > 10)].name", ["y"]),
        ("$.items[?(@.price)].name", ["x", "y"]),
        ("$.items[?(@.name == 'z')].name", ["z"]),
        ("$.items[?(@.price < 10 || @.name == 'z')].name", ["x", "z"]),
        ("$..c", ["deep"]),
        ("$..price", [5, 15]),
        ("$.a.*", [[10, 20, {"c": "deep"}]]),
        ("$.missing[*]", []),
    ],
)
def test_evaluate_finds_values(path: str, expected: Any) -> None:
    assert paths.evaluate(path, DOCUMENT) == expected


ESCAPED_KEYS = {"a'b": 1, 'a"b': 2, "a,b": 3, "a',b": 4, "a\\": 5, "a]b": 6}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$['a\\'b']", 1),
        ('$["a\\"b"]', 2),
        ("$['a,b']", 3),
        ("$['a\\',b']", 4),
        ("$['a\\\\']", 5),
        ("$['a]b']", 6),
        ("$['a,b','a]b']", {"a,b": 3, "a]b": 6}),
        ("$['a\\'b',\"a\\\"b\"]", {"a'b": 1, 'a"b': 2}),
    ],
)
def test_bracket_keys_take_backslash_escapes(path: str, expected: Any) -> None:
    # A backslash takes the next character as it is, quotes, commas and backslashes alike.
    assert paths.evaluate(path, ESCAPED_KEYS) == expected


@pytest.mark.parametrize("text", ["$['a'b']", "$['a\\']", '$["a"b"]'])
def test_bracket_key_with_a_stray_quote_or_lone_backslash_is_rejected(text: str) -> None:
    with pytest.raises(paths.PathError):
        paths.compile_path(text)


@pytest.mark.parametrize(
    "path", ["$.missing", "$.a.b[3]", "$.a.b.c", "$.flag.x", "$.items[0].nope"]
)
def test_definite_path_that_finds_nothing_raises(path: str) -> None:
    with pytest.raises(paths.PathError):
        paths.evaluate(path, DOCUMENT)


@pytest.mark.parametrize("text", ["a.b", "$.a[", "$.a[?(@.x ~ 1)]", "$.a..", "", "$.a['x'"])
def test_malformed_path_is_rejected(text: str) -> None:
    with pytest.raises(paths.PathError):
        paths.compile_path(text)


@pytest.mark.parametrize(
    ("text", "is_reference"),
    [
        ("$", True),
        ("$.a.b", True),
        ("$.a[0]", True),
        ("$['x y']", True),
        ("$.a[*]", False),
        ("$..a", False),
        ("$$.Execution", False),
        ("a", False),
        (3, False),
    ],
)
def test_reference_paths_are_names_and_indexes(text: Any, is_reference: bool) -> None:
    assert paths.is_reference_path(text) is is_reference


@pytest.mark.parametrize(
    ("path", "expected"),
    [(None, {}), ("$", DOCUMENT), ("$.a.b[1]", 20), ("$$.Execution.Name", "run-1")],
)
def test_select_applies_input_and_output_path(path: str | None, expected: Any) -> None:
    assert paths.select(path, DOCUMENT, context, "InputPath") == expected


def test_select_that_finds_nothing_is_a_runtime_error() -> None:
    with pytest.raises(Runtime, match=r"\$\.missing"):
        paths.select("$.missing", DOCUMENT, context, "InputPath")


def test_apply_template_builds_paths_context_intrinsics_and_nested_values() -> None:
    template = {
        "static": [1, {"x.$": "$['odd key']"}],
        "name.$": "$.items[0].name",
        "state.$": "$$.State.Name",
        "greeting.$": "States.Format('hi {}', $.items[1].name)",
        "nested": {"deep.$": "$.a.b[2].c", "plain": None},
    }
    assert paths.apply_template(template, DOCUMENT, context, "Parameters") == {
        "static": [1, {"x": 1}],
        "name": "x",
        "state": "Load",
        "greeting": "hi y",
        "nested": {"deep": "deep", "plain": None},
    }


@pytest.mark.parametrize("expression", ["$.missing", "$$.Missing", "States.ArrayLength($.gone)"])
def test_template_path_that_finds_nothing_is_a_runtime_error(expression: str) -> None:
    # The specification names States.ParameterPathFailure; AWS fails with States.Runtime.
    with pytest.raises(Runtime, match=r"specified for the field 'x\.\$' could not be found"):
        paths.apply_template({"x.$": expression}, DOCUMENT, context, "Parameters")


@pytest.mark.parametrize(
    ("path", "document", "result", "expected"),
    [
        (None, {"a": 1}, 2, {"a": 1}),
        ("$", {"a": 1}, 2, 2),
        ("$.r", {"a": 1}, 2, {"a": 1, "r": 2}),
        ("$.a", {"a": 1}, {"b": 2}, {"a": {"b": 2}}),
        ("$.x.y.z", {}, True, {"x": {"y": {"z": True}}}),
        ("$.list[1]", {"list": [1, 2]}, "two", {"list": [1, "two"]}),
        ("$.a.b", {"a": {"keep": 1}}, 2, {"a": {"keep": 1, "b": 2}}),
    ],
)
def test_apply_result_path_places_the_result(
    path: str | None, document: Any, result: Any, expected: Any
) -> None:
    assert paths.apply_result_path(path, document, result) == expected


@pytest.mark.parametrize(
    ("path", "document"),
    [("$.a.b", {"a": "text"}), ("$.a", [1]), ("$.list[5]", {"list": [1]}), ("$.a[*]", {})],
)
def test_apply_result_path_through_a_non_object_fails(path: str, document: Any) -> None:
    with pytest.raises(ResultPathMatchFailure):
        paths.apply_result_path(path, document, 1)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text("abc", min_size=1, max_size=2), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.text("abc", min_size=1, max_size=2)


@given(
    document=st.dictionaries(KEYS, JSON, max_size=5),
    keys=st.lists(KEYS, min_size=1, max_size=3),
    result=JSON,
)
def test_result_path_never_mutates_its_input(document: Any, keys: list[str], result: Any) -> None:
    before = copy.deepcopy(document)
    path = "$." + ".".join(keys)
    try:
        combined = paths.apply_result_path(path, document, result)
    except ResultPathMatchFailure:
        combined = None
    else:
        assert paths.evaluate(path, combined) == result
    assert document == before


@given(
    document=st.dictionaries(KEYS, JSON, max_size=5), keys=st.lists(KEYS, min_size=1, max_size=2)
)
def test_templates_and_selection_never_mutate_their_input(document: Any, keys: list[str]) -> None:
    before = copy.deepcopy(document)
    path = "$." + ".".join(keys)
    template = {"copy.$": "$", "wild.$": "$..*", "array.$": "States.Array($)"}
    built = paths.apply_template(template, document, context, "Parameters")
    assert built["copy"] == document
    with contextlib.suppress(Runtime):
        paths.select(path, document, context, "InputPath")
    assert document == before


def test_path_function_that_cannot_apply_says_why() -> None:
    document = {"words": []}
    with pytest.raises(
        Runtime, match=r"field 'n\.\$' failed: sum\(\) of \$\.words\.sum\(\) found no"
    ):
        paths.apply_template({"n.$": "$.words.sum()"}, document, context, "Parameters")
    with pytest.raises(Runtime, match=r"Invalid path '\$\.words\.sum\(\)' : sum\(\) of"):
        paths.select("$.words.sum()", document, context, "InputPath")
