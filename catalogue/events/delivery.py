"""Webhook delivery: fan events out to subscriptions, send what is due, retry, dead-letter.

Both modes run the same two functions. ``dispatch`` reads outbox markers (each event has
one until it is fanned out), records one delivery per interested subscription and removes
the marker; ``send_due`` posts each due delivery once and records the outcome. Locally the
worker of ``brygge serve`` calls them in a loop (``catalogue.events.worker``); on AWS the
table's stream invokes the steps function with each new event (``catalogue.events.stream``)
and a scheduled job sends the retries. Every step is idempotent, so a crash anywhere means
at most a repeated delivery (the receiver skips its ``webhook-id``), never a lost one.
"""

from __future__ import annotations

import concurrent.futures
import functools
import json
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from catalogue.domain.errors import NotFound
from catalogue.domain.webhooks import refused_address, signature
from catalogue.events.lineage import LINEAGE_TYPES
from catalogue.repositories.subscriptions import SubscriptionRepository
from catalogue.store.base import Item, ItemStore

if TYPE_CHECKING:
    from catalogue.settings import Settings

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
# A receiver's answer is read this far and no further: only its status matters.
MAX_RESPONSE_BYTES = 64 * 1024
# How long a claimed delivery stays out of the due index while its attempt runs.
CLAIM = timedelta(seconds=60)
BATCH = 100


@dataclass(frozen=True, slots=True)
class Response:
    """What an attempt came to: a status code, or an error that stopped it before one."""

    status_code: int | None
    error: str | None = None


class Sender(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response: ...


@dataclass
class HttpSender:
    """POSTs with httpx to an address checked first; follows no redirect.

    The name is resolved once and the connection goes to that checked address (Host and
    TLS server name stay the URL's), so a name that resolves elsewhere on the second try
    cannot get around the check.
    """

    allow_private: bool = False
    timeout_s: float = TIMEOUT_S
    resolve: Callable[[str, int], list[str]] = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.resolve is None:
            self.resolve = _resolve
        self._clients: dict[str, Any] = {}

    def _client(self, origin: str) -> Any:
        """One httpx client per origin: connections are kept, and the pool (keyed by the
        checked address) never hands one origin's TLS connection to another."""
        import httpx

        client = self._clients.get(origin)
        if client is None:
            client = httpx.Client(timeout=self.timeout_s, follow_redirects=False)
            self._clients[origin] = client
        return client

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        import httpx

        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses = self.resolve(host, port)
        except OSError as error:
            return Response(None, f"cannot resolve {host}: {error}")
        refused = refused_address(addresses, allow_private=self.allow_private)
        if refused is not None:
            return Response(None, f"refused: {refused} (BRYGGE_WEBHOOK_ALLOW_PRIVATE)")
        address = addresses[0]
        literal = f"[{address}]" if ":" in address else address
        netloc = f"{literal}:{parts.port}" if parts.port else literal
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        request_headers = {**headers, "host": parts.netloc.rsplit("@", 1)[-1]}
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            with self._client(f"{parts.scheme}://{parts.netloc}").stream(
                "POST", pinned, content=body, headers=request_headers, extensions=extensions
            ) as answer:
                read = 0
                for chunk in answer.iter_raw():
                    read += len(chunk)
                    if read >= MAX_RESPONSE_BYTES:
                        break
                return Response(answer.status_code)
        except httpx.HTTPError as error:
            return Response(None, f"{type(error).__name__}: {error}"[:500])


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def delivery_request(secret: str, event: Mapping[str, Any], now: datetime) -> tuple[bytes, dict]:
    """The body and Standard Webhooks headers of one attempt to deliver ``event``."""
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/cloudevents+json",
        "webhook-id": event["id"],
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, event["id"], timestamp, body),
        "user-agent": "Brygge-Webhooks",
    }
    return body, headers


@dataclass(frozen=True, slots=True)
class LineageTarget:
    """Where OpenLineage events go (``OPENLINEAGE_URL``), with the names they use."""

    url: str
    api_key: str
    namespace: str
    objects: str

    @property
    def endpoint(self) -> str:
        # The openlineage-python HTTP transport's default endpoint under OPENLINEAGE_URL.
        return self.url.rstrip("/") + "/api/v1/lineage"


def lineage_target(settings: Settings) -> LineageTarget | None:
    """The OpenLineage target of ``settings``; None when OPENLINEAGE_URL is unset."""
    if not settings.openlineage_url:
        return None
    if settings.backend == "aws":
        objects = f"s3://{settings.data_bucket}"
    else:
        objects = f"file://{socket.gethostname()}"
    return LineageTarget(
        settings.openlineage_url,
        settings.openlineage_api_key,
        settings.openlineage_namespace,
        objects,
    )


# The delivery "subscription" of the OpenLineage target: deliveries to it retry, dead-letter
# and replay as webhooks do.
LINEAGE = "openlineage"
_LINEAGE_SUBSCRIPTION = {"id": LINEAGE}


