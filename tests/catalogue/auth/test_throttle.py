"""Failed authentication is limited per client address and per API token id (429)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from catalogue.auth.principal import FAILURES_EXTENSION
from catalogue.auth.throttle import FAILURE_LIMIT, WINDOW_S, FailureLimiter
from catalogue.store import keys
from catalogue.store.base import ItemStore, Query
from tests.catalogue.auth.world import World

ROOT = Path(__file__).resolve().parents[3]

BROWSER = {"Accept": "text/html,*/*;q=0.8"}


class Seconds:
    """A wall clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds(world: World) -> Seconds:
    clock = Seconds()
    world.app.extensions[FAILURES_EXTENSION] = FailureLimiter(store_of(world), clock)
    return clock


def store_of(world: World) -> ItemStore:
    return world.app.extensions["brygge"].store  # type: ignore[no-any-return]


def from_address(world: World, address: str, token: str | None = None) -> FlaskClient:
    client = world.app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if token is not None:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def guess(token_id: str = "0123456789abcdef") -> str:
    return f"brygge_{token_id}_{'x' * 43}"


def test_an_address_that_keeps_failing_is_refused_with_429_until_its_failures_age(
    world: World, seconds: Seconds
) -> None:
    guesser = from_address(world, "198.51.100.7")
    for index in range(FAILURE_LIMIT):
        token = guess(f"{index:016x}")
        answer = guesser.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401
    valid = {"Authorization": f"Bearer {world.tokens['owner']}"}

    refused = guesser.get("/me", headers=valid)

    assert refused.status_code == 429
    assert refused.json["code"] == 429
    assert refused.headers["Retry-After"] == str(int(WINDOW_S))
    assert guesser.get("/me", headers={"Authorization": "Basic abc"}).status_code == 429
    # Without a credential the address still reads what anonymous callers read.
    assert guesser.get("/datasets").status_code == 200
    # Another client is not held back.
    assert from_address(world, "198.51.100.8", world.tokens["owner"]).get("/me").status_code == 200
    seconds.now += WINDOW_S - 1
    assert guesser.get("/me", headers=valid).headers["Retry-After"] == "1"
    seconds.now += 1
    assert guesser.get("/me", headers=valid).status_code == 200


def test_guesses_at_one_token_from_many_addresses_are_limited_by_its_id(
    world: World, seconds: Seconds
) -> None:
    owner_id = world.tokens["owner"].split("_")[1]
    for index in range(FAILURE_LIMIT):
        answer = from_address(world, f"203.0.113.{index}", guess(owner_id)).get("/me")
        assert answer.status_code == 401

    fresh = from_address(world, "203.0.113.200", guess(owner_id)).get("/me")

    assert fresh.status_code == 429
    assert int(fresh.headers["Retry-After"]) > 0


def test_guesses_at_a_token_do_not_lock_its_owner_out(world: World, seconds: Seconds) -> None:
    owner_id = world.tokens["owner"].split("_")[1]
    for index in range(FAILURE_LIMIT + 2):
        from_address(world, f"203.0.113.{index}", guess(owner_id)).get("/me")

    owner = from_address(world, "198.51.100.7", world.tokens["owner"]).get("/me")

    assert owner.status_code == 200


def test_valid_requests_are_never_counted(world: World, seconds: Seconds) -> None:
    client = from_address(world, "192.0.2.1", world.tokens["owner"])
    for _ in range(3 * FAILURE_LIMIT):
        assert client.get("/me").status_code == 200
    for _ in range(FAILURE_LIMIT - 1):
        assert from_address(world, "192.0.2.1", "nope").get("/me").status_code == 401

    assert client.get("/me").status_code == 200


def test_the_sign_in_form_is_limited_too(world: World, seconds: Seconds) -> None:
    browser = from_address(world, "198.51.100.9")
    form = browser.get("/sign-in", headers=BROWSER).get_data(as_text=True)
    found = re.search(r'name="csrf" value="([^"]+)"', form)
    assert found is not None
    for index in range(FAILURE_LIMIT):
        sent = browser.post("/sign-in", data={"token": guess(f"{index:016x}"), "csrf": found[1]})
        assert sent.status_code == 401

    refused = browser.post(
        "/sign-in", data={"token": world.tokens["owner"], "csrf": found[1]}, headers=BROWSER
    )

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(WINDOW_S))
    assert "try again in" in refused.get_data(as_text=True)


