"""The handlers of Task states: ``brygge:step:<name>`` → ``pipelines.steps.<name>``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.stepfunctions import step_name

StepHandler = Callable[[Any, Any], Any]

# Handlers by resource that every StepRegistry made without its own consults first: a tool
# (or a test running ``brygge serve``) registers steps here before the app starts.
REGISTERED_HANDLERS: dict[str, StepHandler] = {}


class StepNotFound(Exception):
    """A Task names a step no module provides (``pipelines.steps.<name>``)."""


class StepRegistry:
    """Finds the handler of a Task resource: ``brygge:step:<name>`` → ``pipelines.steps.<name>``.

    ``handlers`` (default: REGISTERED_HANDLERS) override by resource.
    """

    def __init__(self, handlers: Mapping[str, StepHandler] | None = None) -> None:
        self.handlers = REGISTERED_HANDLERS if handlers is None else dict(handlers)

    def resolve(self, resource: str) -> StepHandler:
        if resource in self.handlers:
            return self.handlers[resource]
        step = step_name(resource)
        if step is None:
            raise StepNotFound(f"{resource!r} is not a step resource")
        try:
            module = importlib.import_module(f"pipelines.steps.{step}")
        except ModuleNotFoundError:
            raise StepNotFound(f"no step module pipelines.steps.{step}") from None
        handler: StepHandler = module.handler
        return handler


def task_resources(definition: Mapping[str, Any]) -> list[str]:
    """Every Task resource of a definition, nested states included."""
    found: list[str] = []

    def visit(value: Any) -> None:
        if isinstance(value, Mapping):
            if value.get("Type") == "Task" and isinstance(value.get("Resource"), str):
                found.append(value["Resource"])
            for child in value.values():
                visit(child)
        elif isinstance(value, list):
            for child in value:
                visit(child)

    visit(definition)
    return found