def dispatch_event(
    subscriptions: SubscriptionRepository,
    event_item: Item,
    active: list,
    lineage: LineageTarget | None = None,
) -> int:
    """Record the deliveries of one event; remove its outbox marker. Returns how many."""
    added = sum(
        subscriptions.add_delivery(subscription, event_item)
        for subscription in active
        if subscriptions.wants(subscription, event_item)
    )
    if lineage is not None and event_item["event"]["type"] in LINEAGE_TYPES:
        added += subscriptions.add_delivery(_LINEAGE_SUBSCRIPTION, event_item)
    subscriptions.dispatched(event_item["sk"])
    return added


def dispatch(
    store: ItemStore,
    clock: Callable[[], datetime],
    *,
    limit: int = BATCH,
    lineage: LineageTarget | None = None,
) -> int:
    """Fan out up to ``limit`` events still in the outbox, oldest first; how many."""
    subscriptions = SubscriptionRepository(store, clock)
    pending = subscriptions.undispatched(limit)
    active = subscriptions.active() if pending else []
    for event_item in pending:
        dispatch_event(subscriptions, event_item, active, lineage)
    return len(pending)


def send_due(
    store: ItemStore,
    clock: Callable[[], datetime],
    sender: Sender,
    *,
    limit: int = BATCH,
    lineage: LineageTarget | None = None,
) -> int:
    """Attempt every delivery due now (up to ``limit``); how many were attempted.

    Webhook deliveries go out SEND_THREADS at a time (Standard Webhooks promises no
    order; receivers order by the event's time); OpenLineage events go one by one, in
    order, since a run's events build on each other.
    """
    subscriptions = SubscriptionRepository(store, clock)
    now = clock()
    claimed = subscriptions.claim_all(subscriptions.due(now, limit=limit), now + CLAIM)
    in_order = [d for d in claimed if d["subscription"] == LINEAGE]
    jobs: list[Callable[[], None]] = [
        functools.partial(attempt, subscriptions, delivery, sender)
        for delivery in claimed
        if delivery["subscription"] != LINEAGE
    ]
    if in_order:
        jobs.append(lambda: [attempt_lineage(subscriptions, d, sender, lineage) for d in in_order])
    if len(jobs) == 1:
        jobs[0]()
    elif jobs:
        for _ in _pool().map(lambda job: job(), jobs):
            pass
    return len(claimed)


SEND_THREADS = 8


@functools.cache
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # One pool per process, made on first use: a receiver's latency is spent in parallel.
    return concurrent.futures.ThreadPoolExecutor(SEND_THREADS, thread_name_prefix="webhook")


def attempt_lineage(
    subscriptions: SubscriptionRepository,
    delivery: Item,
    sender: Sender,
    lineage: LineageTarget | None,
) -> None:
    """One attempt of a run event's OpenLineage events, POSTed one by one, in order."""
    from catalogue.events.lineage import run_events
    from catalogue.repositories.runs import RunRepository

    store = subscriptions.store
    event_item = subscriptions.event_item(delivery["sk"])
    if lineage is None or event_item is None:
        subscriptions.record_attempt(
            delivery,
            status_code=None,
            error="OPENLINEAGE_URL is unset" if event_item else "the event is gone",
            now=subscriptions.clock(),
            gone=True,
        )
        return
    cloudevent = event_item["event"]
    run_id = cloudevent["data"].get("run") or cloudevent["data"]["id"]
    try:
        run = RunRepository(store, subscriptions.clock).get(run_id)
    except NotFound:
        run = dict(cloudevent["data"], id=run_id)
    headers = {"content-type": "application/json"}
    if lineage.api_key:
        headers["authorization"] = f"Bearer {lineage.api_key}"
    response = Response(200)
    for event in run_events(cloudevent, run, namespace=lineage.namespace, objects=lineage.objects):
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        response = sender(lineage.endpoint, body, headers)
        if response.status_code is None or not 200 <= response.status_code < 300:
            break
    subscriptions.record_attempt(
        delivery,
        status_code=response.status_code,
        error=response.error,
        now=subscriptions.clock(),
    )


def attempt(subscriptions: SubscriptionRepository, delivery: Item, sender: Sender) -> None:
    """One attempt of one claimed delivery, its outcome recorded."""
    subscription = subscriptions.find(delivery["subscription"])
    now = subscriptions.clock()
    if subscription is None or subscription.get("status") != "active":
        subscriptions.record_attempt(
            delivery, status_code=None, error="the subscription is gone", now=now, gone=True
        )
        return
    event_item = subscriptions.event_item(delivery["sk"])
    if event_item is None:
        subscriptions.record_attempt(
            delivery, status_code=None, error="the event is gone", now=now, gone=True
        )
        return
    body, headers = delivery_request(subscription["secret"], event_item["event"], now)
    response = sender(subscription["url"], body, headers)
    if response.status_code == 410:
        subscriptions.disable(subscription["sk"], "the receiver answered 410 Gone")
    subscriptions.record_attempt(
        delivery,
        status_code=response.status_code,
        error=response.error,
        now=subscriptions.clock(),
        gone=response.status_code == 410,
    )
