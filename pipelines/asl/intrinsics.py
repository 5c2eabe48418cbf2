"""Intrinsic functions (``States.Format(...)`` and friends) for ``.$`` fields: evaluation.

Calls are parsed by ``pipelines.asl.intrinsic_syntax``.
"""

from __future__ import annotations

import base64
import decimal
import hashlib
import json
import math
import random as random_module
import re
import uuid
from collections.abc import Callable
from typing import Any

from pipelines.asl.errors import IntrinsicFailure
from pipelines.asl.intrinsic_syntax import (
    ESCAPED_CLOSE,
    ESCAPED_OPEN,
    Call,
    IntrinsicSyntaxError,
    Literal,
    PathArgument,
    parse,
)

Resolver = Callable[[str], Any]

# AWS caps: arrays made by intrinsics hold at most 1,000 items; the input of Base64Encode,
# Base64Decode and Hash is a string of at most 10,000 characters.
_MAX_ARRAY = 1000
_MAX_TEXT = 10000


def evaluate(text: str, resolve: Resolver, random: random_module.Random | None = None) -> Any:
    """Evaluate an intrinsic function call; ``resolve`` gives the value of a path argument.

    Raises IntrinsicFailure when the call is malformed or its arguments are wrong.
    ``resolve`` raises its own error (a missing path) unchanged.
    """
    try:
        call = parse(text)
    except IntrinsicSyntaxError as exc:
        raise IntrinsicFailure(str(exc)) from None
    return _restore(_evaluate(call, resolve, random or _default_random))


_default_random = random_module.Random()


