"""Events of event datasets over any ItemStore: ingest, rejects, latest values, idempotency.

Item layout: ``catalogue.store.keys`` (latest value, reject, idempotency key).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from catalogue.domain import events as rules
from catalogue.domain.enrichment import LookupTable, enrich_event
from catalogue.domain.errors import AlreadyExists, Conflict, NotFound, PreconditionFailed
from catalogue.domain.numbers import first_unstored_number
from catalogue.store import keys
from catalogue.store.base import (
    MAX_TRANSACTION_OPS,
    Create,
    Delete,
    Item,
    ItemStore,
    Page,
    PutNewer,
    Query,
    Replace,
)
from catalogue.store.operations import holds_empty_key

from .event_ids import BUSY, Claims, EventIds
from .records import CHUNK_OPS

# The lookup table of an enriched event dataset (``catalogue.enrichment``).
Lookup = Callable[[Mapping[str, Any]], LookupTable]
# A batch's answer is kept this long for a resend with the same Idempotency-Key.
IDEMPOTENCY_TTL = timedelta(hours=24)
# A claimed key whose batch never finished (the process died) is free again after this.
CLAIM_TTL = timedelta(minutes=2)


# (dataset, version, accepted events): hands them to the history of the dataset.
OnAccepted = Callable[[Mapping[str, Any], str, Sequence[Mapping[str, Any]]], None]


def body_digest(events: Sequence[Any]) -> str:
    """A digest of a batch, so a key reused for another batch is told apart from a resend."""
    text = json.dumps(events, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class EventRepository:
    """Events posted to one version of an event dataset."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self.ids = EventIds(store, clock)
        # The history of event datasets: gets each batch's accepted events, and has them
        # on disk (local) or in the delivery stream (aws) when it returns.
        self.on_accepted: OnAccepted | None = None

    def ingest(
        self,
        dataset: Mapping[str, Any],
        version: str,
        events: Sequence[Any],
        *,
        principal: str,
        idempotency_key: str | None = None,
        lookup: Lookup | None = None,
    ) -> dict[str, Any]:
        """Check and enrich every event; keep the rejects; move each series' latest value forwards.

        Returns ``{accepted, rejected: [{index, errors}]}``. With an ``idempotency_key``
        the first answer is kept: a resend of the same batch gets it back and writes
        nothing; the key reused for another batch, or resent while its batch is still
        being written, is Conflict. A source with ``enrich`` needs ``lookup``, which gives
        the dataset's lookup table (read once per batch) or raises Conflict, and then
        nothing is written.
        """
        if not rules.is_event_source(dataset):
            raise Conflict(
                f"dataset {dataset['id']!r} takes files, not events (its source type is file)",
                field="source",
            )
        claim = None
        if idempotency_key is not None:
            claim = self._claim(dataset, version, idempotency_key, body_digest(list(events)))
            if "answer" in claim:
                return claim["answer"]  # type: ignore[no-any-return]
        try:
            answer = self._ingest(dataset, version, events, principal, lookup)
        except BaseException:
            if claim is not None:
                # The batch may be sent again with its key: free it.
                self.store.write(Delete(claim["pk"], claim["sk"], rev=claim["rev"]))
            raise
        if claim is not None:
            done = {name: value for name, value in claim.items() if name != "rev"}
            done.update(answer=answer, expiresAt=self._expiry(IDEMPOTENCY_TTL))
            self.store.write(Replace(done, rev=claim["rev"]))
        return answer

    def _ingest(
        self,
        dataset: Mapping[str, Any],
        version: str,
        events: Sequence[Any],
        principal: str,
        lookup: Lookup | None,
    ) -> dict[str, Any]:
        source = dataset["source"]
        enrich = source.get("enrich")
        table = None
        if enrich is not None:
            if lookup is None:
                raise ValueError("an enriched source needs its lookup table")
            table = lookup(dataset)
        now = self.clock().astimezone(UTC)
        received = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        batch = secrets.token_hex(6)
        rejected: dict[int, dict[str, Any]] = {}
        accepted: dict[int, dict[str, Any]] = {}
        check = rules.event_checker(source)
        for index, event in enumerate(events):
            values, errors = check(event)
            if table is not None and not errors:
                values, errors = enrich_event(enrich, table, values)
            if errors:
                rejected[index] = errors
            else:
                accepted[index] = values
        duplicates: list[int] = []
        claims = None
        if "id" in source:
            claims, duplicates = self._claim_ids(dataset, version, accepted)
            for index in claims.busy:
                rejected[index] = {source["id"]: [BUSY]}
            accepted = {index: accepted[index] for index in sorted(claims.claimed)}
        try:
            self._write(dataset, version, events, accepted, rejected, received, batch, principal)
        except BaseException:
            if claims is not None:
                self.ids.release(claims)
            raise
        if claims is not None:
            self.ids.finish(claims)
        answer: dict[str, Any] = {
            "accepted": len(accepted),
            "rejected": [{"index": index, "errors": rejected[index]} for index in sorted(rejected)],
        }
        if "id" in source:
            answer["duplicates"] = sorted(duplicates)
        return answer

    def _claim_ids(
        self, dataset: Mapping[str, Any], version: str, accepted: Mapping[int, dict[str, Any]]
    ) -> tuple[Claims, list[int]]:
        """Claim the ids of the accepted events; the batch's second use of an id is a duplicate."""
        name = dataset["source"]["id"]
        first: dict[str, int] = {}
        repeated = []
        for index, values in accepted.items():
            text = str(values[name])
            if text in first:
                repeated.append(index)
            else:
                first[text] = index
        claims = self.ids.claim(dataset, version, {index: text for text, index in first.items()})
        return claims, claims.duplicates + repeated

    def _write(
        self,
        dataset: Mapping[str, Any],
        version: str,
        events: Sequence[Any],
        accepted: Mapping[int, dict[str, Any]],
        rejected: Mapping[int, dict[str, Any]],
        received: str,
        batch: str,
        principal: str,
    ) -> None:
        """Keep the rejects, hand the accepted events to the history, move latest values.

        ``on_accepted`` has the accepted (enriched) events before any latest value moves;
        each series' latest value moves to its newest accepted event.
        """
        source = dataset["source"]
        reject_items = [
            self._reject(dataset, version, received, batch, index, events[index], errors, principal)
            for index, errors in sorted(rejected.items())
        ]
        for start in range(0, len(reject_items), CHUNK_OPS):
            self.store.transact([Create(item) for item in reject_items[start : start + CHUNK_OPS]])
        if accepted and self.on_accepted is not None:
            self.on_accepted(dataset, version, list(accepted.values()))
        newest: dict[str, tuple[Any, dict[str, Any]]] = {}
        for values in accepted.values():
            series = rules.series_key(source, values)
            at = rules.sort_time(source, values)
            # Only a series' newest event of the batch can become its latest value; the
            # first of equal times wins, as it does across batches.
            if series not in newest or _after(at, newest[series][0]):
                newest[series] = (at, values)
        pk = keys.latest_pk(dataset["id"], dataset["incarnation"], version)
        writes = [
            PutNewer(
                {
                    "pk": pk,
                    "sk": series,
                    "kind": "latest",
                    "key": series,
                    "series": {name: values[name] for name in source["key"]},
                    "time": values[source["time"]],
                    "at": at,
                    "event": values,
                    "received": received,
                },
                "at",
            )
            for series, (at, values) in newest.items()
        ]
        # One store round trip per chunk, not per series (SQLite: one transaction). A write
        # refused because its series already has a later (or as late) event leaves it as is.
        for start in range(0, len(writes), MAX_TRANSACTION_OPS):
            self.store.write_each(writes[start : start + MAX_TRANSACTION_OPS])

    def _reject(
        self,
        dataset: Mapping[str, Any],
        version: str,
        received: str,
        batch: str,
        index: int,
        event: Any,
        errors: dict[str, Any],
        principal: str,
    ) -> Item:
        text = json.dumps(event, ensure_ascii=False)
        kept: dict[str, Any] = {"event": event}
        if len(text.encode()) > rules.MAX_EVENT_BYTES:
            # An item of DynamoDB holds at most 400 KB: keep the start of its JSON text.
            kept = {"eventText": text.encode()[: rules.MAX_EVENT_BYTES].decode(errors="ignore")}
        elif first_unstored_number(event) is not None or holds_empty_key(event):
            kept = {"eventText": text}
        return {
            "pk": keys.rejects_pk(dataset["id"], dataset["incarnation"], version),
            "sk": keys.reject_sk(received, batch, index),
            "kind": "reject",
            "received": received,
            "batch": batch,
            "index": index,
            "errors": errors,
            "postedBy": principal,
            **kept,
        }

    def _claim(
        self, dataset: Mapping[str, Any], version: str, key: str, digest: str
    ) -> dict[str, Any]:
        """The key's item: a new claim (no ``answer``) or the finished batch's answer."""
        claim: dict[str, Any] = {
            "pk": keys.idempotency_pk(dataset["id"], dataset["incarnation"]),
            "sk": keys.idempotency_sk(version, key),
            "kind": "idempotency",
            "digest": digest,
            "expiresAt": self._expiry(CLAIM_TTL),
        }
        try:
            self.store.write(Create(claim))
            return {**claim, "rev": 1}
        except AlreadyExists:
            pass
        current = self.store.get(claim["pk"], claim["sk"])
        if current is None or current["expiresAt"] <= self._expiry(timedelta(0)):
            # Gone or expired: the key is free for this batch (one racer wins the write).
            try:
                if current is None:
                    self.store.write(Create(claim))
                    return {**claim, "rev": 1}
                self.store.write(Replace(claim, rev=current["rev"]))
                return {**claim, "rev": current["rev"] + 1}
            except (AlreadyExists, PreconditionFailed):
                raise Conflict(
                    "a batch with this Idempotency-Key is being accepted; send it again shortly"
                ) from None
        if current["digest"] != digest:
            raise Conflict("this Idempotency-Key was used for a different batch of events")
        if "answer" not in current:
            raise Conflict(
                "a batch with this Idempotency-Key is being accepted; send it again shortly"
            )
        return current

    def _expiry(self, ttl: timedelta) -> int:
        return int((self.clock() + ttl).timestamp())

    def rejects(
        self, dataset: Mapping[str, Any], version: str, *, limit: int, cursor: str | None
    ) -> Page:
        """The version's rejected events, oldest first."""
        pk = keys.rejects_pk(dataset["id"], dataset["incarnation"], version)
        return self._page(pk, _reject_view, limit, cursor)

    def latest(
        self, dataset: Mapping[str, Any], version: str, *, limit: int, cursor: str | None
    ) -> Page:
        """The latest value of every series of the version, in key order."""
        pk = keys.latest_pk(dataset["id"], dataset["incarnation"], version)
        return self._page(pk, _latest_view, limit, cursor)

    def _page(
        self, pk: str, view: Callable[[Item], dict[str, Any]], limit: int, cursor: str | None
    ) -> Page:
        page = self.store.query(Query(pk), limit=limit, cursor=cursor)
        return Page([view(item) for item in page.items], page.next_cursor)

    def latest_one(self, dataset: Mapping[str, Any], version: str, series: str) -> dict[str, Any]:
        """The latest value of one series (its key text, ``domain.events.series_key``)."""
        if series:
            item = self.store.get(
                keys.latest_pk(dataset["id"], dataset["incarnation"], version), series
            )
            if item is not None:
                return _latest_view(item)
        raise NotFound(f"no event of series {series!r} in version {version}")


def _after(at: Any, other: Any) -> bool:
    if isinstance(at, str):
        return at.encode() > other.encode()  # type: ignore[no-any-return]
    return at > other  # type: ignore[no-any-return]


def _latest_view(item: Item) -> dict[str, Any]:
    return {name: item[name] for name in ("key", "series", "time", "event", "received")}


def _reject_view(item: Item) -> dict[str, Any]:
    names = ("received", "batch", "index", "errors", "event", "eventText", "postedBy")
    return {name: item[name] for name in names if name in item}
