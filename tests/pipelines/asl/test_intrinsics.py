"""Intrinsic functions: each one's result, and failures named States.IntrinsicFailure."""

from __future__ import annotations

import random
import re
from typing import Any

import pytest

from pipelines.asl import intrinsics, paths
from pipelines.asl.errors import IntrinsicFailure

INPUT = {
    "name": "Kari",
    "list": [1, 2, 3, 4, 5],
    "dupes": [1, {"a": 1}, 1, {"a": 1}, "1"],
    "text": "hello world",
    "json": '{"a": [1, 2]}',
    "obj": {"k": "v", "n": [1, 2]},
    "long": "x" * 10_001,
}


def resolve(path: str) -> Any:
    return paths.evaluate(path, INPUT)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("States.Format('Hello {}!', $.name)", "Hello Kari!"),
        ("States.Format('{} + {} = {}', 1, 2.5, true)", "1 + 2.5 = true"),
        ("States.Format('none: {}', null)", "none: null"),
        ("States.Format('object {}', $.obj)", "object {k=v, n=[1, 2]}"),
        ("States.Format('literal \\{\\} and \\'{}\\'', $.name)", "literal {} and 'Kari'"),
        ("States.Format('back\\\\slash')", "back\\slash"),
        ("States.StringToJson($.json)", {"a": [1, 2]}),
        ("States.JsonToString($.obj)", '{"k":"v","n":[1,2]}'),
        ("States.Array('a', 1, null, $.obj)", ["a", 1, None, {"k": "v", "n": [1, 2]}]),
        ("States.Array()", []),
        ("States.ArrayPartition($.list, 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayPartition($.list, 9)", [[1, 2, 3, 4, 5]]),
        ("States.ArrayContains($.list, 3)", True),
        ("States.ArrayContains($.dupes, $.obj)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayRange(5, 1, -2)", [5, 3, 1]),
        ("States.ArrayGetItem($.list, 0)", 1),
        ("States.ArrayLength($.list)", 5),
        ("States.ArrayUnique($.dupes)", [1, {"a": 1}, "1"]),
        ("States.MathAdd(40, -2)", 38),
        # AWS rounds a non-integer argument to the nearest integer, halves up.
        ("States.MathAdd(1.5, 1)", 3),
        ("States.MathAdd(-2.5, 0)", -2),
        ("States.MathAdd(2.4, 0.6)", 3),
        ("States.ArrayPartition($.list, 2.4)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayRange(0.6, 3.2, 1)", [1, 2, 3]),
        ("States.MathAdd($.list[4], 1.0)", 6),
        ("States.MathRandom(5, 5)", 5),
        ("States.Hash('hello world', 'SHA-1')", "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"),
        ("States.Hash($.text, 'MD5')", "5eb63bbbe01eeed093cb22bb8f5acdc3"),
        ("States.Base64Encode($.text)", "aGVsbG8gd29ybGQ="),
        ("States.Base64Decode('aGVsbG8gd29ybGQ=')", "hello world"),
        # The text's UTF-8 bytes, as AWS encodes a string (its example: "Data to encode").
        ("States.Base64Encode('Åse ✓ ø')", "w4VzZSDinJMgw7g="),
        ("States.Base64Decode('w4VzZSDinJMgw7g=')", "Åse ✓ ø"),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.StringSplit('a,b;;c', ',;')", ["a", "b", "c"]),
        ("States.StringSplit('abc', '')", ["abc"]),
        (
            "States.JsonMerge($.obj, States.StringToJson($.json), false)",
            {"k": "v", "n": [1, 2], "a": [1, 2]},
        ),
        ("States.ArrayLength(States.StringSplit($.text, ' '))", 2),
    ],
)
def test_intrinsic_function_result(expression: str, expected: Any) -> None:
    assert intrinsics.evaluate(expression, resolve) == expected


def test_uuid_is_a_version_4_uuid_drawn_from_the_given_random() -> None:
    first = intrinsics.evaluate("States.UUID()", resolve, random.Random(1))
    again = intrinsics.evaluate("States.UUID()", resolve, random.Random(1))
    assert first == again
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", first
    )


def test_math_random_with_a_seed_is_repeatable_and_within_bounds() -> None:
    values = {intrinsics.evaluate("States.MathRandom(1, 10, 42)", resolve) for _ in range(5)}
    assert len(values) == 1
    assert 1 <= values.pop() <= 10


@pytest.mark.parametrize(
    "expression",
    [
        "States.Format('{} {}', 1)",
        "States.Format(1)",
        "States.StringToJson('{not json')",
        "States.StringToJson('NaN')",
        "States.StringToJson('-Infinity')",
        "States.StringToJson('1e400')",
        "States.StringToJson('[1,]')",
        "States.StringToJson('\\{\\} extra')",
        "States.ArrayPartition($.list, 0)",
        "States.ArrayPartition($.text, 2)",
        "States.ArrayRange(1, 5000, 1)",
        "States.ArrayRange(1, 5, 0)",
        "States.ArrayGetItem($.list, 5)",
        "States.ArrayLength($.text)",
        "States.MathAdd('1', 1)",
        "States.Hash($.text, 'SHA-3')",
        # AWS hashes a string of at most 10,000 characters.
        "States.Hash($.obj, 'MD5')",
        "States.Hash($.list, 'SHA-256')",
        "States.Hash($.long, 'SHA-1')",
        "States.Base64Decode('***')",
        "States.Base64Encode($.list)",
        "States.StringSplit($.list, ',')",
        "States.JsonMerge($.obj, $.obj, true)",
        "States.Nope()",
        "States.Format('unterminated)",
    ],
)
def test_failing_intrinsic_is_an_intrinsic_failure(expression: str) -> None:
    with pytest.raises(IntrinsicFailure):
        intrinsics.evaluate(expression, resolve)


