"""A server's checkpoints of the SQLite write-ahead log, taken out of its requests.

By default SQLite checkpoints in the commit that takes the WAL past 1,000 pages: that commit
copies the pages back into the database and fsyncs both files before it returns, so every
few dozen writes one request waits for the disk. Measured on a batch of events moving a
hundred latest values, a third of a batch's median time went there. A server instead
checkpoints from a background thread (``PASSIVE``: it waits for no reader and no writer),
and its commits checkpoint only past ``SERVER_AUTOCHECKPOINT_PAGES``, should the thread fall
that far behind. Commands and tests keep SQLite's default.
"""

from __future__ import annotations

import logging
import threading

from catalogue.store.base import ItemStore
from catalogue.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL_S = 0.5
# 64 MiB of 4 KiB pages: a backstop, never reached while the thread keeps up.
SERVER_AUTOCHECKPOINT_PAGES = 16_384


def start_checkpoints(
    store: ItemStore, interval_s: float = CHECKPOINT_INTERVAL_S
) -> threading.Event | None:
    """Checkpoint a SQLite store's WAL every ``interval_s`` in a daemon thread.

    Returns the event that stops it; None for a store without a WAL (DynamoDB).
    """
    if not isinstance(store, SqliteStore):
        return None
    store.set_autocheckpoint(SERVER_AUTOCHECKPOINT_PAGES)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval_s):
            try:
                store.checkpoint()
            except Exception:
                # The next round tries again; meanwhile the commits' backstop holds.
                log.exception("checkpointing the SQLite WAL failed")

    threading.Thread(target=loop, name="brygge-wal-checkpoints", daemon=True).start()
    return stop
