"""DynamoDB attribute values: items to and from the typed form the DynamoDB API speaks.

Numbers go to DynamoDB as their shortest decimal text, so a float comes back as the same
float, and one from 2**53 on as the integer its text names
(``catalogue.domain.numbers.stored_number``), on every store. DynamoDB answers a whole float
such as 2.0 as "2": the attribute ``_floats`` keeps where an item holds them
(``whole_float_marks``), so they come back as floats. It and ``_terms`` (the search terms an
item is indexed under) belong to the store and are never returned.
"""

from __future__ import annotations

import math
from typing import Any

from catalogue.domain.numbers import Marks, stored_number, whole_float_marks
from catalogue.store.base import FLOAT_MARKS, Item

_HIDDEN = ("_terms", FLOAT_MARKS)


def to_dynamodb(item: Item) -> dict[str, Any]:
    """An item as DynamoDB attribute values, with the marks of its whole floats."""
    raw = {name: to_value(value) for name, value in item.items()}
    marks = whole_float_marks(item)
    if marks:
        raw[FLOAT_MARKS] = to_value(marks)
    return raw


def from_dynamodb(raw: dict[str, Any]) -> Item:
    """An item from DynamoDB attribute values, without the store's hidden attributes."""
    item = {name: _from_value(value) for name, value in raw.items() if name not in _HIDDEN}
    if FLOAT_MARKS in raw:
        _restore_floats(item, _from_value(raw[FLOAT_MARKS]))
    return item


def _restore_floats(container: dict[str, Any] | list[Any], marks: Marks) -> None:
    """Make the numbers ``marks`` points to in ``container`` floats again, in place."""
    for key, mark in marks.items():
        place: Any = int(key) if isinstance(container, list) else key
        if mark is True:
            container[place] = float(container[place])
        else:
            _restore_floats(container[place], mark)


def plain(raw: dict[str, Any] | None) -> Item | None:
    """``from_dynamodb`` of an item that may be missing."""
    return None if raw is None else from_dynamodb(raw)


def raw_key(pk: str, sk: str) -> dict[str, Any]:
    """The DynamoDB key of the item at ``pk``/``sk``."""
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def to_value(value: Any) -> dict[str, Any]:
    """One value as a DynamoDB attribute value; raises ValueError for what cannot be stored."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored")
        number = stored_number(value)
        if isinstance(number, int):
            return {"N": str(number)}
        # repr is the shortest text that reads back as the same float.
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [to_value(element) for element in value]}
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"object keys must be strings, not {name!r}")
        return {"M": {name: to_value(element) for name, element in value.items()}}
    raise ValueError(f"cannot store a {type(value).__name__}")


def _from_value(raw: dict[str, Any]) -> Any:
    (kind, value), *_ = raw.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_from_value(element) for element in value]
    if kind == "M":
        return {name: _from_value(element) for name, element in value.items()}
    raise ValueError(f"unexpected DynamoDB type {kind}")


def _number(text: str) -> int | float:
    # DynamoDB keeps numbers as decimals and drops a float's ".0", so an integral float
    # comes back as an int (equal to it); every other float comes back exactly.
    # A number written before in a list or map may come back as written (DynamoDB Local
    # keeps their text): a float from 2**53 on reads as the integer it names, as it is kept.
    if any(char in text for char in ".eE"):
        return stored_number(float(text))
    return int(text)
