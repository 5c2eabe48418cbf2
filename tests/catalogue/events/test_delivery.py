"""Webhook subscriptions and deliveries: Standard Webhooks signatures, retries over a day,
dead letters and replay, 410, visibility, and addresses a receiver may not make us call."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks import Webhook, WebhookVerificationError

from catalogue.app import create_app
from catalogue.domain.access import AUTH_OFF, Identity
from catalogue.domain.webhooks import JITTER, MAX_ATTEMPTS, RETRY_DELAYS
from catalogue.events.delivery import MAX_RESPONSE_BYTES, HttpSender, Response
from catalogue.events.worker import run_once
from catalogue.repositories.subscriptions import SubscriptionRepository
from catalogue.repositories.tokens import TokenRepository
from catalogue.services import Services, utc_now
from catalogue.settings import Settings
from catalogue.store import keys, migrations
from catalogue.store.base import Query
from tests.fixtures.app import Clock, authenticate_as_site_admin
from tests.fixtures.receiver import Received, Receiver, running_receiver

PUBLIC = {"id": "trees", "title": "Trees", "accessRights": "public", "owner": "team:parks"}
HIDDEN = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}


@pytest.fixture
def real_clock() -> Clock:
    """A clock tests move by hand, starting now: receivers check signatures' timestamps."""
    return Clock(now=datetime.now(UTC).replace(microsecond=0), step=timedelta(milliseconds=1))


@pytest.fixture
def webhook_app(settings: Settings, real_clock: Clock) -> Iterator[Flask]:
    allowed = replace(settings, webhook_allow_private=True)
    migrations.apply(allowed)
    application = create_app(allowed, clock=real_clock)
    authenticate_as_site_admin(application)
    yield application
    application.extensions["brygge"].store.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def services_of(app: Flask) -> Services:
    return app.extensions["brygge"]


def deliver(app: Flask) -> None:
    """One round of the worker, until it has nothing left to do now."""
    sender = HttpSender(allow_private=True)
    while run_once(services_of(app), sender):
        pass


def subscribe(client: FlaskClient, url: str, **fields: object) -> dict:
    response = client.post("/subscriptions", json={"url": url, **fields})
    assert response.status_code == 201, response.json
    return response.json


def signature_of(request: Received, secret: str) -> str:
    """The Standard Webhooks signature of a request under ``secret`` (the package's own)."""
    sent = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    return Webhook(secret).sign(request.headers["webhook-id"], sent, request.body)


def verified(receiver: Receiver, secret: str) -> list[dict]:
    """The events received, each signature checked by the standardwebhooks package."""
    return [Webhook(secret).verify(r.body, r.headers) for r in receiver.requests]


def test_a_change_is_delivered_signed_to_its_subscriber(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url + "/hook", types=["no.brygge.dataset.updated"])
    assert subscription["secret"].startswith("whsec_")
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.patch("/datasets/trees", json={"title": "Urban trees"}).status_code == 200

    deliver(webhook_app)

    (event,) = verified(receiver, subscription["secret"])
    assert event["type"] == "no.brygge.dataset.updated"
    assert event["data"] == {"title": {"before": "Trees", "after": "Urban trees"}}
    (request,) = receiver.requests
    assert request.path == "/hook"
    assert request.headers["webhook-id"] == event["id"]
    assert request.headers["content-type"] == "application/cloudevents+json"
    (delivery,) = client.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert delivery["lastStatusCode"] == 204


