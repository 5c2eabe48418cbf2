"""The handlers of Task states: ``brygge:step:<name>`` → a step of ``pipelines.steps.catalog``.

Also the checks a pipeline passes when it is saved: every Task names a step, and every
Task state's ``taskConfig`` entry fits that step's options.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.compiler import STEP_PREFIX, step_name, task_steps, template_errors

StepHandler = Callable[[Any, Any], Any]
# A handler given by its import path ``module:attribute`` runs in a worker process locally.
StepHandlerSpec = StepHandler | str

# Handlers by resource that every StepRegistry made without its own consults first: a tool
# (or a test running ``brygge serve``) registers steps here before the app starts. A
# pipeline may name them; their options are not checked (they have no options schema).
REGISTERED_HANDLERS: dict[str, StepHandlerSpec] = {}
# The key of a problem with a state's options object as a whole (as marshmallow names it).
WHOLE_OBJECT = "_schema"


class StepNotFound(Exception):
    """A Task names a step that does not exist (``brygge:step:<name>`` of no catalogued step)."""


class StepRegistry:
    """Finds the handler of a Task resource: ``brygge:step:<name>`` → that step's handler.

    ``handlers`` (default: REGISTERED_HANDLERS) override by resource, as a function (run
    where it is called) or as an import path ``module:attribute``.
    """

    def __init__(self, handlers: Mapping[str, StepHandlerSpec] | None = None) -> None:
        self.handlers = REGISTERED_HANDLERS if handlers is None else dict(handlers)

    def resolve(self, resource: str) -> StepHandler:
        """The handler of a Task resource; raises StepNotFound."""
        location = self.location(resource)
        if location is None:
            handler = self.handlers[resource]
            assert not isinstance(handler, str)
            return handler
        module_name, _, attribute = location.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            raise StepNotFound(f"no step module {module_name}") from None
        found: StepHandler = getattr(module, attribute)
        return found

    def location(self, resource: str) -> str | None:
        """The import path (``module:attribute``) of a resource's handler, which a worker
        process can import; None for a handler given as a function. Raises StepNotFound.
        """
        if resource in self.handlers:
            handler = self.handlers[resource]
            return handler if isinstance(handler, str) else None
        from pipelines.steps.catalog import STEPS

        step = step_name(resource)
        if step is None:
            raise StepNotFound(f"{resource!r} is not a step resource")
        if step not in STEPS:
            raise StepNotFound(f"{resource!r} names no step; steps: {', '.join(STEPS)}")
        return f"{STEPS[step].module.__name__}:handler"


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


def definition_problems(definition: Any) -> list[str]:
    """Every reason a definition cannot be a template: its ASL first, then the steps it names."""
    return template_errors(definition) or unknown_step_problems(definition)


def unknown_step_problems(definition: Mapping[str, Any]) -> list[str]:
    """One message per Task state whose resource names no step (nor a registered handler).

    Assumes ``definition`` passed ``pipelines.compiler.template_errors``.
    """
    from pipelines.steps.catalog import STEPS

    problems = []
    for state, step in task_steps(definition).items():
        resource = f"{STEP_PREFIX}{step}"
        if step in STEPS or resource in REGISTERED_HANDLERS:
            continue
        close = difflib.get_close_matches(step, list(STEPS), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        problems.append(
            f"state {state!r}: field 'Resource': {resource!r} names no step; {hint}"
            f"the steps are {', '.join(STEPS)} (GET /steps)"
        )
    return problems


def task_config_problems(
    definition: Mapping[str, Any], task_config: Mapping[str, Any]
) -> dict[str, dict[str, list[str]]]:
    """Every problem of a taskConfig for a definition: ``{state: {option path: [reasons]}}``.

    A key that is no Task state of the definition, and each Task state's options (``{}``
    when it has no entry) that do not fit its step's options schema, are problems; the
    options of registered handlers and of unknown steps are not checked.
    """
    from pipelines.steps.catalog import STEPS

    steps = task_steps(definition)
    found: dict[str, dict[str, list[str]]] = {}
    for name in task_config:
        if name not in steps:
            states = ", ".join(sorted(steps)) or "none"
            reason = f"is not a Task state of the template (its Task states: {states})"
            found[name] = {WHOLE_OBJECT: [reason]}
    for name, step in steps.items():
        if step not in STEPS or f"{STEP_PREFIX}{step}" in REGISTERED_HANDLERS:
            continue
        for problem in STEPS[step].problems(task_config.get(name, {})):
            where = found.setdefault(name, {}).setdefault(problem.path or WHOLE_OBJECT, [])
            where.append(problem.reason)
    return found
