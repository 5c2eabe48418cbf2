"""The pipeline template repository of an application: in aws mode it deploys machines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from catalogue.repositories.pipeline_templates import PipelineRepository

if TYPE_CHECKING:
    from catalogue.settings import Settings
    from catalogue.store.base import ItemStore


def pipeline_repository(
    settings: Settings, store: ItemStore, clock: Callable[[], datetime]
) -> PipelineRepository:
    """The template repository; in aws mode, saving a template version deploys its machine."""
    repository = PipelineRepository(store, clock)
    if settings.backend == "aws":
        from pipelines.stepfunctions import deploy_state_machine, state_machine_name

        def deploy(template: str, version: int, definition: Mapping[str, Any]) -> None:
            deploy_state_machine(
                state_machine_name(settings.state_machine_prefix, template, version),
                definition,
                function_name=settings.steps_function,
                role_arn=settings.state_machine_role_arn,
            )

        repository.on_saved = deploy
    return repository


# Error name of a run whose pinned template version was deleted before it could run it.
TEMPLATE_DELETED = "Brygge.TemplateDeleted"


def template_deleted(run: Mapping[str, Any]) -> str:
    """Why a run cannot run (or redrive) the template version it pinned: it was deleted.

    Deleting a template deletes its versions; only a dataset pipeline's pin keeps one (409),
    not a run's: a run made before the delete (its upload still to land, one to redrive or
    resume) is left with nothing to run, and a rerun takes the dataset's current pipeline.
    """
    pipeline = run["pipeline"]
    return (
        f"pipeline template {pipeline['template']!r} version {pipeline['version']} was "
        f"deleted after run {run['id']!r} was made; rerun it (POST /runs/{run['id']}/rerun) "
        "to run the dataset's current pipeline"
    )
