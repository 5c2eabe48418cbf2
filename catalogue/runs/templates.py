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
