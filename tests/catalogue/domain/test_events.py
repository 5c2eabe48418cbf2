"""Event rules: the time a series' latest value is compared by."""

from __future__ import annotations

import pytest

from catalogue.domain.events import sort_time

SOURCE = {
    "type": "event",
    "schema": {"fields": [{"name": "id", "type": "string"}, {"name": "at", "type": "datetime"}]},
    "key": ["id"],
    "time": "at",
}


@pytest.mark.parametrize(
    ("written", "compared"),
    [
        ("2026-06-01T12:00:00+02:00", "2026-06-01T10:00:00.000000Z"),
        ("2026-06-01T10:00:00.5Z", "2026-06-01T10:00:00.500000Z"),
        ("0999-12-31T23:59:59Z", "0999-12-31T23:59:59.000000Z"),
    ],
)
def test_an_events_time_is_compared_as_fixed_width_utc_text(written: str, compared: str) -> None:
    assert sort_time(SOURCE, {"id": "a", "at": written}) == compared


def test_earlier_moments_sort_first_across_the_year_1000() -> None:
    times = ["0999-06-01T00:00:00Z", "1000-01-01T00:00:00Z", "2026-06-01T00:00:00+14:00"]
    texts = [sort_time(SOURCE, {"id": "a", "at": value}) for value in times]
    assert texts == sorted(texts)
