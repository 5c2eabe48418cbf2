"""Response shapes of event datasets: an ingest's answer, rejects, latest values."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from .common import StoredSchema, page_schema

ERRORS_DESCRIPTION = "Reasons per field of the event: {field: [reason, ...]}."


class RejectionSchema(ma.Schema):
    index = fields.Integer(required=True, metadata={"description": "Position in the batch."})
    errors = fields.Dict(required=True, metadata={"description": ERRORS_DESCRIPTION})


class IngestAnswerSchema(ma.Schema):
    accepted = fields.Integer(required=True)
    rejected = fields.List(fields.Nested(RejectionSchema), required=True)
    duplicates = fields.List(
        fields.Integer(),
        metadata={
            "description": "Positions of events whose id (the source's id field) was accepted "
            "before, by an earlier request or earlier in this batch: neither accepted again "
            "nor rejected. Present when the source has an id field."
        },
    )


class SnsAnswerSchema(IngestAnswerSchema):
    type = fields.String(
        required=True,
        metadata={
            "description": "The SNS message type: Notification (its events were ingested), "
            "SubscriptionConfirmation or UnsubscribeConfirmation."
        },
    )
    confirmed = fields.Boolean(
        metadata={"description": "A subscription confirmation: confirmed with SNS."}
    )
    accepted = fields.Integer()
    rejected = fields.List(fields.Nested(RejectionSchema))


class RejectSchema(StoredSchema):
    received = fields.String(required=True)
    batch = fields.String(required=True, metadata={"description": "The request it came in."})
    index = fields.Integer(required=True)
    errors = fields.Dict(required=True, metadata={"description": ERRORS_DESCRIPTION})
    event = fields.Raw(metadata={"description": "The event as posted."})
    eventText = fields.String(
        metadata={"description": "The start of the event's JSON, for one too large to keep."}
    )
    postedBy = fields.String()


class LatestSchema(StoredSchema):
    key = fields.String(
        required=True,
        metadata={
            "description": "The series: its key values, comma-joined, with % and , in a "
            "value escaped as %25 and %2C; read one series at .../latest/{key}."
        },
    )
    series = fields.Dict(required=True, metadata={"description": "The key fields' values."})
    time = fields.Raw(required=True, metadata={"description": "The event's time field."})
    event = fields.Dict(required=True)
    received = fields.String(required=True)


RejectPageSchema = page_schema(RejectSchema, "RejectPage")
LatestPageSchema = page_schema(LatestSchema, "LatestPage")
