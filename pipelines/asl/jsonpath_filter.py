"""JSONPath filter expressions (``[?(...)]``) as AWS's JSONPath library (Jayway) reads them.

Grammar: ``a || b``, ``a && b``, ``!a``, ``(a)``, and comparisons ``left OP right`` where a
side is a path (``@...`` on the item, ``$...`` on the root document) or a literal (string,
number, ``true``/``false``/``null``, a JSON array or object, a ``/regex/flags``). A path
alone tests that the path exists (``!@.x``: that it does not). Operators: ``==`` ``!=``
``<`` ``<=`` ``>`` ``>=`` ``===`` ``!==`` ``=~`` ``in`` ``nin`` ``subsetof`` ``anyof``
``noneof`` ``size`` ``empty`` ``contains``.

Values compare as the library compares them: a number equals a string that reads as the
same number, ``<`` and friends hold only between two numbers or two strings, a path that
finds nothing equals nothing (so ``!=`` holds), and ``=~`` matches the whole text with
Java's regular expressions (``pipelines.asl.java_regex``).
The paths inside a filter are compiled by the caller (``pipelines.asl.jsonpath``), which
passes a ``PathCompiler``; this module knows nothing of the path syntax.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pipelines.asl.intrinsics import java_double
from pipelines.asl.java_regex import FLAG_LETTERS, JavaRegexError, compile_java

# A compiled path operand: (the current item, the root document) -> its value, or MISSING
# when a definite path finds nothing (an indefinite path gives the list of what it finds).
PathReader = Callable[[Any, Any], Any]
# Compiles a path operand into its reader and whether the path is definite.
PathCompiler = Callable[[str], tuple[PathReader, bool]]
Predicate = Callable[[Any, Any], bool]


class FilterSyntaxError(ValueError):
    """A filter expression is malformed or uses an operator the library does not have."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

_SYMBOLIC_CHARS = "<>=~!"
_SYMBOLIC = frozenset({"==", "!=", "<", "<=", ">", ">=", "===", "!==", "=~"})
_WORDS = frozenset({"in", "nin", "subsetof", "anyof", "noneof", "size", "empty", "contains"})
_NUMBER_CHARS = frozenset("0123456789-.eE")
# The text Java's BigDecimal reads as a number (no blanks, underscores, NaN nor Infinity).
_JAVA_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_UNESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def closing_index(
    text: str, start: int, *, opening: str = "[(", closing: str = "])", quotes: str = "'\"/"
) -> int | None:
    """The index of the character closing the bracket opened at ``start`` (any of
    ``opening``, closed by any of ``closing``), or None when it is never closed.

    Text between ``quotes`` (a backslash escapes the next character) is skipped whole, as
    Jayway skips quoted names, a filter's strings and its ``/regex/`` literals.
    """
    depth, quote, i = 0, "", start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in quotes:
            quote = char
        elif char in opening:
            depth += 1
        elif char in closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


@dataclass(frozen=True, slots=True)
class _Node:
    """An operand value the way the library types it: kind is one of number, string, bool,
    null, json (an array or object), pattern, undefined."""

    kind: str
    value: Any = None


_UNDEFINED = _Node("undefined")


def _node(value: Any) -> _Node:
    """Type a JSON value as an operand (numbers as exact decimals, as Java's BigDecimal)."""
    if value is MISSING:
        return _UNDEFINED
    if value is None:
        return _Node("null")
    if isinstance(value, bool):
        return _Node("bool", value)
    if isinstance(value, int):
        return _Node("number", Decimal(value))
    if isinstance(value, float):
        return _Node("number", Decimal(java_double(value)))
    if isinstance(value, str):
        return _Node("string", value)
    return _Node("json", value)


def _equals(left: _Node, right: _Node) -> bool:
    """``left.equals(right)`` of the library's value nodes (not always symmetric)."""
    if left.kind == "json" and right.kind == "json":
        return _same_json(left.value, right.value)
    if left.kind == "string" and right.kind in ("string", "number"):
        return bool(left.value == _text_of(right))
    if left.kind == "number" and right.kind in ("string", "number"):
        number = _number_of(right)
        return number is not None and left.value == number
    if left.kind in ("bool", "null", "pattern") and left.kind == right.kind:
        return bool(left.value == right.value)
    return False


