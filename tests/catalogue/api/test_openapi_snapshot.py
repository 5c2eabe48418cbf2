"""The OpenAPI document stays as it was unless its change is meant.

The API's speed work (catalogue/api/smorest.py) rewraps flask-smorest's decorators; the
document they describe must not move. A deliberate change to the API regenerates the
snapshot (then review its diff):

    BRYGGE_UPDATE_OPENAPI_SNAPSHOT=1 .venv/bin/python -m pytest \
        tests/catalogue/api/test_openapi_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "openapi_snapshot.json"


def test_openapi_document_is_the_snapshot(client) -> None:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    if os.environ.get("BRYGGE_UPDATE_OPENAPI_SNAPSHOT") == "1":
        SNAPSHOT.write_bytes(answer.data)
    # Bytes, not only equal JSON: the order of keys is part of what clients are generated from.
    assert answer.data == SNAPSHOT.read_bytes(), (
        "the OpenAPI document changed; if that is meant, regenerate the snapshot (see the "
        "module's docstring) and review its diff"
    )
    assert json.loads(SNAPSHOT.read_bytes())["openapi"].startswith("3.1")
