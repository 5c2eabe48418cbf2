"""Shapes of grants, of ``GET /me`` and of the audit trail."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from catalogue.domain.access import SCOPES

from .common import ListQuerySchema, Timestamp, page_schema

SCOPE = fields.String(validate=validate.OneOf(SCOPES))


class GrantSchema(ma.Schema):
    """The scopes one principal holds on one dataset."""

    dataset = fields.String(dump_only=True)
    principal = fields.String(
        dump_only=True, metadata={"description": "user:<name>, team:<name> or client:<name>."}
    )
    scopes = fields.List(
        SCOPE,
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
        metadata={
            "description": "read, update (metadata, versions), write (editions, "
            "distributions, uploads, runs), admin (permissions, delete; implies all)."
        },
    )


GrantPageSchema = page_schema(GrantSchema, "GrantPage")


class MeSchema(ma.Schema):
    """The caller: its principal, teams and the grants it holds (itself or via a team)."""

    principal = fields.String(required=True)
    teams = fields.List(fields.String(), required=True)
    siteAdmin = fields.Boolean(required=True, attribute="site_admin")
    datasets = fields.Nested(GrantPageSchema, required=True)


MeQuerySchema = ListQuerySchema


class HistoryEntrySchema(ma.Schema):
    """One change: who made it, when, to what, and each changed field before and after."""

    at = Timestamp(required=True)
    principal = fields.String(required=True)
    action = fields.String(required=True)
    resource = fields.String(required=True)
    changes = fields.Dict(required=True)


HistoryPageSchema = page_schema(HistoryEntrySchema, "HistoryPage")


INCARNATION = r"^\d{8}T\d{6}-[0-9a-f]{8}$"


class HistoryQuerySchema(ListQuerySchema):
    incarnation = fields.String(
        load_default=None,
        validate=validate.Regexp(INCARNATION, error="Not an incarnation id."),
        metadata={
            "description": "Site admins: the history of this incarnation of the id (a "
            "deleted dataset's, say), as listed by `GET /datasets/{id}/incarnations`."
        },
    )


class IncarnationSchema(ma.Schema):
    """One life of a dataset id: from its create to its delete (None while it exists)."""

    dataset = fields.String(required=True)
    incarnation = fields.String(required=True)
    created = Timestamp(required=True)
    deleted = Timestamp(allow_none=True, required=True)


IncarnationPageSchema = page_schema(IncarnationSchema, "IncarnationPage")