def _same_json(a: Any, b: Any) -> bool:
    """Equality of parsed JSON as Java's collections see it: 1, 1.0 and true all differ."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_json(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _text_of(node: _Node) -> str:
    if node.kind == "number":
        return str(node.value)
    if node.kind == "string":
        return str(node.value)
    if node.kind == "bool":
        return "true" if node.value else "false"
    return ""


def _number_of(node: _Node) -> Decimal | None:
    if node.kind == "number":
        return Decimal(node.value)
    if _JAVA_DECIMAL.fullmatch(node.value) is None:
        return None
    return Decimal(node.value)


def _items(node: _Node) -> list[_Node] | None:
    """The items of a JSON array operand, typed; None for anything else."""
    if node.kind == "json" and isinstance(node.value, list):
        return [_node(item) for item in node.value]
    return None


def _contained(node: _Node, items: list[_Node]) -> bool:
    return any(_equals(node, item) for item in items)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[_Node, _Node], bool]:
    def compare(left: _Node, right: _Node) -> bool:
        if left.kind == right.kind and left.kind in ("number", "string"):
            return test(left.value, right.value)
        return False

    return compare


def _in(left: _Node, right: _Node) -> bool:
    items = _items(right)
    return items is not None and _contained(left, items)


def _subset_of(left: _Node, right: _Node) -> bool:
    lefts, rights = _items(left), _items(right)
    if lefts is None or rights is None:
        return False
    return all(_contained(item, rights) for item in lefts)


def _any_of(left: _Node, right: _Node) -> bool:
    lefts, rights = _items(left), _items(right)
    if lefts is None or rights is None:
        return False
    return any(_contained(item, rights) for item in lefts)


def _none_of(left: _Node, right: _Node) -> bool:
    lefts, rights = _items(left), _items(right)
    if lefts is None or rights is None:
        return False
    return not any(_contained(item, rights) for item in lefts)


def _size(left: _Node, right: _Node) -> bool:
    if right.kind != "number":
        return False
    expected = int(right.value)  # Java's intValue(): 1.9 is 1
    if left.kind == "string":
        return len(left.value) == expected
    if left.kind == "json":
        return (len(left.value) if isinstance(left.value, list) else -1) == expected
    return False


def _empty(left: _Node, right: _Node) -> bool:
    if right.kind != "bool":
        return False
    if left.kind in ("string", "json"):
        return (len(left.value) == 0) is right.value
    return False


def _contains(left: _Node, right: _Node) -> bool:
    if left.kind == "string" and right.kind == "string":
        return right.value in left.value
    items = _items(left)
    return items is not None and _contained(right, items)


def _matches(left: _Node, right: _Node) -> bool:
    if (left.kind == "pattern") == (right.kind == "pattern"):
        return False
    pattern, subject = (left, right) if left.kind == "pattern" else (right, left)
    items = _items(subject)
    texts = [_text_of(item) for item in items] if items is not None else [_text_of(subject)]
    return any(pattern.value.fullmatch(text) is not None for text in texts)


_OPERATORS: dict[str, Callable[[_Node, _Node], bool]] = {
    "==": _equals,
    "!=": lambda a, b: not _OPERATORS["=="](a, b),
    "===": lambda a, b: a.kind == b.kind and _OPERATORS["=="](a, b),
    "!==": lambda a, b: not _OPERATORS["==="](a, b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "=~": _matches,
    "in": _in,
    "nin": lambda a, b: not _in(a, b),
    "subsetof": _subset_of,
    "anyof": _any_of,
    "noneof": _none_of,
    "size": _size,
    "empty": _empty,
    "contains": _contains,
}

# An operand evaluated on (item, root): a literal's node, or a path's value typed.
_Operand = Callable[[Any, Any], _Node]


class _Parser:
    def __init__(self, text: str, compile_path: PathCompiler) -> None:
        self.text = text
        self.position = 0
        self.compile_path = compile_path

    def fail(self, reason: str) -> FilterSyntaxError:
        where = f"at position {self.position} of the filter {self.text!r}"
        return FilterSyntaxError(f"{reason} {where}")

    def skip_blanks(self) -> str:
        while self.position < len(self.text) and self.text[self.position] in " \t\r\n":
            self.position += 1
        return self.text[self.position] if self.position < len(self.text) else ""

    def take(self, token: str) -> bool:
        self.skip_blanks()
        if self.text.startswith(token, self.position):
            self.position += len(token)
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self.logical_or()
        if self.skip_blanks():
            raise self.fail(f"unexpected {self.text[self.position :]!r}")
        return predicate

    def logical_or(self) -> Predicate:
        terms = [self.logical_and()]
        while self.take("||"):
            terms.append(self.logical_and())
        if len(terms) == 1:
            return terms[0]
        return lambda item, root: any(term(item, root) for term in terms)

    def logical_and(self) -> Predicate:
        terms = [self.operand()]
        while self.take("&&"):
            terms.append(self.operand())
        if len(terms) == 1:
            return terms[0]
        return lambda item, root: all(term(item, root) for term in terms)

    def operand(self) -> Predicate:
        char = self.skip_blanks()
        if char == "!":
            start = self.position
            self.position += 1
            if self.skip_blanks() not in ("@", "$"):
                negated = self.operand()
                return lambda item, root: not negated(item, root)
            self.position = start
        if char == "(":
            self.position += 1
            inner = self.logical_or()
            if not self.take(")"):
                raise self.fail("expected ')'")
            return inner
        return self.relation()

    def relation(self) -> Predicate:
        is_negated = self.skip_blanks() == "!"
        if is_negated:
            self.position += 1
            self.skip_blanks()
        start = self.position
        left, path = self.value()
        operator = self.operator()
        if operator is None:
            if path is None:
                raise self.fail(f"{self.text[start : self.position]!r} is no path to test")
            reader, is_definite = path
            return lambda item, root: _exists(reader(item, root), is_definite) is not is_negated
        right, _ = self.value()
        compare = _OPERATORS[operator]
        return lambda item, root: compare(left(item, root), right(item, root))

    def operator(self) -> str | None:
        char = self.skip_blanks()
        start = self.position
        if char and char in _SYMBOLIC_CHARS:
            while self.position < len(self.text) and self.text[self.position] in _SYMBOLIC_CHARS:
                self.position += 1
            symbol = self.text[start : self.position]
            if symbol not in _SYMBOLIC:
                raise self.fail(f"the filter operator {symbol!r} is not supported")
            return symbol
        word = re.match(r"[A-Za-z]+", self.text[start:])
        if word is None:
            return None
        name = word.group(0).lower()
        if name not in _WORDS:
            raise self.fail(f"the filter operator {word.group(0)!r} is not supported")
        self.position += len(name)
        return name

    def value(self) -> tuple[_Operand, tuple[PathReader, bool] | None]:
        char = self.skip_blanks()
        if char in ("@", "$"):
            path = self.path()
            reader = path[0]
            return (lambda item, root: _node(reader(item, root))), path
        literal = self.literal(char)
        return (lambda item, root: literal), None

    def path(self) -> tuple[PathReader, bool]:
        start = self.position
        self.position += 1
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "[":
                self.position = self._closing(self.position, "[", "]") + 1
                continue
            if char == "(" and re.search(r"\.[A-Za-z]+$", self.text[start : self.position]):
                self.position = self._closing(self.position, "(", ")") + 1
                continue
            if char in _SYMBOLIC_CHARS or char in " \t\r\n)&|":
                break
            self.position += 1
        text = self.text[start : self.position]
        try:
            return self.compile_path(text)
        except ValueError as exc:
            raise self.fail(f"invalid path {text!r} ({exc})") from None

    def _closing(self, start: int, opening: str, closing: str) -> int:
        end = closing_index(self.text, start, opening=opening, closing=closing, quotes="'\"")
        if end is None:
            self.position = start
            raise self.fail(f"unclosed {opening!r}")
        return end

    def literal(self, char: str) -> _Node:
        if char in ("'", '"'):
            return _Node("string", self.string(char))
        if char in ("[", "{"):
            end = self._closing(self.position, char, "]" if char == "[" else "}")
            source = self.text[self.position : end + 1]
            self.position = end + 1
            return _node(_json_literal(source, self))
        if char == "/":
            return self.pattern()
        for word, node in (("true", _Node("bool", True)), ("false", _Node("bool", False))):
            if self.text.startswith(word, self.position):
                self.position += len(word)
                return node
        if self.text.startswith("null", self.position):
            self.position += 4
            return _Node("null")
        start = self.position
        while self.position < len(self.text) and self.text[self.position] in _NUMBER_CHARS:
            self.position += 1
        try:
            return _Node("number", Decimal(self.text[start : self.position]))
        except InvalidOperation:
            self.position = start
            raise self.fail("expected a path, a string, a number, true, false or null") from None

    def string(self, quote: str) -> str:
        chars: list[str] = []
        i = self.position + 1
        while i < len(self.text):
            char = self.text[i]
            if char == "\\" and i + 1 < len(self.text):
                escaped = self.text[i + 1]
                if escaped == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", self.text[i + 2 : i + 6]):
                    chars.append(chr(int(self.text[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                chars.append(_UNESCAPES.get(escaped, escaped))
                i += 2
                continue
            if char == quote:
                self.position = i + 1
                return "".join(chars)
            chars.append(char)
            i += 1
        raise self.fail("unterminated string")

    def pattern(self) -> _Node:
        i = self.position + 1
        while i < len(self.text) and self.text[i] != "/":
            i += 2 if self.text[i] == "\\" else 1
        if i >= len(self.text):
            raise self.fail("unclosed regular expression")
        source = self.text[self.position + 1 : i]
        i += 1
        flags = ""
        while i < len(self.text) and self.text[i] in FLAG_LETTERS:
            flags += self.text[i]
            i += 1
        try:
            compiled = compile_java(source, flags)
        except JavaRegexError as exc:
            raise self.fail(f"unsupported regular expression: {exc}") from None
        except re.error as exc:
            raise self.fail(f"invalid regular expression /{source}/ ({exc})") from None
        self.position = i
        return _Node("pattern", compiled)


def _json_literal(source: str, parser: _Parser) -> Any:
    """Read a JSON array or object literal; single-quoted strings are allowed, as in the
    library's permissive JSON reader (``['S', 'M']``)."""
    converted: list[str] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == '"':
            end = i + 1
            while end < len(source) and source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            converted.append(source[i : end + 1])
            i = end + 1
        elif char == "'":
            text: list[str] = []
            i += 1
            while i < len(source) and source[i] != "'":
                if source[i] == "\\" and i + 1 < len(source):
                    i += 1
                text.append(source[i])
                i += 1
            converted.append(json.dumps("".join(text)))
            i += 1
        else:
            converted.append(char)
            i += 1
    try:
        return json.loads("".join(converted))
    except json.JSONDecodeError as exc:
        raise parser.fail(f"invalid JSON literal {source} ({exc.msg})") from None


def _exists(value: Any, is_definite: bool) -> bool:
    # An indefinite path exists when it finds something.
    return value is not MISSING and (is_definite or value != [])


def compile_filter(text: str, compile_path: PathCompiler) -> Predicate:
    """Compile the inside of ``[?(...)]`` into a predicate on (item, root document).

    ``compile_path`` compiles a path operand (``@.price``, ``$.limit``) into its reader and
    whether it is definite, and raises ValueError when it is malformed.
    Raises FilterSyntaxError naming the problem.
    """
    return _Parser(text, compile_path).parse()
