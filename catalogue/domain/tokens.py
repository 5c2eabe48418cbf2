"""API tokens: format, hashing and lifetimes (pure; the store holds only hashes)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

PREFIX = "brygge"
# 32 random bytes: guessing is hopeless, so an unsalted sha256 is a safe thing to store.
SECRET_BYTES = 32
_TOKEN = re.compile(rf"^{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_-]{{20,}})$")
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token as handed to its owner once: the id (stored) and the full secret string."""

    token_id: str
    token: str


def new_token() -> NewToken:
    """A fresh token ``brygge_<id>_<secret>``; the id lets the store find it without a scan."""
    token_id = secrets.token_hex(8)
    return NewToken(token_id, f"{PREFIX}_{token_id}_{secrets.token_urlsafe(SECRET_BYTES)}")


def looks_like_api_token(value: str) -> bool:
    return value.startswith(f"{PREFIX}_")


def token_id(token: str) -> str | None:
    """The id part of a well-formed token, else None."""
    match = _TOKEN.match(token)
    return match.group(1) if match else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hash_matches(token: str, stored_hash: str) -> bool:
    """Compare in constant time, so response timing tells nothing about the stored hash."""
    return hmac.compare_digest(token_hash(token), stored_hash)


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``45s`` as a timedelta; raises ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"not a duration like 30d, 12h, 90m: {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])