def _restore(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(ESCAPED_OPEN, "{").replace(ESCAPED_CLOSE, "}")
    return value


def _evaluate(call: Call, resolve: Resolver, random: random_module.Random) -> Any:
    values: list[Any] = []
    for position, argument in enumerate(call.arguments):
        if isinstance(argument, Literal):
            # Escaped braces stay apart from placeholders only in Format's template.
            is_template = call.name == "Format" and position == 0
            values.append(argument.value if is_template else _restore(argument.value))
        elif isinstance(argument, PathArgument):
            values.append(resolve(argument.path))
        else:
            values.append(_restore(_evaluate(argument, resolve, random)))
    try:
        return FUNCTIONS[call.name](random, *values)
    except IntrinsicFailure:
        raise
    except (TypeError, ValueError, IndexError, KeyError, UnicodeError) as exc:
        raise IntrinsicFailure(f"States.{call.name}: {exc}") from None


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _integer(value: Any, what: str) -> int:
    if _is_integer(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"{what} must be an integer, got {json.dumps(value)}")


def _rounded(value: Any, what: str) -> int:
    """An integer argument where AWS takes any number and rounds it to the nearest integer
    (halves up, as Java's Math.round does: 2.5 is 3, -2.5 is -2)."""
    if _is_integer(value):
        return int(value)
    if isinstance(value, float):
        return math.floor(value + 0.5)
    raise TypeError(f"{what} must be a number, got {json.dumps(value)}")


def _array(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError(f"{what} must be an array, got {json.dumps(value)}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {json.dumps(value)}")
    return value


def _format_value(value: Any) -> str:
    """Render a value as States.Format does: strings raw, objects as ``{key=value, ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_format_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return java_double(value)
    return json.dumps(value)


def java_double(value: float) -> str:
    """Write a JSON float as Step Functions (a Java service) writes one in States.Format.

    An integer-valued float keeps its ``.0`` (``1.0``, not ``1``); below 10^-3 and from
    10^7 on, Java's ``Double.toString`` switches to ``1.5E7`` notation where Python would
    write ``15000000.0`` or ``1.5e-05``. The digits are the shortest that round-trip in both.
    """
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{value} is not a JSON number")
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(str(d) for d in digits)
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{exponent + len(text) - 1}"


def _format(random: random_module.Random, template: Any, *values: Any) -> str:
    pieces = _text(template, "the template").split("{}")
    if len(pieces) - 1 != len(values):
        raise ValueError(f"the template has {len(pieces) - 1} placeholders, got {len(values)}")
    rendered = [pieces[0]]
    for value, piece in zip(values, pieces[1:], strict=True):
        rendered.append(_format_value(value))
        rendered.append(piece)
    return "".join(rendered)


def _string_to_json(random: random_module.Random, text: Any) -> Any:
    # Strict JSON, as Step Functions' parser reads it: NaN and Infinity are no JSON values,
    # and a number too large for a double has no JSON result either. Surrounding white
    # space is allowed, and a repeated key keeps its last value. An empty or blank string
    # is null on AWS, not a failure.
    source = _text(text, "the argument")
    if not source.strip():
        return None
    return json.loads(
        source,
        parse_constant=_not_json,
        parse_float=_finite,
    )


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text} is out of range")
    return value


def _json_to_string(random: random_module.Random, value: Any) -> str:
    return java_json(value)


def java_json(value: Any) -> str:
    """Serialise compactly, as Step Functions' JSON library does: no spaces, non-ASCII kept,
    floats as Java writes doubles (``1.0``, ``1.5E7``)."""
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, dict):
        members = (
            json.dumps(str(k), ensure_ascii=False) + ":" + java_json(v) for k, v in value.items()
        )
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(java_json(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _make_array(random: random_module.Random, *values: Any) -> list[Any]:
    return list(values)


def _array_partition(random: random_module.Random, items: Any, size: Any) -> list[Any]:
    array, chunk = _array(items, "the array"), _rounded(size, "the chunk size")
    if chunk <= 0:
        raise ValueError("the chunk size must be positive")
    return [array[i : i + chunk] for i in range(0, len(array), chunk)]


def _array_contains(random: random_module.Random, items: Any, value: Any) -> bool:
    return any(_same_json(item, value) for item in _array(items, "the array"))


def _same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _array_range(random: random_module.Random, start: Any, end: Any, step: Any) -> list[int]:
    first, last = _rounded(start, "start"), _rounded(end, "end")
    stride = _rounded(step, "step")
    if stride == 0:
        raise ValueError("step must not be 0")
    values = list(range(first, last + (1 if stride > 0 else -1), stride))
    if len(values) > _MAX_ARRAY:
        raise ValueError(f"the range has {len(values)} items, more than {_MAX_ARRAY}")
    return values


def _array_get_item(random: random_module.Random, items: Any, index: Any) -> Any:
    array, position = _array(items, "the array"), _integer(index, "the index")
    if not 0 <= position < len(array):
        raise IndexError(f"index {position} is outside an array of {len(array)} items")
    return array[position]


def _array_length(random: random_module.Random, items: Any) -> int:
    return len(_array(items, "the argument"))


def _array_unique(random: random_module.Random, items: Any) -> list[Any]:
    seen: set[str] = set()
    unique = []
    for item in _array(items, "the argument"):
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _math_add(random: random_module.Random, a: Any, b: Any) -> int:
    # The intrinsic functions page: a non-integer argument is rounded to the nearest integer.
    return _rounded(a, "the first number") + _rounded(b, "the second number")


def _math_random(random: random_module.Random, start: Any, end: Any, seed: Any = None) -> int:
    low, high = _rounded(start, "start"), _rounded(end, "end")
    generator = random if seed is None else random_module.Random(_integer(seed, "seed"))
    return generator.randint(low, high)


def _uuid(random: random_module.Random) -> str:
    return str(uuid.UUID(int=random.getrandbits(128), version=4))


_HASHES = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


def _hash(random: random_module.Random, data: Any, algorithm: Any) -> str:
    name = _HASHES.get(_text(algorithm, "the algorithm"))
    if name is None:
        raise ValueError(f"unknown hash algorithm {algorithm!r}; use one of {sorted(_HASHES)}")
    text = _limited_text(data, "the data")
    return hashlib.new(name, text.encode("utf-8")).hexdigest()


def _limited_text(value: Any, what: str) -> str:
    text = _text(value, what)
    if len(text) > _MAX_TEXT:
        raise ValueError(f"{what} has {len(text)} characters, more than {_MAX_TEXT}")
    return text


def _base64_encode(random: random_module.Random, data: Any) -> str:
    text = _limited_text(data, "the argument")
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(random: random_module.Random, data: Any) -> str:
    text = _limited_text(data, "the argument")
    # AWS decodes MIME Base64, whose encoded lines end in CRLF; the line ends are not data.
    text = text.replace("\r", "").replace("\n", "")
    return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")


def _string_split(random: random_module.Random, data: Any, delimiters: Any) -> list[str]:
    text, chars = _text(data, "the string"), _text(delimiters, "the delimiters")
    if not chars:
        return [text]
    pattern = "|".join(re.escape(char) for char in chars)
    return [part for part in re.split(pattern, text) if part]


def _json_merge(random: random_module.Random, a: Any, b: Any, deep: Any) -> dict[str, Any]:
    if not isinstance(a, dict) or not isinstance(b, dict):
        raise TypeError("both arguments must be objects")
    if deep is not False:
        raise ValueError("only a shallow merge (false) is supported, as on AWS")
    return {**a, **b}


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "Format": _format,
    "StringToJson": _string_to_json,
    "JsonToString": _json_to_string,
    "Array": _make_array,
    "ArrayPartition": _array_partition,
    "ArrayContains": _array_contains,
    "ArrayRange": _array_range,
    "ArrayGetItem": _array_get_item,
    "ArrayLength": _array_length,
    "ArrayUnique": _array_unique,
    "MathAdd": _math_add,
    "MathRandom": _math_random,
    "UUID": _uuid,
    "Hash": _hash,
    "Base64Encode": _base64_encode,
    "Base64Decode": _base64_decode,
    "StringSplit": _string_split,
    "JsonMerge": _json_merge,
}
