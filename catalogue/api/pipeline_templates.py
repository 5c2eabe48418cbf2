"""``/pipelines`` (templates) and ``/datasets/{id}/pipeline``."""

from __future__ import annotations

from catalogue.api.etags import conditional_create, with_etag, write_condition
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import (
    READ,
    UPDATE,
    require,
    require_template_admin,
    template_owner,
)
from catalogue.auth.principal import current_principal
from catalogue.links import link_to
from catalogue.repositories.pipeline_checks import check_task_config
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.permissions import HistoryPageSchema
from catalogue.schemas.pipeline_templates import (
    DatasetPipelineSchema,
    PipelineCheckSchema,
    PipelineTemplateCheckSchema,
    PipelineTemplatePageSchema,
    PipelineTemplateSchema,
    PipelineTemplateUpdateSchema,
)
from catalogue.services import services

blp = Blueprint("pipelines", __name__, description="Pipeline templates and dataset pipelines")


@blp.route("/pipelines")
class Templates(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, PipelineTemplatePageSchema)
    def get(self, query: dict) -> dict:
        """List pipeline templates (their latest versions)."""
        page = services().pipelines.list(**query)
        return {"items": page.items, "next": page.next_cursor}

    @blp.arguments(PipelineTemplateSchema)
    @blp.response(201, PipelineTemplateSchema)
    @conditional_create
    def post(self, data: dict) -> tuple:
        """Register a template owned by a team of the caller's; its definition is validated."""
        owner = template_owner(data.get("owner"))
        template = services().pipelines.create(data, owner=owner, principal=current_principal())
        location = link_to("pipelines.TemplateById", template_id=template["id"])
        return with_etag(template, 201, Location=location)


@blp.route("/pipelines/<template_id>")
class TemplateById(MethodView):
    @blp.response(200, PipelineTemplateSchema)
    def get(self, template_id: str) -> tuple:
        """Read the latest version of a template."""
        return with_etag(services().pipelines.get(template_id))

    @blp.arguments(PipelineTemplateUpdateSchema)
    @blp.response(200, PipelineTemplateSchema)
    def put(self, data: dict, template_id: str) -> tuple:
        """Store a new version (owner team or site admins); datasets keep the version pinned."""
        require_template_admin(services().pipelines.get(template_id), data.get("owner"))
        return with_etag(
            services().pipelines.update(
                template_id, data, if_match=write_condition(), principal=current_principal()
            )
        )

    @blp.response(204)
    def delete(self, template_id: str) -> None:
        """Delete a template (owner team or site admins); one a dataset pipeline uses is 409."""
        require_template_admin(services().pipelines.get(template_id))
        services().pipelines.delete(
            template_id, if_match=write_condition(), principal=current_principal()
        )


@blp.route("/pipelines/<template_id>/history")
class TemplateHistory(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, query: dict, template_id: str) -> dict:
        """Every change to the template, newest first (owner team or site admins)."""
        require_template_admin(services().pipelines.get(template_id))
        page = services().pipelines.audit(template_id, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/datasets/<dataset_id>/pipeline")
class DatasetPipeline(MethodView):
    @blp.response(200, DatasetPipelineSchema)
    def get(self, dataset_id: str) -> tuple:
        """Read the pipeline a dataset's uploads run."""
        require(dataset_id, READ)
        return with_etag(services().pipelines.get_dataset_pipeline(dataset_id))

    @blp.arguments(DatasetPipelineSchema)
    @blp.response(200, DatasetPipelineSchema)
    def put(self, data: dict, dataset_id: str) -> tuple:
        """Set the pipeline; ``version`` names the template version to pin (see the schema)."""
        require(dataset_id, UPDATE)
        return with_etag(
            services().pipelines.set_dataset_pipeline(
                dataset_id, data, principal=current_principal(), if_match=write_condition()
            )
        )

    @blp.response(204)
    def delete(self, dataset_id: str) -> None:
        """Remove the pipeline of a dataset."""
        require(dataset_id, UPDATE)
        services().pipelines.delete_dataset_pipeline(
            dataset_id, principal=current_principal(), if_match=write_condition()
        )


# Checks without saving: the same problems as a save, so a client can check before it uploads.


@blp.route("/pipelines/validate")
class TemplateCheck(MethodView):
    @blp.arguments(PipelineTemplateCheckSchema)
    @blp.response(200, PipelineCheckSchema)
    def post(self, data: dict) -> dict:
        """Check a template, and a taskConfig for it, without saving: 422 lists every problem.

        The definition's problems come as ``errors.json.definition`` (a list), the
        taskConfig's as ``errors.json.taskConfig.<state>.<option path>`` (lists of reasons).
        """
        check_task_config(data, data.get("taskConfig"))
        return {"valid": True}


@blp.route("/datasets/<dataset_id>/pipeline/validate")
class DatasetPipelineCheck(MethodView):
    @blp.arguments(DatasetPipelineSchema)
    @blp.response(200, PipelineCheckSchema)
    def post(self, data: dict, dataset_id: str) -> dict:
        """Check a dataset pipeline as PUT would, without saving: 422 lists every problem."""
        require(dataset_id, UPDATE)
        services().pipelines.check_dataset_pipeline(dataset_id, data)
        return {"valid": True}
