"""Request and response shapes of the catalogue feed and the publish gate."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from catalogue.dcat.negotiation import FORMAT_NAMES
from catalogue.dcat.vocabularies import DCAT_AP_3, PROFILES

from .common import ListQuerySchema, Timestamp, iso_datetime

FORMAT_DESCRIPTION = (
    f"RDF syntax, overriding Accept: {', '.join(sorted(FORMAT_NAMES))} or a media type."
)


PROFILE_DESCRIPTION = (
    f"Application profile the RDF meets: `{DCAT_AP_3}` (DCAT-AP 3.0.x: media types as IANA's "
    "IRIs, https://www.iana.org/assignments/media-types/...), `dcat-ap-no-3` (DCAT-AP-NO 3: "
    "media types as the W3C's IRIs, https://www.w3.org/ns/iana/media-types/..., application/* "
    "only) or `dcat-ap-no-2` (DCAT-AP-NO 2.2, as data.norge.no harvests it: byte sizes as "
    "xsd:decimal, no SHA-256 checksums)."
)


def profile_field() -> fields.String:
    """The ``profile`` query parameter of the DCAT renderings."""
    return fields.String(
        load_default=DCAT_AP_3,
        validate=ma.validate.OneOf(PROFILES),
        metadata={"description": PROFILE_DESCRIPTION},
    )


class FormatQuerySchema(ma.Schema):
    format = fields.String(metadata={"description": FORMAT_DESCRIPTION})
    profile = profile_field()


class CatalogQuerySchema(ListQuerySchema):
    cursor = fields.String(
        load_default=None,
        metadata={
            "description": "Where the page starts: the cursor of a Hydra `next`, `previous` "
            "or `last` link of another page."
        },
    )
    format = fields.String(metadata={"description": FORMAT_DESCRIPTION})
    profile = profile_field()
    modifiedSince = Timestamp(
        validate=iso_datetime,
        metadata={
            "description": "Only datasets whose metadata or latest edition changed at or after "
            "this RFC 3339 date-time (2026-01-02T03:04:05Z)."
        },
    )


class ProblemSchema(ma.Schema):
    field = fields.String(required=True)
    reason = fields.String(required=True)


class PublishabilitySchema(ma.Schema):
    publishable = fields.Boolean(required=True)
    missing = fields.List(fields.Nested(ProblemSchema), required=True)
