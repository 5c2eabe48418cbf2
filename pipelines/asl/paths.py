"""The data-flow fields: InputPath, Parameters, ResultSelector, ResultPath, OutputPath.

Paths are compiled and evaluated by ``pipelines.asl.jsonpath``; this module resolves them on
the input, the context object (``$$``) or a workflow variable, and applies the fields.

Evaluation is pure: every function returns a new document (or a part of its input, which callers
treat as read-only) and never mutates what it was given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from random import Random
from typing import Any

from pipelines.asl import intrinsic_syntax, intrinsics
from pipelines.asl.errors import ResultPathMatchFailure, Runtime
from pipelines.asl.jsonpath import (
    FunctionFailed,
    JsonPath,
    PathError,
    PathStep,
    UndefinedVariable,
    compile_path,
    evaluate,
)

ContextFactory = Callable[[], Any]
# Workflow variables visible to a state, by name without the ``$``.
Variables = Mapping[str, Any]


def to_json(value: Any) -> str:
    """Render a value as compact JSON, the way the AWS console shows data in causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def resolve(
    expression: str, document: Any, context: ContextFactory, variables: Variables | None = None
) -> Any:
    """Evaluate a path on the input, the context object (``$$``) or a workflow variable.

    Raises UndefinedVariable for a variable not assigned, PathError when nothing is found.
    """
    compiled = compile_path(expression)
    if compiled.is_context:
        return evaluate(expression, context())
    if compiled.variable is not None:
        if variables is None or compiled.variable not in variables:
            raise UndefinedVariable(f"The variable '${compiled.variable}' is not defined")
        return evaluate(expression, variables[compiled.variable])
    return evaluate(expression, document)


def jayway(path: str) -> str:
    """Write a path in the bracket notation AWS's JSONPath library uses in its messages."""
    try:
        compiled = compile_path(path)
    except PathError:
        return path
    head = "$$" if compiled.is_context else f"${compiled.variable or ''}"
    parts = []
    for step in compiled.steps:
        if step.kind == "name" and not step.is_descent:
            parts.append(f"['{step.key}']")
        elif step.kind == "index" and not step.is_descent:
            parts.append(f"[{step.key}]")
        else:
            return path
    return head + "".join(parts)


def select(
    path: str | None,
    document: Any,
    context: ContextFactory,
    field: str,
    variables: Variables | None = None,
) -> Any:
    """Apply an ``InputPath``/``OutputPath``-style path; ``None`` selects ``{}``.

    Raises Runtime when the path finds nothing, with the cause AWS gives for InputPath and
    OutputPath (``Invalid path '$.x' : No results for path: $['x']``).
    """
    if path is None:
        return {}
    if path == "$":
        return document
    try:
        return resolve(path, document, context, variables)
    except UndefinedVariable as exc:
        raise Runtime(f"{exc} (field {field})") from None
    except FunctionFailed as exc:
        raise Runtime(f"Invalid path '{path}' : {exc}") from None
    except PathError:
        raise Runtime(f"Invalid path '{path}' : No results for path: {jayway(path)}") from None


def value_of(
    expression: str,
    document: Any,
    context: ContextFactory,
    random: Random | None = None,
    variables: Variables | None = None,
) -> Any:
    """Evaluate a ``.$`` value: an intrinsic function call or a path on input, context or a
    variable.

    Raises PathError when a path finds nothing; intrinsic failures raise IntrinsicFailure.
    """
    if expression.startswith("States."):
        return intrinsics.evaluate(
            expression, lambda path: resolve(path, document, context, variables), random
        )
    return resolve(expression, document, context, variables)


def apply_template(
    template: Any,
    document: Any,
    context: ContextFactory,
    field: str,
    random: Random | None = None,
    variables: Variables | None = None,
) -> Any:
    """Build a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``, ``Assign``).

    Keys ending in ``.$`` take the value of their path or intrinsic function; others are
    copied, with nested objects and arrays built the same way.
    Raises Runtime when a path finds nothing or names a variable no state assigned. The
    States Language specification names the first States.ParameterPathFailure, but AWS (and
    Step Functions Local) fail the execution with States.Runtime, which no Catch matches;
    the cause is worded as AWS words it.
    """
    if isinstance(template, dict):
        built: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                try:
                    built[key[:-2]] = value_of(value, document, context, random, variables)
                except UndefinedVariable as exc:
                    raise Runtime(f"{exc} (field '{key}' of {field})") from None
                except FunctionFailed as exc:
                    raise Runtime(
                        f"The JSONPath '{value}' specified for the field '{key}' failed: {exc}"
                    ) from None
                except PathError:
                    shown = context() if value.startswith("$$") else document
                    raise Runtime(
                        f"The JSONPath '{value}' specified for the field '{key}' could not be "
                        f"found in the input '{to_json(shown)}'"
                    ) from None
            else:
                built[key] = apply_template(value, document, context, field, random, variables)
        return built
    if isinstance(template, list):
        return [
            apply_template(item, document, context, field, random, variables) for item in template
        ]
    return template


