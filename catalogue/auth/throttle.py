"""Failed authentication counted per client address and per API token id: past a limit, 429.

A client may try tokens (on the API, or by the pages' sign-in and session cookie) only so
fast: once an address has failed FAILURE_LIMIT times within WINDOW_S, every credential it
presents is refused with TooManyAttempts (429, ``Retry-After``) without being checked,
until its oldest failure leaves the window. Once the id of an API token (``brygge_<id>_...``,
which a guesser keeps while trying secrets) has, from any addresses, every wrong secret for
it is refused so, while the right one still passes (principal._attempt). Valid credentials
are never counted, and a request without one is never refused.

The counts live in the metadata store (``catalogue.repositories.auth_failures``), so every
process of a deployment (gunicorn's workers, Lambda's containers) counts the same failures,
and a restart forgets none. Only a failure writes. A request with a credential reads, by
key, when its address last failed, before the credential is checked, in the same round
trip as its API token's record (and its failures only when that was within the window);
a failed one reads its token id's too. Failures age out of the window on every backend,
and DynamoDB's time to live deletes them.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from collections.abc import Callable, Sequence

from catalogue.repositories.auth_failures import AuthFailures
from catalogue.store.base import Item, ItemStore

# Failures a key may have within WINDOW_S; the next attempt waits for the oldest to expire.
FAILURE_LIMIT = 10
WINDOW_S = 60.0
# The IPv6 prefix that stands for one client.
IPV6_CLIENT_PREFIX = 64


class FailureLimiter:
    """Recent authentication failures by key (``address:<ip>``, ``token:<id>``)."""

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], float] = time.time,
        *,
        limit: int = FAILURE_LIMIT,
        window_s: float = WINDOW_S,
    ) -> None:
        # The wall clock: the failures' times are compared across processes and machines.
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self.failures = AuthFailures(store)

    def retry_after_s(self, keys: Sequence[str]) -> int | None:
        """Whole seconds until every key may try again, or None when all may try now."""
        now = self.clock()
        since = now - self.window_s
        waits = [self._wait_s(self.failures.newest(key, self.limit, since), now) for key in keys]
        return max((wait for wait in waits if wait is not None), default=None)

    def retry_after_reading(
        self, key: str, other: tuple[str, str]
    ) -> tuple[int | None, Item | None]:
        """``retry_after_s([key])``, and the item ``other`` of the store (or None) read in
        the same round trip."""
        now = self.clock()
        newest, item = self.failures.newest_reading(key, self.limit, now - self.window_s, other)
        return self._wait_s(newest, now), item

    def _wait_s(self, newest: list[float], now: float) -> int | None:
        if len(newest) < self.limit:
            return None
        wait = newest[-1] + self.window_s - now
        return math.ceil(wait) if wait > 0 else None

    def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each key."""
        self.failures.record(keys, self.clock(), self.window_s)


def failure_keys(address: str | None, token_id: str | None) -> list[str]:
    """The keys an attempt counts against: its client address, and its API token's id.

    An IPv6 address counts by its /64 prefix: one host is handed a whole /64, and could
    take a new address for every try.
    """
    keys = [f"address:{client_of(address)}"]
    if token_id is not None:
        keys.append(f"token:{token_id}")
    return keys


def client_of(address: str | None) -> str:
    """The client an address stands for: itself, or an IPv6 address's /64 network (or the
    digest of what is no IP address)."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        # Not an IP address (a proxy passing on what a client forged, say): counted by its
        # digest, so that a value of any length makes a key the store takes.
        return "sha256:" + hashlib.sha256(address.encode(errors="surrogatepass")).hexdigest()
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
