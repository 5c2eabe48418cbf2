"""Shapes of change events (CloudEvents 1.0, JSON format) and of their feed."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.domain.change_events import EVENT_TYPES

from .common import MAX_LIMIT, Timestamp


class EventQuerySchema(ma.Schema):
    after = fields.String(
        load_default=None,
        metadata={"description": "The `next` of the previous answer; absent: from the first."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Events per answer, 1 to {MAX_LIMIT}."},
    )


class EventSchema(ma.Schema):
    """One change, as a CloudEvent: ``data`` is the new JSON, or the changed fields."""

    specversion = fields.String(required=True)
    id = fields.String(required=True)
    source = fields.String(required=True, metadata={"description": "The API's public URL."})
    type = fields.String(
        required=True, metadata={"description": "One of: " + ", ".join(EVENT_TYPES)}
    )
    subject = fields.String(required=True, metadata={"description": "The resource's path."})
    time = Timestamp(required=True)
    datacontenttype = fields.String(required=True)
    data = fields.Dict(required=True)


class EventPageSchema(ma.Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.String(
        required=True,
        metadata={
            "description": "Where to poll from next (always set). Events of the last few "
            "seconds may come again: skip the ids you have."
        },
    )
