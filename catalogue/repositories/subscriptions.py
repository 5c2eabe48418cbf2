"""Webhook subscriptions and their deliveries over any ItemStore.

A subscription belongs to its ``owner``: a team, whose members manage it and whose grants
it receives events by, whoever made it and whatever became of the token it was made with;
or its maker's own principal, when it acts for that principal, with the teams it had then,
for as long as the credential it was made with stands. Either is a site admin while the
settings' admins name it (``acting_identity``). It receives the events of datasets that
identity may read now, as ``GET /events`` shows them,
checked when an event is fanned out and again before each attempt. One delivery item per
(subscription, event) makes fan-out idempotent: a dispatcher that runs twice over an event
finds its deliveries there.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from catalogue.domain.access import (
    ANONYMOUS,
    AUTH_OFF,
    Identity,
    can_see,
    credential_token_id,
    effective_scopes,
)
from catalogue.domain.change_events import event_time
from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.domain.webhooks import (
    new_secret,
    next_attempt,
    retry_after_wait,
    rotated_secrets,
)
from catalogue.store import keys
from catalogue.store.base import (
    Create,
    Delete,
    Item,
    ItemStore,
    Page,
    Put,
    Query,
    Replace,
    query_all,
)

from .change_events import dataset_view
from .permissions import PermissionRepository
from .records import CHUNK_OPS, resource
from .tokens import TokenRepository

ACTIVE, DISABLED = "active", "disabled"
PENDING, DELIVERED, DEAD, CANCELLED = "pending", "delivered", "dead", "cancelled"
# Deliveries claimed in one transaction (well inside the store's limit of operations).
CLAIM_CHUNK = 50
# Tries of a rotation that races another write of the subscription (a 410's disable).
MAX_ROTATE_ATTEMPTS = 3
# Hidden from every answer but the create's (and a rotation's).
SECRET_FIELD = "secret"
# Secrets a rotation replaced, still signing until their ``validUntil``; never shown.
PREVIOUS_SECRETS_FIELD = "previousSecrets"
# What a subscription's maker proved itself with (``Identity.credential``).
CREDENTIAL_FIELD = "credential"


def _time_key(moment: datetime) -> str:
    return event_time(moment)


class SubscriptionRepository:
    """Subscriptions (made, listed, deleted by their principal) and their deliveries."""

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], datetime],
        admins: Iterable[str] | None = (),
    ) -> None:
        self.store = store
        self.clock = clock
        # The site admins now (the settings'; None: authentication is off, everyone is one):
        # a subscription's maker may have stopped being one.
        self.admins = None if admins is None else frozenset(admins)
        self.permissions = PermissionRepository(store, clock)
        self.tokens = TokenRepository(store, clock)

    # Subscriptions ----------------------------------------------------------------------

    def create(
        self, data: Mapping[str, Any], *, identity: Identity, owner: str | None = None
    ) -> dict[str, Any]:
        """Store a subscription made by ``identity`` for ``owner`` (one of its grantees; by
        default its own principal); the answer alone carries the secret."""
        assert identity.principal is not None
        owner = owner or identity.principal
        subscription_id = uuid.uuid4().hex
        subscription = {
            "id": subscription_id,
            "url": data["url"],
            "types": sorted(set(data.get("types") or [])),
            "datasets": sorted(set(data.get("datasets") or [])),
            "description": data.get("description") or "",
            "status": ACTIVE,
            "owner": owner,
            "principal": identity.principal,
            "teams": list(identity.teams),
            CREDENTIAL_FIELD: identity.credential,
            "created": _time_key(self.clock()),
            SECRET_FIELD: new_secret(secrets.token_bytes(24)),
        }
        item = {
            **subscription,
            "pk": keys.SUBSCRIPTIONS_PK,
            "sk": subscription_id,
            "gsi1pk": keys.principal_subscriptions_pk(owner),
            "gsi1sk": subscription_id,
            "kind": "subscription",
        }
        self.store.write(Create(item))
        return public_subscription(subscription) | {SECRET_FIELD: subscription[SECRET_FIELD]}

    def get_item(self, subscription_id: str) -> Item:
        item = self.store.get(keys.SUBSCRIPTIONS_PK, subscription_id)
        if item is None:
            raise NotFound(f"subscription {subscription_id!r} not found")
        return item

    def get(self, subscription_id: str, *, grantees: Sequence[str] | None) -> dict[str, Any]:
        """The subscription without its secret; NotFound unless its owner is one of
        ``grantees`` (the caller and its teams). ``grantees`` None reads any (site admins).
        """
        item = self.get_item(subscription_id)
        if grantees is not None and owner_of(item) not in grantees:
            raise NotFound(f"subscription {subscription_id!r} not found")
        return public_subscription(item)

    def list(self, owner: str, *, limit: int, cursor: str | None) -> Page:
        """The subscriptions ``owner`` (a principal or a team) owns."""
        query = Query(keys.principal_subscriptions_pk(owner), index=keys.GSI1)
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page([public_subscription(item) for item in page.items], page.next_cursor)

    def delete(self, subscription_id: str, *, grantees: Sequence[str] | None) -> None:
        """Delete the subscription; its pending deliveries are cancelled when next due."""
        self.get(subscription_id, grantees=grantees)
        self.store.write(Delete(keys.SUBSCRIPTIONS_PK, subscription_id))

    def rotate_secret(self, subscription_id: str, *, grace: timedelta) -> dict[str, Any]:
        """Give the subscription a new secret, returned here only; the one it replaces
        goes on signing for ``grace``. Raises NotFound."""
        for _ in range(MAX_ROTATE_ATTEMPTS):
            item = self.get_item(subscription_id)
            now = self.clock()
            secret = new_secret(secrets.token_bytes(24))
            previous = rotated_secrets(
                item[SECRET_FIELD], item.get(PREVIOUS_SECRETS_FIELD, []), now, grace
            )
            body = {name: value for name, value in item.items() if name != "rev"}
            body.update({SECRET_FIELD: secret, PREVIOUS_SECRETS_FIELD: previous})
            try:
                # Conditional: a rotation racing this one must not lose a secret that signs.
                self.store.write(Replace(body, rev=item["rev"]))
            except PreconditionFailed:
                continue
            except NotFound:
                raise NotFound(f"subscription {subscription_id!r} not found") from None
            valid_until = _time_key(now + grace) if grace > timedelta(0) else None
            return {
                "id": subscription_id,
                "secret": secret,
                "previousSecretValidUntil": valid_until,
            }
        raise PreconditionFailed(f"subscription {subscription_id!r} is changing too often")

    def disable(self, subscription_id: str, reason: str) -> None:
        """Stop delivering to a subscription (its receiver answered 410 Gone)."""
        item = self.store.get(keys.SUBSCRIPTIONS_PK, subscription_id)
        if item is None or item.get("status") == DISABLED:
            return
        body = {name: value for name, value in item.items() if name != "rev"}
        body.update(status=DISABLED, disabledReason=reason)
        # Deleted or changed meanwhile: the next delivery looks again.
        with contextlib.suppress(NotFound, PreconditionFailed):
            self.store.write(Replace(body, rev=item["rev"]))

    def active(self) -> list[Item]:
        """Every active subscription, all pages (the dispatcher's list)."""
        return [
            item
            for item in query_all(self.store, Query(keys.SUBSCRIPTIONS_PK))
            if item.get("status") == ACTIVE
        ]

    def find(self, subscription_id: str) -> Item | None:
        """The stored subscription (with its secret), or None."""
        return self.store.get(keys.SUBSCRIPTIONS_PK, subscription_id)

    # The outbox ---------------------------------------------------------------------------

    def undispatched(self, limit: int) -> list[Item]:
        """Up to ``limit`` events still in the outbox, oldest first.

        A marker whose event is gone (it cannot be: they are written together) is removed.
        """
        markers = self.store.query(Query(keys.OUTBOX_PK), limit=limit).items
        if not markers:
            return []
        events = self.store.get_many([(keys.EVENTS_PK, marker["sk"]) for marker in markers])
        found = {item["sk"]: item for item in events}
        for marker in markers:
            if marker["sk"] not in found:
                self.dispatched(marker["sk"])
        return [found[marker["sk"]] for marker in markers if marker["sk"] in found]

    def dispatched(self, event_sk: str) -> None:
        """Take the event out of the outbox (its deliveries are recorded)."""
        # A second dispatch of the event (a retried stream batch) finds the marker gone.
        with contextlib.suppress(NotFound):
            self.store.write(Delete(keys.OUTBOX_PK, event_sk))

    def event_items(self, event_sks: Sequence[str]) -> list[Item]:
        """The stored events among ``event_sks`` (one batch read)."""
        return self.store.get_many([(keys.EVENTS_PK, sk) for sk in dict.fromkeys(event_sks)])

    def event_item(self, event_sk: str) -> Item | None:
        """The stored event of a delivery, or None."""
        return self.store.get(keys.EVENTS_PK, event_sk)

    # Which events go where ----------------------------------------------------------------

    def wants(
        self,
        subscription: Mapping[str, Any],
        event_item: Mapping[str, Any],
        acting: dict[str, Identity] | None = None,
    ) -> bool:
        """Whether the event goes to the subscription: type, dataset, and may it see it."""
        event = event_item["event"]
        if subscription["types"] and event["type"] not in subscription["types"]:
            return False
        if subscription["datasets"] and event_item["dataset"] not in subscription["datasets"]:
            return False
        return self.may_see(subscription, event_item, acting)

    def may_see(
        self,
        subscription: Mapping[str, Any],
        event_item: Mapping[str, Any],
        acting: dict[str, Identity] | None = None,
    ) -> bool:
        """Whether the subscription may see the event now, as ``GET /events`` would show
        it to ``acting_identity``; ``acting`` keeps those identities across calls."""
        dataset = dataset_view(event_item)
        if dataset["accessRights"] == "public":
            return True
        identity = self.acting_identity(subscription, acting)
        scopes: frozenset[str] = frozenset()
        if dataset["accessRights"] == "non-public" and not identity.is_site_admin:
            scopes = effective_scopes(self.permissions.scopes_of(dataset, identity.grantees))
        return can_see(dataset["accessRights"], identity, scopes)

    def acting_identity(
        self, subscription: Mapping[str, Any], acting: dict[str, Identity] | None = None
    ) -> Identity:
        """Who the subscription acts as now: its owner team, or its maker while its
        credential stands.

        Owned by a team, it acts as that team (its grants, and what any signed-in caller
        sees), a site admin while ``admins`` names the team. Owned by its maker and made
        with an API token, it acts as its maker (teams: those of the subscription the
        token still carries; a site admin while ``admins`` names the maker or one of those
        teams) while that token is neither revoked nor expired, and as the anonymous caller
        after. An OIDC bearer token leaves no record to look at again (it
        cannot be revoked here, and lives minutes), so a subscription made with one acts
        as the anonymous caller from the start, as does one stored without a credential:
        both receive only public datasets' events. Made with authentication off, it is a
        site admin while authentication stays off, and the anonymous caller once it is on.
        ``acting`` (by subscription id) spares reading a token twice.
        """
        if acting is not None and subscription["id"] in acting:
            return acting[subscription["id"]]
        identity = ANONYMOUS
        credential = subscription.get(CREDENTIAL_FIELD)
        token_id = credential_token_id(credential)
        teams = tuple(subscription.get("teams") or ())
        owner = owner_of(subscription)
        if credential == AUTH_OFF:
            if self.admins is None:
                # Every caller is a site admin while authentication is off; once it is on,
                # no credential of its maker stands: it acts as the anonymous caller.
                identity = Identity(subscription["principal"], teams, is_site_admin=True)
        elif owner != subscription["principal"]:
            identity = Identity(owner, is_site_admin=self._is_admin((owner,)))
        elif token_id is not None:
            record = self.tokens.standing(token_id)
            if record is not None and record["principal"] == subscription["principal"]:
                identity = Identity(
                    subscription["principal"],
                    tuple(team for team in teams if team in record["teams"]),
                    credential=credential,
                )
                identity = replace(identity, is_site_admin=self._is_admin(identity.grantees))
        if acting is not None:
            acting[subscription["id"]] = identity
        return identity

    def _is_admin(self, grantees: Iterable[str]) -> bool:
        return self.admins is None or not self.admins.isdisjoint(grantees)

    # Deliveries -----------------------------------------------------------------------------

    def add_delivery(self, subscription: Mapping[str, Any], event_item: Mapping[str, Any]) -> bool:
        """Record that the event is due to the subscription now; False when it already was."""
        try:
            now = self.clock()
            self.store.write(Create(_delivery_item(subscription, event_item, now, now)))
        except AlreadyExists:
            return False
        return True

    def fan_out(
        self,
        routes: Sequence[tuple[Item, Sequence[Mapping[str, Any]]]],
        *,
        claim_until: datetime | None = None,
    ) -> tuple[int, list[Item]]:
        """Record each event's deliveries to its subscriptions and take it out of the outbox.

        ``routes`` pairs each event item with the subscriptions that get it. An event's
        deliveries and its marker's removal commit together, several events to a
        transaction; a transaction that fails (a delivery already there: the event was
        fanned out before) is done again one write at a time, as a repeat must be.
        With ``claim_until``, the deliveries are made claimed until then by the caller,
        who attempts them at once (``send_due`` takes them when that time has passed).
        Returns how many deliveries were added, and those made claimed (as stored).
        """
        now = self.clock()
        due_at = claim_until or now
        chunk: list[tuple[Item, Sequence[Mapping[str, Any]]]] = []
        made: list[Item] = []
        claimed: list[Item] = []
        added = 0

        def flush() -> int:
            try:
                self.store.transact(
                    [
                        *(Create(delivery) for delivery in made),
                        *(Delete(keys.OUTBOX_PK, item["sk"]) for item, _ in chunk),
                    ]
                )
            except (AlreadyExists, NotFound):
                return sum(self._fan_out_one(item, wanted) for item, wanted in chunk)
            if claim_until is not None:
                claimed.extend({**delivery, "rev": 1} for delivery in made)
            return len(made)

        for event_item, wanted in routes:
            deliveries = [_delivery_item(s, event_item, now, due_at) for s in wanted]
            if len(deliveries) + 1 > CHUNK_OPS:
                added += self._fan_out_one(event_item, wanted)
                continue
            if chunk and len(made) + len(chunk) + len(deliveries) + 1 > CHUNK_OPS:
                added += flush()
                chunk, made = [], []
            chunk.append((event_item, wanted))
            made.extend(deliveries)
        if chunk:
            added += flush()
        return added, claimed

    def _fan_out_one(self, event_item: Item, wanted: Sequence[Mapping[str, Any]]) -> int:
        added = sum(self.add_delivery(subscription, event_item) for subscription in wanted)
        self.dispatched(event_item["sk"])
        return added

    def due(self, now: datetime, *, limit: int) -> list[Item]:
        """Pending deliveries whose next attempt is at or before ``now``, oldest first."""
        until = _time_key(now)
        found: list[Item] = []
        for item in query_all(self.store, Query(keys.DUE_DELIVERIES, index=keys.GSI1)):
            if item["gsi1sk"] > f"{until}#~" or len(found) >= limit:
                return found
            found.append(item)
        return found

    def claim_all(self, deliveries: list[Item], until: datetime) -> list[Item]:
        """Claim due deliveries together (one transaction per CLAIM_CHUNK); those taken.

        A chunk that lost a race to another sender is claimed one by one instead.
        """
        claimed: list[Item] = []
        for start in range(0, len(deliveries), CLAIM_CHUNK):
            chunk = deliveries[start : start + CLAIM_CHUNK]
            bodies = [_due({k: v for k, v in d.items() if k != "rev"}, until) for d in chunk]
            try:
                self.store.transact(
                    [Replace(body, rev=d["rev"]) for body, d in zip(bodies, chunk, strict=True)]
                )
            except (NotFound, PreconditionFailed):
                claimed.extend(c for d in chunk if (c := self.claim(d, until)) is not None)
                continue
            claimed.extend(
                {**body, "rev": d["rev"] + 1} for body, d in zip(bodies, chunk, strict=True)
            )
        return claimed

    def claim(self, delivery: Item, until: datetime) -> Item | None:
        """Take a due delivery for one attempt (its next attempt moves to ``until``).

        None when another sender took it first; the attempt is then theirs.
        """
        body = _due({k: v for k, v in delivery.items() if k != "rev"}, until)
        try:
            self.store.write(Replace(body, rev=delivery["rev"]))
        except (NotFound, PreconditionFailed):
            return None
        return {**body, "rev": delivery["rev"] + 1}

    def record_attempt(
        self,
        delivery: Item,
        *,
        status_code: int | None,
        error: str | None,
        now: datetime,
        gone: bool = False,
        retry_after: str | None = None,
        refused: bool = False,
    ) -> Item:
        """Store an attempt's outcome: delivered, due again later, or dead (no tries left).

        ``gone`` cancels it (its subscription was disabled or deleted); ``retry_after`` is
        the receiver's ``Retry-After`` header; ``refused`` makes it dead at once (the
        receiver refused it for good: no retry would be taken).
        """
        body = attempt_outcome(
            delivery,
            status_code=status_code,
            error=error,
            now=now,
            gone=gone,
            retry_after=retry_after,
            refused=refused,
        )
        # Replayed or cancelled meanwhile: that later decision stands.
        with contextlib.suppress(NotFound, PreconditionFailed):
            self.store.write(Replace(body, rev=delivery["rev"]))
        return body

    def record_attempts(self, outcomes: Sequence[tuple[Item, Item]]) -> None:
        """Store many attempts' outcomes (``(delivery as claimed, attempt_outcome)``),
        CLAIM_CHUNK to a transaction; a transaction that fails (one was replayed or
        cancelled meanwhile) is written one by one, where that later decision stands."""
        for start in range(0, len(outcomes), CLAIM_CHUNK):
            chunk = outcomes[start : start + CLAIM_CHUNK]
            try:
                self.store.transact([Replace(body, rev=d["rev"]) for d, body in chunk])
            except (NotFound, PreconditionFailed):
                for delivery, body in chunk:
                    with contextlib.suppress(NotFound, PreconditionFailed):
                        self.store.write(Replace(body, rev=delivery["rev"]))

    # Lineage order --------------------------------------------------------------------

    def blocker(self, run_id: str, delivery: Item) -> Item | None:
        """The earlier delivery of the run's lineage events still waiting for its retry,
        which ``delivery`` must wait behind; None when there is none (a hold whose
        delivery went, or died, is removed)."""
        hold = self.store.get(keys.lineage_hold_pk(run_id), keys.LINEAGE_HOLD_SK)
        if hold is None or hold["blocker"] >= delivery["sk"]:
            return None
        found = self.store.get(keys.deliveries_pk(delivery["subscription"]), hold["blocker"])
        if found is not None and found["status"] == PENDING:
            return found
        self.release(run_id, hold["blocker"])
        return None

    def hold(self, run_id: str, delivery: Item) -> None:
        """Make the run's later lineage deliveries wait behind ``delivery`` (due again)."""
        self.store.write(
            Put(
                {
                    "pk": keys.lineage_hold_pk(run_id),
                    "sk": keys.LINEAGE_HOLD_SK,
                    "kind": "lineage-hold",
                    "blocker": delivery["sk"],
                }
            )
        )

    def release(self, run_id: str, blocker_sk: str) -> None:
        """Remove the run's hold if ``blocker_sk`` is the delivery it waits for."""
        hold = self.store.get(keys.lineage_hold_pk(run_id), keys.LINEAGE_HOLD_SK)
        if hold is None or hold["blocker"] != blocker_sk:
            return
        with contextlib.suppress(NotFound, PreconditionFailed):
            self.store.write(Delete(hold["pk"], hold["sk"], rev=hold["rev"]))

    def put_off(self, delivery: Item, behind: Item) -> None:
        """Make a claimed delivery due when ``behind`` is, after it (the due index orders
        one subscription's deliveries of one time by event); no attempt is counted."""
        body = {k: v for k, v in delivery.items() if k != "rev"}
        with contextlib.suppress(NotFound, PreconditionFailed):
            self.store.write(Replace(_due_at(body, behind["nextAttemptAt"]), rev=delivery["rev"]))

    def deliveries(self, subscription_id: str, *, limit: int, cursor: str | None) -> Page:
        """A subscription's deliveries, newest first."""
        query = Query(keys.deliveries_pk(subscription_id), descending=True)
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page([public_delivery(item) for item in page.items], page.next_cursor)

    def replay(self, subscription_id: str, event_id: str | None) -> int:
        """Make dead (or, given ``event_id``, any) deliveries due again now; how many."""
        now = self.clock()
        count = 0
        for item in self._deliveries(subscription_id):
            if event_id is not None and item["eventId"] != event_id:
                continue
            if event_id is None and item["status"] != DEAD:
                continue
            body = {k: v for k, v in item.items() if k != "rev"}
            body.update(status=PENDING, attempts=0)
            try:
                self.store.write(Replace(_due(body, now), rev=item["rev"]))
            except PreconditionFailed:
                continue
            count += 1
        if event_id is not None and count == 0:
            raise NotFound(f"no delivery of event {event_id!r} to this subscription")
        return count

    def _deliveries(self, subscription_id: str) -> Iterator[Item]:
        return query_all(self.store, Query(keys.deliveries_pk(subscription_id)))


def _delivery_item(
    subscription: Mapping[str, Any], event_item: Mapping[str, Any], now: datetime, due: datetime
) -> Item:
    """A new delivery of the event to the subscription, made ``now``, due at ``due``."""
    event = event_item["event"]
    delivery = {
        "pk": keys.deliveries_pk(subscription["id"]),
        "sk": event_item["sk"],
        "kind": "delivery",
        "subscription": subscription["id"],
        "eventId": event["id"],
        "type": event["type"],
        "subject": event["subject"],
        "status": PENDING,
        "attempts": 0,
        "created": _time_key(now),
    }
    return _due(delivery, due)


def _due(delivery: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The delivery in the due index at ``at``."""
    return _due_at(delivery, _time_key(at))


def _due_at(delivery: dict[str, Any], time_key: str) -> dict[str, Any]:
    return {
        **delivery,
        "nextAttemptAt": time_key,
        "gsi1pk": keys.DUE_DELIVERIES,
        "gsi1sk": f"{time_key}#{delivery['subscription']}#{delivery['sk']}",
    }


_STORE_FIELDS = frozenset({"gsi1pk", "gsi1sk", "pk", "sk", "kind", "rev"})


def attempt_outcome(
    delivery: Item,
    *,
    status_code: int | None,
    error: str | None,
    now: datetime,
    gone: bool,
    retry_after: str | None = None,
    refused: bool = False,
) -> Item:
    """The delivery after an attempt: delivered, due again later, dead or cancelled.

    A failed attempt's next one waits at least as long as the receiver's ``Retry-After``
    (``retry_after``, the header as sent) asks, within the schedule's longest wait; one
    ``refused`` for good is dead at once (a replay can still send it again).
    """
    body = {k: v for k, v in delivery.items() if k not in ("rev", "gsi1pk", "gsi1sk")}
    attempts = int(body.get("attempts") or 0) + (0 if gone and status_code is None else 1)
    body.update(
        attempts=attempts,
        lastAttemptAt=_time_key(now),
        lastStatusCode=status_code,
        lastError=error,
    )
    if status_code is not None and 200 <= status_code < 300:
        body.update(status=DELIVERED, deliveredAt=_time_key(now))
    elif gone:
        body["status"] = CANCELLED
    elif refused:
        body["status"] = DEAD
    else:
        retry_at = next_attempt(
            attempts, now, retry_after_wait(retry_after, now), jitter=random.random()
        )
        if retry_at is None:
            body["status"] = DEAD
        else:
            body = _due({**body, "status": PENDING}, retry_at)
    return body


def owner_of(subscription: Mapping[str, Any]) -> str:
    """The team or principal a subscription belongs to (its maker, made before owners)."""
    return str(subscription.get("owner") or subscription["principal"])


def public_subscription(item: Mapping[str, Any]) -> dict[str, Any]:
    """A subscription as its owner reads it: never the secret, nor the store's fields."""
    shown = {
        name: value
        for name, value in resource(dict(item)).items()
        if name
        not in (SECRET_FIELD, PREVIOUS_SECRETS_FIELD, CREDENTIAL_FIELD, "rev", "teams", "siteAdmin")
    }
    shown["owner"] = owner_of(item)
    return shown


def public_delivery(item: Mapping[str, Any]) -> dict[str, Any]:
    body = {name: value for name, value in item.items() if name not in _STORE_FIELDS}
    if body.get("status") != PENDING:
        body.pop("nextAttemptAt", None)
    return body
