"""AWS mode: the table's stream hands each new event to the steps function, which delivers.

The Lambda entries are ``catalogue.lambdas.change_events`` and ``webhook_retries``.

The stream's mapping (``deploy/brygge.yaml``, ``EventStreamMapping``) passes only inserts of
event items; the handler checks again, so a mapping without the filter costs only calls.
Each record is fanned out like the local worker does and the deliveries due are sent at
once; ``retry_due`` (a scheduled Zappa job) sends retries and fans out any event whose
stream record was lost. A failed invocation is retried by Lambda with the same records:
fan-out is idempotent and receivers skip a ``webhook-id`` they have seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from catalogue.events.delivery import (
    CLAIM,
    HttpSender,
    dispatch,
    dispatch_events,
    lineage_target,
    send_claimed,
    send_due,
)
from catalogue.repositories.change_events import is_event
from catalogue.repositories.subscriptions import SubscriptionRepository

if TYPE_CHECKING:
    from catalogue.services import Services


def stream_events(event: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The event items inserted by the stream records of one invocation."""
    from catalogue.store.dynamodb_codec import from_dynamodb

    found = []
    for record in event.get("Records", []):
        image = record.get("dynamodb", {}).get("NewImage")
        if record.get("eventName") != "INSERT" or not image:
            continue
        item = from_dynamodb(image)
        if is_event(item):
            found.append(item)
    return found


def handle_stream(services: Services, event: Mapping[str, Any]) -> dict[str, int]:
    """Fan out the stream's new events and send every delivery due now."""
    items = stream_events(event)
    admins = services.settings.site_admins
    subscriptions = SubscriptionRepository(services.store, services.clock, admins)
    active = subscriptions.active() if items else []
    lineage = lineage_target(services.settings)
    sender = HttpSender(allow_private=services.settings.webhook_allow_private)
    claim_until = services.clock() + CLAIM
    added, claimed = dispatch_events(subscriptions, items, active, lineage, claim_until=claim_until)
    send_claimed(subscriptions, claimed, sender, lineage)
    sent = send_due(services.store, services.clock, sender, lineage=lineage, admins=admins)
    return {"events": len(items), "deliveries": added, "attempted": len(claimed) + sent}


def retry_due(services: Services) -> dict[str, int]:
    """The scheduled job: fan out events whose stream record was lost, send due retries."""
    lineage = lineage_target(services.settings)
    admins = services.settings.site_admins
    fanned = dispatch(services.store, services.clock, lineage=lineage, admins=admins)
    sender = HttpSender(allow_private=services.settings.webhook_allow_private)
    attempted = send_due(services.store, services.clock, sender, lineage=lineage, admins=admins)
    return {"events": fanned, "attempted": attempted}
