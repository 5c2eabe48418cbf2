"""Webhook rules: the retry schedule with its jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.domain.webhooks import (
    JITTER,
    MAX_ATTEMPTS,
    MAX_PREVIOUS_SECRETS,
    RETRY_DELAYS,
    next_attempt,
    rotated_secrets,
    signing_secrets,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "jitter", "wait"),
    [
        (1, None, 0.0, timedelta(seconds=5)),
        (1, None, 0.5, timedelta(seconds=5) * (1 + JITTER / 2)),
        (2, None, 0.0, timedelta(minutes=5)),
        # The receiver's Retry-After is the least wait; jitter only adds to it.
        (1, timedelta(minutes=2), 0.0, timedelta(minutes=2)),
        (1, timedelta(minutes=2), 0.5, timedelta(minutes=2) * (1 + JITTER / 2)),
    ],
)
def test_a_retry_waits_the_schedule_and_its_jitter(attempts, retry_after, jitter, wait) -> None:  # type: ignore[no-untyped-def]
    assert next_attempt(attempts, NOW, retry_after, jitter=jitter) == NOW + wait


@given(attempts=st.integers(1, MAX_ATTEMPTS - 1), jitter=st.floats(0, 1, exclude_max=True))
def test_jitter_never_brings_a_retry_forward_nor_past_its_share(
    attempts: int, jitter: float
) -> None:
    delay = RETRY_DELAYS[attempts - 1]
    retry_at = next_attempt(attempts, NOW, jitter=jitter)
    assert retry_at is not None
    assert delay <= retry_at - NOW <= delay * (1 + JITTER)


def test_no_retry_after_the_last_attempt() -> None:
    assert next_attempt(MAX_ATTEMPTS, NOW, jitter=0.5) is None


def test_a_rotation_keeps_the_replaced_secret_for_its_grace_and_drops_spent_ones() -> None:
    spent = {"secret": "whsec_spent", "validUntil": "2026-01-02T03:04:05.000000Z"}
    live = {"secret": "whsec_live", "validUntil": "2026-01-02T09:00:00.000000Z"}

    kept = rotated_secrets("whsec_current", [spent, live], NOW, timedelta(hours=24))

    assert kept == [live, {"secret": "whsec_current", "validUntil": "2026-01-03T03:04:05.000000Z"}]
    assert signing_secrets("whsec_new", kept, NOW) == ["whsec_new", "whsec_live", "whsec_current"]
    # Past its grace a replaced secret signs no more; without grace it never does.
    assert signing_secrets("whsec_new", kept, NOW + timedelta(hours=24)) == ["whsec_new"]
    assert rotated_secrets("whsec_current", [spent], NOW, timedelta(0)) == []


def test_rotating_again_and_again_keeps_a_bounded_number_of_signing_secrets() -> None:
    previous: list[dict[str, str]] = []
    for number in range(MAX_PREVIOUS_SECRETS + 3):
        previous = rotated_secrets(f"whsec_{number}", previous, NOW, timedelta(hours=1))

    assert [item["secret"] for item in previous] == [
        f"whsec_{number}" for number in range(3, MAX_PREVIOUS_SECRETS + 3)
    ]