@pytest.mark.parametrize(
    "text",
    [
        "States.Format",
        "States.Format('a'",
        "States.Format('a\\qb')",
        "States.Format('a\\nb')",
        "States.Format('\\u0041')",
        "States.ArrayLength($.a) extra",
        "States.UUID(1)",
        "States.MathAdd(1)",
        "States.Array(1 2)",
        "Other.Format('a')",
    ],
)
def test_malformed_call_is_a_syntax_error(text: str) -> None:
    with pytest.raises(intrinsics.IntrinsicSyntaxError):
        intrinsics.parse(text)


def test_path_arguments_may_hold_commas_and_brackets() -> None:
    document = {"a": {"x": 1, "y": 2}}
    call = "States.Array($.a['x','y'], 3)"
    expected = [{"x": 1, "y": 2}, 3]
    assert intrinsics.evaluate(call, lambda path: paths.evaluate(path, document)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("' 12 '", 12),
        ("'null'", None),
        ("'\"text\"'", "text"),
        ("'1.0'", 1.0),
        # AWS (recorded) reads an empty or blank string as null rather than failing.
        ("''", None),
        ("'  '", None),
        ('\'\\{"a":1,"a":2\\}\'', {"a": 2}),
        ("'[\"\\\\\\\\\"]'", ["\\"]),
    ],
)
def test_string_to_json_reads_strict_json_around_white_space(text: str, expected: Any) -> None:
    # White space around the value is allowed, a repeated key keeps its last value (as
    # Jackson's default); NaN, Infinity and numbers out of a double's range are refused.
    assert intrinsics.evaluate(f"States.StringToJson({text})", resolve) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("'it\\'s'", "it's"), ("'\\{\\}'", "{}"), ("'a\\\\b'", "a\\b")],
)
def test_string_literal_takes_the_four_escapes(text: str, expected: str) -> None:
    assert intrinsics.evaluate(f"States.Format({text})", resolve) == expected


def test_hash_takes_a_string_of_10000_characters() -> None:
    document = {"data": "x" * 10_000}
    digest = intrinsics.evaluate(
        "States.Hash($.data, 'SHA-1')", lambda path: paths.evaluate(path, document)
    )
    assert len(digest) == 40


def nested_arrays(depth: int) -> str:
    return "States.Array(" * depth + "1" + ")" * depth


def test_ten_nested_functions_run_and_an_eleventh_is_refused() -> None:
    # AWS nests at most 10 intrinsic functions in a field; deeper is refused, not a crash.
    assert intrinsics.evaluate(nested_arrays(10), resolve) == [[[[[[[[[[1]]]]]]]]]]
    for depth in (11, 5000):
        with pytest.raises(IntrinsicFailure, match="nest more than 10 deep"):
            intrinsics.evaluate(nested_arrays(depth), resolve)


def test_nested_call_with_the_wrong_number_of_arguments_is_a_syntax_error() -> None:
    with pytest.raises(intrinsics.IntrinsicSyntaxError, match=r"ArrayLength takes 1\.\.1"):
        intrinsics.parse("States.Format('{}', States.ArrayLength($.list, $.list))")


def test_path_argument_with_quoted_parentheses_and_commas() -> None:
    document = {"a,b)": 1, "marks": ["(", ")", "x"]}
    call = "States.Array($['a,b)'], $.marks[?(@ == ')' || @ == '(')], 2)"
    expected = [1, ["(", ")"], 2]
    assert intrinsics.evaluate(call, lambda path: paths.evaluate(path, document)) == expected


@pytest.mark.parametrize(
    "encoded",
    [
        # MIME Base64, the scheme AWS names, breaks lines at 76 characters with CRLF.
        "SGVsbG8sIHdvcmxkISBUaGlzIGlzIGEgbG9uZ2VyIHRleHQgc28gdGhhdCBNSU1FIGJyZWFrcyBp\r\n"
        "dCBhY3Jvc3MgbGluZXMu",
        "SGVsbG8sIHdvcmxkISBUaGlzIGlzIGEgbG9uZ2VyIHRleHQgc28gdGhhdCBNSU1FIGJyZWFrcyBp\n"
        "dCBhY3Jvc3MgbGluZXMu\n",
    ],
)
def test_base64_decode_reads_mime_lines(encoded: str) -> None:
    found = intrinsics.evaluate("States.Base64Decode($.encoded)", lambda path: encoded)
    assert found == "Hello, world! This is a longer text so that MIME breaks it across lines."
