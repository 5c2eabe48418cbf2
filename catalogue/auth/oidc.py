"""OIDC access tokens: JWTs signed with RS256 or ES256 by keys from a JWKS URL."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import jwt

from catalogue.auth.rules import TEAM, Identity
from catalogue.domain.errors import Unauthenticated

# Asymmetric only: "none" and HMAC algorithms would let anyone holding the public key sign.
ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
# An unknown kid triggers at most one JWKS fetch per interval, so a flood of tokens with
# made-up kids cannot turn the API into a load generator against the identity provider.
MIN_REFRESH_INTERVAL_S = 60.0
FETCH_TIMEOUT_S = 5.0
# Clock skew tolerated on exp and nbf.
LEEWAY_S = 30


def fetch_json(url: str) -> Any:
    """GET a JSON document (the JWKS)."""
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response:
        return json.loads(response.read())


class JwksCache:
    """Signing keys by kid, fetched on first use and again (rate-limited) for unknown kids."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], Any] = fetch_json,
        monotonic: Callable[[], float] = time.monotonic,
        min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S,
    ) -> None:
        self.url = url
        self.fetch = fetch
        self.monotonic = monotonic
        self.min_refresh_interval_s = min_refresh_interval_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._lock = threading.Lock()
        self.fetches = 0

    def key(self, kid: str) -> jwt.PyJWK | None:
        """The key with ``kid``, refreshing the set if it is unknown and a refresh is due."""
        with self._lock:
            if kid not in self._keys and self._refresh_due():
                self._refresh()
            return self._keys.get(kid)

    def _refresh_due(self) -> bool:
        if self._fetched_at is None:
            return True
        return self.monotonic() - self._fetched_at >= self.min_refresh_interval_s

    def _refresh(self) -> None:
        self._fetched_at = self.monotonic()
        self.fetches += 1
        try:
            document = self.fetch(self.url)
            keys = {}
            for data in document.get("keys", []):
                if data.get("kid") and data.get("kty") in ALGORITHMS.values():
                    keys[data["kid"]] = jwt.PyJWK.from_dict(data)
        except Exception:
            # An unreachable or broken JWKS keeps the keys we had; the token is refused below.
            return
        self._keys = keys


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
    return Identity(_principal(claims["sub"]), _teams(claims.get(teams_claim)))


def _principal(subject: str) -> str:
    if subject.startswith(("user:", "client:")):
        return subject
    return f"user:{subject}"


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
