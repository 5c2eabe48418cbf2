"""The delivery worker of ``brygge serve``: fan-out and sends in one daemon thread.

Its whole state is in the store (outbox markers, deliveries), so a restart goes on where
the last process stopped.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from catalogue.events.delivery import HttpSender, Sender, dispatch, lineage_target, send_due

if TYPE_CHECKING:
    from catalogue.services import Services

log = logging.getLogger(__name__)

# How often the worker looks for new events when idle: the bound of commit-to-delivery lag.
POLL_S = 0.1


def run_once(services: Services, sender: Sender) -> int:
    """Fan out what the outbox holds (sending the new deliveries at once), then send what
    is due; how much work it did."""
    lineage = lineage_target(services.settings)
    admins = services.settings.site_admins
    work = dispatch(services.store, services.clock, lineage=lineage, sender=sender, admins=admins)
    return work + send_due(services.store, services.clock, sender, lineage=lineage, admins=admins)


def start_delivery_worker(services: Services, sender: Sender | None = None) -> threading.Event:
    """Deliver in a daemon thread until the returned event is set."""
    sender = sender or HttpSender(allow_private=services.settings.webhook_allow_private)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                busy = run_once(services, sender)
            except Exception:
                # The next round tries again; a store hiccup must not end the thread.
                log.exception("webhook delivery failed")
                busy = 0
            if not busy:
                stop.wait(POLL_S)

    threading.Thread(target=loop, name="brygge-webhooks", daemon=True).start()
    return stop
