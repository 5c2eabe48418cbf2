"""Failed authentication counted per client address and per API token id: past a limit, 429.

A client may try tokens (on the API, or by the pages' sign-in and session cookie) only so
fast: once an address has failed FAILURE_LIMIT times within WINDOW_S, every credential it
presents is refused with TooManyAttempts (429, ``Retry-After``) without being checked,
until its oldest failure leaves the window. Once the id of an API token (``brygge_<id>_...``,
which a guesser keeps while trying secrets) has, from any addresses, every wrong secret for
it is refused so, while the right one still passes (principal._attempt). Valid credentials
are never counted, and a request without one is never refused.

The counts live in the process (``brygge serve``'s, or a Lambda container's), so no service
is needed; each process limits on its own, and at most MAX_TRACKED keys are kept (the
least recently failed go first).
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

# Failures a key may have within WINDOW_S; the next attempt waits for the oldest to expire.
FAILURE_LIMIT = 10
WINDOW_S = 60.0
MAX_TRACKED = 10_000
# The IPv6 prefix that stands for one client.
IPV6_CLIENT_PREFIX = 64


class FailureLimiter:
    """Recent authentication failures by key (``address:<ip>``, ``token:<id>``)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        limit: int = FAILURE_LIMIT,
        window_s: float = WINDOW_S,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.clock = clock
        self.limit = limit
        self.window_s = window_s
        self.max_tracked = max_tracked
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after_s(self, keys: Sequence[str]) -> int | None:
        """Whole seconds until every key may try again, or None when all may try now."""
        if not self._failures:  # the common case: no failures anywhere, no lock taken
            return None
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is not None and len(failures) >= self.limit:
                    wait = max(wait, failures[0] + self.window_s - now)
        return math.ceil(wait) if wait > 0 else None

    def record_failure(self, keys: Sequence[str]) -> None:
        """Count one failed attempt against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                failures = self._failures.pop(key, None)
                if failures is None:
                    failures = deque(maxlen=self.limit)
                failures.append(now)
                self._failures[key] = failures  # the most recently failed last
            while len(self._failures) > self.max_tracked:
                self._failures.popitem(last=False)


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
    """The client an address stands for: itself, or an IPv6 address's /64 network."""
    if not address:
        return "unknown"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv4Address):
        return str(parsed)
    if parsed.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, IPV6_CLIENT_PREFIX), strict=False))
