"""OpenLineage 2-0-2 run events of pipeline runs, made from the change events of the outbox.

A run is one OpenLineage run of the job ``<dataset>.<pipeline template>`` in the namespace
``BRYGGE_OPENLINEAGE_NAMESPACE``: START when it starts, COMPLETE, FAIL or ABORT when it
ends. Each Task state is a child run (job ``<dataset>.<template>.<state>``) with the
``parent`` facet: START when the step starts (``no.brygge.step.started``), COMPLETE or
FAIL when it ends (``no.brygge.step.finished``). Datasets are objects, named as
OpenLineage's naming spec names files: on S3 namespace ``s3://<bucket>`` and name the
object key; locally namespace ``file`` (the local file system: no host) and name the
file's absolute path. Each has a ``symlinks`` facet to the logical dataset
``brygge://<dataset>/<version>``.
Outputs carry ``schema`` (when the step recorded columns) and ``outputStatistics``;
``validate``'s input carries ``dataQualityMetrics``; a failure carries ``errorMessage``.

The JSON is written here rather than with ``openlineage-python``: that client and its
dependencies add about 18 MB to the steps package for what is a few dictionaries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue import __version__
from pipelines.object_keys import parse_object_key

SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = f"https://github.com/brygge/brygge/tree/v{__version__}"
FACETS = "https://openlineage.io/spec/facets"
FACET_SCHEMAS = {
    "parent": f"{FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet",
    "errorMessage": f"{FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
    "symlinks": f"{FACETS}/1-0-1/SymlinksDatasetFacet.json#/$defs/SymlinksDatasetFacet",
    "schema": f"{FACETS}/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
    "outputStatistics": f"{FACETS}/1-0-2/OutputStatisticsOutputDatasetFacet.json"
    "#/$defs/OutputStatisticsOutputDatasetFacet",
    "dataQualityMetrics": f"{FACETS}/1-0-3/DataQualityMetricsInputDatasetFacet.json"
    "#/$defs/DataQualityMetricsInputDatasetFacet",
}
# The run id namespace: OpenLineage run ids are UUIDs, Brygge's run ids are not.
_RUN_IDS = uuid.UUID("6f1b3a52-6c35-4a4e-9a53-2f0d6f2b7e11")
# Brygge's run event -> the OpenLineage eventType of the run.
RUN_EVENT_TYPES = {
    "no.brygge.run.started": "START",
    "no.brygge.run.succeeded": "COMPLETE",
    "no.brygge.run.failed": "FAIL",
    "no.brygge.run.expired": "FAIL",
    "no.brygge.run.aborted": "ABORT",
}
STEP_STARTED = "no.brygge.step.started"
STEP_FINISHED = "no.brygge.step.finished"
LINEAGE_TYPES = frozenset({*RUN_EVENT_TYPES, STEP_STARTED, STEP_FINISHED})


def has_lineage(cloudevent: Mapping[str, Any]) -> bool:
    """Whether a Brygge event makes OpenLineage events: a step's, or a run's that started.

    A run that ended without starting (its upload URL expired unused, or it was aborted
    while it waited) read nothing and wrote nothing. OpenLineage asks of each run one START
    and one COMPLETE, ABORT or FAIL; a lone end would break that, and a START made up at its
    end would name as input an object that never came: such a run is no OpenLineage run.
    """
    kind = cloudevent.get("type")
    if kind in RUN_EVENT_TYPES and RUN_EVENT_TYPES[kind] != "START":
        return bool((cloudevent.get("data") or {}).get("startedAt"))
    return kind in LINEAGE_TYPES


@dataclass(frozen=True, slots=True)
class ObjectNames:
    """How objects are named as OpenLineage datasets: the namespace of the store, and what
    comes before a key in a name (``s3://<bucket>`` and nothing; ``file`` and the absolute
    path of the local object directory, ending in ``/``)."""

    namespace: str
    root: str = ""


def run_uuid(run_id: str, step: str | None = None, *, redrives: int = 0) -> str:
    """The OpenLineage run id of a Brygge run (or of one of its Task states), stable.

    A redrive is a new OpenLineage run (``redrives``: the how-manieth): COMPLETE, FAIL and
    ABORT end a run for good in OpenLineage's run cycle, so the redriven run's START cannot
    reuse the failed one's id, nor can a step it runs again.
    """
    name = run_id if not redrives else f"{run_id}#redrive-{redrives}"
    if step is not None:
        name = f"{name}/{step}"
    return str(uuid.uuid5(_RUN_IDS, name))


def _facet(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMAS[name], **body}


def job_name(run: Mapping[str, Any]) -> str:
    pipeline = run.get("pipeline") or {}
    return f"{run['dataset']}.{pipeline.get('template') or 'publish'}"


def dataset(
    objects: ObjectNames,
    key: str,
    run: Mapping[str, Any],
    facets: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An object as an OpenLineage dataset, linked to its logical dataset."""
    logical = {
        "namespace": "brygge",
        "name": f"brygge://{run['dataset']}/{run['version']}",
        "type": "DATASET",
    }
    return {
        "namespace": objects.namespace,
        "name": objects.root + key,
        "facets": {"symlinks": _facet("symlinks", {"identifiers": [logical]}), **(facets or {})},
    }