def test_the_secret_is_shown_once_and_subscriptions_are_their_makers(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    made = subscribe(client, receiver.url)
    token, _ = TokenRepository(services_of(webhook_app).store, utc_now).create("user:bob")
    bob = FlaskClient(webhook_app)
    bob.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    read = client.get(f"/subscriptions/{made['id']}").json
    listed = client.get("/subscriptions").json["items"]

    assert "secret" not in read and [item["id"] for item in listed] == [made["id"]]
    assert "secret" not in listed[0]
    assert bob.get(f"/subscriptions/{made['id']}").status_code == 404
    assert bob.get("/subscriptions").json["items"] == []
    assert bob.delete(f"/subscriptions/{made['id']}").status_code == 404
    assert (
        FlaskClient(webhook_app).post("/subscriptions", json={"url": receiver.url}).status_code
        == 401
    )
    assert client.delete(f"/subscriptions/{made['id']}").status_code == 204
    assert client.get(f"/subscriptions/{made['id']}").status_code == 404


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.org/hook", "http is allowed only on loopback"),
        ("ftp://example.org/hook", "https URL"),
        ("https://user:pw@example.org/hook", "credentials"),
        ("https:///nohost", "https URL"),
        ("https://example.org:99999/", "not a URL"),
    ],
)
def test_a_subscription_url_must_be_https_or_loopback_http(client, url, reason) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/subscriptions", json={"url": url})
    assert response.status_code == 422
    assert reason in response.json["errors"]["json"]["url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "https://exa mple.org/hook",
        "https://example.org/bl\u00e5b\u00e6r",
        "https://\u00f8l.example.org/hook",
        "https://example.org/hook\r\nX-Injected: 1",
        "https://example.org/a\tb",
        "https://bad_host!.example.org/",
        "http://localhost:0/hook",
    ],
)
def test_a_subscription_url_that_no_request_can_carry_is_422(client, url) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/subscriptions", json={"url": url})
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]["json"]
    assert client.get("/subscriptions").json["items"] == []


def test_a_percent_encoded_url_with_a_query_is_kept_as_given(client) -> None:  # type: ignore[no-untyped-def]
    url = "https://xn--l-4ga.example.org/bl%C3%A5?team=parks&x=%20"
    response = client.post("/subscriptions", json={"url": url})
    assert response.status_code == 201, response.json
    assert response.json["url"] == url


def test_subscribing_to_a_dataset_needs_read_on_it(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    assert client.post("/datasets", json=HIDDEN).status_code == 201
    token, _ = TokenRepository(services_of(webhook_app).store, utc_now).create("user:bob")
    bob = FlaskClient(webhook_app)
    bob.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    refused = bob.post("/subscriptions", json={"url": receiver.url, "datasets": ["secret"]})
    everything = subscribe(bob, receiver.url)
    assert client.patch("/datasets/secret", json={"title": "Still secret"}).status_code == 200
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliver(webhook_app)

    assert refused.status_code == 404
    # Bob's subscription to everything gets what Bob may see, as GET /events shows it.
    assert [event["subject"] for event in verified(receiver, everything["secret"])] == [
        "/datasets/trees"
    ]


def test_a_subscriber_down_for_an_hour_misses_nothing(webhook_app, receiver, real_clock) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    down_until = real_clock.now + timedelta(hours=1)
    receiver.answer = lambda _: (503, b"") if real_clock.now < down_until else (200, b"ok")
    for number in range(3):
        dataset = {**PUBLIC, "id": f"trees-{number}"}
        assert client.post("/datasets", json=dataset).status_code == 201

    while real_clock.now < down_until + timedelta(hours=3):
        deliver(webhook_app)
        real_clock.now += timedelta(seconds=5)

    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
    deliveries = client.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]
    assert {d["status"] for d in deliveries} == {"delivered"}
    # At once, then 5 s, 5 min, 30 min and 2 h after each failure: the fifth attempt,
    # 2 h 35 min after the first, finds the receiver back.
    assert {d["attempts"] for d in deliveries} == {5}
    assert len(receiver.requests) == 3 * 5
    for secret_check in receiver.requests[-3:]:
        signed = Webhook(subscription["secret"]).sign(
            secret_check.headers["webhook-id"],
            datetime.fromtimestamp(int(secret_check.headers["webhook-timestamp"]), UTC),
            secret_check.body,
        )
        assert secret_check.headers["webhook-signature"] == signed


