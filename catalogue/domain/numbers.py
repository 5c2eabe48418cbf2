"""The numbers every store keeps: DynamoDB's, the narrower of the backends.

A DynamoDB number holds at most 38 significant digits, at magnitudes from 1E-130 to
9.99...E+125; SQLite keeps more, so a value past these is refused on every backend
rather than stored on one and refused on the other.

DynamoDB keeps numbers as decimals, so a float from 2**53 on (every one of them a whole
number) comes back as the integer its shortest decimal text names: 1.2345678901234567e19
as 12345678901234567000, not as the float's binary value 12345678901234567168. Every store
keeps such a float as that integer (``stored_number``), and -0.0 as 0.0 (DynamoDB has no
negative zero).

A whole float below 2**53 stays a float: a client that sent 2.0 reads 2.0 back. DynamoDB
answers such a number as "2", so its store keeps where they are (``whole_float_marks``).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping
from typing import Any

MAX_DIGITS = 38
MIN_EXPONENT, MAX_EXPONENT = -130, 125
# From here on a float is a whole number, and not every integer is a float.
WHOLE_FLOATS_FROM = 2**53
LIMITS = (
    f"at most {MAX_DIGITS} significant digits, and magnitudes from 1E{MIN_EXPONENT} "
    f"to 9.99E+{MAX_EXPONENT}"
)


def is_stored_number(value: int | float) -> bool:
    """Whether every store keeps the number ``value`` as it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return False
    number = decimal.Decimal(repr(value) if isinstance(value, float) else value)
    if number.is_zero():
        return True
    # Counted from the exact digits: normalize() would round to the context's 28.
    digits = len("".join(map(str, number.as_tuple().digits)).strip("0"))
    return digits <= MAX_DIGITS and MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT


def first_unstored_number(value: object) -> int | float | None:
    """The first number in a JSON value that not every store keeps, or None."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    if isinstance(value, int | float):
        return None if is_stored_number(value) else value
    if isinstance(value, Mapping):
        children = list(value.values())
    elif isinstance(value, list | tuple):
        children = list(value)
    else:
        return None
    for child in children:
        found = first_unstored_number(child)
        if found is not None:
            return found
    return None


def stored_number(value: float) -> int | float:
    """The number every store keeps for the float ``value``: itself, 0.0 for -0.0, or, from
    2**53 on, the integer its shortest decimal text names (``repr``, the text JSON writes)."""
    if value == 0:
        return 0.0
    if -WHOLE_FLOATS_FROM < value < WHOLE_FLOATS_FROM or not math.isfinite(value):
        return value
    return int(decimal.Decimal(repr(value)))


# A mark: True for a whole float, or a mapping of keys (a list's indexes as text) to marks.
Marks = dict[str, Any]


def whole_float_marks(value: Any) -> Marks | bool | None:
    """Where a JSON value holds whole floats below 2**53 (2.0, not 2), or None for nowhere.

    True for such a float itself; for an object or a list holding some, a mapping of its
    keys (a list's indexes as text) to the marks of those that do.
    """
    if isinstance(value, float):
        is_whole = value.is_integer() and -WHOLE_FLOATS_FROM < value < WHOLE_FLOATS_FROM
        return True if is_whole else None
    if isinstance(value, dict):
        pairs: Any = value.items()
    elif isinstance(value, list | tuple):
        pairs = ((str(index), element) for index, element in enumerate(value))
    else:
        return None
    marks = {}
    for key, element in pairs:
        mark = whole_float_marks(element)
        if mark is not None:
            marks[key] = mark
    return marks or None


def with_stored_numbers(value: Any) -> Any:
    """A JSON value with each float ``stored_number`` changes replaced (others kept)."""
    if isinstance(value, float):
        return stored_number(value)
    if isinstance(value, dict):
        return {name: with_stored_numbers(element) for name, element in value.items()}
    if isinstance(value, list | tuple):
        return [with_stored_numbers(element) for element in value]
    return value
