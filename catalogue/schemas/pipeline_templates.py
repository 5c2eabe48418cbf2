"""Request and response shapes of pipeline templates and dataset pipelines."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from .common import Timestamp, page_schema
from .datasets import TEAM

TEMPLATE_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"


def check_template_definition(definition: Any) -> None:
    """Reject a definition with every message of the validator."""
    from pipelines.runs.steps import definition_problems

    problems = definition_problems(definition)
    if problems:
        raise ma.ValidationError(problems)


def task_config_field(*, empty_when_absent: bool = True) -> fields.Dict:
    """A taskConfig; absent, it loads as ``{}`` (every option a step requires is then
    missing), or stays absent when not ``empty_when_absent``."""
    return fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        load_default=dict if empty_when_absent else ma.missing,
        metadata={
            "description": "Per Task state name, the options of its step: GET /steps gives "
            "each step's options as JSON Schema, with an example."
        },
    )


def template_id_field(*, required: bool) -> fields.String:
    return fields.String(
        required=required,
        validate=[
            validate.Regexp(TEMPLATE_ID, error="Lowercase a-z, 0-9 and -, at most 64."),
            # /pipelines/validate checks a template: no template may be called that.
            validate.NoneOf(["validate"], error="'validate' is reserved."),
        ],
    )


class PipelineTemplateSchema(ma.Schema):
    """A pipeline template: an Amazon States Language state machine whose Tasks name steps.

    Each Task state names a step (``"Resource": "brygge:step:<name>"``); GET /steps lists them.
    """

    id = template_id_field(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=5000))
    definition = fields.Dict(required=True, validate=check_template_definition)
    # A template a site admin without a team registers has no owner team: answers say null.
    owner = fields.String(
        allow_none=True,
        validate=validate.Regexp(TEAM, error="Must be a team, written team:<name>."),
        metadata={
            "description": "The team whose members may change or delete the template (one "
            "of the caller's; site admins may name any). Default: the caller's team when it "
            "has exactly one. On PUT: hands the template to that team; absent, it stays. "
            "null: no team owns it, only site admins may change it (null sent is as absent)."
        },
    )
    version = fields.Integer(dump_only=True, metadata={"description": "Each PUT adds one."})
    created = Timestamp(dump_only=True)
    modified = Timestamp(dump_only=True)


class PipelineTemplateUpdateSchema(PipelineTemplateSchema):
    """A PUT: the whole template; its id comes from the path."""

    class Meta:
        exclude = ("id",)


class PipelineTemplateCheckSchema(PipelineTemplateSchema):
    """A template to check without saving it; ``taskConfig``, when given, is checked with it."""

    id = template_id_field(required=False)
    title = fields.String(validate=validate.Length(min=1, max=200))
    # Absent: the template alone is checked, as POST /pipelines checks it.
    taskConfig = task_config_field(empty_when_absent=False)


class PipelineCheckSchema(ma.Schema):
    """The answer of a check that found nothing wrong; problems are a 422."""

    valid = fields.Boolean(required=True)


PipelineTemplatePageSchema = page_schema(PipelineTemplateSchema, "PipelineTemplatePage")


class DatasetPipelineSchema(ma.Schema):
    """A dataset's pipeline: a template (pinned at its version when set) and step settings."""

    template = fields.String(required=True, validate=validate.Regexp(TEMPLATE_ID))
    version = fields.Integer(
        validate=validate.Range(min=1),
        metadata={
            "description": "The template version this pipeline runs. Given, that version is "
            "pinned; absent, the version the dataset already runs of this template stays "
            "pinned (a new template version never reaches a dataset unless its owner names "
            "it here), or the latest for a template it does not run yet."
        },
    )
    taskConfig = task_config_field()
    dataset = fields.String(dump_only=True)
    modified = Timestamp(dump_only=True)
