"""Event datasets through real HTTP against ``brygge serve``: ingest, rejects, latest values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from catalogue.repositories.tokens import TokenRepository
from catalogue.services import utc_now
from catalogue.settings import Settings
from catalogue.store.factory import open_store
from tests.e2e.conftest import Server, running_server

SOURCE = {
    "type": "event",
    "schema": {
        "fields": [
            {"name": "sensorId", "type": "string", "constraints": {"required": True}},
            {"name": "observedAt", "type": "datetime"},
            {
                "name": "temperature",
                "type": "number",
                "constraints": {"required": True, "minimum": -5, "maximum": 35},
            },
        ]
    },
    "key": ["sensorId"],
    "time": "observedAt",
}
OWNER = "team:bath"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``brygge serve`` with authentication on, its home's tokens minted in the same file."""
    with running_server(
        tmp_path, tmp_path / "home", BRYGGE_AUTH="on", BRYGGE_ADMINS="user:root"
    ) as running:
        yield running


def session(server: Server, principal: str | None, teams: tuple[str, ...] = ()) -> requests.Session:
    client = requests.Session()
    if principal is not None:
        store = open_store(Settings(home=server.home))
        try:
            token, _ = TokenRepository(store, utc_now).create(principal, teams=teams)
        finally:
            store.close()
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_sensor_readings_in_latest_values_out(server: Server) -> None:
    url = f"{server.url}/datasets/badetemperatur/versions/1"
    member = session(server, "user:kari", (OWNER,))
    stranger = session(server, "user:ola", ("team:roads",))
    anonymous = session(server, None)
    created = member.post(
        f"{server.url}/datasets",
        json={
            "id": "badetemperatur",
            "title": "Badetemperatur",
            "accessRights": "restricted",
            "owner": OWNER,
            "source": SOURCE,
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text

    batch = [
        {"sensorId": "sorenga", "observedAt": "2026-07-01T12:00:00+02:00", "temperature": 21.5},
        {"sensorId": "sorenga", "observedAt": "2026-07-01T09:00:00Z", "temperature": 19.0},
        {"sensorId": "hovedoya", "observedAt": "2026-07-01T10:00:00Z", "temperature": 999},
        {"sensorId": "hovedoya", "observedAt": "2026-07-01T10:00:00Z", "temperature": -273},
        {"sensorId": "hovedoya", "observedAt": "2026-07-01T10:00:00Z", "temperature": 18.0},
    ]
    key = {"Idempotency-Key": "gw-1:0001"}
    answer = member.post(f"{url}/events", json=batch, headers=key, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "accepted": 3,
        "rejected": [
            {"index": 2, "errors": {"temperature": ["above the maximum 35"]}},
            {"index": 3, "errors": {"temperature": ["below the minimum -5"]}},
        ],
    }
    # Late and out of order: 11:30+02:00 is before the 12:00+02:00 already kept.
    late = {"sensorId": "sorenga", "observedAt": "2026-07-01T09:30:00Z", "temperature": 5.0}
    assert member.post(f"{url}/events", json=late, timeout=30).json()["accepted"] == 1
    resent = member.post(f"{url}/events", json=batch, headers=key, timeout=30)
    assert resent.json() == answer.json()

    latest = member.get(f"{url}/latest", timeout=30).json()
    assert [(item["key"], item["event"]["temperature"]) for item in latest["items"]] == [
        ("hovedoya", 18.0),
        ("sorenga", 21.5),
    ]
    assert member.get(f"{url}/latest/sorenga", timeout=30).json()["time"] == (
        "2026-07-01T12:00:00+02:00"
    )
    rejects = member.get(f"{url}/events/rejects", timeout=30).json()["items"]
    assert [(r["index"], r["event"]["temperature"]) for r in rejects] == [(2, 999), (3, -273)]

    assert stranger.post(f"{url}/events", json=late, timeout=30).status_code == 403
    assert stranger.get(f"{url}/latest", timeout=30).status_code == 403
    assert anonymous.get(f"{url}/latest/sorenga", timeout=30).status_code == 404
    malformed = member.post(
        f"{url}/events",
        data=b'[{"sensorId": "x"',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert malformed.status_code == 400
    assert len(member.get(f"{url}/events/rejects", timeout=30).json()["items"]) == 2


def test_sns_delivers_signed_readings_to_brygge_serve(tmp_path: Path) -> None:
    """SNS (a local certificate and server, through BRYGGE_SNS_FETCH_URL) over real HTTP."""
    from datetime import UTC, datetime, timedelta

    from tests.catalogue.api.test_events_sns import (
        CERT_PATH,
        TOPIC,
        confirmation,
        make_certificate,
        notification,
        signed,
    )
    from tests.fixtures.receiver import running_receiver

    key, pem = make_certificate(datetime.now(UTC) + timedelta(days=1))
    with running_receiver() as sns:
        sns.answer = lambda request: (200, pem if request.path == CERT_PATH else b"<ok/>")
        with running_server(tmp_path, tmp_path / "home", BRYGGE_SNS_FETCH_URL=sns.url) as server:
            url = f"{server.url}/datasets/badetemperatur/versions/1"
            source = {**SOURCE, "sns": {"topics": [TOPIC]}}
            body = {"id": "badetemperatur", "title": "B", "accessRights": "public", "owner": OWNER}
            created = requests.post(f"{server.url}/datasets", json={**body, "source": source})
            assert created.status_code == 201, created.text
            text = {"Content-Type": "text/plain; charset=UTF-8"}
            reading = {
                "sensorId": "sorenga",
                "observedAt": "2026-07-01T10:00:00Z",
                "temperature": 21.0,
            }

            confirmed = requests.post(
                f"{url}/events/sns", data=json.dumps(signed(key, confirmation(), "2")), headers=text
            )
            delivered = requests.post(
                f"{url}/events/sns",
                data=json.dumps(signed(key, notification([reading]))),
                headers=text,
            )
            forged = requests.post(
                f"{url}/events/sns",
                data=json.dumps({**signed(key, notification([reading], "m-2")), "Message": "[]"}),
                headers=text,
            )

            assert confirmed.json() == {"type": "SubscriptionConfirmation", "confirmed": True}
            assert delivered.json() == {"type": "Notification", "accepted": 1, "rejected": []}
            assert forged.status_code == 403
            assert requests.get(f"{url}/latest/sorenga").json()["event"]["temperature"] == 21.0
            assert [r.path for r in sns.requests if "ConfirmSubscription" in r.path]
