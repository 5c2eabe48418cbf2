"""Choice rules: comparison operators, their ``*Path`` variants, ``And``/``Or``/``Not``."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from pipelines.asl import paths
from pipelines.asl.errors import NoChoiceMatched, Runtime

# RFC 3339 as AWS takes it: an uppercase T between date and time, an uppercase Z for UTC.
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class Comparison:
    """``Variable`` compared by ``operator`` (e.g. ``NumericLessThanPath``) with ``operand``."""

    variable: str
    operator: str
    operand: Any


@dataclass(frozen=True, slots=True)
class Combination:
    """``And``/``Or`` over several rules, or ``Not`` over one."""

    kind: str
    rules: tuple[Rule, ...]


Rule = Comparison | Combination


@dataclass(frozen=True, slots=True)
class ChoiceRule:
    """A top-level rule of a Choice state, the state it leads to and what it assigns."""

    rule: Rule
    next: str
    assign: Any = None


def is_number(value: Any) -> bool:
    """Whether ``value`` is a JSON number (a bool is not)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_timestamp(value: Any) -> bool:
    """Whether ``value`` is an RFC 3339 timestamp string such as ``2024-01-31T12:00:00Z``,
    naming a real moment (no 13th month, no 30 February)."""
    if not isinstance(value, str) or _TIMESTAMP.fullmatch(value) is None:
        return False
    try:
        parse_timestamp(value)
    except ValueError:
        return False
    return True