def test_retries_span_a_day_then_dead_letter_then_replay(webhook_app, receiver, real_clock) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    receiver.answer = lambda _: (500, b"x" * (MAX_RESPONSE_BYTES * 4))
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliveries = f"/subscriptions/{subscription['id']}/deliveries"

    first = real_clock.now
    deliver(webhook_app)
    for delay in RETRY_DELAYS:
        (pending,) = client.get(deliveries).json["items"]
        due = datetime.fromisoformat(pending["nextAttemptAt"])
        assert delay <= due - datetime.fromisoformat(pending["lastAttemptAt"])
        # Not due before its time.
        real_clock.now = due - timedelta(seconds=1)
        deliver(webhook_app)
        real_clock.now = due
        deliver(webhook_app)

    (dead,) = client.get(deliveries).json["items"]
    assert len(receiver.requests) == MAX_ATTEMPTS
    assert (dead["status"], dead["attempts"], dead["lastStatusCode"]) == ("dead", 8, 500)
    assert real_clock.now - first >= timedelta(hours=24)
    real_clock.now += timedelta(days=2)
    deliver(webhook_app)
    assert len(receiver.requests) == MAX_ATTEMPTS

    receiver.answer = lambda _: (200, b"")
    replayed = client.post(f"/subscriptions/{subscription['id']}/replay", json={})
    deliver(webhook_app)

    assert replayed.json == {"replayed": 1}
    (delivered,) = client.get(deliveries).json["items"]
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "wait"),
    [
        (503, "3600", timedelta(hours=1)),
        (429, "120", timedelta(minutes=2)),
        # Sooner than the schedule's next attempt: the schedule stands.
        (503, "1", RETRY_DELAYS[0]),
        # A receiver cannot put its deliveries off for longer than the schedule's longest wait.
        (503, "9999999", RETRY_DELAYS[-1]),
        (503, "soon", RETRY_DELAYS[0]),
    ],
)
def test_a_retry_waits_as_long_as_the_receivers_retry_after(  # type: ignore[no-untyped-def]
    webhook_app, receiver, real_clock, status, retry_after, wait
) -> None:
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    receiver.answer = lambda _: (status, b"")
    receiver.extra_headers = {"retry-after": retry_after}
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliveries = f"/subscriptions/{subscription['id']}/deliveries"

    deliver(webhook_app)
    (pending,) = client.get(deliveries).json["items"]
    attempted = datetime.fromisoformat(pending["lastAttemptAt"])
    due = datetime.fromisoformat(pending["nextAttemptAt"])
    real_clock.now = attempted + wait - timedelta(seconds=1)
    deliver(webhook_app)
    real_clock.now = due
    deliver(webhook_app)

    # The wait asked for, and the jitter on top of it.
    assert wait <= due - attempted <= wait * (1 + JITTER)
    assert len(receiver.requests) == 2


def test_a_retry_after_given_as_a_date_is_kept(webhook_app, receiver, real_clock) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    receiver.answer = lambda _: (503, b"")
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    receiver.extra_headers = {"retry-after": format_datetime(later, usegmt=True)}
    assert client.post("/datasets", json=PUBLIC).status_code == 201

    deliver(webhook_app)

    (pending,) = client.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]
    wait = datetime.fromisoformat(pending["nextAttemptAt"]) - real_clock.now
    assert timedelta(hours=1, minutes=55) < wait <= timedelta(hours=2, minutes=5) * (1 + JITTER)


def test_a_receiver_answering_410_disables_its_subscription(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    receiver.answer = lambda _: (410, b"")
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliver(webhook_app)
    assert client.patch("/datasets/trees", json={"title": "Again"}).status_code == 200
    deliver(webhook_app)

    read = client.get(f"/subscriptions/{subscription['id']}").json
    items = client.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]

    assert (read["status"], read["disabledReason"]) == (
        "disabled",
        "the receiver answered 410 Gone",
    )
    assert len(receiver.requests) == 1
    assert [(d["status"], d["lastStatusCode"]) for d in items] == [("cancelled", 410)]


def test_deliveries_survive_a_restart(settings, real_clock, receiver) -> None:  # type: ignore[no-untyped-def]
    """Events written while no worker ran go out when the next process starts one."""
    allowed = replace(settings, webhook_allow_private=True)
    migrations.apply(allowed)
    first = create_app(allowed, clock=real_clock)
    authenticate_as_site_admin(first)
    client = first.test_client()
    subscription = subscribe(client, receiver.url)
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    services_of(first).store.close()

    second = create_app(allowed, clock=real_clock)
    deliver(second)

    (event,) = verified(receiver, subscription["secret"])
    assert event["type"] == "no.brygge.dataset.created"
    store = services_of(second).store
    assert store.query(Query(keys.OUTBOX_PK), limit=10).items == []
    store.close()


