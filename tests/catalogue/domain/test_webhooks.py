"""Webhook rules: the retry schedule with its jitter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalogue.domain.webhooks import JITTER, MAX_ATTEMPTS, RETRY_DELAYS, next_attempt

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