def _event(
    event_type: str,
    time: str,
    run_id: str,
    job: Mapping[str, str],
    *,
    run_facets: Mapping[str, Any] | None = None,
    inputs: Sequence[Mapping[str, Any]] = (),
    outputs: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": time,
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": dict(run_facets or {})},
        "job": {"namespace": job["namespace"], "name": job["name"], "facets": {}},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def _error_facet(error: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``errorMessage`` facet of a run's or step's ``{error, cause}``.

    A run's cause is what the failed Task reported, a Lambda error as JSON
    (``{"errorMessage", "errorType", "stackTrace"}``), as Step Functions gives it: the
    facet takes its message and stack trace, not the JSON.
    """
    if not error:
        return {}
    cause = error.get("cause") or ""
    body: dict[str, Any] = {}
    reported = _lambda_error(cause)
    if reported is not None:
        cause = reported["errorMessage"]
        trace = reported.get("stackTrace")
        if isinstance(trace, list) and trace:
            body["stackTrace"] = "".join(str(line) for line in trace)
        elif isinstance(trace, str) and trace:
            body["stackTrace"] = trace
    message = f"{error.get('error', 'Error')}: {cause}".rstrip(": ")
    return {
        "errorMessage": _facet(
            "errorMessage", {"message": message, "programmingLanguage": "python", **body}
        )
    }


def _lambda_error(cause: str) -> dict[str, Any] | None:
    """The Lambda error object a cause holds as JSON; None for a plain text cause."""
    if not cause.startswith("{"):
        return None
    try:
        reported = json.loads(cause)
    except ValueError:
        return None
    if not isinstance(reported, dict) or not isinstance(reported.get("errorMessage"), str):
        return None
    return reported


def run_events(
    cloudevent: Mapping[str, Any],
    run: Mapping[str, Any],
    *,
    namespace: str,
    objects: ObjectNames,
    previews: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The OpenLineage events telling of one Brygge run event (``run``: with its steps).

    ``namespace`` is the jobs' namespace, ``objects`` how the datasets are named.
    ``previews`` are the previews of the distributions the step published, by the key of
    the object it wrote (``table_preview``): publish writes one object per input, in
    order, and the input it copied carries the preview's figures as
    ``dataQualityMetrics``.
    """
    if not has_lineage(cloudevent):
        return []
    job = {"namespace": namespace, "name": job_name(run)}
    kind = cloudevent["type"]
    # The attempt the event is of, as the event says (the run may have been redriven since).
    redrives = int(cloudevent["data"].get("redrives") or 0)
    parent_id = run_uuid(run["id"], redrives=redrives)
    if kind in RUN_EVENT_TYPES:
        event_type = RUN_EVENT_TYPES[kind]
        started = event_type == "START"
        inputs = [dataset(objects, key, run) for key in run_input_keys(run)]
        outputs = [] if started else output_keys(run)
        if run.get("pipeline") is None and event_type == "COMPLETE":
            # A run without a pipeline publishes its objects as they are.
            outputs = [str(parse_object_key(key).published()) for key in run_input_keys(run)]
        return [
            _event(
                event_type,
                cloudevent["time"],
                parent_id,
                job,
                run_facets={} if started else _error_facet(run.get("error")),
                inputs=inputs if started else [],
                outputs=[dataset(objects, key, run) for key in outputs or []],
            )
        ]
    if kind not in (STEP_STARTED, STEP_FINISHED):
        return []
    data = cloudevent["data"]
    step_name = data["name"]
    steps = list(run.get("steps") or [])
    index = next((i for i, step in enumerate(steps) if step["name"] == step_name), None)
    step = steps[index] if index is not None else {"name": step_name, "outputs": []}
    # A Task's input is what the Task before it wrote, the run's input for the first one.
    if index:
        input_keys = [output["key"] for output in steps[index - 1].get("outputs", [])]
    else:
        input_keys = list((run.get("input") or {}).get("keys", []))
    child_job = {"namespace": namespace, "name": f"{job['name']}.{step_name}"}
    parent = _facet("parent", {"run": {"runId": parent_id}, "job": dict(job)})
    child = run_uuid(run["id"], step_name, redrives=redrives)
    if kind == STEP_STARTED:
        return [
            _event(
                "START",
                cloudevent["time"],
                child,
                child_job,
                run_facets={"parent": parent},
                inputs=[dataset(objects, key, run) for key in input_keys],
            )
        ]
    summary = data.get("summary") or {}
    input_facets: dict[str, Any] = {}
    if "byRule" in summary and "rows" in summary:
        # validate: the rows it read and those it rejected, by rule.
        input_facets = {
            "dataQualityMetrics": _facet(
                "dataQualityMetrics",
                {"rowCount": int(summary["rows"]), "columnMetrics": {}},
            )
        }
    written = list(step.get("outputs", []))
    outputs = [
        dataset(objects, output["key"], run, _output_facets(output, summary)) for output in written
    ]
    inputs = [dataset(objects, key, run, input_facets) for key in input_keys]
    for index, output in enumerate(written[: len(inputs)]):
        preview = (previews or {}).get(output["key"])
        if preview:
            inputs[index]["facets"]["dataQualityMetrics"] = _facet(
                "dataQualityMetrics",
                {
                    "rowCount": int(preview.get("rowCount") or 0),
                    "columnMetrics": column_metrics(preview),
                },
            )
    ended = "COMPLETE" if data.get("status") == "SUCCEEDED" else "FAIL"
    return [
        _event(
            ended,
            cloudevent["time"],
            child,
            child_job,
            run_facets={"parent": parent, **_error_facet(data.get("error"))},
            inputs=inputs,
            outputs=outputs,
        )
    ]


def run_input_keys(run: Mapping[str, Any]) -> list[str]:
    """The keys of the objects a run was started over."""
    return list((run.get("input") or {}).get("keys", []))


def output_keys(run: Mapping[str, Any]) -> list[str]:
    """The keys a run's last step handed on: its output's ``input.keys``, the step
    contract's shape (a run without a pipeline ends with its upload's keys: none here)."""
    output = run.get("output")
    handed_on = output.get("input") if isinstance(output, Mapping) else None
    keys = handed_on.get("keys") if isinstance(handed_on, Mapping) else None
    if not isinstance(keys, list):
        return []
    return [key for key in keys if isinstance(key, str)]


def column_metrics(preview: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``columnMetrics`` of a DataQualityMetrics facet from a distribution's preview.

    Per column: ``count`` (values), ``nullCount``, ``distinctCount`` (estimated above
    ``EXACT_DISTINCT_ROWS`` rows, as the preview says) and, for numeric columns, ``min``
    and ``max``: the facet's min and max are numbers, so text and dates leave them out.
    """
    rows = int(preview.get("rowCount") or 0)
    metrics: dict[str, dict[str, Any]] = {}
    for column, statistics in (preview.get("statistics") or {}).items():
        found: dict[str, Any] = {}
        values = statistics.get("nonNull")
        if isinstance(values, int):
            found.update(count=values, nullCount=rows - values)
        if isinstance(statistics.get("distinct"), int):
            found["distinctCount"] = statistics["distinct"]
        for name in ("min", "max"):
            value = statistics.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool):
                found[name] = value
        metrics[str(column)] = found
    return metrics


def _output_facets(output: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    statistics: dict[str, Any] = {"size": int(output.get("bytes") or 0), "fileCount": 1}
    if output.get("rows") is not None:
        statistics["rowCount"] = int(output["rows"])
    facets = {"outputStatistics": _facet("outputStatistics", statistics)}
    columns = _columns(output, summary)
    if columns:
        facets["schema"] = _facet(
            "schema",
            {
                "fields": [
                    {"name": name, "type": kind, "ordinal_position": number}
                    for number, (name, kind) in enumerate(columns, start=1)
                ]
            },
        )
    return facets


def _columns(output: Mapping[str, Any], summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The columns a step says it wrote: a ``schema`` on the output, or inferred types."""
    schema = output.get("schema")
    if isinstance(schema, Mapping) and isinstance(schema.get("fields"), list):
        return [(str(f.get("name")), str(f.get("type", "string"))) for f in schema["fields"]]
    inferred = summary.get("inferredTypes")
    if isinstance(inferred, Mapping) and len(inferred) == 1:
        (types,) = inferred.values()
        if isinstance(types, Mapping):
            return [(str(name), str(kind)) for name, kind in types.items()]
    return []
