"""JSONPath as Step Functions reads it: compile a path once, evaluate it on a document.

Names, indexes, wildcards, slices, unions, filters (``pipelines.asl.jsonpath_filter``), deep
scan (``..``) and a function at the end (``.length()``, ``.sum()``...); ``$$`` paths start at
the context object and ``$name`` paths at a workflow variable. Evaluation is pure.

AWS evaluates paths with the Jayway JsonPath library, and so does this module where results
can differ: a definite path (names, single indexes, a union of names at the end, a function)
gives a value, any other a list.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

from pipelines.asl.jsonpath_filter import (
    MISSING,
    FilterSyntaxError,
    PathReader,
    Predicate,
    closing_index,
    compile_filter,
)

_NAME = re.compile(r"[^.\[\]()]+")
# A workflow variable reference: ``$name`` then the usual steps (``$order.items[0]``).
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Jayway reads ``[from:to]`` and ignores a third part; ``[::2]`` has neither bound.
_SLICE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d*))?$")
# Filters nest brackets in brackets; past this depth a path is refused, not a stack overflow.
MAX_NESTING = 32
# The functions a path may end with, as Jayway names them (``size`` is ``length``).
FUNCTIONS = frozenset({"length", "size", "min", "max", "avg", "stddev", "sum"})


class PathError(ValueError):
    """A JSONPath is malformed or found nothing; callers turn it into a named StatesError."""


class FunctionFailed(PathError):
    """A path's function cannot be applied to what the path found (``sum()`` of no numbers)."""


