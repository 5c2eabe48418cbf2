"""Change events: CloudEvents 1.0 envelopes of the catalogue's changes, as plain values.

Every event type is ``no.brygge.<resource>.<action>`` (one reverse-DNS prefix, kept for
good); ``subject`` is the resource's API path; ``data`` is the resource's JSON after a
create, its changed fields (``{field: {before, after}}``) after an update and its last
JSON before a delete.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

SPEC_VERSION = "1.0"
TYPE_PREFIX = "no.brygge."
DATA_CONTENT_TYPE = "application/json"

# What each resource's create, update and delete are called: a distribution in Brygge is a
# published file, so its create publishes it and its delete withdraws it.
ACTIONS: Mapping[str, Mapping[str, str]] = {
    "dataset": {"create": "created", "update": "updated", "delete": "deleted"},
    "version": {"create": "created", "update": "updated", "delete": "deleted"},
    "edition": {"create": "created", "update": "updated", "delete": "deleted"},
    "distribution": {"create": "published", "update": "updated", "delete": "withdrawn"},
    "permissions": {"grant": "changed", "revoke": "changed"},
    "pipeline-template": {"create": "created", "update": "updated", "delete": "deleted"},
}
# A run's status -> its event's action; the other statuses make no event.
RUN_ACTIONS: Mapping[str, str] = {
    "RUNNING": "started",
    "SUCCEEDED": "succeeded",
    "FAILED": "failed",
    "EXPIRED": "expired",
    "ABORTED": "aborted",
}
STEP_STARTED = "no.brygge.step.started"
STEP_FINISHED = "no.brygge.step.finished"

EVENT_TYPES = tuple(
    sorted(
        {
            f"{TYPE_PREFIX}{kind}.{action}"
            for kind, names in ACTIONS.items()
            for action in names.values()
        }
        | {f"{TYPE_PREFIX}run.{action}" for action in RUN_ACTIONS.values()}
        | {STEP_STARTED, STEP_FINISHED}
    )
)


def event_type(kind: str, action: str) -> str:
    """The type of a change: ``event_type("distribution", "create")`` is ``...published``.

    Raises KeyError for a change that has no event.
    """
    return f"{TYPE_PREFIX}{kind}.{ACTIONS[kind][action]}"


def event_time(now: datetime) -> str:
    """RFC 3339 UTC time with microseconds (events of one second keep their order)."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(
    *,
    event_id: str,
    source: str,
    type_: str,
    subject: str,
    data: Mapping[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """A CloudEvents 1.0 event in its JSON format (structured mode)."""
    return {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "source": source,
        "type": type_,
        "subject": subject,
        "time": event_time(now),
        "datacontenttype": DATA_CONTENT_TYPE,
        "data": dict(data),
    }
