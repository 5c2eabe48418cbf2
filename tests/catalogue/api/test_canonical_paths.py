"""One URL per resource: a trailing slash is redirected, an encoded slash is refused."""

from __future__ import annotations

import pytest

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


@pytest.fixture
def made(client):  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    return client


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/datasets/", "/datasets"),
        ("/datasets/?limit=1&q=air", "/datasets?limit=1&q=air"),
        ("/datasets/air/", "/datasets/air"),
        ("/datasets/air/versions/1/", "/datasets/air/versions/1"),
        ("/pipelines/", "/pipelines"),
    ],
)
def test_a_trailing_slash_is_a_permanent_redirect_to_the_url_without_it(
    made, path: str, location: str
) -> None:  # type: ignore[no-untyped-def]
    answer = made.get(path)

    assert answer.status_code == 308
    assert answer.headers["Location"] == location
    assert made.get(location).status_code == 200


def test_the_redirect_keeps_the_method_and_body(made) -> None:  # type: ignore[no-untyped-def]
    answer = made.patch("/datasets/air/", json={"title": "Air quality"}, follow_redirects=True)

    assert answer.status_code == 200, answer.json
    assert made.get("/datasets/air").json["title"] == "Air quality"


def test_a_method_the_canonical_url_does_not_take_is_redirected_to_its_405(made) -> None:  # type: ignore[no-untyped-def]
    answer = made.put("/datasets/", json={}, follow_redirects=True)

    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_a_slash_after_a_path_that_matches_nothing_stays_404(made) -> None:  # type: ignore[no-untyped-def]
    assert made.get("/nothing-here/").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/datasets/a%2Fb",
        "/datasets/a%2fb/versions",
        "/datasets/air%2Fversions",
        "/datasets/air/versions/1%2Feditions",
    ],
)
def test_an_encoded_slash_in_an_id_is_404_naming_it(made, path: str) -> None:  # type: ignore[no-untyped-def]
    answer = made.get(path)

    assert answer.status_code == 404
    segment = next(part for part in path.split("/") if "%2" in part)
    assert segment in answer.json["message"]
    assert "encoded slash" in answer.json["message"]


def test_a_write_to_an_id_with_an_encoded_slash_changes_nothing(made) -> None:  # type: ignore[no-untyped-def]
    # Decoded, the path would be the versions of dataset "air".
    answer = made.post("/datasets/air%2Fversions", json={"version": "2"})

    assert answer.status_code == 404
    assert made.get("/datasets/air/versions/2").status_code == 404


def test_an_encoded_slash_in_a_series_key_reaches_its_view(made) -> None:  # type: ignore[no-untyped-def]
    # A series key is percent-encoded text and may hold "/": its view answers, not the check.
    answer = made.get("/datasets/air/versions/1/latest/sensor%2F1")

    assert "encoded slash" not in answer.json.get("message", "")
