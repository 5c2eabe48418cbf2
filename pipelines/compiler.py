"""Pipeline templates as state machines: Brygge's rules and the compiler (pure, no AWS calls).

A template's Task states name steps (``"Resource": "brygge:step:<name>"``) and nothing else.
Compiling gives each of them the step event as ``Parameters`` and keeps only the event's
carried fields of the result, so a step's output becomes the next step's input. The local
engine runs the compiled definition with the step resources as they are; for AWS the Task
becomes ``lambda:invoke`` of the steps function and the result is unwrapped from
``Payload``, so both engines produce the same documents. ``pipelines.stepfunctions`` makes
the AWS calls.

The execution input is ``{run, dataset, version, edition, input: {keys}, taskConfig}``;
``taskConfig`` has an entry for every step Task (``{}`` when none was configured), since a
path to a missing field fails the state on AWS. A step event takes its run, dataset, version,
edition and configuration from the execution input (``$$.Execution.Input``), never from the
state input, which the template's own states can rewrite: a template cannot make its step
act for another dataset's edition, whose objects the step's scope would then allow.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from typing import Any

STEP_PREFIX = "brygge:step:"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
# State names of steps go into JSONPaths (``$.taskConfig.<name>``) and object keys.
STEP_STATE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
STEP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# What a step's result hands on to the next state; the rest of its event is per step.
CARRIED_FIELDS = ("run", "dataset", "version", "edition", "taskConfig", "input")
# Fields of the step event only Brygge sets: a Task's Parameters may not name them.
RUN_FIELDS = ("run", "dataset", "version", "edition", "taskConfig")
RESERVED_PARAMETERS = frozenset({*RUN_FIELDS, "step", "attempt", "config"})
# Lambda's transient failures to invoke a step (its service's errors, throttling): a step
# on AWS retries them before the template's own rules, which were written for the step's
# errors (and may catch every error). Intervals as AWS's guide to Step Functions advises.
LAMBDA_SERVICE_RETRY = {
    "ErrorEquals": [
        "Lambda.ClientExecutionTimeoutException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 6,
    "BackoffRate": 2,
}
# The Choice state an AWS definition starts with, so a redrive can start at a given state.
REDRIVE_STATE = "BryggeRedrive"
REDRIVE_FIELD = "bryggeStartAt"


def step_name(resource: Any) -> str | None:
    """The step a Task resource names, or None for any other resource."""
    if isinstance(resource, str) and resource.startswith(STEP_PREFIX):
        return resource[len(STEP_PREFIX) :]
    return None


def _machines(definition: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The definition and every Parallel branch and Map processor in it, depth first."""
    yield definition
    states = definition.get("States")
    if not isinstance(states, Mapping):
        return
    for body in states.values():
        if not isinstance(body, Mapping):
            continue
        for branch in body.get("Branches") or []:
            if isinstance(branch, Mapping):
                yield from _machines(branch)
        for field in ("ItemProcessor", "Iterator"):
            if isinstance(body.get(field), Mapping):
                yield from _machines(body[field])


def task_steps(definition: Mapping[str, Any]) -> dict[str, str]:
    """Map each step Task state's name to its step name, nested states included."""
    found: dict[str, str] = {}
    for machine in _machines(definition):
        for name, body in (machine.get("States") or {}).items():
            if isinstance(body, Mapping) and body.get("Type") == "Task":
                step = step_name(body.get("Resource"))
                if step is not None:
                    found[name] = step
    return found


def template_errors(definition: Any) -> list[str]:
    """Every reason ``definition`` cannot be a pipeline template; empty when it can.

    The Amazon States Language rules come from ``pipelines.asl.validate``; on top of them a
    template's Task states must name steps, with names usable in paths and object keys.
    """
    from pipelines.asl import validate

    if not isinstance(definition, Mapping):
        return ["definition: must be a JSON object"]
    problems = list(validate(dict(definition)))
    if problems:
        return problems
    seen: set[str] = set()
    for machine in _machines(definition):
        for name, body in machine["States"].items():
            if name in seen:
                problems.append(f"state {name!r}: name used twice; state names must be unique")
            seen.add(name)
            if body.get("Type") != "Task":
                continue
            subject = f"state {name!r}"
            step = step_name(body.get("Resource"))
            if step is None:
                problems.append(f"{subject}: field 'Resource': must be 'brygge:step:<name>'")
                continue
            if not STEP_NAME.match(step):
                problems.append(
                    f"{subject}: field 'Resource': step name {step!r} "
                    f"must match {STEP_NAME.pattern}"
                )
            if not STEP_STATE_NAME.match(name):
                problems.append(
                    f"{subject}: a step's state name must match {STEP_STATE_NAME.pattern} "
                    "(it names the step's output folder)"
                )
            parameters = body.get("Parameters")
            reserved = sorted(
                field.removesuffix(".$")
                for field in (parameters if isinstance(parameters, Mapping) else {})
                if _is_reserved(field)
            )
            if reserved:
                problems.append(
                    f"{subject}: field 'Parameters': {', '.join(map(repr, reserved))} "
                    "belong to the step event Brygge makes; a step's Parameters may not set them"
                )
            if "ResultSelector" in body:
                problems.append(
                    f"{subject}: field 'ResultSelector': not allowed on a step; "
                    "its result is the next step's event"
                )
    if REDRIVE_STATE in seen:
        problems.append(f"state {REDRIVE_STATE!r}: the name is reserved")
    return problems


