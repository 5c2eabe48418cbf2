"""The checks a pipeline passes before it is saved: its Tasks name steps, its options fit them.

A template's definition must be valid Amazon States Language whose Task states each name a
step (``GET /steps`` lists them). A dataset pipeline's ``taskConfig`` may name only Task
states of its template, and each Task state's options must fit its step's options schema.
Every problem is reported at once; ``InvalidValues.errors`` nests them as

    {"template": ["state 'X': field 'Resource': ..."],
     "taskConfig": {"<state>": {"<option path>": ["<reason>", ...]}}}

where an option path is ``delimiter`` or ``schema.fields[1].type``, and ``_schema`` stands
for the state's options object as a whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from catalogue.domain.errors import InvalidValue, InvalidValues

# Every run copies its dataset's taskConfig into its own item, and a change of it keeps the
# old and the new one in its audit entry: each a store item of at most 400 KB. Step
# Functions hands the taskConfig to every state, whose payload holds 256 KiB. A template's
# definition has the same bound, for the same items.
MAX_TASK_CONFIG_BYTES = 128 * 1024


def check_task_config(template: Mapping[str, Any], task_config: Mapping[str, Any] | None) -> None:
    """Raise InvalidValues naming every problem of ``task_config`` for ``template``.

    ``task_config`` None checks the template alone: its options come with each dataset's
    pipeline, so the options its steps require are not yet missing.

    ``template`` is a stored template (``id``, ``definition``); one saved before steps were
    checked may name steps that do not exist, which is a problem of ``template``. Raises
    InvalidValue(taskConfig) for one over MAX_TASK_CONFIG_BYTES.
    """
    check_json_size(
        "taskConfig", task_config, MAX_TASK_CONFIG_BYTES, "a dataset pipeline's taskConfig"
    )
    # Imported here: the step catalogue loads every step module, which only saving needs.
    from pipelines.runs.steps import WHOLE_OBJECT, task_config_problems, unknown_step_problems

    errors: dict[str, Any] = {}
    unknown = unknown_step_problems(template["definition"])
    if unknown:
        errors["template"] = [f"template {template.get('id')!r}: {text}" for text in unknown]
    options = (
        {} if task_config is None else task_config_problems(template["definition"], task_config)
    )
    if options:
        errors["taskConfig"] = options
    if not errors:
        return
    lines = list(errors.get("template", []))
    for state, paths in options.items():
        for path, reasons in paths.items():
            where = state if path == WHOLE_OBJECT else f"{state}.{path}"
            lines.extend(f"taskConfig.{where}: {reason}" for reason in reasons)
    count = f"{len(lines)} problem{'s' if len(lines) > 1 else ''}"
    raise InvalidValues(f"the pipeline has {count}: {'; '.join(lines)}", errors)


def check_json_size(field: str, value: Any, limit: int, what: str) -> None:
    """Raise InvalidValue(field) when ``value`` is more than ``limit`` bytes of compact JSON."""
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limit:
        raise InvalidValue(
            field, f"is {size:,} bytes of JSON; {what} may have at most {limit:,} bytes"
        )
