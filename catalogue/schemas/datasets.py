"""Request and response shapes of datasets; JSON names are DCAT's camelCase."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.dcat import vocabularies as vocab
from catalogue.domain import datasets as rules
from catalogue.domain import events
from catalogue.domain.ids import DATASET_ID

from .common import (
    ListQuerySchema,
    Stored,
    StoredSchema,
    Term,
    Timestamp,
    iso_date_or_datetime,
    page_schema,
)

TEAM = r"^team:[a-z0-9][a-z0-9._-]{0,63}$"


class ContactPointSchema(ma.Schema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)


class TemporalSchema(ma.Schema):
    start = fields.String(validate=iso_date_or_datetime)
    end = fields.String(validate=iso_date_or_datetime)

    @ma.validates_schema
    def check_order(self, data: dict, **kwargs: object) -> None:
        if "start" in data and "end" in data and data["end"][:10] < data["start"][:10]:
            raise ma.ValidationError("end must not be before start", field_name="end")


class SourceField(fields.Dict):
    """A dataset's source, checked and completed by ``catalogue.domain.events``."""

    def _deserialize(self, value: object, attr: object, data: object, **kwargs: object) -> dict:
        normalised, errors = events.source_errors(value)
        if errors:
            raise ma.ValidationError(errors)
        return normalised


SOURCE_DESCRIPTION = (
    'Where data comes from: {"type": "file"} (uploads; the default when absent) or '
    '{"type": "event", "schema": <Table Schema: fields with name, type (string, integer, '
    "number, boolean, date, datetime) and constraints (required, minimum, maximum, enum, "
    'pattern, minLength, maxLength), missingValues>, "key": [fields naming a series], '
    '"time": <the field ordering a series>, "batch": {"maxEvents": 10000, "maxSeconds": 300}, '
    '"enrich": {"lookup": {"dataset": <id>}, "on": <field, [fields] or {field: lookup '
    'column}>, "columns": [lookup columns; default all], "unmatched": "keep" | "reject"}}'
    " for events posted to .../events. enrich adds the lookup dataset's row (its newest "
    "published CSV) to each accepted event; an event without a row is accepted with the "
    "columns empty (keep) or rejected (reject). A PATCH replaces the source whole."
)


FREQUENCY_TERMS = sorted(set(vocab.FREQUENCIES) | vocab.FREQUENCY_CODES)


class LicenceField(fields.Url):
    """A licence URL; a code of the EU Licence vocabulary (``CC_BY_4_0``) becomes its IRI."""

    def _deserialize(self, value: object, attr: object, data: object, **kwargs: object) -> str:
        if isinstance(value, str):
            value = vocab.licence_value(value)
        return super()._deserialize(value, attr, data, **kwargs)  # type: ignore[arg-type]


def _metadata_fields(*, patch: bool) -> dict[str, fields.Field]:
    """The client-settable fields; for a patch every field is optional and may be null."""
    optional = {"allow_none": patch}
    return {
        "title": fields.String(required=not patch, validate=validate.Length(min=1, max=300)),
        "description": fields.String(validate=validate.Length(max=20_000), **optional),
        "accessRights": Term(
            vocab.access_rights_value,
            f"Must be one of {', '.join(rules.ACCESS_RIGHTS)} or its EU Access Right IRI.",
            required=not patch,
            metadata={
                "description": "public, restricted or non-public (or its EU Access Right IRI, "
                f"{vocab.ACCESS_RIGHT}PUBLIC); cannot change."
            },
        ),
        "owner": fields.String(
            required=not patch,
            validate=validate.Regexp(TEAM, error="Must be a team, written team:<name>."),
        ),
        "publisher": fields.String(validate=validate.Length(max=300), **optional),
        "contactPoint": fields.Nested(ContactPointSchema, **optional),
        "keywords": fields.List(
            fields.String(validate=validate.Length(min=1, max=100)),
            validate=validate.Length(max=rules.MAX_KEYWORDS),
            **optional,
        ),
        "themes": fields.List(
            Term(
                vocab.theme_code,
                f"Must be an EU data theme code ({', '.join(sorted(vocab.DATA_THEMES))}) "
                "or its IRI.",
            ),
            validate=validate.Length(max=rules.MAX_THEMES),
            metadata={
                "description": "EU data theme codes, e.g. ENVI, TRAN, or their IRIs "
                f"({vocab.DATA_THEME_SCHEME}/ENVI), kept as codes."
            },
            **optional,
        ),
        "license": LicenceField(
            schemes={"http", "https"},
            metadata={
                "description": "The licence's URL, or an EU Licence code (CC_BY_4_0), kept "
                "as its IRI."
            },
            **optional,
        ),
        "spatial": fields.String(validate=validate.Length(max=500), **optional),
        "temporal": fields.Nested(TemporalSchema, **optional),
        "accrualPeriodicity": Term(
            vocab.frequency_value,
            f"Must be one of {', '.join(FREQUENCY_TERMS)} or an EU Frequency IRI.",
            metadata={
                "description": "How often it is updated: a word (daily), an EU Frequency code "
                f"(MONTHLY) or its IRI ({vocab.FREQUENCY}MONTHLY), in any case; kept as the "
                "code (daily as DAILY)."
            },
            **optional,
        ),
        "language": Term(
            vocab.language_code,
            f"Must be one of {', '.join(sorted(vocab.LANGUAGES))}, its EU Language code or IRI.",
            metadata={
                "description": "ISO 639-1 code, e.g. nb, nn, en; an EU Language code (NOB) or "
                f"IRI ({vocab.LANGUAGE}NOB) is kept as its ISO 639-1 code."
            },
            **optional,
        ),
        "conformsTo": fields.List(fields.Url(schemes={"http", "https"}), **optional),
        "wasDerivedFrom": fields.List(
            fields.String(validate=validate.Regexp(DATASET_ID.pattern)), **optional
        ),
        "sourceType": fields.String(validate=validate.OneOf(rules.SOURCE_TYPES), **optional),
        "source": SourceField(metadata={"description": SOURCE_DESCRIPTION}, **optional),
        "state": fields.String(validate=validate.OneOf(rules.STATES), **optional),
    }


