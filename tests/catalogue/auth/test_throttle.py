"""Failed authentication is limited per client address and per API token id (429)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from catalogue.auth.principal import FAILURES_EXTENSION
from catalogue.auth.throttle import FAILURE_LIMIT, WINDOW_S, FailureLimiter
from tests.catalogue.auth.world import World

BROWSER = {"Accept": "text/html,*/*;q=0.8"}


class Seconds:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds(world: World) -> Seconds:
    clock = Seconds()
    world.app.extensions[FAILURES_EXTENSION] = FailureLimiter(clock)
    return clock


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


def test_the_limiter_keeps_at_most_its_number_of_keys() -> None:
    clock = Seconds()
    limiter = FailureLimiter(clock, limit=2, max_tracked=3)
    for address in ("a", "b", "c", "d"):
        limiter.record_failure([address, address])

    assert limiter.retry_after_s(["a"]) is None
    assert limiter.retry_after_s(["d"]) == int(WINDOW_S)


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
