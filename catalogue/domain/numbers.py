"""The numbers every store keeps: DynamoDB's, the narrower of the backends.

A DynamoDB number holds at most 38 significant digits, at magnitudes from 1E-130 to
9.99...E+125; SQLite keeps more, so a value past these is refused on every backend
rather than stored on one and refused on the other.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Mapping

MAX_DIGITS = 38
MIN_EXPONENT, MAX_EXPONENT = -130, 125
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
