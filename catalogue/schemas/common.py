"""Shapes shared by every resource: list queries, pages, cascade flags, validators."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class ListQuerySchema(ma.Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        load_default=None, metadata={"description": "The `next` value of the previous page."}
    )


class DeleteQuerySchema(ma.Schema):
    cascade = fields.Boolean(
        load_default=False,
        metadata={"description": "Also delete everything below the resource, all pages."},
    )


class StoredSchema(ma.Schema):
    """A resource as read back from the store, where it was validated on the way in.

    It is dumped by picking the schema's fields rather than field by field: a page of 50
    datasets costs about a tenth of a full dump. Only for schemas without computed fields.
    """

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        many = self.many if many is None else many
        if many:
            return [picked(self, item) for item in obj]
        if isinstance(obj, dict):
            return picked(self, obj)
        return super().dump(obj, many=False)


def picked(schema: ma.Schema, item: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``schema`` that ``item`` has, under their JSON names."""
    return {key: item[name] for key, name in picked_names(schema) if name in item}


def picked_names(schema: ma.Schema) -> list[tuple[str, str]]:
    """``(JSON name, attribute)`` of each field ``schema`` dumps, worked out once per schema."""
    names = schema.__dict__.get("_picked_names")
    if names is None:
        names = [
            (field.data_key or name, field.attribute or name)
            for name, field in schema.dump_fields.items()
        ]
        schema._picked_names = names  # type: ignore[attr-defined]
    return names


class Stored(fields.Nested):
    """A nested StoredSchema (see there), dumped by picking too."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        names = picked_names(self.schema)
        if self.many or isinstance(value, list):
            # One comprehension for the whole list: no call per item.
            return [{key: item[name] for key, name in names if name in item} for item in value]
        return {key: value[name] for key, name in names if name in value}


class Term(fields.String):
    """A controlled-vocabulary term, read in any form ``normalise`` knows and kept in the one
    it returns (a code for an IRI, or the reverse); ``error`` when it returns None."""

    def __init__(self, normalise: Callable[[str], str | None], error: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.normalise = normalise
        self.term_error = error

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        term = self.normalise(super()._deserialize(value, attr, data, **kwargs))
        if term is None:
            raise ma.ValidationError(self.term_error)
        return term


class Dumped(fields.Field):
    """A value its caller hands over already in its wire form: written as it is."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value


def with_dumped(schema: type[ma.Schema], *names: str) -> ma.Schema:
    """An instance of ``schema`` that writes the fields ``names`` as they are given.

    Only to dump, for a caller that builds those values in their wire form as it reads them
    (``records.projection``): the documented schema stays ``schema``.
    """
    dumped = {name: Dumped(data_key=schema._declared_fields[name].data_key) for name in names}
    return type(f"Dumped{schema.__name__}", (schema,), dumped)()


def page_schema(
    item_schema: type[ma.Schema], name: str, *, stored: bool = True, **extra: fields.Field
) -> type[ma.Schema]:
    """A ``{items, next}`` page of ``item_schema`` (``stored``: items dumped by picking).

    ``extra`` fields sit beside ``items`` and ``next``.
    """
    # A stored page dumps its items in one pass (Stored, many); a List would call per item.
    items = (
        Stored(item_schema, many=True, required=True)
        if stored
        else fields.List(fields.Nested(item_schema), required=True)
    )
    return ma.Schema.from_dict(
        {
            "items": items,
            "next": fields.String(
                allow_none=True,
                required=True,
                metadata={"description": "Cursor of the next page; null on the last page."},
            ),
            **extra,
        },
        name=name,
    )


def iso_date_or_datetime(value: str) -> None:
    """Accept ``YYYY-MM-DD`` or an ISO 8601 date-time with a time zone."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            date.fromisoformat(value)
            return
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ma.ValidationError("Not an ISO 8601 date or date-time.") from None
    if moment.tzinfo is None:
        raise ma.ValidationError("A date-time needs a time zone (Z or +hh:mm).")


# RFC 3339 section 5.6 date-time: what OpenAPI's (JSON Schema's) "date-time" format names.
# Python's fromisoformat takes much more of ISO 8601 (basic format, week dates, hours alone).
RFC_3339_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})"
)


def iso_datetime(value: str) -> None:
    """Accept an RFC 3339 date-time (ISO 8601 with seconds and a time zone)."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ma.ValidationError("Needs a time as well as a date.")
    iso_date_or_datetime(value)
    if not RFC_3339_DATETIME.fullmatch(value):
        raise ma.ValidationError(
            "Not an RFC 3339 date-time: write it as 2026-01-02T03:04:05Z or with an offset "
            "(+01:00)."
        )


class Timestamp(fields.String):
    """A point in time as an RFC 3339 date-time string (documented with format date-time).

    Kept as the string it is stored as: the store's own times are UTC with seconds
    (``pipelines.timestamps.timestamp``) or microseconds (events). A time read from a
    client is kept with ``T`` and ``Z`` in upper case, which RFC 3339 lets it write in
    lower case: Python's ``fromisoformat``, which reads stored times, takes only upper.
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        # The date part holds no letters; the rest holds only T, Z and digits and signs.
        return text[:10] + text[10:].upper()


class ErrorSchema(ma.Schema):
    """Every error answer: ``{code, status, message, errors?}``."""

    code = fields.Integer(required=True)
    status = fields.String(required=True)
    message = fields.String()
    errors = fields.Dict()