def apply_result_path(path: str | None, document: Any, result: Any) -> Any:
    """Place ``result`` into a copy of ``document`` at the reference path ``path``.

    ``None`` discards the result and ``$`` replaces the document. Missing objects on the way
    are created. Raises ResultPathMatchFailure when the way crosses a non-object.
    """
    if path is None:
        return document
    if path == "$":
        return result
    compiled = compile_path(path)
    if not compiled.is_reference or compiled.is_context:
        raise ResultPathMatchFailure(f"ResultPath {path} is not a reference path")
    return _set_in(document, compiled.steps, result, path)


def _set_in(document: Any, steps: tuple[PathStep, ...], result: Any, path: str) -> Any:
    step, rest = steps[0], steps[1:]
    if step.kind == "name" and isinstance(document, dict):
        copied = dict(document)
        child = copied.get(step.key, {}) if rest else None
        copied[step.key] = _set_in(child, rest, result, path) if rest else result
        return copied
    if (
        step.kind == "index"
        and isinstance(document, list)
        and -len(document) <= step.key < len(document)
    ):
        items = list(document)
        items[step.key] = _set_in(items[step.key], rest, result, path) if rest else result
        return items
    raise ResultPathMatchFailure(
        f"Unable to apply ResultPath '{path}' to input '{to_json(document)}'"
    )


def is_reference_path(text: Any) -> bool:
    """Whether ``text`` is a reference path: ``$`` followed by names and indexes only."""
    compiled = _compiled_or_none(text)
    return (
        compiled is not None
        and compiled.is_reference
        and not compiled.is_context
        and compiled.variable is None
    )


def is_condition_path(text: Any) -> bool:
    """Whether ``text`` may be a Choice rule's ``Variable`` or ``*Path`` operand: a path on
    the input, the context object or a variable, without a function (AWS rejects
    ``$.items.length()`` there: a condition path is a reference path)."""
    compiled = _compiled_or_none(text)
    return compiled is not None and all(step.kind != "function" for step in compiled.steps)


def _compiled_or_none(text: Any) -> JsonPath | None:
    if not isinstance(text, str):
        return None
    try:
        return compile_path(text)
    except PathError:
        return None


def is_value_path(text: Any) -> bool:
    """Whether ``text`` is a reference path on the input, the context object or a variable."""
    if not isinstance(text, str):
        return False
    try:
        compiled = compile_path(text)
    except PathError:
        return False
    return compiled.is_reference


def variable_references(template: Any) -> set[str]:
    """Names of the workflow variables a template's ``.$`` fields read (for the validator)."""
    found: set[str] = set()
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$") and isinstance(value, str):
                found |= expression_variables(value)
            else:
                found |= variable_references(value)
    elif isinstance(template, list):
        for item in template:
            found |= variable_references(item)
    return found


def expression_variables(expression: Any) -> set[str]:
    """Names of the variables a path or intrinsic function call reads; empty when invalid."""
    if not isinstance(expression, str):
        return set()
    try:
        if expression.startswith("States."):
            return {
                name
                for path in intrinsic_syntax.path_arguments(intrinsics.parse(expression))
                for name in expression_variables(path)
            }
        variable = compile_path(expression).variable
    except (PathError, intrinsics.IntrinsicSyntaxError):
        return set()
    return {variable} if variable is not None else set()


def template_errors(template: Any, where: str) -> list[str]:
    """Return the problems of a payload template's ``.$`` fields (used by the validator)."""
    problems: list[str] = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key.endswith(".$"):
                problems.extend(_expression_errors(key, value, where))
            else:
                problems.extend(template_errors(value, where))
    elif isinstance(template, list):
        for item in template:
            problems.extend(template_errors(item, where))
    return problems


def _expression_errors(key: str, value: Any, where: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: field '{key}' must be a path or intrinsic function string"]
    try:
        if value.startswith("States."):
            intrinsics.parse(value)
        else:
            compile_path(value)
    except (PathError, intrinsics.IntrinsicSyntaxError) as exc:
        return [f"{where}: field '{key}' is not a valid path or intrinsic function ({exc})"]
    return []
