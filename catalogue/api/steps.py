"""``/steps``: the steps a pipeline can use and the options each takes (no token needed)."""

from __future__ import annotations

from typing import Any

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.domain.errors import NotFound
from catalogue.schemas.steps import PipelineStepListSchema, PipelineStepSchema

blp = Blueprint(
    "steps",
    __name__,
    url_prefix="/steps",
    description="The steps a pipeline template's Task states can name, with the JSON Schema "
    "of each step's options (a dataset pipeline's taskConfig entry).",
)


def listed_steps() -> list[Any]:
    """Every step, loaded on first use (the catalogue imports every step module)."""
    from pipelines.steps.catalog import STEPS

    return list(STEPS.values())


def listed_step(name: str) -> Any:
    """One step; raises NotFound."""
    from pipelines.steps.catalog import STEPS

    if name not in STEPS:
        raise NotFound(f"no step {name!r}; GET /steps lists them")
    return STEPS[name]


@blp.route("")
class Steps(MethodView):
    @blp.response(200, PipelineStepListSchema)
    def get(self) -> dict:
        """List every step with the JSON Schema of its options and an example taskConfig."""
        return {"items": listed_steps()}


@blp.route("/<name>")
class StepByName(MethodView):
    @blp.response(200, PipelineStepSchema)
    def get(self, name: str) -> Any:
        """Read one step."""
        return listed_step(name)