def _is_reserved(field: str) -> bool:
    """Whether a Parameters field (``name`` or ``name.$``) sets a field only Brygge sets."""
    return field.removesuffix(".$") in RESERVED_PARAMETERS


def step_payload(state_name: str) -> dict[str, Any]:
    """The step event a Task passes to its step (``pipelines.steps.contract.StepEvent``).

    Only ``input`` comes from the state input; the rest is the run's (the execution input).
    """
    return {
        "run.$": "$$.Execution.Input.run",
        "dataset.$": "$$.Execution.Input.dataset",
        "version.$": "$$.Execution.Input.version",
        "edition.$": "$$.Execution.Input.edition",
        "step": state_name,
        "attempt.$": "States.MathAdd($$.State.RetryCount, 1)",
        "config.$": f"$$.Execution.Input.taskConfig.{state_name}",
        "input.$": "$.input",
    }


def step_result_selector() -> dict[str, str]:
    """What a Task keeps of its step's answer (the invoke response): the carried fields.

    The step hands back its own event with new keys; the taskConfig comes from the
    execution input instead, so neither the step's event nor its answer carries the whole
    taskConfig besides its own entry: each stays within Step Functions' 256 KiB quota
    for any taskConfig a pipeline may have (at most 128 KiB, the catalogue checks).
    """
    return {
        f"{field}.$": (
            "$$.Execution.Input.taskConfig" if field == "taskConfig" else f"$.Payload.{field}"
        )
        for field in CARRIED_FIELDS
    }


def compile_definition(
    definition: Mapping[str, Any], *, target: str = "local", function_name: str = ""
) -> dict[str, Any]:
    """Return the definition an engine runs: ``target`` is ``local`` or ``aws``.

    Assumes ``template_errors(definition)`` is empty. The template is not changed.
    """
    compiled = copy.deepcopy(dict(definition))
    for machine in _machines(compiled):
        for name, body in machine["States"].items():
            step = step_name(body.get("Resource"))
            if body.get("Type") != "Task" or step is None:
                continue
            # A stored template may predate the rule against reserved Parameters: drop them.
            own = {
                field: value
                for field, value in (body.get("Parameters") or {}).items()
                if not _is_reserved(field)
            }
            payload = {**step_payload(name), **own}
            if target == "aws":
                body["Resource"] = LAMBDA_INVOKE
                body["Parameters"] = {
                    "FunctionName": function_name,
                    "Payload": {"command": f"pipelines.steps.{step}.handler", **payload},
                }
                body["Retry"] = [copy.deepcopy(LAMBDA_SERVICE_RETRY), *(body.get("Retry") or [])]
            else:
                body["Parameters"] = payload
            # Locally a step answers as lambda:invoke does on AWS (catalogue/runs/local.py),
            # so both read the step's event out of the invoke response's Payload.
            body["ResultSelector"] = step_result_selector()
    if target == "aws":
        compiled = _with_redrive_entry(compiled)
    return compiled


def _with_redrive_entry(compiled: dict[str, Any]) -> dict[str, Any]:
    """Start at a Choice that jumps to ``$.bryggeStartAt`` when the input names a state.

    Step Functions' own redrive restarts at the state that failed last, which after a Catch
    is a Fail state; Brygge restarts at the step that failed instead, as locally.
    """
    choices = [
        {
            "And": [
                {"Variable": f"$.{REDRIVE_FIELD}", "IsPresent": True},
                {"Variable": f"$.{REDRIVE_FIELD}", "StringEquals": name},
            ],
            "Next": name,
        }
        for name in compiled["States"]
    ]
    entry = {"Type": "Choice", "Choices": choices, "Default": compiled["StartAt"]}
    return {
        **compiled,
        "StartAt": REDRIVE_STATE,
        "States": {REDRIVE_STATE: entry, **compiled["States"]},
    }


def execution_input(
    run: Mapping[str, Any], definition: Mapping[str, Any], task_config: Mapping[str, Any]
) -> dict[str, Any]:
    """The input of a run's execution: the run's coordinates, keys and full taskConfig."""
    config = {name: dict(task_config.get(name) or {}) for name in task_steps(definition)}
    return {
        "run": run["id"],
        "dataset": run["dataset"],
        "version": run["version"],
        "edition": run["edition"],
        "input": {"keys": list(run["input"]["keys"])},
        "taskConfig": config,
    }


def restart_input(run: Mapping[str, Any], definition: Mapping[str, Any], state_input: Any) -> Any:
    """The input of a run restarted at a state: the state's recorded input, with the run's
    own run, dataset, version, edition and taskConfig, which the step events read from it.
    """
    if not isinstance(state_input, Mapping):
        return state_input
    own = execution_input(run, definition, run.get("taskConfig", {}))
    return {**state_input, **{field: own[field] for field in RUN_FIELDS}}


def task_timeouts(definition: Mapping[str, Any]) -> dict[str, int]:
    """Map each Task state's name to its ``TimeoutSeconds``, where it sets one."""
    found: dict[str, int] = {}
    for machine in _machines(definition):
        for name, body in (machine.get("States") or {}).items():
            if isinstance(body, Mapping) and body.get("Type") == "Task":
                timeout = body.get("TimeoutSeconds")
                if isinstance(timeout, int) and not isinstance(timeout, bool):
                    found[name] = timeout
    return found