def test_failures_are_kept_in_the_store_and_expire_after_the_window(world: World) -> None:
    clock = Seconds()
    limiter = FailureLimiter(store_of(world), clock, limit=2)
    limiter.record_failure(["address:a", "token:t"])
    clock.now += 0.5
    limiter.record_failure(["address:a"])

    assert limiter.retry_after_s(["address:a"]) == int(WINDOW_S)
    assert limiter.retry_after_s(["token:t"]) is None
    partition = Query(keys.auth_failures_pk("address:a"), prefix=keys.AUTH_FAILURE_PREFIX)
    records = store_of(world).query(partition, limit=10).items
    # DynamoDB's time to live deletes each some time after its window.
    assert [record["expiresAt"] for record in records] == [1060, 1061]
    # Until then (and on SQLite, for ever) a failure past the window no longer counts.
    clock.now += WINDOW_S - 0.5
    assert limiter.retry_after_s(["address:a"]) is None


class CountingStore:
    """A store that counts the calls made to it, by method name."""

    def __init__(self, store: ItemStore) -> None:
        self.store = store
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.store, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return method(*args, **kwargs)

        return counted


def test_a_valid_token_is_read_with_the_counts_and_costs_no_write(world: World) -> None:
    counting = CountingStore(store_of(world))
    world.app.extensions[FAILURES_EXTENSION] = FailureLimiter(counting)  # type: ignore[arg-type]
    client = from_address(world, "192.0.2.1", world.tokens["owner"])

    for _ in range(3):
        assert client.get("/me").status_code == 200

    # One read by key each, which also read the token's record for its check.
    assert counting.calls == {"get_many": 3}


FAIL_FROM_ANOTHER_PROCESS = """
import sys
from pathlib import Path

from catalogue.app import create_app
from tests.catalogue.auth.world import auth_settings

app = create_app(auth_settings(Path(sys.argv[1])))
client = app.test_client()
client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
for index in range(int(sys.argv[2])):
    token = f"brygge_{index:016x}_{'x' * 43}"
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
"""


def test_failures_in_other_processes_on_the_same_store_count_together(
    world: World, tmp_path: Path
) -> None:
    """gunicorn's workers (or Lambda's containers) share one limit, failing at once or not."""
    home = tmp_path / "home"
    half = FAILURE_LIMIT // 2
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", FAIL_FROM_ANOTHER_PROCESS, str(home), str(count)], cwd=ROOT
        )
        for count in (half, FAILURE_LIMIT - half - 1)
    ]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    guesser = from_address(world, "198.51.100.7")
    valid = {"Authorization": f"Bearer {world.tokens['owner']}"}
    # One failure short of the limit, counted by two other processes: this one may try.
    assert guesser.get("/me", headers={"Authorization": f"Bearer {guess()}"}).status_code == 401

    refused = guesser.get("/me", headers=valid)

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= int(WINDOW_S)


def test_ipv6_addresses_of_one_64_prefix_count_as_one_client(
    world: World, seconds: Seconds
) -> None:
    """One host is handed a whole /64: a guesser would take a new address for each try."""
    for index in range(FAILURE_LIMIT):
        answer = from_address(world, f"2001:db8:1:2::{index + 1:x}", guess()).get("/me")
        assert answer.status_code == 401

    same_prefix = from_address(world, "2001:db8:1:2:ffff::9", world.tokens["owner"])
    other_prefix = from_address(world, "2001:db8:1:3::1", world.tokens["owner"])

    assert same_prefix.get("/me").status_code == 429
    assert other_prefix.get("/me").status_code == 200


def test_a_client_address_that_is_no_ip_address_is_counted_whatever_its_length(
    world: World, seconds: Seconds
) -> None:
    """A proxy may pass on what a client forged as X-Forwarded-For: it must not be a 500."""
    forged = from_address(world, "x" * 3000, guess())
    for _ in range(FAILURE_LIMIT):
        assert forged.get("/me").status_code == 401

    refused = from_address(world, "x" * 3000, world.tokens["owner"]).get("/me")

    assert refused.status_code == 429
    assert from_address(world, "x" * 2999, world.tokens["owner"]).get("/me").status_code == 200
