"""The steps function's event handlers that act through the application's services.

Zappa routes S3 notifications and scheduled events of the ``steps`` stage here
(``zappa_settings.json``). Each Lambda container builds its Services once, from the
environment, on the first event.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from catalogue.events.stream import handle_stream, retry_due
from catalogue.runs.arrival import handle_s3_event
from catalogue.runs.status import handle_status_change
from catalogue.runs.sweep import sweep
from catalogue.services import Services
from catalogue.settings import Settings


@functools.cache
def lambda_services() -> Services:
    """The Services of this Lambda container, built on the first event."""
    return Services(Settings.from_env())


def object_created(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """S3 notifications of new objects (``s3:ObjectCreated:*`` under ``raw/``) start runs.

    An EventBridge event comes as a command, the event under ``event`` (steps_function).
    """
    services = lambda_services()
    inner = event.get("event")
    notification = inner if isinstance(inner, Mapping) else event
    results = handle_s3_event(notification, services, bucket=services.settings.data_bucket)
    return {"results": [result.as_dict() for result in results]}


def sweep_stale_uploads(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The scheduled sweep: expire stale uploads' runs, remove what they left."""
    return sweep(lambda_services()).as_dict()


def execution_status_changed(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """A Step Functions execution ended: its run records how (EventBridge rule's command)."""
    return handle_status_change(event, lambda_services().runs).as_dict()


def reconcile_runs(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The scheduled reconcile: RUNNING runs catch up with executions whose event was missed."""
    return lambda_services().runs.reconcile()


def change_events(event: Mapping[str, Any], context: object) -> dict[str, int]:
    """The table's stream of new change events: fan out to subscriptions and deliver."""
    return handle_stream(lambda_services(), event)


def webhook_retries(event: Mapping[str, Any], context: object) -> dict[str, int]:
    """The scheduled job sending webhook retries (and events the stream missed)."""
    return retry_due(lambda_services())


def publish_open_data(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    """The scheduled publishing job: publish, log a summary line and return the report."""
    from catalogue.dcat.open_data import run_publishing

    report = run_publishing(Settings.from_env()).as_dict()
    print(
        json.dumps(
            {
                "published": len(report["published"]),
                "withdrawn": len(report["withdrawn"]),
                "unchanged": len(report["unchanged"]),
                "skipped": [entry["dataset"] for entry in report["skipped"]],
                "reasons": report["reasons"],
            }
        )
    )
    return report