class UndefinedVariable(PathError):
    """A ``$name`` path names a workflow variable that no state has assigned (yet)."""


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a compiled path: a name, an index, a wildcard, a slice, a union or a filter."""

    kind: str  # name | index | wild | slice | union | filter | function
    key: Any = None
    is_descent: bool = False


@dataclass(frozen=True, slots=True)
class JsonPath:
    """A compiled JSONPath: its text, its steps and whether it names one value only.

    ``variable`` is the workflow variable a ``$name...`` path starts from (else ``None``).
    """

    text: str
    is_context: bool
    steps: tuple[PathStep, ...]
    variable: str | None = None

    @property
    def is_reference(self) -> bool:
        """Whether the path is a reference path: names and single indexes only."""
        return all(s.kind in ("name", "index") and not s.is_descent for s in self.steps)

    @property
    def is_definite(self) -> bool:
        """Whether the path gives one value rather than a list, as Jayway decides it: names,
        single indexes, a union of names as the last step, a function."""
        last = len(self.steps) - 1
        return all(
            not step.is_descent
            and (
                step.kind in ("name", "index", "function")
                or (step.kind == "union" and position == last and _names_only(step))
            )
            for position, step in enumerate(self.steps)
        )


def _names_only(step: PathStep) -> bool:
    return all(isinstance(part, str) for part in step.key)


def _nesting(text: str) -> int:
    """How deep brackets and parentheses nest in ``text``, quoted text aside."""
    depth = deepest = 0
    quote = ""
    escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quote:
            escaped = char == "\\"
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "])":
            depth -= 1
    return deepest


def _split_bracket(text: str, start: int) -> int:
    """Return the index of the ``]`` closing the bracket opened at ``start``.

    Quoted names and a filter's strings and ``/regex/`` literals are skipped whole, as
    Jayway skips them, so ``[?(@.name =~ /it's (a|b)/)]`` closes where it should.
    """
    end = closing_index(text, start)
    if end is None:
        raise PathError(f"unclosed bracket in {text!r}")
    return end


def _bracket_step(body: str, is_descent: bool) -> PathStep:
    body = body.strip()
    if body == "*":
        return PathStep("wild", None, is_descent)
    if body.startswith("?(") and body.endswith(")"):
        try:
            return PathStep("filter", compile_filter(body[2:-1], _filter_operand), is_descent)
        except FilterSyntaxError as exc:
            raise PathError(str(exc)) from None
    if (slice_match := _SLICE.match(body)) is not None:
        start, stop = (int(p) if p else None for p in slice_match.groups()[:2])
        if start is None and stop is None:
            raise PathError(f"the slice [{body}] has neither a start nor an end")
        return PathStep("slice", (start, stop), is_descent)
    parts = [part.strip() for part in _split_union(body)]
    keys: list[str | int] = []
    for part in parts:
        if len(part) >= 2 and part[0] == part[-1] and part[0] in "'\"":
            keys.append(_unquoted(part))
        elif re.fullmatch(r"-?\d+", part):
            keys.append(int(part))
        else:
            raise PathError(f"invalid bracket expression [{body}]")
    if len(keys) == 1:
        kind = "index" if isinstance(keys[0], int) else "name"
        return PathStep(kind, keys[0], is_descent)
    return PathStep("union", tuple(keys), is_descent)


def _unquoted(literal: str) -> str:
    """The name a quoted bracket key stands for: a backslash takes the next character as is.

    ``['a\\'b']`` names ``a'b`` and ``['a\\\\']`` names ``a\\``, as AWS's JSONPath reads them.
    Raises PathError for a key that ends inside an escape or closes before its end.
    """
    quote, chars, escaped = literal[0], [], False
    for char in literal[1:-1]:
        if escaped:
            chars.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == quote:
            raise PathError(f"unescaped {quote} inside the key {literal}")
        else:
            chars.append(char)
    if escaped:
        raise PathError(f"the key {literal} ends with a lone backslash")
    return "".join(chars)


def _split_union(body: str) -> list[str]:
    parts, current, quote, escaped = [], "", "", False
    for char in body:
        if escaped:
            escaped = False
        elif quote and char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == ",":
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return parts


@functools.lru_cache(maxsize=4096)
def compile_path(text: str) -> JsonPath:
    """Compile a JSONPath on the input (``$``), the context object (``$$``) or a variable.

    A variable path starts with ``$`` and the variable's name (``$order.items[0]``).
    Raises PathError when the text is not a JSONPath this engine understands.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathError(f"a path must start with '$': {text!r}")
    if _nesting(text) > MAX_NESTING:
        raise PathError(f"the path nests brackets more than {MAX_NESTING} deep: {text[:80]!r}...")
    is_context = text.startswith("$$")
    i = 2 if is_context else 1
    variable = None
    if not is_context and (named := _VARIABLE.match(text, 1)) is not None:
        variable = named.group(0)
        i = named.end()
    steps: list[PathStep] = []
    while i < len(text):
        is_descent = False
        if text.startswith("..", i):
            is_descent = True
            i += 2
        elif text[i] == ".":
            i += 1
        elif text[i] != "[":
            raise PathError(f"unexpected {text[i]!r} at position {i} of {text!r}")
        if i < len(text) and text[i] == "[":
            end = _split_bracket(text, i)
            try:
                steps.append(_bracket_step(text[i + 1 : end], is_descent))
            except PathError as exc:
                raise PathError(f"{exc}, in the path {text!r}") from None
            i = end + 1
            continue
        if i < len(text) and text[i] == "*":
            steps.append(PathStep("wild", None, is_descent))
            i += 1
            continue
        match = _NAME.match(text, i)
        if match is None:
            raise PathError(f"missing name at position {i} of {text!r}")
        if " " in match.group(0):
            # AWS's JSONPath library refuses a blank in a dotted name.
            raise PathError(
                f"the name {match.group(0)!r} in {text!r} holds a space: "
                f"write it in brackets, ['{match.group(0).strip()}']"
            )
        i = match.end()
        if text.startswith("(", i):
            steps.append(_function_step(text, match.group(0), i, is_descent))
            i = len(text)
            continue
        steps.append(PathStep("name", match.group(0), is_descent))
    if any(step.kind == "function" for step in steps[:-1]):
        raise PathError(f"a function must end the path: {text!r}")
    return JsonPath(text, is_context, tuple(steps), variable)


def _function_step(text: str, name: str, position: int, is_descent: bool) -> PathStep:
    """The step of ``.name()`` at ``position`` (its ``(``), which must end the path."""
    if name not in FUNCTIONS:
        raise PathError(
            f"unknown function {name}() in {text!r}; a path may end with "
            + ", ".join(f"{known}()" for known in sorted(FUNCTIONS))
        )
    if is_descent:
        raise PathError(f"a function cannot follow '..' in {text!r}")
    if text[position:] != "()":
        raise PathError(f"the function {name}() takes no arguments and must end the path {text!r}")
    return PathStep("function", name)


def _filter_operand(text: str) -> tuple[PathReader, bool]:
    """Compile a filter's path operand: ``@...`` reads the item, ``$...`` the root document."""
    compiled = compile_path("$" + text[1:] if text.startswith("@") else text)
    if compiled.is_context or compiled.variable is not None:
        raise PathError(f"a filter path starts with @ or $ alone: {text!r}")
    on_item = text.startswith("@")

    def read(item: Any, root: Any) -> Any:
        try:
            return _evaluate(compiled, item if on_item else root)
        except PathError:
            return MISSING

    return read, compiled.is_definite


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    """Return ``value`` and everything below it, depth first (without recursion, since a
    document may nest deeper than Python's stack)."""
    found: list[Any] = []
    pending = [value]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(reversed(_children(current)))
    return found


def _slice(value: list[Any], start: int | None, stop: int | None) -> list[Any]:
    """Jayway's slice: ``[from:]`` and ``[:to]`` count a negative bound from the end, but
    ``[from:to]`` takes both as written (``[1:-1]`` is empty, ``[-2:2]`` wraps around)."""
    length = len(value)
    if stop is None:
        first = max(0, length + start if start is not None and start < 0 else start or 0)
        return value[first:]
    if start is None:
        return value[: max(0, min(length, length + stop if stop < 0 else stop))]
    return [value[i] for i in range(start, min(length, stop)) if -length <= i < length]


def _filtered(test: Predicate, value: Any, root: Any, is_descent: bool) -> list[Any]:
    # Jayway tests an object itself and an array's items; under '..' an array is searched
    # only when it passes the test itself, since its objects are each visited in turn.
    if isinstance(value, dict):
        return [value] if test(value, root) else []
    if isinstance(value, list) and (not is_descent or test(value, root)):
        return [item for item in value if test(item, root)]
    return []


def _apply_step(step: PathStep, value: Any, root: Any) -> list[Any]:
    kind, key = step.kind, step.key
    if kind == "name":
        return [value[key]] if isinstance(value, dict) and key in value else []
    if kind == "index":
        if isinstance(value, list) and -len(value) <= key < len(value):
            return [value[key]]
        return []
    if kind == "wild":
        return _children(value)
    if kind == "slice":
        return _slice(value, *key) if isinstance(value, list) else []
    if kind == "union":
        found: list[Any] = []
        for part in key:
            part_kind = "index" if isinstance(part, int) else "name"
            found.extend(_apply_step(PathStep(part_kind, part), value, root))
        return found
    return _filtered(key, value, root, step.is_descent)


def _merged(step: PathStep, value: Any, root: Any = None) -> list[Any]:
    """A union of names ending the path: one object of the names found per object (under
    ``..``, per object that has them all), as Jayway merges them."""
    if not isinstance(value, dict) or (step.is_descent and not set(step.key) <= value.keys()):
        return []
    return [{name: value[name] for name in step.key if name in value}]


def _find(steps: tuple[PathStep, ...], document: Any) -> list[Any]:
    current = [document]
    for position, step in enumerate(steps):
        is_merge = position == len(steps) - 1 and step.kind == "union" and _names_only(step)
        apply = _merged if is_merge else _apply_step
        following: list[Any] = []
        for value in current:
            if step.is_descent:
                for candidate in _descendants(value):
                    following.extend(apply(step, candidate, document))
            else:
                following.extend(apply(step, value, document))
        current = following
    return current


def _definite_value(path: JsonPath, steps: tuple[PathStep, ...], document: Any) -> Any:
    value = document
    for step in steps:
        if step.kind == "union":
            # A union of names at the end gives one object of the names found.
            if not isinstance(value, dict):
                raise PathError(f"no value at {path.text}")
            return _merged(step, value)[0]
        if step.kind == "name":
            if not isinstance(value, dict) or step.key not in value:
                raise PathError(f"no value at {path.text}")
        elif not isinstance(value, list) or not -len(value) <= step.key < len(value):
            raise PathError(f"no value at {path.text}")
        value = value[step.key]
    return value


def _call(path: JsonPath, function: str, value: Any) -> Any:
    """Apply a path's function to the value it ends on, as Jayway does.

    ``length()`` counts an array's items or an object's members (``null`` for anything
    else); the numeric functions take an array's numbers and give a float.
    Raises PathError when an aggregation finds no number.
    """
    if function in ("length", "size"):
        return len(value) if isinstance(value, list | dict) else None
    numbers = [item for item in value if _is_number(item)] if isinstance(value, list) else []
    if not numbers:
        raise FunctionFailed(
            f"{function}() of {path.text} found no numbers to aggregate (it takes an array)"
        )
    floats = [float(number) for number in numbers]
    if function == "min":
        return min(floats)
    if function == "max":
        # Jayway starts its maximum at Java's Double.MIN_VALUE, the least positive double,
        # so the max() of negative numbers alone is that (4.9E-324) on AWS too.
        return max([math.ulp(0.0), *floats])
    total = 0.0
    for number in floats:  # left to right, as Java adds doubles (no compensated sum)
        total += number
    if function == "sum":
        return total
    if function == "avg":
        return total / len(floats)
    squares = 0.0
    for number in floats:
        squares += number * number
    count = float(len(floats))
    return math.sqrt(max(0.0, squares / count - total * total / count / count))


def _evaluate(path: JsonPath, document: Any) -> Any:
    steps, function = path.steps, None
    if steps and steps[-1].kind == "function":
        steps, function = steps[:-1], steps[-1].key
    if function is not None and steps and steps[0].is_descent:
        # Jayway turns $..x.f() into f over all the matches of $..x; length() then counts
        # the children of the matches.
        matches = _find(steps, document)
        if function in ("length", "size"):
            return sum(len(_children(match)) for match in matches)
        return _call(path, function, matches)
    if path.is_definite:
        value = _definite_value(path, steps, document)
        return value if function is None else _call(path, function, value)
    found = _find(steps, document)
    if function is None:
        return found
    return [_call(path, function, value) for value in found]


def evaluate(path: str, document: Any) -> Any:
    """Evaluate a JSONPath on ``document`` (``$$`` paths are given the context object).

    A definite path returns its value and raises PathError when nothing is there; any other
    path returns the list of matches, possibly empty (as AWS's Jayway JSONPath does).
    A function that cannot be applied (``sum()`` of no numbers) raises FunctionFailed.
    """
    compiled = compile_path(path)
    if not compiled.steps:
        return document
    return _evaluate(compiled, document)
