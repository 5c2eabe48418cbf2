"""``brygge serve`` delivers webhooks by itself: its worker sends each change, signed."""

from __future__ import annotations

from pathlib import Path

import requests
from standardwebhooks import Webhook

from tests.e2e.conftest import running_server
from tests.fixtures.receiver import running_receiver


def test_brygge_serve_delivers_a_change_to_a_subscriber(tmp_path: Path) -> None:
    with (
        running_receiver() as receiver,
        running_server(tmp_path, tmp_path / "home", BRYGGE_WEBHOOK_ALLOW_PRIVATE="on") as server,
    ):
        made = requests.post(
            f"{server.url}/subscriptions",
            json={"url": receiver.url + "/in", "types": ["no.brygge.dataset.created"]},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        dataset = {"id": "bikes", "title": "Bikes", "accessRights": "public", "owner": "team:e2e"}
        assert requests.post(f"{server.url}/datasets", json=dataset, timeout=30).status_code == 201

        (request,) = receiver.wait_for(1)

    event = Webhook(made.json()["secret"]).verify(request.body, request.headers)
    assert (event["type"], event["subject"]) == ("no.brygge.dataset.created", "/datasets/bikes")
    assert event["source"] == server.url
