"""OIDC access tokens: JWTs signed with RS256 or ES256 by keys from a JWKS URL."""

from __future__ import annotations

import json
import threading
import time
import unicodedata
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from catalogue.domain.access import TEAM, Identity
from catalogue.domain.errors import Unauthenticated

# Asymmetric only: "none" and HMAC algorithms would let anyone holding the public key sign.
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
# An unknown kid triggers at most one JWKS fetch per interval, so a flood of tokens with
# made-up kids cannot turn the API into a load generator against the identity provider.
MIN_REFRESH_INTERVAL_S = 60.0
# Short: a request whose kid is unknown waits this long at most; other requests never wait.
FETCH_TIMEOUT_S = 2.0
# Clock skew tolerated on exp and nbf.
LEEWAY_S = 30
# RFC 7519 NumericDate claims; PyJWT alone would take "exp": "1700000000" as well.
NUMERIC_DATE_CLAIMS = ("exp", "nbf", "iat")
MAX_SUBJECT_CHARS = 128


def fetch_json(url: str, timeout_s: float) -> Any:
    """GET a JSON document (the JWKS)."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:
        return json.loads(response.read())


class JwksCache:
    """Signing keys by kid, fetched on first use and again (rate-limited) for unknown kids.

    A fetch runs outside the lock, one at a time (single flight): known kids keep being
    served from the cached keys while it runs, and requests for unknown kids that arrive
    meanwhile wait for that same fetch (at most ``fetch_timeout_s``) rather than start one.
    """

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str, float], Any] = fetch_json,
        monotonic: Callable[[], float] = time.monotonic,
        min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S,
        fetch_timeout_s: float = FETCH_TIMEOUT_S,
    ) -> None:
        self.url = url
        self.fetch = fetch
        self.monotonic = monotonic
        self.min_refresh_interval_s = min_refresh_interval_s
        self.fetch_timeout_s = fetch_timeout_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._in_flight: threading.Event | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with ``kid``, refreshing the set if it is unknown and a refresh is due."""
        with self._lock:
            known = self._keys.get(kid)
            if known is not None:
                return known
            in_flight = self._in_flight
            leader = in_flight is None and self._refresh_due()
            if leader:
                in_flight = self._in_flight = threading.Event()
                self._fetched_at = self.monotonic()
                self.fetches += 1
        if in_flight is None:
            return None
        if leader:
            self._refresh(in_flight)
        else:
            in_flight.wait(self.fetch_timeout_s)
        with self._lock:
            return self._keys.get(kid)

    def _refresh_due(self) -> bool:
        if self._fetched_at is None:
            return True
        return self.monotonic() - self._fetched_at >= self.min_refresh_interval_s

    def _refresh(self, done: threading.Event) -> None:
        """Fetch the key set (without holding the lock) and swap it in; wake the waiters."""
        try:
            keys = self._fetch_keys()
            with self._lock:
                if keys is not None:
                    self._keys = keys
        finally:
            with self._lock:
                self._in_flight = None
            done.set()

    def _fetch_keys(self) -> dict[str, jwt.PyJWK] | None:
        """The signing keys of the JWKS, or None when it cannot be read."""
        try:
            document = self.fetch(self.url, self.fetch_timeout_s)
            keys = {}
            for data in document.get("keys", []):
                if data.get("kid") and data.get("kty") in ALGORITHMS.values():
                    keys[data["kid"]] = jwt.PyJWK.from_dict(data)
        except Exception:
            # An unreachable or broken JWKS keeps the keys we had; the token is refused later.
            return None
        return keys


def verify(
    token: str,
    jwks: JwksCache,
    *,
    issuer: str,
    audience: str,
    teams_claim: str = "groups",
) -> Identity:
    """Check a JWT's signature, issuer, audience, exp and nbf; return its identity.

    Raises Unauthenticated for any failure; the message never contains the token.
    """
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthenticated("the token is not a valid JWT") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise Unauthenticated("the token's algorithm is not accepted (RS256 or ES256)")
    key = jwks.key(str(header.get("kid", "")))
    if key is None:
        raise Unauthenticated("the token was signed by an unknown key")
    if key.key_type != ALGORITHMS[algorithm]:
        raise Unauthenticated("the token's algorithm does not match its key")
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise Unauthenticated(f"the token was refused: {type(error).__name__}") from None
    for name in NUMERIC_DATE_CLAIMS:
        value = claims.get(name)
        if name in claims and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise Unauthenticated(f"the token's {name} claim must be a number (NumericDate)")
    return Identity(_principal(claims["sub"]), _teams(claims.get(teams_claim)))


def _principal(subject: object) -> str:
    """``user:<sub>`` (or ``sub`` as it is when it names a user or client).

    Raises Unauthenticated for a subject that is not one printable word: spaces, control,
    format (bidi overrides, zero-width) or unassigned characters would let a principal
    look like another one in grants, audit trails and logs.
    """
    if not isinstance(subject, str):
        raise Unauthenticated("the token's sub claim must be a string")
    principal = subject if subject.startswith(("user:", "client:")) else f"user:{subject}"
    name = principal.partition(":")[2]
    if not 0 < len(name) <= MAX_SUBJECT_CHARS:
        raise Unauthenticated(
            f"the token's sub claim must have 1 to {MAX_SUBJECT_CHARS} characters"
        )
    for character in name:
        # C*: controls, format (bidi), surrogates, private use, unassigned; Z*: spaces.
        if unicodedata.category(character)[0] in "CZ":
            raise Unauthenticated(
                f"the token's sub claim holds U+{ord(character):04X}, which a principal "
                "may not contain (spaces, control or bidi characters)"
            )
    return principal


def _teams(value: object) -> tuple[str, ...]:
    """Teams from the claim: ``data-eng``, ``/data-eng`` (group paths) or ``team:data-eng``."""
    if not isinstance(value, list):
        return ()
    teams = []
    for name in value:
        if not isinstance(name, str):
            continue
        team = name if name.startswith("team:") else f"team:{name.lstrip('/')}"
        if TEAM.match(team):
            teams.append(team)
    return tuple(sorted(set(teams)))