class CountingStore:
    """The store, counting the calls that write (each a commit on SQLite)."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self.writes = 0

    def write(self, op) -> None:  # type: ignore[no-untyped-def]
        self.writes += 1
        self._store.write(op)

    def transact(self, ops) -> None:  # type: ignore[no-untyped-def]
        self.writes += 1
        self._store.transact(ops)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_deliveries_are_fanned_out_sent_and_recorded_in_few_writes(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    first, second = subscribe(client, receiver.url + "/a"), subscribe(client, receiver.url + "/b")
    for number in range(40):
        assert client.post("/datasets", json={**PUBLIC, "id": f"t-{number}"}).status_code == 201
    services = services_of(webhook_app)
    counting = CountingStore(services.store)
    worker_view = SimpleNamespace(store=counting, clock=services.clock, settings=services.settings)
    sender = HttpSender(allow_private=True)

    while run_once(worker_view, sender):  # type: ignore[arg-type]
        pass

    assert len(receiver.requests) == 80
    for subscription in (first, second):
        items = client.get(f"/subscriptions/{subscription['id']}/deliveries?limit=100").json
        assert [d["status"] for d in items["items"]] == ["delivered"] * 40
    # 80 deliveries of 40 events: fan-out in transactions of several events, each first
    # attempt made claimed as it is fanned out, outcomes written together; one write per
    # event or delivery would be 160 or more.
    assert counting.writes <= 12, counting.writes


# The guard against calling addresses a receiver should not make us call. -----------------


def test_private_addresses_are_refused_unless_allowed(receiver) -> None:  # type: ignore[no-untyped-def]
    refused = HttpSender(allow_private=False)(receiver.url, b"{}", {})
    allowed = HttpSender(allow_private=True)(receiver.url, b"{}", {})

    assert refused.status_code is None and "private" in (refused.error or "")
    assert allowed == Response(204)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254"])
def test_link_local_and_metadata_addresses_are_refused_always(receiver, address) -> None:  # type: ignore[no-untyped-def]
    # A name that resolves to the metadata service: the check is on resolved addresses.
    sender = HttpSender(allow_private=True, resolve=lambda host, port: [address])
    answer = sender("https://innocent.example.org/hook", b"{}", {})
    assert answer.status_code is None and "link-local or metadata" in (answer.error or "")


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.1", "100.64.0.1", "::1", "0.0.0.0"])
def test_private_ranges_are_refused(address) -> None:  # type: ignore[no-untyped-def]
    sender = HttpSender(allow_private=False, resolve=lambda host, port: ["93.184.215.14", address])
    answer = sender("https://mixed.example.org/hook", b"{}", {})
    assert answer.status_code is None and "private or reserved" in (answer.error or "")


def test_redirects_are_not_followed(receiver) -> None:  # type: ignore[no-untyped-def]
    with running_receiver() as target:
        receiver.answer = lambda _: (307, b"")
        receiver.extra_headers = {"location": target.url + "/elsewhere"}
        answer = HttpSender(allow_private=True)(receiver.url, b"{}", {})
        assert answer == Response(307)
        assert target.requests == []


def test_the_connection_goes_to_the_checked_address(receiver) -> None:  # type: ignore[no-untyped-def]
    """The name is resolved once; Host stays the URL's, the socket goes to the address."""
    port = receiver.url.rsplit(":", 1)[1]
    sender = HttpSender(allow_private=True, resolve=lambda host, _: ["127.0.0.1"])
    answer = sender(f"http://hooks.example.org:{port}/in", b"{}", {"webhook-id": "x"})
    assert answer == Response(204)
    (request,) = receiver.requests
    assert request.headers["host"] == f"hooks.example.org:{port}"


def test_a_url_no_request_line_can_carry_is_a_failed_attempt_not_an_exception(receiver) -> None:  # type: ignore[no-untyped-def]
    answer = HttpSender(allow_private=True)(receiver.url + "/bl\u00e5b\u00e6r", b"{}", {})
    # A label over 63 characters: no name the IDNA codec can encode for a lookup.
    long_label = HttpSender(allow_private=True)(f"https://{'a' * 64}.example.org/", b"{}", {})
    assert answer.status_code is None and answer.error
    assert long_label.status_code is None and "resolve" in (long_label.error or "")
    assert receiver.requests == []


