"""Webhook rules as plain values: Standard Webhooks signatures, retry schedule, target checks.

Deliveries follow the Standard Webhooks specification (standardwebhooks.com): headers
``webhook-id`` (the event id, the same on every retry), ``webhook-timestamp`` (Unix
seconds of this attempt) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` of
``<id>.<timestamp>.<body>`` under the secret's bytes). A secret is ``whsec_`` + base64.
A subscription's secret can be rotated: the replaced one goes on signing beside the new one
for a grace period, each signature in the header, space-delimited, as the specification
provides for rotating a secret with no downtime.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from catalogue.domain.errors import InvalidValue

SECRET_PREFIX = "whsec_"
# Standard Webhooks' suggested schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h
# and 10 h after each failure: the last attempt comes 27 h 35 min after the first.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# How long a rotated secret goes on signing beside its successor, by default and at most.
ROTATION_GRACE = timedelta(hours=24)
MAX_ROTATION_GRACE = timedelta(days=7)
# Replaced secrets still signing, at most: each adds a signature to every delivery.
MAX_PREVIOUS_SECRETS = 4
# Each wait is drawn at random from [wait, wait * (1 + JITTER)): deliveries that failed
# together come back spread out, not all at one instant (Standard Webhooks recommends random
# jitter, lest failures caused by the load of the deliveries themselves recur). Only ever
# later: a receiver's Retry-After is never cut short.
JITTER = 0.2
# RFC 3986's characters: a request line carries a URL of these alone (others are
# percent-encoded, an internationalized host name given in its xn-- form).
URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
# A DNS name as hosts are named (letters, digits, hyphens; underscores as some use them).
HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?")
# The cloud providers' instance metadata address: never a webhook target.
METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254"})


def new_secret(random_bytes: bytes) -> str:
    """A signing secret from 24 or more random bytes."""
    if len(random_bytes) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value of one attempt."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: one signature per secret, space-delimited."""
    return " ".join(signature(secret, message_id, timestamp, body) for secret in secrets)


def signing_secrets(secret: str, previous: Sequence[Mapping[str, str]], now: datetime) -> list[str]:
    """The secrets that sign at ``now``: the current one, then the replaced ones still in
    their grace period (``previous``: ``{secret, validUntil}``, ISO 8601 UTC)."""
    return [secret, *(item["secret"] for item in previous if _until(item) > now)]


def rotated_secrets(
    secret: str, previous: Sequence[Mapping[str, str]], now: datetime, grace: timedelta
) -> list[dict[str, str]]:
    """The replaced secrets after ``secret`` is rotated at ``now``: it signs ``grace`` more
    (not at all with no grace), those whose grace is over go, and at most
    ``MAX_PREVIOUS_SECRETS`` stay (the newest)."""
    kept = [dict(item) for item in previous if _until(item) > now]
    if grace > timedelta(0):
        until = (now + grace).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        kept.append({"secret": secret, "validUntil": until})
    return kept[-MAX_PREVIOUS_SECRETS:]


def _until(item: Mapping[str, str]) -> datetime:
    return datetime.fromisoformat(item["validUntil"])


def next_attempt(
    attempts: int, now: datetime, retry_after: timedelta | None = None, *, jitter: float
) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None: give up (dead letter).

    ``retry_after``, the wait the receiver asked for (``Retry-After``), puts the attempt
    off beyond the schedule's, up to the schedule's longest wait; it adds no attempts.
    ``jitter`` (a random number from 0 to 1) puts it off by up to ``JITTER`` of its wait.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts - 1]
    if retry_after is not None:
        delay = max(delay, min(retry_after, max(RETRY_DELAYS)))
    return now + delay * (1 + JITTER * jitter)


def retry_after_wait(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (RFC 9110: seconds, or an HTTP date),
    from ``now``; None when there is none or it cannot be read."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        until = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if until.tzinfo is None:
        return None
    return max(until - now, timedelta(0))


def check_target_url(url: str) -> str:
    """The URL of a subscription as given; InvalidValue(url) unless https, or http on loopback.

    The URL must be one a request can carry: RFC 3986's characters only, a host that is a
    DNS name or an IP address, a port from 1. Addresses are checked again on every
    delivery (``refused_address``), since a name can resolve elsewhere later.
    """
    if not URL_CHARACTERS.fullmatch(url):
        raise InvalidValue(
            "url",
            "not a URL: spaces, control and non-ASCII characters are percent-encoded, "
            "and an internationalized host name is given in its xn-- form",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidValue("url", "not a URL") from None
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise InvalidValue("url", "an absolute https URL (http only on loopback)")
    if not (HOST_NAME.fullmatch(host) or _is_address(host)):
        raise InvalidValue("url", f"not a URL: {host!r} is neither a host name nor an address")
    if port == 0:
        raise InvalidValue("url", "not a URL: a port is 1 to 65535")
    if parts.username or parts.password:
        raise InvalidValue("url", "credentials in the URL are not allowed; sign with the secret")
    if parts.fragment:
        raise InvalidValue("url", "a URL without a fragment")
    if parts.scheme == "http" and not is_loopback_name(host):
        raise InvalidValue("url", "http is allowed only on loopback; use https")
    return url


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refused_address(addresses: Iterable[str], *, allow_private: bool) -> str | None:
    """Why a delivery may not connect to a host resolving to ``addresses``; None if it may.

    Link-local and the metadata address are refused always; private, loopback, shared
    (CGNAT), multicast, reserved and unspecified ranges unless ``allow_private``.
    """
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if str(address) in METADATA_ADDRESSES or address.is_link_local:
            return f"{address} is a link-local or metadata address"
        if allow_private:
            continue
        if (
            address.is_private
            or address.is_loopback
            or address.is_multicast
            or address.is_reserved
            or address.is_unspecified
            or address in ipaddress.ip_network("100.64.0.0/10")
        ):
            return f"{address} is a private or reserved address"
    return None
