"""JSONPath as Step Functions reads it: compile a path once, evaluate it on a document.

Names, indexes, wildcards, slices, unions, filters and deep scan (``..``); ``$$`` paths start
at the context object and ``$name`` paths at a workflow variable. Evaluation is pure.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"[^.\[\]()]+")
# A workflow variable reference: ``$name`` then the usual steps (``$order.items[0]``).
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SLICE = re.compile(r"^(-?\d*):(-?\d*)(?::(-?\d+))?$")
_FILTER_COMPARISON = re.compile(r"^(@[^\s=!<>]*)\s*(==|!=|<=|>=|<|>)\s*(.+)$")


class PathError(ValueError):
    """A JSONPath is malformed or found nothing; callers turn it into a named StatesError."""


class UndefinedVariable(PathError):
    """A ``$name`` path names a workflow variable that no state has assigned (yet)."""


@dataclass(frozen=True, slots=True)
class PathStep:
    """One step of a compiled path: a name, an index, a wildcard, a slice, a union or a filter."""

    kind: str  # name | index | wild | slice | union | filter
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
    def is_definite(self) -> bool:
        """Whether the path selects at most one value (names and indexes only)."""
        return all(s.kind in ("name", "index") and not s.is_descent for s in self.steps)


def _split_bracket(text: str, start: int) -> int:
    """Return the index of the ``]`` closing the bracket opened at ``start``."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise PathError(f"unclosed bracket in {text!r}")


def _bracket_step(body: str, is_descent: bool) -> PathStep:
    body = body.strip()
    if body == "*":
        return PathStep("wild", None, is_descent)
    if body.startswith("?(") and body.endswith(")"):
        return PathStep("filter", _compile_filter(body[2:-1]), is_descent)
    if (slice_match := _SLICE.match(body)) is not None:
        bounds = tuple(int(p) if p else None for p in slice_match.groups())
        return PathStep("slice", bounds, is_descent)
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
            steps.append(_bracket_step(text[i + 1 : end], is_descent))
            i = end + 1
            continue
        if i < len(text) and text[i] == "*":
            steps.append(PathStep("wild", None, is_descent))
            i += 1
            continue
        match = _NAME.match(text, i)
        if match is None:
            raise PathError(f"missing name at position {i} of {text!r}")
        steps.append(PathStep("name", match.group(0), is_descent))
        i = match.end()
    return JsonPath(text, is_context, tuple(steps), variable)


def _compile_filter(expression: str) -> Callable[[Any], bool]:
    """Compile a filter such as ``@.price < 10 && @.tag`` into a predicate."""
    alternatives = [
        [_compile_condition(term.strip()) for term in alternative.split("&&")]
        for alternative in expression.split("||")
    ]
    return lambda item: any(all(cond(item) for cond in terms) for terms in alternatives)


def _compile_condition(term: str) -> Callable[[Any], bool]:
    match = _FILTER_COMPARISON.match(term)
    if match is None:
        if not term.startswith("@") or any(char.isspace() for char in term):
            raise PathError(f"invalid filter term {term!r}")
        relative = compile_path("$" + term[1:])
        return lambda item: bool(_find(relative, item))
    relative = compile_path("$" + match.group(1)[1:])
    operator = match.group(2)
    literal_text = match.group(3).strip()
    if literal_text[:1] == "'" and literal_text[-1:] == "'":
        literal: Any = literal_text[1:-1]
    else:
        try:
            literal = json.loads(literal_text)
        except json.JSONDecodeError as exc:
            raise PathError(f"invalid filter literal {literal_text!r}") from exc

    def condition(item: Any) -> bool:
        found = _find(relative, item)
        if not found:
            return False
        value = found[0]
        try:
            return bool(_COMPARATORS[operator](value, literal))
        except TypeError:
            return False

    return condition


_COMPARATORS: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: (
        (a == b and type(a) is type(b)) or (_is_number(a) and _is_number(b) and a == b)
    ),
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _children(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return list(value)
    return []


def _descendants(value: Any) -> list[Any]:
    """Return ``value`` and everything below it, depth first."""
    found = [value]
    for child in _children(value):
        found.extend(_descendants(child))
    return found


def _apply_step(step: PathStep, value: Any) -> list[Any]:
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
        if not isinstance(value, list):
            return []
        start, stop, stride = key
        return list(value[slice(start, stop, stride)])
    if kind == "union":
        found: list[Any] = []
        for part in key:
            part_kind = "index" if isinstance(part, int) else "name"
            found.extend(_apply_step(PathStep(part_kind, part), value))
        return found
    # filter
    return [child for child in _children(value) if key(child)]


def _find(path: JsonPath, document: Any) -> list[Any]:
    current = [document]
    for step in path.steps:
        following: list[Any] = []
        for value in current:
            if step.is_descent:
                for candidate in _descendants(value):
                    following.extend(_apply_step(step, candidate))
            else:
                following.extend(_apply_step(step, value))
        current = following
    return current


def evaluate(path: str, document: Any) -> Any:
    """Evaluate a JSONPath on ``document`` (``$$`` paths are given the context object).

    A definite path returns its value and raises PathError when nothing is there; any other
    path returns the list of matches, possibly empty (as AWS's Jayway JSONPath does).
    """
    compiled = compile_path(path)
    if not compiled.steps:
        return document
    if compiled.is_definite:
        value = document
        for step in compiled.steps:
            if step.kind == "name":
                if not isinstance(value, dict) or step.key not in value:
                    raise PathError(f"no value at {path}")
                value = value[step.key]
            else:
                if not isinstance(value, list) or not -len(value) <= step.key < len(value):
                    raise PathError(f"no value at {path}")
                value = value[step.key]
        return value
    return _find(compiled, document)