def test_one_unsendable_subscription_does_not_hold_back_the_others(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    """A subscription stored before its URL was checked as now: its attempts fail alone."""
    client = webhook_app.test_client()
    good = subscribe(client, receiver.url + "/good")
    repositories = SubscriptionRepository(services_of(webhook_app).store, utc_now)
    admin = Identity("user:admin", (), True, AUTH_OFF)
    bad = repositories.create({"url": receiver.url + "/bl\u00e5b\u00e6r"}, identity=admin)
    assert client.post("/datasets", json=PUBLIC).status_code == 201

    deliver(webhook_app)

    (delivered,) = client.get(f"/subscriptions/{good['id']}/deliveries").json["items"]
    (failed,) = client.get(f"/subscriptions/{bad['id']}/deliveries").json["items"]
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)
    assert (failed["status"], failed["attempts"]) == ("pending", 1)
    assert failed["lastError"]
    assert [request.path for request in receiver.requests] == ["/good"]


@contextmanager
def trickling_receiver(head: bytes) -> Iterator[tuple[str, list[int]]]:
    """A receiver that sends ``head`` then one byte of a long body every 50 ms, each well
    inside the sender's timeout for one read; yields its URL and the bytes it got out."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    sent: list[int] = []

    def serve() -> None:
        connection, _ = server.accept()
        with connection:
            connection.recv(65536)
            try:
                connection.sendall(head)
                while not stop.wait(0.05):  # the receiver's pace, not a test delay
                    connection.sendall(b"x")
                    sent.append(1)
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook", sent
    finally:
        stop.set()
        server.close()
        thread.join(5)


@pytest.mark.parametrize(
    ("head", "status_code"),
    [
        # The status line trickles: no answer was had.
        (b"HTTP/1.1 2", None),
        # The status came, then headers or body trickle: the receiver did take the event.
        (b"HTTP/1.1 200 OK\r\nX-Slow: ", 200),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", 200),
    ],
)
def test_a_receiver_that_trickles_its_answer_is_cut_off_at_the_attempts_deadline(
    head: bytes, status_code: int | None
) -> None:
    with trickling_receiver(head) as (url, sent):
        sender = HttpSender(allow_private=True, timeout_s=5.0, attempt_s=0.5)
        answer = sender(url, b"{}", {})
        # Cut off long before the receiver would have been through.
        assert len(sent) < 100
    assert answer.status_code == status_code
    if status_code is None:
        assert "no answer within 0.5 s" in (answer.error or "")


def test_webhook_settings_read_on_and_off() -> None:
    assert Settings.from_env({"BRYGGE_WEBHOOK_ALLOW_PRIVATE": "on"}).webhook_allow_private
    assert not Settings.from_env({}).webhook_allow_private
    assert sum(RETRY_DELAYS, timedelta()) >= timedelta(hours=24)


# A subscription its maker owns acts only while the credential it was made with stands. ---

TEAM_A = {"id": "team-a-data", "title": "A", "accessRights": "non-public", "owner": "team:a"}
TEAM_A_RESTRICTED = {**TEAM_A, "id": "team-a-shared", "accessRights": "restricted"}


@pytest.fixture
def webhook_app_on_store(store, settings: Settings, real_clock: Clock) -> Flask:  # type: ignore[no-untyped-def]
    application = create_app(
        replace(settings, webhook_allow_private=True), store=store, clock=real_clock
    )
    authenticate_as_site_admin(application)
    return application


def client_of(app: Flask, principal: str, *teams: str) -> tuple[FlaskClient, str]:
    """A client acting with a new API token of ``principal``; the token's id."""
    token, record = TokenRepository(services_of(app).store, utc_now).create(principal, teams=teams)
    client = FlaskClient(app)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client, record["id"]


def subjects(receiver: Receiver) -> list[str]:
    return [json.loads(r.body)["subject"] for r in receiver.requests]


