"""Timestamps as the store keeps them (``created``, ``modified``, a run's and a step's times)."""

from __future__ import annotations

from datetime import UTC, datetime


def timestamp(now: datetime) -> str:
    """An ISO 8601 UTC timestamp with seconds precision, as stored in ``created``/``modified``."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
