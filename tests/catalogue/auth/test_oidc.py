"""OIDC JWTs against a JWKS served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from catalogue.auth.oidc import JwksCache
from catalogue.auth.principal import JWKS_EXTENSION
from tests.catalogue.auth.world import World, build_world

ISSUER = "https://idp.example.org/realms/brygge"
AUDIENCE = "brygge-api"


class Jwks:
    """A JWKS endpoint whose key set a test can change; counts the fetches it served."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        # While ``hold`` is set, each fetch signals ``holding`` and waits for ``release``.
        self.hold = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                jwks.fetches += 1
                if jwks.hold.is_set():
                    jwks.holding.set()
                    jwks.release.wait()
                body = json.dumps({"keys": jwks.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/certs"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def publish(self, kid: str, private_key: Any) -> None:
        algorithm = (
            jwt.algorithms.RSAAlgorithm
            if isinstance(private_key, rsa.RSAPrivateKey)
            else jwt.algorithms.ECAlgorithm
        )
        data = algorithm.to_jwk(private_key.public_key(), as_dict=True)
        self.keys.append({**data, "kid": kid, "use": "sig"})


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks(rsa_key, ec_key) -> Iterator[Jwks]:  # type: ignore[no-untyped-def]
    server = Jwks()
    server.publish("rsa-1", rsa_key)
    server.publish("ec-1", ec_key)
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def oidc_world(tmp_path: Path, jwks: Jwks) -> Iterator[World]:
    world = build_world(
        tmp_path / "home",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks.url,
    )
    yield world
    world.app.extensions["brygge"].store.close()


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "groups": ["data-eng", "/harbour"],
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_signed(header: dict[str, Any], payload: dict[str, Any], key: bytes | None) -> str:
    """A JWT signed by hand with HMAC-SHA256 (or unsigned when ``key`` is None)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if key is None:
        return f"{signing_input}."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def me(world: World, token: str):  # type: ignore[no-untyped-def]
    return world.app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})


def test_a_valid_rs256_token_names_the_user_and_its_teams(oidc_world, rsa_key) -> None:  # type: ignore[no-untyped-def]
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    response = me(oidc_world, token)
    assert response.status_code == 200, response.json
    assert response.json["principal"] == "user:alice"
    assert response.json["teams"] == ["team:data-eng", "team:harbour"]
    assert response.json["siteAdmin"] is False


def test_a_valid_es256_token_is_accepted(oidc_world, ec_key) -> None:  # type: ignore[no-untyped-def]
    token = jwt.encode(
        claims(sub="client:etl-bot"), ec_key, algorithm="ES256", headers={"kid": "ec-1"}
    )
    response = me(oidc_world, token)
    assert response.status_code == 200, response.json
    assert response.json["principal"] == "client:etl-bot"


def test_teams_come_from_the_configured_claim(tmp_path, jwks, rsa_key) -> None:  # type: ignore[no-untyped-def]
    world = build_world(
        tmp_path / "home",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks.url,
        oidc_teams_claim="roles",
    )
    token = jwt.encode(claims(roles=["ops"]), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert me(world, token).json["teams"] == ["team:ops"]
    world.app.extensions["brygge"].store.close()


def _bad_tokens(rsa_key: Any, ec_key: Any) -> dict[str, str]:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())

    def rs(payload: dict[str, Any], kid: str = "rsa-1", key: Any = rsa_key) -> str:
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})

    return {
        "expired": rs(claims(exp=now - 120, iat=now - 600, nbf=now - 600)),
        "not yet valid": rs(claims(nbf=now + 600)),
        "wrong audience": rs(claims(aud="someone-else")),
        "wrong issuer": rs(claims(iss="https://evil.example.org")),
        "unknown kid": rs(claims(), kid="rsa-unknown"),
        "signed by another key": rs(claims(), key=other_key),
        "alg none": hand_signed({"alg": "none", "kid": "rsa-1"}, claims(), None),
        "HS256 with the public key": hand_signed(
            {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, claims(), public_pem
        ),
        "RS256 header on the EC key": rs(claims(), kid="ec-1"),
        "no expiry": rs(claims(exp=None)),
        "expiry as a string": rs(claims(exp=str(now + 300))),
        "not-before as a string": rs(claims(nbf=str(now - 5))),
        "subject with a space": rs(claims(sub="alice admin")),
        "subject with a control character": rs(claims(sub="alice\u0000")),
        "subject with a bidi override": rs(claims(sub="alice\u202egnp.exe")),
        "empty subject": rs(claims(sub="")),
        "not a JWT": "not.a.jwt",
    }


BAD = [
    "expired",
    "not yet valid",
    "wrong audience",
    "wrong issuer",
    "unknown kid",
    "signed by another key",
    "alg none",
    "HS256 with the public key",
    "RS256 header on the EC key",
    "no expiry",
    "expiry as a string",
    "not-before as a string",
    "subject with a space",
    "subject with a control character",
    "subject with a bidi override",
    "empty subject",
    "not a JWT",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_jwts_are_401_on_reads_and_writes(oidc_world, rsa_key, ec_key, case) -> None:  # type: ignore[no-untyped-def]
    token = _bad_tokens(rsa_key, ec_key)[case]
    client = oidc_world.app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for response in (
        client.get("/me", headers=headers),
        client.get("/datasets", headers=headers),
        client.post("/datasets", json={"title": "x"}, headers=headers),
    ):
        assert response.status_code == 401, (case, response.json)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert token not in response.get_data(as_text=True)


def test_an_unknown_kid_refetches_the_key_set_once(oidc_world, jwks, rsa_key) -> None:  # type: ignore[no-untyped-def]
    first = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert me(oidc_world, first).status_code == 200
    assert me(oidc_world, first).status_code == 200
    assert jwks.fetches == 1  # cached across requests
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.publish("rsa-2", rotated)
    # A key published after the last fetch: the unknown kid triggers a refresh... but only
    # once per interval, so right after the first fetch it is refused.
    token = jwt.encode(claims(), rotated, algorithm="RS256", headers={"kid": "rsa-2"})
    assert me(oidc_world, token).status_code == 401
    assert jwks.fetches == 1


def test_the_cache_refreshes_for_an_unknown_kid_at_most_once_per_interval() -> None:
    served = [{"keys": []}]
    fetched: list[str] = []
    now = [1000.0]

    def fetch(url: str, timeout_s: float) -> Any:
        fetched.append(url)
        return served[0]

    cache = JwksCache(
        "http://idp/certs", fetch=fetch, monotonic=lambda: now[0], min_refresh_interval_s=60
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k2"}
    assert cache.key("k1") is None
    assert len(fetched) == 1
    served[0] = {"keys": [jwk]}
    for _ in range(5):
        assert cache.key("k2") is None  # a flood of unknown kids: no further fetch
    assert len(fetched) == 1
    now[0] += 60
    assert cache.key("k2") is not None
    assert len(fetched) == 2
    assert cache.key("k2") is not None  # known: no fetch
    assert len(fetched) == 2


def test_an_unreachable_key_set_refuses_tokens_without_500(tmp_path, rsa_key) -> None:  # type: ignore[no-untyped-def]
    world = build_world(
        tmp_path / "home",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url="http://127.0.0.1:9/certs",
    )
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert me(world, token).status_code == 401
    world.app.extensions["brygge"].store.close()


def test_tokens_never_reach_the_logs(oidc_world, rsa_key, caplog) -> None:  # type: ignore[no-untyped-def]
    good = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    expired = jwt.encode(
        claims(exp=int(time.time()) - 120), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"}
    )
    api_token = oidc_world.tokens["owner"]
    caplog.set_level(logging.DEBUG)
    client = oidc_world.app.test_client()
    outcomes = [
        client.get("/me", headers={"Authorization": f"Bearer {expired}"}).status_code,
        client.get("/me", headers={"Authorization": f"Bearer {good}"}).status_code,
        client.get("/me", headers={"Authorization": f"Bearer {api_token}x"}).status_code,
        client.get("/me", headers={"Authorization": f"Bearer {api_token}"}).status_code,
    ]
    assert outcomes == [401, 200, 401, 200]
    assert caplog.records  # the requests were logged at all, or this test proves nothing
    logged = caplog.text + " ".join(str(record.args) for record in caplog.records)
    for secret in (good, expired, api_token, good.split(".")[2], api_token.split("_", 2)[2]):
        assert secret not in logged


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"exp": "4102444800"}, "exp claim must be a number"),
        ({"sub": "alice admin"}, "U+0020"),
        ({"sub": "client:bot\u200f"}, "U+200F"),
        ({"sub": "a" * 129}, "1 to 128 characters"),
    ],
)
def test_a_refused_claim_is_named_in_the_401(oidc_world, rsa_key, changes, reason) -> None:  # type: ignore[no-untyped-def]
    token = jwt.encode(claims(**changes), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    response = me(oidc_world, token)
    assert response.status_code == 401
    assert reason in response.json["message"]


def test_a_known_kid_is_served_while_an_unknown_kid_refetches(oidc_world, jwks, rsa_key) -> None:  # type: ignore[no-untyped-def]
    # No rate limit and a long fetch timeout: the refetch stays blocked until released.
    cache = JwksCache(jwks.url, min_refresh_interval_s=0, fetch_timeout_s=60)
    oidc_world.app.extensions[JWKS_EXTENSION] = cache
    known = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    assert me(oidc_world, known).status_code == 200
    jwks.hold.set()
    unknown = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-rotated"})
    statuses: dict[str, int] = {}

    def call(name: str, token: str) -> None:
        statuses[name] = me(oidc_world, token).status_code

    refetching = threading.Thread(target=call, args=("unknown", unknown))
    refetching.start()
    try:
        assert jwks.holding.wait(30)  # the refetch is in the JWKS server now, blocked
        served = threading.Thread(target=call, args=("known", known))
        served.start()
        served.join(30)
        # Finished while the refetch is still blocked: it never waited for it.
        assert statuses.get("known") == 200
        assert refetching.is_alive() and not jwks.release.is_set()
    finally:
        jwks.release.set()
        refetching.join(30)
    assert statuses["unknown"] == 401
    assert jwks.fetches == 2


def test_unknown_kids_during_a_refetch_share_it(jwks, rsa_key) -> None:  # type: ignore[no-untyped-def]
    cache = JwksCache(jwks.url, fetch_timeout_s=60)
    jwks.hold.set()
    found: list[object] = []
    threads = [threading.Thread(target=lambda: found.append(cache.key("rsa-1"))) for _ in range(4)]
    threads[0].start()
    assert jwks.holding.wait(30)
    for thread in threads[1:]:
        thread.start()
    jwks.release.set()
    for thread in threads:
        thread.join(30)
    assert len(found) == 4 and all(key is not None for key in found)
    assert jwks.fetches == 1


def test_a_subscription_made_with_an_oidc_token_gets_only_public_events(
    tmp_path, jwks, rsa_key
) -> None:  # type: ignore[no-untyped-def]
    """An OIDC token leaves no record to check again at delivery time: a subscription
    made with one acts as nobody in particular, so its team's non-public events stay home."""
    from catalogue.events.delivery import HttpSender
    from catalogue.events.worker import run_once
    from tests.fixtures.receiver import running_receiver

    world = build_world(
        tmp_path / "home",
        oidc_issuer=ISSUER,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=jwks.url,
        webhook_allow_private=True,
    )
    world.create_dataset("harbour-only", "non-public", owner="team:harbour")
    world.create_dataset("open", "public")
    services = world.app.extensions["brygge"]
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass
    token = jwt.encode(claims(), rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    alice = world.app.test_client()
    alice.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert alice.get("/datasets/harbour-only").status_code == 200
    with running_receiver() as receiver:
        assert alice.post("/subscriptions", json={"url": receiver.url}).status_code == 201
        admin = world.as_admin()
        for dataset_id in ("harbour-only", "open"):
            patched = admin.patch(f"/datasets/{dataset_id}", json={"title": "Changed"})
            assert patched.status_code == 200
        while run_once(services, sender):
            pass

        assert [json.loads(r.body)["subject"] for r in receiver.requests] == ["/datasets/open"]
    services.store.close()


def test_a_page_session_opened_with_an_oidc_token_ends_when_the_token_would(
    oidc_world, rsa_key
) -> None:  # type: ignore[no-untyped-def]
    import re
    from datetime import UTC, datetime

    signed = claims()
    token = jwt.encode(signed, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
    clock = oidc_world.app.extensions["brygge"].clock
    clock.now = datetime.fromtimestamp(signed["iat"], UTC)
    browser = oidc_world.app.test_client()
    page = {"Accept": "text/html"}
    form = browser.get("/sign-in", headers=page).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed_in = browser.post("/sign-in", data={"token": token, "csrf": csrf[1]})
    assert signed_in.status_code == 303
    assert "user:alice" in browser.get("/", headers=page).get_data(as_text=True)

    clock.now = datetime.fromtimestamp(signed["exp"], UTC)

    html = browser.get("/", headers=page).get_data(as_text=True)
    assert "user:alice" not in html and "sign in again" in html