def parse_timestamp(value: str) -> datetime:
    """Parse an RFC 3339 timestamp (callers check ``is_timestamp`` first)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@functools.lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    """Compile a StringMatches pattern: ``*`` is any text, ``\\*`` and ``\\\\`` are literal."""
    parts: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            parts.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        i += 1
    return re.compile("".join(parts), re.DOTALL)


def _string(compare: Callable[[str, str], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: isinstance(a, str) and isinstance(b, str) and compare(a, b)


def _numeric(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: is_number(a) and is_number(b) and compare(a, b)


def _instant(value: str) -> tuple[datetime, Fraction]:
    """The moment ``value`` names, exactly: its whole second and the fraction after it.

    A datetime keeps microseconds only, and AWS compares to the nanosecond, so the
    fraction is kept apart from the datetime, digit for digit.
    """
    match = _TIMESTAMP.fullmatch(value)
    assert match is not None  # callers check is_timestamp first
    digits = (match.group(1) or ".")[1:]
    whole = parse_timestamp(value[: match.start(1)] + value[match.end(1) :] if digits else value)
    return whole, Fraction(int(digits or "0"), 10 ** len(digits))


def _timestamp(
    compare: Callable[[tuple[datetime, Fraction], tuple[datetime, Fraction]], bool],
) -> Callable[[Any, Any], bool]:
    def test(a: Any, b: Any) -> bool:
        if not (is_timestamp(a) and is_timestamp(b)):
            return False
        return compare(_instant(a), _instant(b))

    return test


def _is_type(check: Callable[[Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, expected: check(a) is expected


_EQ: Callable[[Any, Any], bool] = lambda a, b: a == b  # noqa: E731 - a table of one-liners
_LT: Callable[[Any, Any], bool] = lambda a, b: a < b  # noqa: E731
_GT: Callable[[Any, Any], bool] = lambda a, b: a > b  # noqa: E731
_LE: Callable[[Any, Any], bool] = lambda a, b: a <= b  # noqa: E731
_GE: Callable[[Any, Any], bool] = lambda a, b: a >= b  # noqa: E731

# Operator name -> test(variable value, operand value). A type mismatch is False, not an error.
OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": _string(_EQ),
    "StringLessThan": _string(_LT),
    "StringGreaterThan": _string(_GT),
    "StringLessThanEquals": _string(_LE),
    "StringGreaterThanEquals": _string(_GE),
    "StringMatches": _string(lambda a, b: _wildcard(b).fullmatch(a) is not None),
    "NumericEquals": _numeric(_EQ),
    "NumericLessThan": _numeric(_LT),
    "NumericGreaterThan": _numeric(_GT),
    "NumericLessThanEquals": _numeric(_LE),
    "NumericGreaterThanEquals": _numeric(_GE),
    "BooleanEquals": lambda a, b: isinstance(a, bool) and isinstance(b, bool) and a is b,
    "TimestampEquals": _timestamp(_EQ),
    "TimestampLessThan": _timestamp(_LT),
    "TimestampGreaterThan": _timestamp(_GT),
    "TimestampLessThanEquals": _timestamp(_LE),
    "TimestampGreaterThanEquals": _timestamp(_GE),
    "IsNull": _is_type(lambda a: a is None),
    "IsNumeric": _is_type(is_number),
    "IsString": _is_type(lambda a: isinstance(a, str)),
    "IsBoolean": _is_type(lambda a: isinstance(a, bool)),
    "IsTimestamp": _is_type(is_timestamp),
}
PATH_OPERATORS = frozenset(
    f"{name}Path" for name in OPERATORS if not name.startswith("Is") and name != "StringMatches"
)
ALL_OPERATORS = frozenset(OPERATORS) | PATH_OPERATORS | {"IsPresent"}


def matches(
    rule: Rule,
    document: Any,
    context: paths.ContextFactory,
    variables: paths.Variables | None = None,
) -> bool:
    """Evaluate a rule on the state's effective input.

    Raises Runtime when ``Variable`` (or a ``*Path`` operand) finds nothing, except for
    ``IsPresent``, which exists to test exactly that.
    """
    if isinstance(rule, Combination):
        if rule.kind == "And":
            return all(matches(sub, document, context, variables) for sub in rule.rules)
        if rule.kind == "Or":
            return any(matches(sub, document, context, variables) for sub in rule.rules)
        return not matches(rule.rules[0], document, context, variables)
    if rule.operator == "IsPresent":
        try:
            found = _lookup(rule.variable, document, context, variables)
        except paths.PathError:
            return rule.operand is False
        is_present = not (isinstance(found, list) and found == [] and _is_indefinite(rule.variable))
        return is_present is rule.operand
    value = _required(rule.variable, document, context, variables)
    operator, operand = rule.operator, rule.operand
    if operator in PATH_OPERATORS:
        operator = operator[: -len("Path")]
        operand = _required(operand, document, context, variables)
    return OPERATORS[operator](value, operand)


def _is_indefinite(path: str) -> bool:
    return not paths.compile_path(path).is_definite


def _lookup(
    path: str, document: Any, context: paths.ContextFactory, variables: paths.Variables | None
) -> Any:
    return paths.resolve(path, document, context, variables)


def _required(
    path: str, document: Any, context: paths.ContextFactory, variables: paths.Variables | None
) -> Any:
    try:
        return _lookup(path, document, context, variables)
    except paths.UndefinedVariable as exc:
        raise Runtime(f"{exc} (Choice rule Variable '{path}')") from None
    except paths.PathError:
        raise Runtime(
            f"Invalid path '{path}': The choice state's condition path references an invalid value."
        ) from None


def choose(
    choices: tuple[ChoiceRule, ...],
    default: str | None,
    document: Any,
    context: paths.ContextFactory,
    state_name: str,
    variables: paths.Variables | None = None,
) -> str:
    """Return the name of the next state: the first matching rule's, else ``default``.

    Raises NoChoiceMatched when nothing matches and there is no default.
    """
    rule = choose_rule(choices, default, document, context, state_name, variables)
    if rule is not None:
        return rule.next
    assert default is not None  # choose_rule raised otherwise
    return default


def choose_rule(
    choices: tuple[ChoiceRule, ...],
    default: str | None,
    document: Any,
    context: paths.ContextFactory,
    state_name: str,
    variables: paths.Variables | None = None,
) -> ChoiceRule | None:
    """Return the first matching rule, or ``None`` when the ``default`` applies.

    Raises NoChoiceMatched when nothing matches and there is no default.
    """
    for choice in choices:
        if matches(choice.rule, document, context, variables):
            return choice
    if default is None:
        raise NoChoiceMatched(f"No Matches! (state {state_name})")
    return None
