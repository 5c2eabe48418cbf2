"""A JSON-only resource answers 406 to an Accept that no JSON answer meets (RFC 9110
12.5.1), as the resources with other representations (a dataset, the catalogue) do."""

from __future__ import annotations

import pytest

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


@pytest.fixture
def made(client):  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    return client


@pytest.mark.parametrize("path", ["/datasets", "/datasets/air/versions", "/pipelines", "/me"])
@pytest.mark.parametrize(
    "accept", ["application/xml", "image/png", "text/csv, text/plain", "application/json;q=0"]
)
def test_an_accept_no_json_answer_meets_is_406_naming_json(made, path: str, accept: str) -> None:  # type: ignore[no-untyped-def]
    answer = made.get(path, headers={"Accept": accept})

    assert answer.status_code == 406
    assert answer.json["code"] == 406
    assert f"Accept: {accept}" in answer.json["message"]
    assert "application/json" in answer.json["message"]


def test_a_write_with_an_accept_no_json_answer_meets_is_406_before_it_acts(made) -> None:  # type: ignore[no-untyped-def]
    answer = made.post(
        "/datasets", json={**DATASET, "id": "water"}, headers={"Accept": "application/xml"}
    )

    assert answer.status_code == 406
    assert made.get("/datasets/water").status_code == 404


@pytest.mark.parametrize(
    "accept",
    [
        "application/json",
        "application/*",
        "*/*",
        "application/problem+json, application/json;q=0.5",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "",
    ],
)
def test_an_accept_a_json_answer_meets_gets_json(made, accept: str) -> None:  # type: ignore[no-untyped-def]
    answer = made.get("/datasets/air/versions", headers={"Accept": accept})

    assert answer.status_code == 200
    assert answer.mimetype == "application/json"


def test_the_resources_that_negotiate_keep_their_own_answers(made) -> None:  # type: ignore[no-untyped-def]
    assert made.get("/datasets/air", headers={"Accept": "text/turtle"}).status_code == 200
    assert made.get("/catalog", headers={"Accept": "text/turtle"}).status_code == 200
    atom = made.get("/datasets/air/events.atom", headers={"Accept": "application/atom+xml"})
    assert atom.status_code == 200
