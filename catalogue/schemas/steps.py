"""Response shapes of ``/steps``: each step, the JSON Schema of its options, an example."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields


class PipelineStepSchema(ma.Schema):
    """A step a Task state names with ``"Resource": "brygge:step:<name>"``."""

    name = fields.String(required=True)
    resource = fields.String(
        required=True, metadata={"description": "The Task state's Resource for this step."}
    )
    summary = fields.String(required=True)
    description = fields.String(
        required=True, metadata={"description": "How the step reads and writes its files."}
    )
    options = fields.Dict(
        required=True,
        metadata={
            "description": "The JSON Schema (2020-12) of the step's options: its entry in a "
            "dataset pipeline's taskConfig, derived from the step's config class."
        },
    )
    example = fields.Dict(
        required=True,
        metadata={"description": "A taskConfig using the step: Task state name -> options."},
    )


class PipelineStepListSchema(ma.Schema):
    items = fields.List(fields.Nested(PipelineStepSchema), required=True)
