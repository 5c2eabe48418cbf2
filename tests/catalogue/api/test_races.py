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
    assert final.headers["ETag"].startswith(f'"r{1 + WRITERS}.')


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


ROUNDS = 3


def remaining(app: Flask, partition: str, prefix: str = "") -> list[str]:
    """Sort keys of the items left in one partition of the app's store."""
    from catalogue.store.base import Query, query_all

    store = app.extensions["brygge"].store
    return [item["sk"] for item in query_all(store, Query(partition, prefix=prefix))]


def test_an_edition_delete_racing_distribution_creates_leaves_no_orphans(api: Flask) -> None:
    from catalogue.store import keys

    client = api.test_client()
    for round_ in range(ROUNDS):
        edition = f"2026010{round_ + 1}T000000"
        path = f"/datasets/racing/versions/1/editions/{edition}"
        assert (
            client.post(
                "/datasets/racing/versions/1/editions", json={"edition": edition}
            ).status_code
            == 201
        )

        def act(client, n: int, path: str = path):  # type: ignore[no-untyped-def]
            if n == 0:
                return client.delete(f"{path}?cascade=true")
            return client.post(f"{path}/distributions", json={"id": f"d{n}"})

        answers = together(api, 6, act)

        assert answers[0].status_code == 204
        assert {answer.status_code for answer in answers[1:]} <= {201, 404, 409}
        assert client.get(path).status_code == 404
        left = remaining(api, keys.dataset_pk("racing"), keys.distribution_sk("1", edition))
        assert left == []


def test_a_cascade_delete_racing_edition_creates_hands_nothing_to_the_next_dataset(
    api: Flask,
) -> None:
    from catalogue.store import keys

    client = api.test_client()
    for round_ in range(ROUNDS):
        if round_:
            assert client.post("/datasets", json=DATASET).status_code == 201

        def act(client, n: int, round_: int = round_):  # type: ignore[no-untyped-def]
            if n == 0:
                return client.delete("/datasets/racing?cascade=true")
            return client.post(
                "/datasets/racing/versions/1/editions",
                json={"edition": f"2026010{n}T00000{round_}"},
            )

        answers = together(api, 6, act)

        assert answers[0].status_code == 204
        assert {answer.status_code for answer in answers[1:]} <= {201, 404, 409}
        assert remaining(api, keys.dataset_pk("racing")) == []
        assert client.post("/datasets", json=DATASET).status_code == 201
        assert client.get("/datasets/racing/versions/1/editions").json["items"] == []
        assert client.delete("/datasets/racing").status_code == 204


def test_a_grant_racing_a_cascade_delete_never_survives_it(api: Flask) -> None:
    from catalogue.store import keys

    client = api.test_client()
    for round_ in range(ROUNDS):
        if round_:
            assert client.post("/datasets", json=DATASET).status_code == 201

        def act(client, n: int):  # type: ignore[no-untyped-def]
            if n == 0:
                return client.delete("/datasets/racing?cascade=true")
            return client.put(f"/datasets/racing/permissions/user:p{n}", json={"scopes": ["read"]})

        answers = together(api, 6, act)

        assert answers[0].status_code == 204
        assert {answer.status_code for answer in answers[1:]} <= {200, 404, 409}
        assert remaining(api, keys.permissions_pk("racing")) == []
        for n in range(1, 6):
            assert remaining(api, keys.grants_pk(f"user:p{n}")) == []
        assert client.post("/datasets", json=DATASET).status_code == 201
        grants = client.get("/datasets/racing/permissions").json["items"]
        assert [grant["principal"] for grant in grants] == ["team:fast"]
        assert client.delete("/datasets/racing").status_code == 204


def test_concurrent_pipeline_creates_with_if_none_match_star_let_one_win(api: Flask) -> None:
    # If-None-Match "*" asks to create only: the check holds where the write lands, so one
    # writer creates and every other is 412, its pipeline not stored.
    from tests.e2e.test_local_flow import TWO_STEPS

    template = {"id": "two", "title": "Two steps", "definition": TWO_STEPS}
    assert api.test_client().post("/pipelines", json=template).status_code == 201

    def put(client: Any, n: int) -> Any:
        config = {"ToParquet": {"delimiter": str(n % 10)}}
        return client.put(
            "/datasets/racing/pipeline",
            json={"template": "two", "taskConfig": config},
            headers={"If-None-Match": "*"},
        )

    answers = together(api, WRITERS, put)

    assert sorted(answer.status_code for answer in answers) == [200] + [412] * (WRITERS - 1)
    winner = next(answer for answer in answers if answer.status_code == 200)
    stored = api.test_client().get("/datasets/racing/pipeline")
    assert stored.json["taskConfig"] == winner.json["taskConfig"]


def test_concurrent_pipeline_puts_without_conditions_all_succeed(api: Flask) -> None:
    from tests.e2e.test_local_flow import TWO_STEPS

    template = {"id": "two", "title": "Two steps", "definition": TWO_STEPS}
    assert api.test_client().post("/pipelines", json=template).status_code == 201

    answers = together(
        api,
        WRITERS,
        lambda client, n: client.put(
            "/datasets/racing/pipeline",
            json={"template": "two", "taskConfig": {"ToParquet": {"delimiter": str(n % 10)}}},
        ),
    )

    assert sorted(answer.status_code for answer in answers) == [200] * WRITERS
