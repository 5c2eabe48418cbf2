"""DynamoDB attribute values: items to and from the typed form the DynamoDB API speaks.

Numbers go to DynamoDB as their shortest decimal text, so a float comes back as the same
float; an integral float comes back as an int (equal to it), and one from 2**53 on as the
integer its text names (``catalogue.domain.numbers.stored_number``), on every store. The
attribute ``_terms`` (the search terms an item is indexed under) belongs to the store and
is never returned.
"""

from __future__ import annotations

import math
from typing import Any

from catalogue.domain.numbers import stored_number
from catalogue.store.base import Item


def to_dynamodb(item: Item) -> dict[str, Any]:
    """An item as DynamoDB attribute values."""
    return {name: to_value(value) for name, value in item.items()}


def from_dynamodb(raw: dict[str, Any]) -> Item:
    """An item from DynamoDB attribute values, without the store's hidden attributes."""
    return {name: _from_value(value) for name, value in raw.items() if name != "_terms"}


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
