"""Event ids of event datasets (``source.id``): each id is accepted once, on every backend.

An id item (``keys.event_id_pk``, sort key the id's text) is claimed with a conditional
create before the event's effects are written, and marked done after them, so that:

- a resent event whose id is done is a duplicate: not accepted again, nothing written;
- two requests carrying the same id at once: one claims it, the other's event is rejected
  with a reason to send it again (it is not lost, and not accepted twice);
- a batch that fails after claiming frees its claims; a process that dies after claiming
  leaves claims that expire after ``CLAIM_TTL`` and are then taken over by a resend, so a
  crash loses no event the client was told was accepted.

Done ids are kept for ``ID_TTL`` (DynamoDB's time to live reads ``expiresAt``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.store import keys
from catalogue.store.base import MAX_TRANSACTION_OPS, Create, Delete, Item, ItemStore, Put, Replace

ID_TTL = timedelta(hours=24)
CLAIM_TTL = timedelta(minutes=2)
ZERO = timedelta(0)
PENDING, DONE = "pending", "done"
BUSY = "an event with this id is being accepted by another request; send it again shortly"


@dataclass
class Claims:
    """What claiming a batch's ids found: claimed, duplicate and busy events by batch index."""

    claimed: dict[int, Item] = field(default_factory=dict)
    duplicates: list[int] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)


class EventIds:
    """The ids of accepted events of one store."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def claim(self, dataset: Mapping[str, Any], version: str, ids: Mapping[int, str]) -> Claims:
        """Claim each event's id (``{batch index: id}``, one index per id).

        New ids are claimed by conditional creates, a chunk per store round trip; an id
        already there is read, to tell a duplicate from one being accepted elsewhere.
        """
        pk = keys.event_id_pk(dataset["id"], dataset["incarnation"], version)
        expires = self._expiry(CLAIM_TTL)
        claims = Claims()
        indexes = list(ids)
        for start in range(0, len(indexes), MAX_TRANSACTION_OPS):
            chunk = {
                index: {
                    "pk": pk,
                    "sk": ids[index],
                    "kind": "event-id",
                    "state": PENDING,
                    "expiresAt": expires,
                }
                for index in indexes[start : start + MAX_TRANSACTION_OPS]
            }
            results = self.store.write_each([Create(item) for item in chunk.values()])
            for (index, item), error in zip(chunk.items(), results, strict=True):
                if error is None:
                    claims.claimed[index] = {**item, "rev": 1}
                else:
                    self._claim_one(index, item, claims)
        return claims

    def _claim_one(self, index: int, item: Item, claims: Claims) -> None:
        try:
            self.store.write(Create(item))
            claims.claimed[index] = {**item, "rev": 1}
            return
        except AlreadyExists:
            pass
        current = self.store.get(item["pk"], item["sk"])
        try:
            if current is None:  # gone since: claim it anew
                self.store.write(Create(item))
                claims.claimed[index] = {**item, "rev": 1}
            elif current["state"] == PENDING and current["expiresAt"] <= self._expiry(ZERO):
                # Its request died before finishing: this one takes the event over.
                self.store.write(Replace(item, rev=current["rev"]))
                claims.claimed[index] = {**item, "rev": current["rev"] + 1}
            elif current["state"] == DONE:
                claims.duplicates.append(index)
            else:
                claims.busy.append(index)
        except (AlreadyExists, PreconditionFailed):
            claims.busy.append(index)

    def finish(self, claims: Claims) -> None:
        """Mark the claimed ids done: their events' effects are written."""
        expires = self._expiry(ID_TTL)
        done = [
            {**_unrevised(item), "state": DONE, "expiresAt": expires}
            for item in claims.claimed.values()
        ]
        for start in range(0, len(done), MAX_TRANSACTION_OPS):
            self.store.write_each([Put(item) for item in done[start : start + MAX_TRANSACTION_OPS]])

    def release(self, claims: Claims) -> None:
        """Free the claimed ids of a batch that failed, so a resend is accepted."""
        for item in claims.claimed.values():
            with contextlib.suppress(NotFound, PreconditionFailed):
                self.store.write(Delete(item["pk"], item["sk"], rev=item["rev"]))

    def _expiry(self, ttl: timedelta) -> int:
        return int((self.clock() + ttl).timestamp())


def _unrevised(item: Item) -> Item:
    return {name: value for name, value in item.items() if name != "rev"}