class DatasetSchema(StoredSchema, ma.Schema.from_dict(_metadata_fields(patch=False))):  # type: ignore[misc]
    """A dataset. ``id`` is derived from the title unless given."""

    id = fields.String(
        validate=validate.Regexp(DATASET_ID.pattern, error="Must be lowercase a-z, 0-9 and '-'."),
        metadata={"description": "Slug of the title unless given."},
    )
    created = Timestamp(dump_only=True)
    modified = Timestamp(dump_only=True)
    formats = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"description": "Formats of the dataset's distributions (set by the server)."},
    )


class DatasetPatchSchema(ma.Schema.from_dict(_metadata_fields(patch=True))):  # type: ignore[misc]
    """A JSON merge patch (RFC 7396) of a dataset: absent fields never change."""

    id = fields.String(metadata={"description": "Immutable: a different value is 422."})


SEARCH_SORTS = ("relevance", "modified", "title")


class DatasetQuerySchema(ListQuerySchema):
    owner = fields.String()
    accessRights = fields.String(validate=validate.OneOf(rules.ACCESS_RIGHTS))
    keyword = fields.String()
    theme = Term(
        vocab.theme_filter,
        "",
        metadata={"description": "An EU data theme code (ENVI) or its IRI."},
    )
    state = fields.String(validate=validate.OneOf(rules.STATES))
    format = Term(
        vocab.file_type_code,
        "",
        validate=validate.Length(min=1, max=50),
        metadata={
            "description": "A format of the dataset's distributions (CSV, PARQUET), or its "
            f"EU File Type IRI ({vocab.FILE_TYPE}CSV)."
        },
    )
    facets = fields.Boolean(
        load_default=True,
        metadata={"description": "Count datasets per facet value (false: leave them out)."},
    )
    q = fields.String(
        # Spaces alone are as empty as nothing: both say to leave q out.
        validate=[
            validate.Length(min=1, max=200),
            validate.Regexp(r"[\s\S]*\S", error="must hold more than spaces; leave q out to list"),
        ],
        metadata={
            "description": "Free text over title, keywords and description: every word "
            "whole, the last (of two or more letters) also as the start of a word."
        },
    )
    sort = fields.String(
        validate=validate.OneOf(SEARCH_SORTS),
        metadata={
            "description": "relevance (the default with q; ties newest first), modified "
            "(newest first) or title. Without q and sort datasets list by id, the slug of "
            "their title; sort without q orders up to 10,000 matching datasets."
        },
    )


class FacetValueSchema(StoredSchema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


def _facet_list(description: str) -> fields.Field:
    # Counted by the store as strings and ints: picked, not dumped value by value.
    return Stored(FacetValueSchema, many=True, required=True, metadata={"description": description})


class FacetsSchema(ma.Schema):
    """The 20 values of each facet held by most of the listed datasets, most first."""

    owner = _facet_list("Owner teams.")
    theme = _facet_list("EU data theme codes.")
    keyword = _facet_list("Keywords, as they match (lower case).")
    accessRights = _facet_list("public, restricted, non-public.")
    state = _facet_list("active, deprecated.")
    format = _facet_list("Formats of the datasets' distributions, upper case.")


DatasetPageSchema = page_schema(
    DatasetSchema,
    "DatasetPage",
    facets=fields.Nested(
        FacetsSchema,
        metadata={
            "description": "Counts of the datasets the caller may see that match q and "
            "every other filter (absent with facets=false)."
        },
    ),
    total=fields.Integer(
        metadata={"description": "Datasets the caller may see matching q and every filter."}
    ),
    approximate=fields.Boolean(
        metadata={
            "description": "True when 10,000 or more datasets were to be counted: facets and "
            "total are then those of the first 10,000 read."
        }
    ),
)
