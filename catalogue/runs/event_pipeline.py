"""The pipeline of an event dataset that has none of its own: json_to_parquet → publish.

Decided here: such a dataset is given no stored pipeline. Each run of one of its batch
windows pins the built-in template ``events-to-parquet`` (made by the first such run) with a
``taskConfig`` made from the event schema the window's events were accepted under (a window
holds the events of one schema: a change of schema closes it), or, when the window does not
say, the dataset's source at that moment. A pipeline set on the dataset
(``PUT /datasets/{id}/pipeline``) replaces it, as it does for files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from catalogue.domain.errors import AlreadyExists, NotFound
from catalogue.domain.events import is_event_source

if TYPE_CHECKING:
    from catalogue.repositories.pipeline_templates import PipelineRepository

TEMPLATE_ID = "events-to-parquet"
SYSTEM_PRINCIPAL = "service:events"
DEFINITION: dict[str, Any] = {
    "Comment": "The history of an event dataset: JSON Lines to Parquet, then published.",
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {
            "Type": "Task",
            "Resource": "brygge:step:json_to_parquet",
            "Next": "Publish",
        },
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}


def default_event_pipeline(
    pipelines: PipelineRepository,
    dataset: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """``{template, version, taskConfig}`` for an event dataset; None for a file dataset.

    ``schema`` (a ``history_schema``) types the Parquet; without it, the dataset's source
    does. Makes the template on first use (owned by no team: site admins may change it).
    """
    if not is_event_source(dataset):
        return None
    try:
        template = pipelines.get(TEMPLATE_ID)
    except NotFound:
        data = {
            "id": TEMPLATE_ID,
            "title": "Events to Parquet",
            "description": "The default pipeline of event datasets.",
            "definition": DEFINITION,
        }
        try:
            template = pipelines.create(data, owner=None, principal=SYSTEM_PRINCIPAL)
        except AlreadyExists:
            template = pipelines.get(TEMPLATE_ID)
    return {
        "template": template["id"],
        "version": template["version"],
        "taskConfig": {"ToParquet": {"schema": dict(schema or history_schema(dataset["source"]))}},
    }


def event_task_config(source: Mapping[str, Any]) -> dict[str, Any]:
    """The template's taskConfig for a source: its event schema types the Parquet."""
    return {"ToParquet": {"schema": history_schema(source)}}


def history_schema(source: Mapping[str, Any]) -> dict[str, Any]:
    """The Table Schema json_to_parquet reads a source's events with: its fields' names and
    types (constraints were checked when the events were accepted) and missing values."""
    schema = source["schema"]
    fields = [
        {name: value for name, value in field.items() if name != "constraints"}
        for field in schema["fields"]
    ]
    return {"fields": fields, "missingValues": list(schema.get("missingValues", [""]))}


def schema_text(schema: Mapping[str, Any]) -> str:
    """A history schema as canonical JSON: the same schema, the same text."""
    return json.dumps(schema, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def schema_digest(schema: Mapping[str, Any]) -> str:
    """The short name of a history schema that windows keep it by (both modes)."""
    return hashlib.sha256(schema_text(schema).encode()).hexdigest()[:16]