def test_revoking_the_token_stops_deliveries_of_the_teams_events(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    app = webhook_app_on_store
    admin = app.test_client()
    for dataset in (TEAM_A, TEAM_A_RESTRICTED):
        assert admin.post("/datasets", json=dataset).status_code == 201
    deliver(app)  # the creations go out before the subscription is made
    alice, token_id = client_of(app, "user:a", "team:a")
    subscribe(alice, receiver.url, owner="user:a")
    assert admin.patch("/datasets/team-a-data", json={"title": "A1"}).status_code == 200
    deliver(app)
    assert subjects(receiver) == ["/datasets/team-a-data"]

    TokenRepository(services_of(app).store, utc_now).revoke(token_id)
    assert admin.patch("/datasets/team-a-data", json={"title": "A2"}).status_code == 200
    assert admin.patch("/datasets/team-a-shared", json={"title": "S2"}).status_code == 200
    assert admin.post("/datasets", json=PUBLIC).status_code == 201
    deliver(app)

    # Only the public dataset's event: the team's events need the revoked token.
    assert subjects(receiver) == ["/datasets/team-a-data", "/datasets/trees"]


def test_a_retry_after_the_token_is_revoked_is_cancelled(
    webhook_app_on_store, receiver, real_clock
) -> None:  # type: ignore[no-untyped-def]
    app = webhook_app_on_store
    admin = app.test_client()
    assert admin.post("/datasets", json=TEAM_A).status_code == 201
    deliver(app)
    alice, token_id = client_of(app, "user:a", "team:a")
    subscription = subscribe(alice, receiver.url, owner="user:a")
    receiver.answer = lambda _: (503, b"")
    assert admin.patch("/datasets/team-a-data", json={"title": "A1"}).status_code == 200
    deliver(app)
    assert len(receiver.requests) == 1

    TokenRepository(services_of(app).store, utc_now).revoke(token_id)
    receiver.answer = lambda _: (204, b"")
    real_clock.now += timedelta(minutes=1)
    deliver(app)

    assert len(receiver.requests) == 1
    (delivery,) = admin.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]
    assert delivery["status"] == "cancelled"
    assert "credential" in delivery["lastError"]


