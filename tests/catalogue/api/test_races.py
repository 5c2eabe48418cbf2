"""Concurrent writers through the API, on every backend: threads against the real stores."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from catalogue.domain.ids import EDITION_ID

DATASET = {"id": "racing", "title": "Racing", "accessRights": "public", "owner": "team:fast"}
WRITERS = 16


@pytest.fixture
def api(app_on_store: Flask):  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    assert client.post("/datasets", json=DATASET).status_code == 201
    return app_on_store


def together(app: Flask, count: int, call: Callable[[Any, int], Any]) -> list[Any]:
    """Run ``call(client, index)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(index: int) -> Any:
        client = app.test_client()
        barrier.wait()
        return call(client, index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.parametrize("path", ["/datasets/racing", "/datasets/racing/versions/1"])
def test_concurrent_patches_without_if_match_all_succeed(api: Flask, path: str) -> None:
    answers = together(
        api, WRITERS, lambda client, n: client.patch(path, json={"description": f"{n}"})
    )

    assert sorted(answer.status_code for answer in answers) == [200] * WRITERS
    final = api.test_client().get(path)
    # Every patch was applied on the state before it: none was lost.
    assert final.headers["ETag"].endswith(f'r{1 + WRITERS}"')


def test_concurrent_edition_creates_in_one_second_all_succeed(api: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    clock.step = timedelta(0)
    second = clock.now.strftime("%Y%m%dT%H%M%S")

    answers = together(
        api,
        WRITERS,
        lambda client, n: client.post("/datasets/racing/versions/1/editions", json={}),
    )

    assert [answer.status_code for answer in answers] == [201] * WRITERS
    ids = [answer.json["edition"] for answer in answers]
    assert len(set(ids)) == WRITERS
    assert all(EDITION_ID.match(edition) and edition.startswith(second) for edition in ids)
    assert second in ids
    latest = api.test_client().get("/datasets/racing/versions/1/editions/latest")
    assert latest.json["edition"] == max(ids)


def test_editions_of_one_second_sort_in_the_order_they_were_made(api: Flask, clock) -> None:  # type: ignore[no-untyped-def]
    clock.step = timedelta(0)
    client = api.test_client()
    made = [
        client.post("/datasets/racing/versions/1/editions", json={}).json["edition"]
        for _ in range(3)
    ]
    clock.step = timedelta(seconds=1)
    clock.now += timedelta(seconds=1)
    made.append(client.post("/datasets/racing/versions/1/editions", json={}).json["edition"])

    second = made[0]
    assert made == [second, f"{second}-000001", f"{second}-000002", made[3]]
    assert made == sorted(made)
    assert client.get("/datasets/racing/versions/1/editions/latest").json["edition"] == made[3]
