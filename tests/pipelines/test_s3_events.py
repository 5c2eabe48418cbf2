"""S3 event notifications into object keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipelines.s3_events import s3_object_keys

EVENTS = Path(__file__).resolve().parents[1] / "events"
PREFIX = "raw/green/air/version=1/edition=20260102T030405/"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def test_s3_keys_are_url_decoded_exactly_once() -> None:
    keys = list(s3_object_keys(event("s3_object_created.json"), "brygge-data"))
    assert keys == [PREFIX + "målinger 2026 %2B.csv", PREFIX + "big.csv"]