def test_a_token_without_the_team_does_not_see_the_teams_events(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    """Reissued without the team (the old token revoked), a subscription made with the new
    token gets none of the team's non-public events; one made with the old one stops."""
    app = webhook_app_on_store
    admin = app.test_client()
    assert admin.post("/datasets", json=TEAM_A).status_code == 201
    deliver(app)
    old, old_id = client_of(app, "user:a", "team:a")
    subscribe(old, receiver.url + "/old", owner="user:a")
    TokenRepository(services_of(app).store, utc_now).revoke(old_id)
    new, _ = client_of(app, "user:a")
    subscribe(new, receiver.url + "/new")

    assert admin.patch("/datasets/team-a-data", json={"title": "A1"}).status_code == 200
    deliver(app)

    assert receiver.requests == []


def test_a_subscription_with_a_standing_token_keeps_its_teams_events(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    app = webhook_app_on_store
    admin = app.test_client()
    assert admin.post("/datasets", json=TEAM_A).status_code == 201
    deliver(app)
    alice, _ = client_of(app, "user:a", "team:a")
    subscribe(alice, receiver.url)
    # Another token of the same user revoked: this subscription's token still stands.
    _, other_id = client_of(app, "user:a", "team:a")
    TokenRepository(services_of(app).store, utc_now).revoke(other_id)

    assert admin.patch("/datasets/team-a-data", json={"title": "A1"}).status_code == 200
    deliver(app)

    assert subjects(receiver) == ["/datasets/team-a-data"]


def test_deliveries_that_fail_together_do_not_all_come_back_at_once(
    webhook_app, receiver, real_clock
) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    receiver.answer = lambda _: (503, b"")
    for number in range(12):
        assert client.post("/datasets", json={**PUBLIC, "id": f"trees-{number}"}).status_code == 201

    deliver(webhook_app)

    deliveries = client.get(f"/subscriptions/{subscription['id']}/deliveries").json["items"]
    waits = [
        datetime.fromisoformat(d["nextAttemptAt"]) - datetime.fromisoformat(d["lastAttemptAt"])
        for d in deliveries
    ]
    assert len(waits) == 12
    # Standard Webhooks: random jitter, so a receiver that failed under the load of the
    # deliveries themselves does not get them all back at the same instant.
    assert all(RETRY_DELAYS[0] <= wait <= RETRY_DELAYS[0] * (1 + JITTER) for wait in waits)
    assert max(waits) - min(waits) > timedelta(milliseconds=300)


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(
    webhook_app, receiver, real_clock
) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    old = subscription["secret"]
    rotate = f"/subscriptions/{subscription['id']}/rotate-secret"

    rotated = client.post(rotate, json={})

    assert rotated.status_code == 200, rotated.json
    new = rotated.json["secret"]
    assert new.startswith("whsec_") and new != old
    valid_until = datetime.fromisoformat(rotated.json["previousSecretValidUntil"])
    assert valid_until - real_clock.now <= timedelta(hours=24)
    assert valid_until - real_clock.now > timedelta(hours=23, minutes=59)
    shown = client.get(f"/subscriptions/{subscription['id']}").json
    assert not {"secret", "previousSecrets"} & set(shown)

    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliver(webhook_app)
    # Signed with both, space-delimited: a receiver still on the old secret and one
    # already on the new one both verify it (the standardwebhooks package's own check).
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verified(receiver, old) == verified(receiver, new)

    real_clock.now = valid_until
    assert client.patch("/datasets/trees", json={"title": "Urban trees"}).status_code == 200
    deliver(webhook_app)
    # A day on (past the receivers' timestamp tolerance: the signatures are compared).
    later = receiver.requests[-1]
    assert later.headers["webhook-signature"] == signature_of(later, new)
    assert signature_of(later, old) not in later.headers["webhook-signature"]


def test_a_secret_rotated_without_grace_stops_signing_at_once(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    rotate = f"/subscriptions/{subscription['id']}/rotate-secret"

    first = client.post(rotate, json={"graceSeconds": 0}).json
    second = client.post(rotate, json={"graceSeconds": 0}).json
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliver(webhook_app)

    assert first["previousSecretValidUntil"] is None
    (request,) = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(second["secret"]).verify(request.body, request.headers)
    for stale in (subscription["secret"], first["secret"]):
        with pytest.raises(WebhookVerificationError):
            Webhook(stale).verify(request.body, request.headers)


@pytest.mark.parametrize("grace", [-1, 8 * 24 * 3600, "soon", 1.5])
def test_a_rotation_grace_outside_a_week_is_422(webhook_app, receiver, grace) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    rotate = f"/subscriptions/{subscription['id']}/rotate-secret"

    answer = client.post(rotate, json={"graceSeconds": grace})

    assert answer.status_code == 422
    assert "graceSeconds" in answer.json["errors"]["json"]
    # Nothing changed: the secret made with the subscription still signs alone.
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    deliver(webhook_app)
    (request,) = receiver.requests
    Webhook(subscription["secret"]).verify(request.body, request.headers)
    assert len(request.headers["webhook-signature"].split(" ")) == 1


def test_only_a_subscriptions_maker_rotates_its_secret(webhook_app, receiver) -> None:  # type: ignore[no-untyped-def]
    client = webhook_app.test_client()
    subscription = subscribe(client, receiver.url)
    token, _ = TokenRepository(services_of(webhook_app).store, utc_now).create("user:bob")
    bob = FlaskClient(webhook_app)
    bob.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    rotate = f"/subscriptions/{subscription['id']}/rotate-secret"

    assert bob.post(rotate, json={}).status_code == 404
    assert FlaskClient(webhook_app).post(rotate, json={}).status_code == 401
    assert client.post("/subscriptions/nope/rotate-secret", json={}).status_code == 404


def test_a_site_admin_removed_from_the_admins_stops_getting_non_public_events(
    settings, real_clock, receiver
) -> None:  # type: ignore[no-untyped-def]
    """The site-admin standing is the settings' now, not the one the subscriber had when
    subscribing: restarted with BRYGGE_ADMINS without it, the next delivery leaves out what
    only site admins see."""
    allowed = replace(settings, webhook_allow_private=True)
    migrations.apply(allowed)
    first = create_app(allowed, clock=real_clock)
    authenticate_as_site_admin(first)
    client = first.test_client()
    subscribe(client, receiver.url)
    assert client.post("/datasets", json=HIDDEN).status_code == 201
    deliver(first)
    assert subjects(receiver) == ["/datasets/secret"]
    assert client.patch("/datasets/secret", json={"title": "Still secret"}).status_code == 200
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    services_of(first).store.close()

    demoted = create_app(replace(allowed, admins=()), clock=real_clock)
    deliver(demoted)

    assert subjects(receiver) == ["/datasets/secret", "/datasets/trees"]
    services_of(demoted).store.close()


# A team's subscription belongs to the team. -------------------------------------------


def test_a_team_subscription_outlives_its_makers_token_and_its_members_manage_it(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    app = webhook_app_on_store
    admin = app.test_client()
    assert admin.post("/datasets", json=TEAM_A).status_code == 201
    deliver(app)
    alice, token_id = client_of(app, "user:a", "team:a")
    made = subscribe(alice, receiver.url)
    assert (made["owner"], made["principal"]) == ("team:a", "user:a")

    TokenRepository(services_of(app).store, utc_now).revoke(token_id)
    assert admin.patch("/datasets/team-a-data", json={"title": "A1"}).status_code == 200
    deliver(app)

    assert subjects(receiver) == ["/datasets/team-a-data"]
    bob, _ = client_of(app, "user:b", "team:a")
    assert bob.get(f"/subscriptions/{made['id']}").json["owner"] == "team:a"
    listed = bob.get("/subscriptions", query_string={"owner": "team:a"}).json["items"]
    assert [item["id"] for item in listed] == [made["id"]]
    assert bob.get(f"/subscriptions/{made['id']}/deliveries").status_code == 200
    carol, _ = client_of(app, "user:c", "team:c")
    assert carol.get(f"/subscriptions/{made['id']}").status_code == 404
    assert carol.get("/subscriptions", query_string={"owner": "team:a"}).status_code == 403
    assert carol.delete(f"/subscriptions/{made['id']}").status_code == 404
    assert bob.delete(f"/subscriptions/{made['id']}").status_code == 204


def test_a_subscription_owned_by_a_team_the_maker_is_not_in_is_403(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    alice, _ = client_of(webhook_app_on_store, "user:a", "team:a")

    refused = alice.post("/subscriptions", json={"url": receiver.url, "owner": "team:b"})

    assert refused.status_code == 403
    assert alice.get("/subscriptions", query_string={"owner": "team:a"}).json["items"] == []


def test_a_team_subscription_stops_getting_a_dataset_its_team_can_no_longer_see(
    webhook_app_on_store, receiver
) -> None:  # type: ignore[no-untyped-def]
    app = webhook_app_on_store
    admin = app.test_client()
    shared = {**TEAM_A, "id": "shared", "owner": "team:owners"}
    assert admin.post("/datasets", json=shared).status_code == 201
    granted = admin.put("/datasets/shared/permissions/team:a", json={"scopes": ["read"]})
    assert granted.status_code == 200
    deliver(app)
    alice, _ = client_of(app, "user:a", "team:a")
    subscribe(alice, receiver.url)
    assert admin.patch("/datasets/shared", json={"title": "S1"}).status_code == 200
    deliver(app)
    assert subjects(receiver) == ["/datasets/shared"]

    assert admin.delete("/datasets/shared/permissions/team:a").status_code == 204
    assert admin.patch("/datasets/shared", json={"title": "S2"}).status_code == 200
    deliver(app)

    assert subjects(receiver) == ["/datasets/shared"]


def test_a_subscription_made_with_authentication_off_is_no_site_admin_once_it_is_on(
    settings, real_clock, receiver
) -> None:  # type: ignore[no-untyped-def]
    """Made while BRYGGE_AUTH=off (everyone a site admin), then restarted with it on: no
    credential of its maker stands, so it receives public datasets' events only."""
    open_site = replace(settings, webhook_allow_private=True, auth="off")
    migrations.apply(open_site)
    first = create_app(open_site, clock=real_clock)
    client = first.test_client()
    subscribe(client, receiver.url)
    assert client.post("/datasets", json=HIDDEN).status_code == 201
    deliver(first)
    assert subjects(receiver) == ["/datasets/secret"]
    assert client.patch("/datasets/secret", json={"title": "Still secret"}).status_code == 200
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    services_of(first).store.close()

    closed = create_app(replace(open_site, auth="on"), clock=real_clock)
    deliver(closed)

    assert subjects(receiver) == ["/datasets/secret", "/datasets/trees"]
    services_of(closed).store.close()
