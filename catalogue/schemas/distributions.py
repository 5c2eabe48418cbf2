"""Request and response shapes of distributions."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.dcat import vocabularies as vocab
from catalogue.domain.ids import DISTRIBUTION_ID
from catalogue.links import absolute_url_in_request
from pipelines import media_types

from .common import Term, Timestamp, page_schema


class ColumnSchema(ma.Schema):
    """One column, as a Table Schema field."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    type = fields.String(load_default="string")
    format = fields.String()
    description = fields.String()


class TableSchemaSchema(ma.Schema):
    fields_ = fields.List(fields.Nested(ColumnSchema), data_key="fields", attribute="fields")
    primaryKey = fields.Raw()
    missingValues = fields.List(fields.String())


class TopValueSchema(ma.Schema):
    value = fields.Raw()
    count = fields.Integer()


class ColumnStatisticsSchema(ma.Schema):
    nonNull = fields.Integer()
    distinct = fields.Integer(metadata={"description": "Values, nulls not counted."})
    distinctIsApproximate = fields.Boolean(
        metadata={"description": "True above 100,000 rows: a HyperLogLog estimate."}
    )
    min = fields.Raw(allow_none=True)
    max = fields.Raw(allow_none=True)
    mean = fields.Float(allow_none=True, metadata={"description": "Numbers only."})
    top = fields.List(
        fields.Nested(TopValueSchema),
        metadata={"description": "Text columns of at most 10,000 distinct values: the commonest."},
    )


class PreviewSchema(ma.Schema):
    """What publishing computed once from a tabular file, so nobody reads the file to see it."""

    schema = fields.Nested(TableSchemaSchema, allow_none=True)
    rowCount = fields.Integer()
    rows = fields.List(
        fields.List(fields.Raw()), metadata={"description": "The first rows (up to 50)."}
    )
    statistics = fields.Dict(keys=fields.String(), values=fields.Nested(ColumnStatisticsSchema))


class DistributionSchema(ma.Schema):
    id = fields.String(validate=validate.Regexp(DISTRIBUTION_ID.pattern))
    type = fields.String(load_default="file", validate=validate.OneOf(("file", "api")))
    filenames = fields.List(fields.String(validate=validate.Length(min=1, max=255)))
    # IRIs of a media type or an EU file type are kept as the name or code they end in.
    mediaType = Term(
        vocab.media_type_value,
        "",
        validate=validate.Regexp(
            media_types.PATTERN,
            error="Not a media type: type/subtype, with parameters if any (text/csv; "
            "charset=utf-8).",
        ),
        metadata={
            "description": "text/csv, with parameters if any; an IANA media type IRI is "
            "kept as the name it ends in."
        },
    )
    format = Term(
        vocab.file_type_code,
        "",
        validate=validate.Length(max=50),
        metadata={"description": "CSV, PARQUET, ...; an EU File Type IRI is kept as its code."},
    )
    byteSize = fields.Integer(validate=validate.Range(min=0))
    checksum = fields.String(
        validate=validate.Regexp(r"^[0-9a-f]{64}$", error="Must be a sha256 in lowercase hex."),
    )
    schema = fields.Nested(TableSchemaSchema)
    key = fields.String(dump_only=True, metadata={"description": "Object key of the file."})
    run = fields.String(dump_only=True)
    apiURL = fields.Url(
        schemes={"http", "https"},
        data_key="accessURL",
        load_only=True,
        metadata={"description": "For type api: where the API answers."},
    )
    # accessURL is also what apiURL reads: one property in the document, sent and answered.
    accessURL = fields.Method(
        "access_url",
        dump_only=True,
        metadata={
            "type": ["string", "null"],
            "format": "uri",
            "readOnly": False,
            "description": "For type api: where the API answers (given on create). For type "
            "file: the download URL, as downloadURL.",
        },
    )
    downloadURL = fields.Method(
        "download_url",
        dump_only=True,
        metadata={
            "type": ["string", "null"],
            "format": "uri",
            "description": "Where the file is downloaded (a redirect to a signed URL); null "
            "for type api.",
        },
    )
    created = Timestamp(dump_only=True)

    def download_url(self, distribution: dict) -> str | None:
        if distribution.get("type") == "api" or "dataset" not in distribution:
            return None
        path = (
            f"/datasets/{distribution['dataset']}/versions/{distribution['version']}"
            f"/editions/{distribution['edition']}/distributions/{distribution['id']}/download"
        )
        return absolute_url_in_request(path)

    def access_url(self, distribution: dict) -> str | None:
        if distribution.get("type") == "api":
            return distribution.get("apiURL")
        return self.download_url(distribution)

    @ma.validates_schema
    def check_api_url(self, data: dict, **kwargs: object) -> None:
        if data.get("type") == "api" and not data.get("apiURL"):
            raise ma.ValidationError("An api distribution needs an accessURL.", "accessURL")


DistributionPageSchema = page_schema(DistributionSchema, "DistributionPage", stored=False)
