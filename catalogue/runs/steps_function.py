"""The steps function's Lambda entry point: Zappa's handler, run in the steps' environment.

The steps function runs what Step Functions invokes (``{"command":
"pipelines.steps.<name>.handler", ...}``), the S3 trigger and the scheduled jobs, all routed
by Zappa's handler. A step learns its object store, recorder and limits from its runner; on
Lambda this entry point is the runner: it builds them once per container from the stage's
settings (the store opens on the first record) and sets them around each invocation.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from catalogue.object_stores import object_store
from catalogue.runs.recorder import store_recorder
from pipelines.s3_events import TEST_EVENT
from pipelines.steps.runtime import use_environment, use_limits

if TYPE_CHECKING:
    from pipelines.objects import ObjectStore
    from pipelines.steps.contract import StepLimits, StepRecorder

log = logging.getLogger(__name__)


# EventBridge events Zappa's handler does not route (it knows only "Scheduled Event"): sent
# to the function by a rule without an input transformer, they become the direct command
# the deployment's own rules send (deploy/brygge.yaml), the event under "event".
EVENTBRIDGE_COMMANDS = {
    ("aws.s3", "Object Created"): "catalogue.lambdas.object_created",
    ("aws.states", "Step Functions Execution Status Change"): (
        "catalogue.lambdas.execution_status_changed"
    ),
}
# The table's stream records: Zappa routes records by their source's ARN, but a stream's ARN
# ends in the time it was made, which the settings file cannot know before the stack exists.
STREAM_COMMAND = "catalogue.lambdas.change_events"
# What Zappa's handler routes on; an event with none of these it drops without a word.
ZAPPA_ROUTED_KEYS = frozenset(
    {"command", "raw_command", "manage", "Records", "bot", "triggerSource", "awslogs"}
)


def handler(event: Any, context: Any) -> Any:
    """Lambda entry (the steps stage's ``lambda_handler``): Zappa's routing, steps' environment.

    An event nothing handles (S3's ``s3:TestEvent``, an EventBridge event of no route) is
    logged and answered with None, as Zappa would answer it, but not silently.
    """
    from zappa.handler import LambdaHandler

    # The first instance loads the stage's settings file into os.environ, where the
    # environment below reads them; later ones are the same instance.
    LambdaHandler()
    if not isinstance(event, dict):
        # A direct invoke may carry any JSON; Zappa's routing reads keys of an object.
        log.warning("the steps function has no handler for a JSON %s", type(event).__name__)
        return None
    if event.get("Records") == []:
        log.warning("ignoring an event with no records")
        return None
    command = EVENTBRIDGE_COMMANDS.get((event.get("source"), event.get("detail-type")))
    if command is not None:
        event = {"command": command, "event": event}
    elif _is_catalogue_stream(event):
        event = {**event, "command": STREAM_COMMAND}
    elif not _is_routed_by_zappa(event):
        if event.get("Event") == TEST_EVENT:
            # Expected: S3 sends one when a notification is configured; nothing to act on.
            log.info("ignoring s3:TestEvent for bucket %s", event.get("Bucket"))
        else:
            log.warning(
                "the steps function has no handler for this event: source %s, detail-type %s,"
                " keys %s",
                event.get("source"),
                event.get("detail-type"),
                sorted(event)[:8],
            )
        return None
    with step_environment():
        return LambdaHandler.lambda_handler(event, context)


def _is_catalogue_stream(event: dict[str, Any]) -> bool:
    """Whether ``event`` is a batch of the catalogue table's stream, whatever its label."""
    records = event.get("Records")
    if not isinstance(records, list) or not records or not isinstance(records[0], dict):
        return False
    first = records[0]
    if first.get("eventSource") != "aws:dynamodb":
        return False
    from catalogue.settings import Settings

    table = Settings.from_env().dynamodb_table
    return f":table/{table}/stream/" in str(first.get("eventSourceARN", ""))


def _is_routed_by_zappa(event: dict[str, Any]) -> bool:
    return (
        not ZAPPA_ROUTED_KEYS.isdisjoint(event)
        or event.get("detail-type") == "Scheduled Event"
        or event.get("version") == "2.0"
        or "httpMethod" in event
        or event.get("type") == "TOKEN"
        or "eventType" in (event.get("requestContext") or {})
    )


@contextmanager
def step_environment() -> Iterator[None]:
    """Run steps in this context with the object store, recorder and limits of the settings."""
    objects, recorder, limits = _environment_from_settings()
    with use_environment(objects, recorder), use_limits(limits):
        yield


@functools.cache
def _environment_from_settings() -> tuple[ObjectStore, StepRecorder, StepLimits]:
    # Read on the first invocation, never at import: the settings come from the environment.
    from catalogue.settings import Settings

    settings = Settings.from_env()
    return object_store(settings), store_recorder(settings), settings.step_limits
