"""The syntax of intrinsic function calls: ``States.<Name>(argument, ...)`` parsed once.

Arguments are literals (strings, numbers, booleans, null), paths (``$``, ``$$``, ``$name``)
and nested calls. Evaluation is in ``pipelines.asl.intrinsics``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

# Escaped braces in a string literal, kept apart from Format's placeholders until the end.
ESCAPED_OPEN, ESCAPED_CLOSE = "\ue000", "\ue001"
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
# The known functions and how many arguments each takes (least, most).
ARITY: dict[str, tuple[int, int]] = {
    "Format": (1, 10_000),
    "StringToJson": (1, 1),
    "JsonToString": (1, 1),
    "Array": (0, 10_000),
    "ArrayPartition": (2, 2),
    "ArrayContains": (2, 2),
    "ArrayRange": (3, 3),
    "ArrayGetItem": (2, 2),
    "ArrayLength": (1, 1),
    "ArrayUnique": (1, 1),
    "MathAdd": (2, 2),
    "MathRandom": (2, 3),
    "UUID": (0, 0),
    "Hash": (2, 2),
    "Base64Encode": (1, 1),
    "Base64Decode": (1, 1),
    "StringSplit": (2, 2),
    "JsonMerge": (3, 3),
}

# The characters a backslash may escape in a string literal.
_ESCAPABLE = frozenset("'{}\\")
# AWS nests at most 10 intrinsic functions in a field.
MAX_DEPTH = 10


class IntrinsicSyntaxError(ValueError):
    """An intrinsic function call is malformed or names an unknown function."""


@dataclass(frozen=True, slots=True)
class Literal:
    """A literal argument; strings keep escaped braces as private characters for Format."""

    value: Any


@dataclass(frozen=True, slots=True)
class PathArgument:
    """A ``$`` or ``$$`` path argument, resolved when the call is evaluated."""

    path: str


@dataclass(frozen=True, slots=True)
class Call:
    """A call ``States.<name>(arguments...)``."""

    name: str
    arguments: tuple[Literal | PathArgument | Call, ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.depth = 0

    def fail(self, reason: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{reason} at position {self.position} of {self.text!r}")

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1

    def call(self) -> Call:
        match = re.compile(r"States\.([A-Za-z0-9]+)\(").match(self.text, self.position)
        if match is None:
            raise self.fail("expected States.<Function>(")
        name = match.group(1)
        if name not in ARITY:
            raise self.fail(f"unknown intrinsic function States.{name}")
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"intrinsic functions nest more than {MAX_DEPTH} deep")
        self.position = match.end()
        arguments = self.arguments()
        self.depth -= 1
        least, most = ARITY[name]
        if not least <= len(arguments) <= most:
            raise IntrinsicSyntaxError(
                f"States.{name} takes {least}..{most} arguments, got {len(arguments)}"
            )
        return Call(name, tuple(arguments))

    def arguments(self) -> list[Literal | PathArgument | Call]:
        arguments: list[Literal | PathArgument | Call] = []
        self.skip_space()
        if self.peek() == ")":
            self.position += 1
            return arguments
        while True:
            self.skip_space()
            arguments.append(self.argument())
            self.skip_space()
            char = self.peek()
            self.position += 1
            if char == ")":
                return arguments
            if char != ",":
                raise self.fail("expected ',' or ')'")

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def argument(self) -> Literal | PathArgument | Call:
        char = self.peek()
        if char == "'":
            return Literal(self.string())
        if char == "$":
            return PathArgument(self.path())
        if self.text.startswith("States.", self.position):
            return self.call()
        for word, value in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.position):
                self.position += len(word)
                return Literal(value)
        match = _NUMBER.match(self.text, self.position)
        if match is None:
            raise self.fail("expected an argument")
        self.position = match.end()
        return Literal(json.loads(match.group(0)))

    def string(self) -> str:
        self.position += 1
        chars: list[str] = []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == "\\" and self.position + 1 < len(self.text):
                escaped = self.text[self.position + 1]
                # Step Functions rejects any other escape when the state machine is created.
                if escaped not in _ESCAPABLE:
                    raise self.fail(
                        f"'\\{escaped}' is not an escape: in a string literal only \\', \\{{, "
                        "\\} and \\\\ may follow a backslash"
                    )
                chars.append({"{": ESCAPED_OPEN, "}": ESCAPED_CLOSE}.get(escaped, escaped))
                self.position += 2
                continue
            if char == "'":
                self.position += 1
                return "".join(chars)
            chars.append(char)
            self.position += 1
        raise self.fail("unterminated string")

    def path(self) -> str:
        start, depth, quote = self.position, 0, ""
        while self.position < len(self.text):
            char = self.text[self.position]
            if quote:
                # A quoted key or filter string may hold commas, brackets and parentheses.
                if char == "\\":
                    self.position += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"":
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.position += 1
        return self.text[start : self.position].strip()


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> Call:
    """Parse an intrinsic function call, nested calls included.

    Raises IntrinsicSyntaxError when a call is malformed, names an unknown function, has the
    wrong number of arguments, or nests more than MAX_DEPTH calls deep.
    """
    parser = _Parser(text.strip())
    call = parser.call()
    if parser.position != len(parser.text):
        raise parser.fail("unexpected text after the call")
    return call


def path_arguments(call: Call) -> list[str]:
    """Every path argument of a call, nested calls included (``$``, ``$$`` or ``$name``)."""
    found: list[str] = []
    for argument in call.arguments:
        if isinstance(argument, PathArgument):
            found.append(argument.path)
        elif isinstance(argument, Call):
            found.extend(path_arguments(argument))
    return found
