"""One session with Brygge's API: where it is, who calls, and the one request path.

The URL and token come from the arguments, else BRYGGE_URL/BRYGGE_TOKEN, else the profile
of ``~/.config/brygge/config.toml``. Every call has a timeout; idempotent calls (GET, PUT,
DELETE) are retried with backoff on 429/502/503/504 and on connection errors, and any call on
429 or a refused connection (it was not handled); each retry is told to ``on_retry`` before its
wait; a total timeout (``total_timeout_s``, else BRYGGE_TIMEOUT) bounds a call and its retries;
every failure raises ``ClientError``. ``brygge.client.Client`` adds one method per operation.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

import httpx

from brygge import config
from brygge.resources import ClientError, Resource

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_AFTER_S = 60.0
# Turned away before it was handled: any call, a POST too, may be sent again.
NOT_TAKEN_STATUSES = frozenset({429})
# No byte of the request left: any call may be sent again.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Connect fast, but give a loaded server time to answer; transfers set their own read timeout.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TIMEOUT_VARIABLE = "BRYGGE_TIMEOUT"


@dataclass(frozen=True, slots=True)
class Retry:
    """A call about to be sent again: why (``reason``), after how long (``wait_s``), and
    which retry it is (``attempt`` of ``retries``)."""

    method: str
    url: str
    reason: str
    wait_s: float
    attempt: int
    retries: int

    def describe(self) -> str:
        return (
            f"{self.method} {self.url}: {self.reason}; trying again in {self.wait_s:.1f} s "
            f"(retry {self.attempt} of {self.retries})"
        )


def total_timeout_from_env(environ: Mapping[str, str]) -> float | None:
    """BRYGGE_TIMEOUT in seconds (None when unset); ClientError naming it when it is not a
    positive number."""
    text = environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise ClientError(
            0, f"{TIMEOUT_VARIABLE}={text!r}: must be a number of seconds above 0, as 60"
        )
    return seconds


class Session:
    """A connection to Brygge's API at ``url`` as ``token``, with retries and timeouts.

    Raises ClientError when no URL is known.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        profile: str | None = None,
        timeout: httpx.Timeout | float | None = None,
        retries: int = 4,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        total_timeout_s: float | None = None,
        on_retry: Callable[[Retry], None] | None = None,
    ) -> None:
        environ = os.environ
        if total_timeout_s is None:
            total_timeout_s = total_timeout_from_env(environ)
        stored = config.read_profile(
            profile or environ.get("BRYGGE_PROFILE") or config.DEFAULT_PROFILE,
            config.config_path(),
        )
        url = url or environ.get("BRYGGE_URL") or (stored.url if stored else None)
        if not url:
            raise ClientError(0, "no Brygge URL: run `brygge login --url URL`, or set BRYGGE_URL")
        if not url.lower().startswith(("http://", "https://")):
            # Never reachable, whatever the retries: say so now rather than after them.
            raise ClientError(0, f"the Brygge URL {url!r} must start with http:// or https://")
        if token is None:
            token = environ.get("BRYGGE_TOKEN") or (stored.token if stored else None)
        self.url = url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.total_timeout_s = total_timeout_s
        self.on_retry = on_retry
        headers = {"Accept": "application/json", "User-Agent": "brygge-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request path ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one API call; raise ClientError for any failure.

        Retried when idempotent, and whatever its method when it surely was not handled (the
        connection was refused, or 429). Each retry is told to ``on_retry`` first. With a
        total timeout, no attempt outlasts it and none starts after it.
        """
        retry = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        query = {key: value for key, value in (params or {}).items() if value is not None}
        deadline = None if self.total_timeout_s is None else time.monotonic() + self.total_timeout_s
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method,
                    path,
                    json=json,
                    params=query,
                    headers=headers,
                    timeout=self._attempt_timeout(deadline),
                )
            except httpx.TransportError as error:
                again = retry or isinstance(error, NOT_SENT_ERRORS)
                reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
                if self._past(deadline):
                    raise self._timed_out(reason) from None
                if not again or attempt >= self.retries:
                    raise ClientError(0, f"cannot reach {self.url}: {error}") from None
                wait_s = self.backoff(attempt, None)
            else:
                if response.status_code < 400:
                    return response
                status = response.status_code
                again = status in NOT_TAKEN_STATUSES or (retry and status in RETRY_STATUSES)
                if not again or attempt >= self.retries:
                    raise ClientError.from_response(response)
                reason = f"the server answered {status}"
                wait_s = self.backoff(attempt, response.headers.get("Retry-After"))
            if deadline is not None and time.monotonic() + wait_s >= deadline:
                raise self._timed_out(reason) from None
            if self.on_retry is not None:
                url = f"{self.url}{path}"
                self.on_retry(Retry(method, url, reason, wait_s, attempt + 1, self.retries))
            self.sleep(wait_s)
            attempt += 1

    def _attempt_timeout(self, deadline: float | None) -> httpx.Timeout:
        """The session's timeouts, none longer than what is left before ``deadline``."""
        if deadline is None:
            return self.timeout
        left = max(deadline - time.monotonic(), 0.001)

        def capped(value: float | None) -> float:
            return left if value is None else min(value, left)

        timeout = self.timeout
        return httpx.Timeout(
            connect=capped(timeout.connect),
            read=capped(timeout.read),
            write=capped(timeout.write),
            pool=capped(timeout.pool),
        )

    @staticmethod
    def _past(deadline: float | None) -> bool:
        return deadline is not None and time.monotonic() >= deadline

    def _timed_out(self, last: object) -> ClientError:
        return ClientError(
            0,
            f"no answer from {self.url} within {self.total_timeout_s:g} s "
            f"(--timeout / {TIMEOUT_VARIABLE}); last: {last}",
        )

    def backoff(self, attempt: int, retry_after: str | None) -> float:
        """Seconds before retry ``attempt + 1`` (see ``retry_delay``)."""
        return retry_delay(attempt, retry_after, self.backoff_s)

    def resource(self, method: str, path: str, **kwargs: Any) -> Resource:
        response = self.request(method, path, **kwargs)
        body = response.json() if response.content else {}
        resource = Resource(body if isinstance(body, dict) else {"items": body})
        resource.etag = response.headers.get("ETag")
        return resource

    def pages(
        self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None
    ) -> Iterator[Resource]:
        """Every item of a paginated list, following ``next`` across all pages."""
        query = {**(params or {}), "limit": page_size}
        while True:
            page = self.resource("GET", path, params=query)
            for item in page.get("items", []):
                yield Resource(item)
            if not page.get("next"):
                return
            query["cursor"] = page["next"]

    def get(self, path: str, **params: Any) -> Resource:
        return self.resource("GET", path, params=params)


def retry_delay(
    attempt: int, retry_after: str | None, backoff_s: float, *, now: datetime | None = None
) -> float:
    """Seconds before retry ``attempt + 1``: the server's Retry-After (seconds or an
    HTTP-date, RFC 9110 §10.2.3; at most a minute), else exponential with jitter (so many
    clients do not come back at once)."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_RETRY_AFTER_S)
    if retry_after:
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None and when.tzinfo is not None:
            seconds = (when - (now or datetime.now(UTC))).total_seconds()
            return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)
    return backoff_s * (2**attempt) * (0.5 + random.random() / 2)
