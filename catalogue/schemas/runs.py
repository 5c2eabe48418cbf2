"""Response and request shapes of runs and their steps."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from .common import Timestamp, page_schema

RUN_STATUSES = ("WAITING", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "EXPIRED")
STEP_STATUSES = ("RUNNING", "SUCCEEDED", "FAILED")


class RunInputSchema(ma.Schema):
    keys = fields.List(
        fields.String(validate=validate.Length(min=1, max=1024)),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Object keys the run reads."},
    )


class RunRequestSchema(ma.Schema):
    """``POST .../runs``: the objects to run the dataset's pipeline over."""

    input = fields.Nested(RunInputSchema, required=True)


class ErrorInfoSchema(ma.Schema):
    error = fields.String()
    cause = fields.String(allow_none=True)


class StepOutputSchema(ma.Schema):
    key = fields.String()
    bytes = fields.Integer()
    sha256 = fields.String()
    rows = fields.Integer(allow_none=True)
    n = fields.Integer(metadata={"description": "Its number in the run, counted from 1."})
    download = fields.String(
        metadata={"description": "GET /runs/{id}/outputs/{n}/download: a redirect to the file."}
    )


class StepSchema(ma.Schema):
    """One step (Task state) of a run, with every object it wrote."""

    name = fields.String()
    status = fields.String(metadata={"enum": list(STEP_STATUSES)})
    attempts = fields.Integer()
    startedAt = Timestamp(allow_none=True)
    endedAt = Timestamp(allow_none=True)
    error = fields.Nested(ErrorInfoSchema, allow_none=True)
    outputs = fields.List(fields.Nested(StepOutputSchema))
    summary = fields.Dict(allow_none=True)


class RunPipelineSchema(ma.Schema):
    template = fields.String()
    version = fields.Integer()


class RunSchema(ma.Schema):
    """A run: one execution of a dataset's pipeline over uploaded objects."""

    id = fields.String(metadata={"description": "Also the Step Functions execution name."})
    dataset = fields.String()
    version = fields.String()
    edition = fields.String()
    pipeline = fields.Nested(RunPipelineSchema, allow_none=True)
    status = fields.String(metadata={"enum": list(RUN_STATUSES)})
    created = Timestamp()
    startedAt = Timestamp(allow_none=True)
    endedAt = Timestamp(allow_none=True)
    input = fields.Nested(RunInputSchema)
    output = fields.Raw(allow_none=True)
    error = fields.Nested(ErrorInfoSchema, allow_none=True)
    uploadExpires = Timestamp(
        allow_none=True,
        metadata={"description": "When the upload URL of a WAITING run expires (then EXPIRED)."},
    )
    rerunOf = fields.String(
        allow_none=True, metadata={"description": "The failed run this run reruns."}
    )
    rerunBy = fields.String(
        allow_none=True, metadata={"description": "The run that reran this one."}
    )
    redrives = fields.Integer(
        metadata={"description": "How many times the run was redriven (absent: never)."}
    )
    steps = fields.List(fields.Nested(StepSchema))


class RunSummarySchema(RunSchema):
    """A run in a list (without its steps)."""

    class Meta:
        exclude = ("steps",)


RunPageSchema = page_schema(RunSummarySchema, "RunPage")
