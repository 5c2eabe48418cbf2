"""Request and response shapes of versions and editions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.domain.ids import EDITION_ID, VERSION_ID

from .common import StoredSchema, Timestamp, iso_datetime, page_schema


class VersionSchema(StoredSchema):
    version = fields.String(
        validate=validate.Regexp(VERSION_ID.pattern),
        metadata={"description": "Next number unless given."},
    )
    description = fields.String(validate=validate.Length(max=5_000))
    created = Timestamp(dump_only=True)
    modified = Timestamp(dump_only=True)


class VersionPatchSchema(ma.Schema):
    version = fields.String(metadata={"description": "Immutable: a different value is 422."})
    description = fields.String(validate=validate.Length(max=5_000), allow_none=True)


class EditionSchema(StoredSchema):
    edition = fields.String(
        validate=validate.Regexp(
            EDITION_ID.pattern, error="Must be YYYYMMDDTHHMMSS (UTC), optionally -NNNNNN."
        ),
        metadata={
            "description": "UTC timestamp YYYYMMDDTHHMMSS; now unless given. Further "
            "editions made in the same second get -000001, -000002, ... after it."
        },
    )
    description = fields.String(validate=validate.Length(max=5_000))
    startTime = Timestamp(validate=iso_datetime)
    endTime = Timestamp(validate=iso_datetime)
    run = fields.String(dump_only=True, metadata={"description": "The run that produced it."})
    created = Timestamp(dump_only=True)
    modified = Timestamp(dump_only=True)

    @ma.validates_schema
    def check_order(self, data: dict, **kwargs: object) -> None:
        if data.get("startTime") and data.get("endTime") and data["endTime"] < data["startTime"]:
            raise ma.ValidationError("endTime must not be before startTime", field_name="endTime")


class EditionPatchSchema(ma.Schema):
    edition = fields.String(metadata={"description": "Immutable: a different value is 422."})
    description = fields.String(validate=validate.Length(max=5_000), allow_none=True)
    startTime = Timestamp(validate=iso_datetime, allow_none=True)
    endTime = Timestamp(validate=iso_datetime, allow_none=True)


VersionPageSchema = page_schema(VersionSchema, "VersionPage")
EditionPageSchema = page_schema(EditionSchema, "EditionPage")
