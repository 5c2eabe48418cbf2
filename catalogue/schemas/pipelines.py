"""Request and response shapes of pipeline templates and dataset pipelines."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from .common import page_schema

TEMPLATE_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"


def check_template_definition(definition: Any) -> None:
    """Reject a definition with every message of the validator."""
    from pipelines.stepfunctions import template_errors

    problems = template_errors(definition)
    if problems:
        raise ma.ValidationError(problems)


class PipelineTemplateSchema(ma.Schema):
    """A pipeline template: an Amazon States Language state machine whose Tasks name steps."""

    id = fields.String(
        required=True,
        validate=validate.Regexp(TEMPLATE_ID, error="Lowercase a-z, 0-9 and -, at most 64."),
    )
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    definition = fields.Dict(required=True, validate=check_template_definition)
    version = fields.Integer(dump_only=True, metadata={"description": "Each PUT adds one."})
    created = fields.String(dump_only=True)
    modified = fields.String(dump_only=True)


class PipelineTemplateUpdateSchema(PipelineTemplateSchema):
    """A PUT: the whole template; its id comes from the path."""

    class Meta:
        exclude = ("id",)


PipelineTemplatePageSchema = page_schema(PipelineTemplateSchema, "PipelineTemplatePage")


class DatasetPipelineSchema(ma.Schema):
    """A dataset's pipeline: a template (pinned at its version when set) and step settings."""

    template = fields.String(required=True, validate=validate.Regexp(TEMPLATE_ID))
    version = fields.Integer(
        dump_only=True, metadata={"description": "The template version this pipeline runs."}
    )
    taskConfig = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        load_default=dict,
        metadata={"description": "Per Task state name, the configuration of its step."},
    )
    dataset = fields.String(dump_only=True)
    modified = fields.String(dump_only=True)
