"""Check a state machine definition before it runs; every message names a state and a field."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from pipelines.asl import intrinsics, paths
from pipelines.asl.choice import ALL_OPERATORS, PATH_OPERATORS, is_number, is_timestamp

STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
_COMMON = {"Type", "Comment", "QueryLanguage"}
_ASSIGN = {"Assign"}
_IO = {"InputPath", "OutputPath"}
_FLOW = {"Next", "End"}
_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _IO | _FLOW | _ASSIGN | {"Parameters", "Result", "ResultPath"},
    "Task": _COMMON
    | _IO
    | _FLOW
    | _ASSIGN
    | {
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
    },
    "Choice": _COMMON | _IO | _ASSIGN | {"Choices", "Default"},
    "Wait": _COMMON
    | _IO
    | _FLOW
    | _ASSIGN
    | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
    "Succeed": _COMMON | _IO,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _IO
    | _FLOW
    | _ASSIGN
    | {"Branches", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch"},
    "Map": _COMMON
    | _IO
    | _FLOW
    | _ASSIGN
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Label",
    },
}
# Fields of a distributed Map, which this engine does not run.
_DISTRIBUTED_MAP = (
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
)
# Fields of JSONata states, which this engine does not run.
_JSONATA_ONLY = ("Arguments", "Output", "Items", "Condition")
_JSONATA = "JSONata is not supported (only JSONPath)"
_TOP_LEVEL = {"StartAt", "States", "Comment", "Version", "TimeoutSeconds", "QueryLanguage"}
_BRANCH_LEVEL = {"StartAt", "States", "Comment", "ProcessorConfig"}
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERAND_TYPE = {
    "String": "a string",
    "Numeric": "a number",
    "Boolean": "a boolean",
    "Timestamp": "an RFC 3339 timestamp",
}


def validate(definition: Any, *, known_resources: Collection[str] | None = None) -> list[str]:
    """Return every problem of a definition; an empty list means it is valid.

    ``known_resources``, when given, lists the Task resources that have a handler.
    """
    if not isinstance(definition, Mapping):
        return ["state machine: the definition must be a JSON object"]
    problems: list[str] = []
    for key in definition:
        if key not in _TOP_LEVEL:
            problems.append(f"state machine: field '{key}' is not allowed at the top level")
    language = definition.get("QueryLanguage", "JSONPath")
    if language == "JSONata":
        problems.append(f"state machine: field 'QueryLanguage': {_JSONATA}")
    elif language != "JSONPath":
        problems.append("state machine: field 'QueryLanguage' must be JSONPath or JSONata")
    if "TimeoutSeconds" in definition and not _positive_int(definition["TimeoutSeconds"]):
        problems.append("state machine: field 'TimeoutSeconds' must be a positive integer")
    if "Version" in definition and not isinstance(definition["Version"], str):
        problems.append("state machine: field 'Version' must be a string")
    seen: dict[str, str] = {}
    _check_machine(definition, "", problems, seen, known_resources)
    if not problems:
        _check_variables(definition, "", frozenset(), problems)
    return problems


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _non_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_machine(
    machine: Mapping[str, Any],
    where: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    """Check one machine or branch; ``where`` describes it in messages (empty: top level)."""
    label = f"state machine{where}"
    states = machine.get("States")
    start_at = machine.get("StartAt")
    if not isinstance(start_at, str):
        problems.append(f"{label}: field 'StartAt' is required and must be a string")
    if not isinstance(states, Mapping) or not states:
        problems.append(f"{label}: field 'States' is required and must be a non-empty object")
        return
    if isinstance(start_at, str) and start_at not in states:
        problems.append(f"{label}: field 'StartAt' names '{start_at}', which is not a state")
    for name, body in states.items():
        subject = f"state '{name}'{where}"
        if name in seen:
            elsewhere = seen[name].strip(" ()") or "at the top level"
            problems.append(f"{subject}: field 'States': the name is also used {elsewhere}")
        seen[name] = where
        if len(name) > 80:
            problems.append(f"{subject}: the name is longer than 80 characters")
        if not isinstance(body, Mapping):
            problems.append(f"{subject}: the state must be a JSON object")
            continue
        _check_state(name, body, subject, states, problems, seen, known_resources)
    _check_graph(states, start_at, where, problems)


def _targets(body: Mapping[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if "Next" in body:
        found.append(("Next", body["Next"]))
    if "Default" in body:
        found.append(("Default", body["Default"]))
    for i, choice in enumerate(body.get("Choices") or []):
        if isinstance(choice, Mapping) and "Next" in choice:
            found.append((f"Choices[{i}].Next", choice["Next"]))
    for i, catcher in enumerate(body.get("Catch") or []):
        if isinstance(catcher, Mapping) and "Next" in catcher:
            found.append((f"Catch[{i}].Next", catcher["Next"]))
    return found


def _check_graph(states: Mapping[str, Any], start_at: Any, where: str, problems: list[str]) -> None:
    """Check targets exist, every state is reachable and some state ends the machine."""
    for name, body in states.items():
        if not isinstance(body, Mapping):
            continue
        for field, target in _targets(body):
            if not isinstance(target, str) or target not in states:
                problems.append(
                    f"state '{name}'{where}: field '{field}' names '{target}', "
                    "which is not a state of this machine"
                )
    if not isinstance(start_at, str) or start_at not in states:
        return
    reachable, pending = set(), [start_at]
    while pending:
        name = pending.pop()
        if name in reachable or name not in states:
            continue
        reachable.add(name)
        body = states[name]
        if isinstance(body, Mapping):
            pending.extend(t for _, t in _targets(body) if isinstance(t, str))
    for name in states:
        if name not in reachable:
            problems.append(
                f"state '{name}'{where}: field 'StartAt'/'Next': the state is unreachable"
            )
    terminal = any(
        isinstance(body, Mapping)
        and (body.get("Type") in ("Succeed", "Fail") or body.get("End") is True)
        for body in states.values()
    )
    if not terminal:
        problems.append(
            f"state machine{where}: field 'End': no state ends the machine "
            "(a Succeed, a Fail or 'End': true)"
        )


def _check_state(
    name: str,
    body: Mapping[str, Any],
    subject: str,
    states: Mapping[str, Any],
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    kind = body.get("Type")
    if kind not in STATE_TYPES:
        problems.append(f"{subject}: field 'Type' must be one of {', '.join(STATE_TYPES)}")
        return
    for key in body:
        if key in _JSONATA_ONLY:
            problems.append(f"{subject}: field '{key}' belongs to JSONata states; {_JSONATA}")
        elif kind == "Map" and key in _DISTRIBUTED_MAP:
            problems.append(
                f"{subject}: field '{key}' is for a distributed Map, which is not supported"
            )
        elif key not in _FIELDS[kind]:
            problems.append(f"{subject}: field '{key}' is not allowed in a {kind} state")
    language = body.get("QueryLanguage", "JSONPath")
    if language == "JSONata":
        problems.append(f"{subject}: field 'QueryLanguage': {_JSONATA}")
    elif language != "JSONPath":
        problems.append(f"{subject}: field 'QueryLanguage' must be JSONPath or JSONata")
    if "Assign" in body:
        _check_assign(body["Assign"], subject, "Assign", problems)
    if "Next" in _FIELDS[kind]:
        has_next, has_end = "Next" in body, "End" in body
        if has_next == has_end:
            problems.append(f"{subject}: field 'Next'/'End': exactly one of them is required")
        if has_end and body["End"] is not True:
            problems.append(f"{subject}: field 'End' must be true when present")
    for field in ("InputPath", "OutputPath"):
        if field in body and body[field] is not None and not _is_path(body[field]):
            problems.append(
                f"{subject}: field '{field}' must be a JSONPath or null{_why_not(body[field])}"
            )
    result_path = body.get("ResultPath")
    if result_path is not None and not paths.is_reference_path(result_path):
        problems.append(f"{subject}: field 'ResultPath' must be a reference path or null")
    for field in ("Parameters", "ResultSelector", "ItemSelector"):
        if field in body:
            if not isinstance(body[field], Mapping):
                problems.append(f"{subject}: field '{field}' must be a JSON object")
            else:
                problems.extend(
                    message.replace(f"{subject}: field '", f"{subject}: field '{field}.", 1)
                    for message in paths.template_errors(body[field], subject)
                )
    _check_retry_catch(body, subject, problems)
    _TYPE_CHECKS[kind](body, subject, problems, seen, known_resources)


# AWS takes a reference path in a Choice rule, where JSONPath functions are not allowed.
_NO_FUNCTION = "must be a path without a function such as length() (a reference path)"


def _why_not(value: Any) -> str:
    """Why a string is not a JSONPath, as `` (reason)``; empty for a non-string."""
    if not isinstance(value, str):
        return ""
    try:
        paths.compile_path(value)
    except paths.PathError as exc:
        return f" ({exc})"
    return ""


def _is_path(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        paths.compile_path(value)
    except paths.PathError:
        return False
    return True


def _check_error_equals(value: Any, subject: str, field: str, problems: list[str]) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.append(f"{subject}: field '{field}.ErrorEquals' must be a non-empty string list")
    elif "States.ALL" in value and len(value) > 1:
        problems.append(f"{subject}: field '{field}.ErrorEquals': States.ALL must appear alone")


def _check_retry_catch(body: Mapping[str, Any], subject: str, problems: list[str]) -> None:
    for field in ("Retry", "Catch"):
        entries = body.get(field)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problems.append(f"{subject}: field '{field}' must be an array")
            continue
        for i, entry in enumerate(entries):
            where = f"{field}[{i}]"
            if not isinstance(entry, Mapping):
                problems.append(f"{subject}: field '{where}' must be an object")
                continue
            _check_error_equals(entry.get("ErrorEquals"), subject, where, problems)
            if "States.ALL" in (entry.get("ErrorEquals") or []) and i != len(entries) - 1:
                problems.append(f"{subject}: field '{where}.ErrorEquals': States.ALL must be last")
            if field == "Retry":
                _check_retrier(entry, subject, where, problems)
            else:
                allowed = {"ErrorEquals", "Next", "ResultPath", "Comment", "Assign"}
                if "Assign" in entry:
                    _check_assign(entry["Assign"], subject, f"{where}.Assign", problems)
                problems.extend(
                    f"{subject}: field '{where}.{key}' is not allowed in a Catcher"
                    for key in entry
                    if key not in allowed
                )
                if not isinstance(entry.get("Next"), str):
                    problems.append(f"{subject}: field '{where}.Next' is required")
                result_path = entry.get("ResultPath", "$")
                if result_path is not None and not paths.is_reference_path(result_path):
                    problems.append(
                        f"{subject}: field '{where}.ResultPath' must be a reference path"
                    )


def _check_assign(value: Any, subject: str, where: str, problems: list[str]) -> None:
    """Check an ``Assign`` object: variable names, and the paths of its ``.$`` fields."""
    if not isinstance(value, Mapping):
        problems.append(f"{subject}: field '{where}' must be a JSON object")
        return
    for key in value:
        name = key[:-2] if key.endswith(".$") else key
        if not isinstance(name, str) or not _VARIABLE_NAME.fullmatch(name) or len(name) > 80:
            problems.append(
                f"{subject}: field '{where}.{key}': a variable name is a letter or '_' then "
                "letters, digits or '_' (at most 80)"
            )
    problems.extend(
        message.replace(f"{subject}: field '", f"{subject}: field '{where}.", 1)
        for message in paths.template_errors(value, subject)
    )


def _check_retrier(entry: Mapping[str, Any], subject: str, where: str, problems: list[str]) -> None:
    allowed = {
        "ErrorEquals",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "JitterStrategy",
        "Comment",
    }
    problems.extend(
        f"{subject}: field '{where}.{key}' is not allowed in a Retrier"
        for key in entry
        if key not in allowed
    )
    if "IntervalSeconds" in entry and not (
        _positive_int(entry["IntervalSeconds"]) and entry["IntervalSeconds"] <= 99999999
    ):
        problems.append(f"{subject}: field '{where}.IntervalSeconds' must be a positive integer")
    if "MaxAttempts" in entry and not (
        _non_negative_int(entry["MaxAttempts"]) and entry["MaxAttempts"] <= 99999999
    ):
        problems.append(f"{subject}: field '{where}.MaxAttempts' must be an integer >= 0")
    if "BackoffRate" in entry and not (
        is_number(entry["BackoffRate"]) and entry["BackoffRate"] >= 1
    ):
        problems.append(f"{subject}: field '{where}.BackoffRate' must be a number >= 1.0")
    if "MaxDelaySeconds" in entry and not (
        _positive_int(entry["MaxDelaySeconds"]) and entry["MaxDelaySeconds"] < 31622400
    ):
        problems.append(f"{subject}: field '{where}.MaxDelaySeconds' must be a positive integer")
    if entry.get("JitterStrategy", "NONE") not in ("NONE", "FULL"):
        problems.append(f"{subject}: field '{where}.JitterStrategy' must be FULL or NONE")


def _check_task(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    resource = body.get("Resource")
    if not isinstance(resource, str) or not resource:
        problems.append(f"{subject}: field 'Resource' is required and must be a string")
    elif known_resources is not None and resource not in known_resources:
        problems.append(f"{subject}: field 'Resource' names '{resource}', which has no handler")
    for field in ("TimeoutSeconds", "HeartbeatSeconds"):
        if field in body and not _positive_int(body[field]):
            problems.append(f"{subject}: field '{field}' must be a positive integer")
        if field in body and f"{field}Path" in body:
            problems.append(f"{subject}: field '{field}Path' cannot be used with '{field}'")
        if f"{field}Path" in body and not paths.is_value_path(body[f"{field}Path"]):
            problems.append(f"{subject}: field '{field}Path' must be a reference path")
    timeout, heartbeat = body.get("TimeoutSeconds"), body.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout > 0:
        problems.append(f"{subject}: field 'HeartbeatSeconds' must be less than 'TimeoutSeconds'")


def _check_pass(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    """A Pass state takes any Result; the common checks cover the rest."""


def _check_succeed(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    """A Succeed state has only the common fields."""


def _check_wait(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    given = [f for f in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if f in body]
    if len(given) != 1:
        problems.append(
            f"{subject}: field 'Seconds': exactly one of Seconds, SecondsPath, Timestamp and "
            f"TimestampPath is required (got {', '.join(given) or 'none'})"
        )
    if "Seconds" in body and not (
        _non_negative_int(body["Seconds"]) and body["Seconds"] <= 99999999
    ):
        problems.append(f"{subject}: field 'Seconds' must be an integer between 0 and 99999999")
    if "Timestamp" in body and not is_timestamp(body["Timestamp"]):
        problems.append(f"{subject}: field 'Timestamp' must be an RFC 3339 timestamp")
    for field in ("SecondsPath", "TimestampPath"):
        if field in body and not paths.is_value_path(body[field]):
            problems.append(f"{subject}: field '{field}' must be a reference path")


def _check_fail(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    for field in ("Error", "Cause"):
        if field in body and f"{field}Path" in body:
            problems.append(f"{subject}: field '{field}Path' cannot be used with '{field}'")
        if field in body and not isinstance(body[field], str):
            problems.append(f"{subject}: field '{field}' must be a string")
        path = body.get(f"{field}Path")
        if path is not None and not _is_path_or_intrinsic(path):
            problems.append(
                f"{subject}: field '{field}Path' must be a reference path or one of the "
                "intrinsic functions States.Format, JsonToString, ArrayGetItem, Base64Encode, "
                "Base64Decode, Hash, UUID"
            )


# The intrinsic functions AWS allows in a Fail state's ErrorPath and CausePath (they return
# a string).
_FAIL_INTRINSICS = frozenset(
    {"Format", "JsonToString", "ArrayGetItem", "Base64Encode", "Base64Decode", "Hash", "UUID"}
)


def _is_path_or_intrinsic(value: Any) -> bool:
    if isinstance(value, str) and value.startswith("States."):
        try:
            call = intrinsics.parse(value)
        except intrinsics.IntrinsicSyntaxError:
            return False
        return call.name in _FAIL_INTRINSICS
    return paths.is_value_path(value)


def _check_choice(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    choices = body.get("Choices")
    if not isinstance(choices, list) or not choices:
        problems.append(f"{subject}: field 'Choices' is required and must be a non-empty array")
        return
    for i, rule in enumerate(choices):
        where = f"Choices[{i}]"
        if not isinstance(rule, Mapping):
            problems.append(f"{subject}: field '{where}' must be an object")
            continue
        if not isinstance(rule.get("Next"), str):
            problems.append(f"{subject}: field '{where}.Next' is required in a top-level rule")
        _check_rule(rule, subject, where, problems, is_top=True)
    if "Default" in body and not isinstance(body["Default"], str):
        problems.append(f"{subject}: field 'Default' must be a state name")


def _check_rule(
    rule: Mapping[str, Any], subject: str, where: str, problems: list[str], *, is_top: bool
) -> None:
    if not is_top and "Next" in rule:
        problems.append(f"{subject}: field '{where}.Next' is only allowed in a top-level rule")
    combinators = [k for k in ("And", "Or", "Not") if k in rule]
    operators = [k for k in rule if k in ALL_OPERATORS]
    unknown = [
        k
        for k in rule
        if k not in ALL_OPERATORS | {"And", "Or", "Not", "Variable", "Next", "Comment", "Assign"}
    ]
    if "Assign" in rule:
        if is_top:
            _check_assign(rule["Assign"], subject, f"{where}.Assign", problems)
        else:
            problems.append(
                f"{subject}: field '{where}.Assign' is only allowed in a top-level rule"
            )
    for key in unknown:
        problems.append(f"{subject}: field '{where}.{key}' is not a Choice rule field")
    if len(combinators) + len(operators) != 1:
        problems.append(
            f"{subject}: field '{where}': a rule needs exactly one comparison operator or "
            "one of And, Or, Not"
        )
        return
    if combinators:
        kind = combinators[0]
        sub = rule[kind]
        if kind == "Not":
            if not isinstance(sub, Mapping):
                problems.append(f"{subject}: field '{where}.Not' must be an object")
            else:
                _check_rule(sub, subject, f"{where}.Not", problems, is_top=False)
            return
        if not isinstance(sub, list) or not sub:
            problems.append(f"{subject}: field '{where}.{kind}' must be a non-empty array")
            return
        for j, item in enumerate(sub):
            if not isinstance(item, Mapping):
                problems.append(f"{subject}: field '{where}.{kind}[{j}]' must be an object")
            else:
                _check_rule(item, subject, f"{where}.{kind}[{j}]", problems, is_top=False)
        return
    operator = operators[0]
    operand = rule[operator]
    variable = rule.get("Variable")
    if not isinstance(variable, str) or not _is_path(variable):
        problems.append(f"{subject}: field '{where}.Variable' is required and must be a path")
    elif not paths.is_condition_path(variable):
        problems.append(f"{subject}: field '{where}.Variable' {_NO_FUNCTION}")
    if operator in PATH_OPERATORS:
        if not _is_path(operand):
            problems.append(f"{subject}: field '{where}.{operator}' must be a path")
        elif not paths.is_condition_path(operand):
            problems.append(f"{subject}: field '{where}.{operator}' {_NO_FUNCTION}")
        return
    if operator.startswith("Is"):
        if not isinstance(operand, bool):
            problems.append(f"{subject}: field '{where}.{operator}' must be true or false")
        return
    kind = next(k for k in _OPERAND_TYPE if operator.startswith(k))
    valid = {
        "String": isinstance(operand, str),
        "Numeric": is_number(operand),
        "Boolean": isinstance(operand, bool),
        "Timestamp": is_timestamp(operand),
    }[kind]
    if not valid:
        problems.append(f"{subject}: field '{where}.{operator}' must be {_OPERAND_TYPE[kind]}")


def _check_parallel(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    branches = body.get("Branches")
    if not isinstance(branches, list) or not branches:
        problems.append(f"{subject}: field 'Branches' is required and must be a non-empty array")
        return
    for i, branch in enumerate(branches):
        where = f" (in '{subject[7:-1]}' Branches[{i}])"
        if not isinstance(branch, Mapping):
            problems.append(f"{subject}: field 'Branches[{i}]' must be an object")
            continue
        for key in branch:
            if key not in _BRANCH_LEVEL - {"ProcessorConfig"}:
                problems.append(f"{subject}: field 'Branches[{i}].{key}' is not allowed")
        _check_machine(branch, where, problems, seen, known_resources)


def _check_map(
    body: Mapping[str, Any],
    subject: str,
    problems: list[str],
    seen: dict[str, str],
    known_resources: Collection[str] | None,
) -> None:
    given = [f for f in ("ItemProcessor", "Iterator") if f in body]
    if len(given) != 1:
        problems.append(
            f"{subject}: field 'ItemProcessor': exactly one of ItemProcessor and "
            "Iterator is required"
        )
    if "ItemSelector" in body and "Parameters" in body:
        problems.append(f"{subject}: field 'ItemSelector' cannot be used with 'Parameters'")
    if "ItemsPath" in body and not paths.is_value_path(body["ItemsPath"]):
        problems.append(f"{subject}: field 'ItemsPath' must be a reference path")
    if "MaxConcurrency" in body and not _non_negative_int(body["MaxConcurrency"]):
        problems.append(f"{subject}: field 'MaxConcurrency' must be an integer >= 0")
    if "MaxConcurrency" in body and "MaxConcurrencyPath" in body:
        problems.append(
            f"{subject}: field 'MaxConcurrencyPath' cannot be used with 'MaxConcurrency'"
        )
    if "MaxConcurrencyPath" in body and not paths.is_value_path(body["MaxConcurrencyPath"]):
        problems.append(f"{subject}: field 'MaxConcurrencyPath' must be a reference path")
    for field in given:
        processor = body[field]
        if not isinstance(processor, Mapping):
            problems.append(f"{subject}: field '{field}' must be an object")
            continue
        for key in processor:
            if key not in _BRANCH_LEVEL:
                problems.append(f"{subject}: field '{field}.{key}' is not allowed")
        config = processor.get("ProcessorConfig", {})
        if isinstance(config, Mapping) and "ExecutionType" in config:
            problems.append(
                f"{subject}: field '{field}.ProcessorConfig.ExecutionType' is for a distributed "
                "Map, which is not supported"
            )
        if not isinstance(config, Mapping) or config.get("Mode", "INLINE") != "INLINE":
            problems.append(
                f"{subject}: field '{field}.ProcessorConfig.Mode' must be INLINE "
                "(distributed Map is not supported)"
            )
        _check_machine(
            processor, f" (in '{subject[7:-1]}' {field})", problems, seen, known_resources
        )


_TYPE_CHECKS = {
    "Pass": _check_pass,
    "Task": _check_task,
    "Choice": _check_choice,
    "Wait": _check_wait,
    "Succeed": _check_succeed,
    "Fail": _check_fail,
    "Parallel": _check_parallel,
    "Map": _check_map,
}

_PATH_FIELDS = (
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "SecondsPath",
    "TimestampPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "MaxConcurrencyPath",
    "ErrorPath",
    "CausePath",
)
_TEMPLATE_FIELDS = ("Parameters", "ResultSelector", "ItemSelector", "Assign")


def _assigned_names(states: Mapping[str, Any]) -> set[str]:
    """Every variable name some state of this scope (not an inner one) assigns."""
    names: set[str] = set()
    for body in states.values():
        blocks = [body.get("Assign")]
        blocks += [c.get("Assign") for c in body.get("Catch") or ()]
        blocks += [c.get("Assign") for c in body.get("Choices") or ()]
        for block in blocks:
            if isinstance(block, Mapping):
                names.update(key[:-2] if key.endswith(".$") else key for key in block)
    return names


def _rule_references(rule: Mapping[str, Any]) -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    for key, value in rule.items():
        if key in ("And", "Or"):
            for sub in value:
                found.extend(_rule_references(sub))
        elif key == "Not":
            found.extend(_rule_references(value))
        elif key == "Variable" or (key in PATH_OPERATORS):
            found.append((key, paths.expression_variables(value)))
        elif key == "Assign":
            found.append(("Assign", paths.variable_references(value)))
    return found


def _references(body: Mapping[str, Any]) -> list[tuple[str, set[str]]]:
    """(field, variable names read) for every field of a state that may read variables."""
    found = [(f, paths.variable_references(body[f])) for f in _TEMPLATE_FIELDS if f in body]
    found += [(f, paths.expression_variables(body[f])) for f in _PATH_FIELDS if f in body]
    for i, catcher in enumerate(body.get("Catch") or ()):
        found.append((f"Catch[{i}].Assign", paths.variable_references(catcher.get("Assign"))))
    for i, rule in enumerate(body.get("Choices") or ()):
        found += [(f"Choices[{i}].{f}", names) for f, names in _rule_references(rule)]
    return found


def _check_variables(
    machine: Mapping[str, Any], where: str, outer: frozenset[str], problems: list[str]
) -> None:
    """Reject references to variables that no state of this scope or an enclosing one assigns.

    The check is by name only: whether the assigning state runs before the reading one
    is a matter for the run (a States.Runtime error there).
    """
    states = machine["States"]
    visible = outer | _assigned_names(states)
    for name, body in states.items():
        subject = f"state '{name}'{where}"
        for field, names in _references(body):
            for variable in sorted(names - visible):
                problems.append(
                    f"{subject}: field '{field}' reads the variable '${variable}', which no "
                    "state of this scope or an enclosing one assigns"
                )
        for i, branch in enumerate(body.get("Branches") or ()):
            _check_variables(branch, f" (in '{name}' Branches[{i}])", visible, problems)
        for field in ("ItemProcessor", "Iterator"):
            if field in body:
                _check_variables(body[field], f" (in '{name}' {field})", visible, problems)
