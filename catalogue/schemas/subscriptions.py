"""Shapes of webhook subscriptions and of their deliveries."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.domain.access import PRINCIPAL
from catalogue.domain.change_events import EVENT_TYPES
from catalogue.domain.webhooks import MAX_ROTATION_GRACE, ROTATION_GRACE

from .common import ListQuerySchema, Timestamp, page_schema


class SubscriptionSchema(ma.Schema):
    """Where to POST which events; the secret is shown once, in the create's answer."""

    id = fields.String(dump_only=True)
    url = fields.String(
        required=True,
        validate=validate.Length(max=2048),
        metadata={"description": "An https URL (http only on loopback)."},
    )
    types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        load_default=list,
        validate=validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "Event types to receive; empty: all."},
    )
    datasets = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Dataset ids (read scope needed); empty: every one you see."},
    )
    description = fields.String(load_default="", validate=validate.Length(max=500))
    status = fields.String(dump_only=True, metadata={"description": "active or disabled."})
    disabledReason = fields.String(dump_only=True)
    owner = fields.String(
        load_default=None,
        validate=validate.Regexp(PRINCIPAL),
        metadata={
            "description": "Who the subscription belongs to: one of your teams (default: your "
            "team when you have one), whose members manage it and whose grants it receives "
            "events by, or yourself."
        },
    )
    principal = fields.String(dump_only=True, metadata={"description": "Who made it."})
    created = Timestamp(dump_only=True)


class SubscriptionListQuerySchema(ListQuerySchema):
    owner = fields.String(
        load_default=None,
        validate=validate.Regexp(PRINCIPAL),
        metadata={"description": "One of your teams, to list its subscriptions; default: you."},
    )


class NewSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(
        dump_only=True,
        metadata={"description": "The Standard Webhooks signing secret; shown only now."},
    )


class SecretRotationSchema(ma.Schema):
    graceSeconds = fields.Integer(
        load_default=int(ROTATION_GRACE.total_seconds()),
        strict=True,
        validate=validate.Range(min=0, max=int(MAX_ROTATION_GRACE.total_seconds())),
        metadata={
            "description": "How long the replaced secret goes on signing beside the new one "
            "(0: it stops at once, as after a leak); default a day, at most a week."
        },
    )


class RotatedSecretSchema(ma.Schema):
    id = fields.String(required=True)
    secret = fields.String(
        required=True,
        metadata={"description": "The new Standard Webhooks signing secret; shown only now."},
    )
    previousSecretValidUntil = Timestamp(
        required=True,
        allow_none=True,
        metadata={
            "description": "Until when the replaced secret also signs each delivery (its "
            "signature beside the new one's in webhook-signature); null: no longer."
        },
    )


class DeliverySchema(ma.Schema):
    subscription = fields.String()
    eventId = fields.String()
    type = fields.String()
    subject = fields.String()
    status = fields.String(metadata={"description": "pending, delivered, dead or cancelled."})
    attempts = fields.Integer()
    created = Timestamp()
    nextAttemptAt = Timestamp()
    lastAttemptAt = Timestamp()
    lastStatusCode = fields.Integer(allow_none=True)
    lastError = fields.String(allow_none=True)
    deliveredAt = Timestamp()


class ReplaySchema(ma.Schema):
    eventId = fields.String(
        load_default=None,
        metadata={"description": "Replay this event's delivery; absent: every dead one."},
    )


class ReplayedSchema(ma.Schema):
    replayed = fields.Integer(required=True)


SubscriptionPageSchema = page_schema(SubscriptionSchema, "SubscriptionPage", stored=False)
DeliveryPageSchema = page_schema(DeliverySchema, "DeliveryPage", stored=False)
