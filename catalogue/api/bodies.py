"""JSON request bodies: parsed with a nesting limit, and text fields checked for controls."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask.json.provider import DefaultJSONProvider
from marshmallow import fields

from catalogue.domain.text import forbidden_character

# Deep enough for any body the API takes (a template nesting Map in Parallel in Map uses
# about 4 levels per state); json.loads itself gives up near 1,000 with a RecursionError.
MAX_JSON_DEPTH = 64
# A lone surrogate can only arrive as a \uD800-\uDFFF escape: strict UTF-8 refuses the bytes.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTAINERS = (dict, list)


class BodyError(ValueError):
    """A JSON body that parses but that the API does not take (too deep, not text, no number)."""


def parse_json(data: str | bytes) -> Any:
    """Parse a JSON body; raises BodyError when it nests too deep, holds a lone surrogate,
    NaN or Infinity, a number beyond a double's range (which would read as infinity) or
    one of thousands of digits.

    Bytes must be UTF-8 (UnicodeDecodeError otherwise), a leading byte order mark ignored
    as RFC 8259 8.1 allows; malformed JSON raises json.JSONDecodeError as json.loads does.
    """
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise BodyError(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels.") from None
    except (json.JSONDecodeError, BodyError):
        raise
    except ValueError as error:
        # int() refuses a number of more than sys.get_int_max_str_digits() digits (4,300).
        raise BodyError(f"A number in the JSON has too many digits: {error}") from None
    # Fast paths: most bodies have too few brackets to be deep and no surrogate escape;
    # many brackets without one (a batch of events) only need their depth measured. The
    # full walk finds where the problem is.
    if _SURROGATE_ESCAPE.search(text) or (
        text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nests_too_deep(value)
    ):
        _check_structure(value)
    return value


def _refuse_constant(name: str) -> Any:
    # json reads NaN and Infinity, which RFC 8259 leaves out of JSON, and no store keeps.
    raise BodyError(f"{name} is not a JSON value (RFC 8259 numbers are finite).")


def _finite_float(text: str) -> float:
    # Measured: a fifth more parse time on a batch of events, well under 1 % of its request;
    # a regular expression finding the long exponents first cost more than that.
    value = float(text)
    if math.isinf(value):
        raise BodyError(f"The number {text[:40]} is out of range (at most about 1.8e308).")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _nests_too_deep(value: Any) -> bool:
    """Whether ``value`` has containers deeper than MAX_JSON_DEPTH (scalars are skipped)."""
    level = [value] if isinstance(value, _CONTAINERS) else []
    for _ in range(MAX_JSON_DEPTH):
        deeper: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            deeper += [child for child in children if isinstance(child, _CONTAINERS)]
        if not deeper:
            return False
        level = deeper
    return True


def _check_structure(value: Any) -> None:
    """Walk ``value`` without recursion; raise BodyError at the first level or string refused."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            raise BodyError(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels (at {path}).")
        if isinstance(item, dict):
            for key, child in item.items():
                _check_text(key, f"{path}/{key}")
                stack.append((child, depth + 1, f"{path}/{key}"))
        elif isinstance(item, list):
            stack.extend((child, depth + 1, f"{path}/{index}") for index, child in enumerate(item))
        elif isinstance(item, str):
            _check_text(item, path)


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        code = ord(text[error.start])
        # The path may hold the surrogate itself (as a key): escaped, never echoed.
        where = (path or "/").encode("utf-8", "backslashreplace").decode("utf-8")
        raise BodyError(
            f"The string at {where} holds a lone surrogate (U+{code:04X}), which is not text."
        ) from None


class JsonProvider(DefaultJSONProvider):
    """Flask's JSON, whose ``loads`` (``request.get_json``) applies parse_json's limits."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def text_problems(schema: ma.Schema, data: Any) -> dict[str, Any]:
    """Field errors for the text fields of ``data`` that hold forbidden characters.

    Follows the schema's String fields into lists and nested schemas, keyed by the JSON names
    as marshmallow keys its own errors. Free-form objects (``fields.Dict``, ``fields.Raw``:
    a pipeline's ``taskConfig``, a template's ``definition``) are configuration, not text,
    and a step may rightly take a control character (a ``\\u0001`` delimiter) there.
    """
    if not isinstance(data, Mapping):
        return {}
    problems = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data and (problem := _field_problems(field, data[key])):
            problems[key] = problem
    return problems


def _field_problems(field: fields.Field, value: Any) -> Any:
    if isinstance(field, fields.String) and isinstance(value, str):
        reason = forbidden_character(value)
        return [reason] if reason else None
    if isinstance(field, fields.List) and isinstance(value, list):
        found = {index: _field_problems(field.inner, item) for index, item in enumerate(value)}
        return {index: problem for index, problem in found.items() if problem} or None
    if isinstance(field, fields.Nested) and isinstance(field.schema, ma.Schema):
        if isinstance(value, list):
            found = {index: text_problems(field.schema, item) for index, item in enumerate(value)}
            return {index: problem for index, problem in found.items() if problem} or None
        return text_problems(field.schema, value) or None
    return None


def unreadable_reason(error: json.JSONDecodeError | UnicodeDecodeError) -> str:
    """Why a body could not be read as JSON, and where: for the client to find the byte."""
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start]
        return (
            f"The body is not UTF-8, the encoding JSON takes (RFC 8259 8.1): byte 0x{byte:02x} "
            f"at offset {error.start}."
        )
    return f"The body is not JSON: {error.msg} at line {error.lineno} column {error.colno}."
