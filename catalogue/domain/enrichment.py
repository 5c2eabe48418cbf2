"""Enrichment of events from a lookup dataset: the ``enrich`` of an event source, and its table.

``source.enrich`` follows the ``enrich`` step's options (``pipelines/steps/enrich.py``):

- ``lookup``: ``{"dataset": id}``, whose newest edition with distributions is read (a
  dataset the owner team of the event dataset may read);
- ``on``: the join field, a list of them, or ``{event field: lookup column}``; the event
  fields are key-like fields of the schema (string or integer);
- ``columns``: the lookup columns added to each event (default: all but the join columns);
- ``unmatched``: ``keep`` (the default, as the step's: the event is accepted with the added
  columns empty) or ``reject`` (the event is rejected, with the reason, into the rejects).

The step's ``drop`` and ``fail`` have no meaning for events: an event is never dropped
silently, and one unknown sensor does not fail the others. Values compare as text, as the
step casts both sides to strings; a CSV lookup's values are text, as the step reads them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.domain.errors import Conflict

KEEP, REJECT = "keep", "reject"
UNMATCHED = (KEEP, REJECT)
ENRICH_FIELDS = ("lookup", "on", "columns", "unmatched")
# Types of event fields that may join (the lookup's key values are text).
JOIN_TYPES = ("string", "integer")

Errors = dict[str, Any]


def enrich_errors(enrich: object, types: Mapping[str, str]) -> tuple[dict[str, Any], Errors]:
    """The normalised ``enrich`` (``unmatched`` filled in) and its errors, by field.

    ``types`` maps each schema field to its type (empty when the schema itself is broken:
    the join fields are then not checked against it).
    """
    if not isinstance(enrich, Mapping):
        return {}, {"_schema": ["must be an object with a lookup and on"]}
    errors: Errors = {name: ["unknown field"] for name in sorted(set(enrich) - set(ENRICH_FIELDS))}
    lookup = enrich.get("lookup")
    if not (
        isinstance(lookup, Mapping)
        and set(lookup) == {"dataset"}
        and isinstance(lookup["dataset"], str)
        and lookup["dataset"]
    ):
        errors["lookup"] = ['must be {"dataset": "<id>"}']
    pairs = join_pairs(enrich)
    if pairs is None:
        errors["on"] = [
            "must name a field, a list of fields, or map event fields to lookup columns"
        ]
    elif types:
        problems = [_join_problem(field, types) for field, _ in pairs]
        if any(problems):
            errors["on"] = [problem for problem in problems if problem]
    columns = enrich.get("columns")
    if columns is not None:
        if (
            not isinstance(columns, list)
            or not columns
            or not all(isinstance(name, str) and name for name in columns)
        ):
            errors["columns"] = ["must be a non-empty list of lookup column names"]
        elif len(set(columns)) != len(columns):
            errors["columns"] = ["names a column twice"]
        elif clashes := [name for name in columns if name in types]:
            errors["columns"] = [f"{clashes[0]!r} is already a field of the schema"]
    unmatched = enrich.get("unmatched", KEEP)
    if unmatched not in UNMATCHED:
        errors["unmatched"] = [f"must be one of {', '.join(UNMATCHED)}"]
    return {**enrich, "unmatched": unmatched}, errors


def _join_problem(field: str, types: Mapping[str, str]) -> str | None:
    if field not in types:
        return f"{field!r} is not a field of the schema"
    if types[field] not in JOIN_TYPES:
        return f"{field!r} is a {types[field]}; it must be one of {', '.join(JOIN_TYPES)}"
    return None


def join_pairs(enrich: Mapping[str, Any]) -> list[tuple[str, str]] | None:
    """The (event field, lookup column) pairs ``on`` names; None when it has another shape."""
    on = enrich.get("on")
    if isinstance(on, str):
        pairs = [(on, on)]
    elif isinstance(on, list):
        pairs = [(name, name) for name in on]
    elif isinstance(on, Mapping):
        pairs = list(on.items())
    else:
        return None
    if not pairs or not all(isinstance(a, str) and a and isinstance(b, str) for a, b in pairs):
        return None
    if len({field for field, _ in pairs}) != len(pairs):
        return None
    return pairs


@dataclass(frozen=True, slots=True)
class LookupTable:
    """A lookup read for one ``enrich``: the added columns and, per join key, their values."""

    columns: tuple[str, ...]
    rows: Mapping[tuple[str, ...], tuple[Any, ...]]


def lookup_table(
    enrich: Mapping[str, Any],
    schema_fields: Iterable[str],
    header: Sequence[str],
    records: Iterable[Sequence[Any]],
) -> LookupTable:
    """The table ``enrich`` adds from a lookup with ``header`` and ``records`` (rows of values).

    Raises Conflict, naming the column, when the lookup lacks a join or named column, adds a
    column the events already have, or has two rows for one key (as the step refuses them).
    """
    name = enrich["lookup"]["dataset"]
    pairs = join_pairs(enrich) or []
    join_columns = [column for _, column in pairs]
    for column in join_columns:
        if column not in header:
            raise Conflict(f"the lookup dataset {name!r} has no column {column!r}", field="source")
    added = enrich.get("columns") or [column for column in header if column not in join_columns]
    for column in added:
        if column not in header:
            raise Conflict(f"the lookup dataset {name!r} has no column {column!r}", field="source")
    clashes = sorted(set(added) & set(schema_fields))
    if clashes:
        raise Conflict(
            f"column {clashes[0]!r} of the lookup dataset {name!r} is already a field of the "
            "events; name the columns to add in source.enrich.columns",
            field="source",
        )
    join_at = [header.index(column) for column in join_columns]
    added_at = [header.index(column) for column in added]
    rows: dict[tuple[str, ...], tuple[Any, ...]] = {}
    for record in records:
        key = tuple(_text(record[at]) if at < len(record) else "" for at in join_at)
        if key in rows:
            raise Conflict(
                f"the lookup dataset {name!r} has more than one row for {', '.join(key)}",
                field="source",
            )
        rows[key] = tuple(record[at] if at < len(record) else None for at in added_at)
    return LookupTable(tuple(added), rows)


def enrich_event(
    enrich: Mapping[str, Any], table: LookupTable, values: Mapping[str, Any]
) -> tuple[dict[str, Any], Errors]:
    """The event's values with the lookup's columns added, or its errors (``unmatched: reject``).

    An event whose join fields have no row gets the columns empty (None), or, with
    ``unmatched: reject``, a reason under each join field.
    """
    pairs = join_pairs(enrich) or []
    key = tuple(_text(values.get(field)) for field, _ in pairs)
    found = table.rows.get(key)
    if found is None:
        if enrich.get("unmatched") == REJECT:
            lookup = enrich["lookup"]["dataset"]
            reason = f"no row of the lookup dataset {lookup!r} has this value"
            return {}, {field: [reason] for field, _ in pairs}
        found = (None,) * len(table.columns)
    return {**values, **dict(zip(table.columns, found, strict=True))}, {}


def _text(value: object) -> str:
    return "" if value is None else str(value)
