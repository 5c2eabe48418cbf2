"""Brygge's metadata catalogue: the Flask API over SQLite or DynamoDB."""

from __future__ import annotations

__version__ = "0.1.0"
