"""Versions, editions (with ``latest``) and distributions."""

from __future__ import annotations

import pytest

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EDITIONS = "/datasets/air/versions/1/editions"


@pytest.fixture
def dataset(client):
    assert client.post("/datasets", json=DATASET).status_code == 201
    return "air"


def test_versions_are_numbered_and_listed(client, dataset) -> None:
    response = client.post("/datasets/air/versions", json={"description": "second"})
    assert response.status_code == 201
    assert response.json["version"] == "2"
    assert response.headers["Location"].endswith("/datasets/air/versions/2")
    named = client.post("/datasets/air/versions", json={"version": "2025.1"})
    assert named.json["version"] == "2025.1"
    assert client.post("/datasets/air/versions", json={"version": "2025.1"}).status_code == 409
    listed = client.get("/datasets/air/versions").json
    assert [v["version"] for v in listed["items"]] == ["1", "2", "2025.1"]
    assert listed["next"] is None


def test_version_of_unknown_dataset_is_404(client) -> None:
    assert client.post("/datasets/none/versions", json={}).status_code == 404
    assert client.get("/datasets/none/versions").status_code == 404
    assert client.get("/datasets/none/versions/1").status_code == 404


def test_version_patch_and_immutable_id(client, dataset) -> None:
    response = client.patch("/datasets/air/versions/1", json={"description": "first"})
    assert response.status_code == 200
    assert response.json["description"] == "first"
    assert response.headers["ETag"].startswith('"r2.')
    refused = client.patch("/datasets/air/versions/1", json={"version": "9"})
    assert refused.status_code == 422
    assert "version" in refused.json["errors"]["json"]


def test_editions_default_to_now_and_latest_is_the_newest(client, dataset, clock) -> None:
    first = client.post(EDITIONS, json={"description": "a"})
    assert first.status_code == 201
    second = client.post(EDITIONS, json={"description": "b"})
    assert first.json["edition"] < second.json["edition"]
    latest = client.get(f"{EDITIONS}/latest")
    assert latest.json["edition"] == second.json["edition"]
    listed = client.get(EDITIONS).json["items"]
    assert [e["edition"] for e in listed] == [second.json["edition"], first.json["edition"]]


def test_editions_in_the_same_second_get_distinct_ids(client, dataset, clock) -> None:
    from datetime import timedelta

    clock.step = timedelta(0)
    ids = {client.post(EDITIONS, json={}).json["edition"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.parametrize("edition", ["latest", "2026-01-01", "20261301T000000"])
def test_bad_edition_ids_are_422(client, dataset, edition) -> None:
    response = client.post(EDITIONS, json={"edition": edition})
    assert response.status_code == 422
    assert "edition" in response.json["errors"]["json"]


def test_latest_without_editions_is_404(client, dataset) -> None:
    assert client.get(f"{EDITIONS}/latest").status_code == 404


def test_edition_times_are_checked(client, dataset) -> None:
    bad = client.post(
        EDITIONS, json={"startTime": "2026-02-01T00:00:00Z", "endTime": "2026-01-01T00:00:00Z"}
    )
    assert bad.status_code == 422
    naive = client.post(EDITIONS, json={"startTime": "2026-02-01T00:00:00"})
    assert naive.status_code == 422


def test_distributions_under_latest(client, dataset) -> None:
    edition = client.post(EDITIONS, json={"edition": "20260101T000000"}).json["edition"]
    response = client.post(
        f"{EDITIONS}/latest/distributions",
        json={
            "filenames": ["a.csv"],
            "mediaType": "text/csv",
            "byteSize": 10,
            "checksum": "a" * 64,
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["downloadURL"].endswith(
        f"/datasets/air/versions/1/editions/{edition}/distributions/{body['id']}/download"
    )
    assert response.headers["Location"].endswith(f"/editions/{edition}/distributions/{body['id']}")
    assert client.get(f"{EDITIONS}/{edition}/distributions/{body['id']}").json == body
    api = client.post(
        f"{EDITIONS}/latest/distributions",
        json={"id": "live", "type": "api", "accessURL": "https://api.example.org/air"},
    )
    assert api.status_code == 201
    assert api.json["accessURL"] == "https://api.example.org/air"
    assert api.json["downloadURL"] is None
    listed = client.get(f"{EDITIONS}/{edition}/distributions").json["items"]
    assert {d["id"] for d in listed} == {body["id"], "live"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"checksum": "xyz"}, "checksum"),
        ({"mediaType": "csv"}, "mediaType"),
        ({"mediaType": "text/csv; charset"}, "mediaType"),
        ({"mediaType": "text/csv, text/plain"}, "mediaType"),
        ({"byteSize": -1}, "byteSize"),
        ({"type": "api"}, "accessURL"),
        ({"id": "Bad Id"}, "id"),
    ],
)
def test_bad_distributions_are_422(client, dataset, body, field) -> None:
    client.post(EDITIONS, json={"edition": "20260101T000000"})
    response = client.post(f"{EDITIONS}/20260101T000000/distributions", json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


@pytest.mark.parametrize(
    "media_type", ["text/csv; charset=utf-8", 'text/csv;header="present"', "Text/CSV"]
)
def test_a_media_type_with_parameters_or_capitals_is_taken(client, dataset, media_type) -> None:
    # Media types are case-insensitive and take parameters (RFC 9110 8.3.1), as publish's
    # mediaType option and the DCAT feed do.
    client.post(EDITIONS, json={"edition": "20260101T000000"})
    response = client.post(
        f"{EDITIONS}/20260101T000000/distributions", json={"mediaType": media_type}
    )
    assert response.status_code == 201, response.json
    assert response.json["mediaType"] == media_type


def test_children_block_deletes_unless_cascade(client, dataset) -> None:
    client.post(EDITIONS, json={"edition": "20260101T000000"})
    client.post(f"{EDITIONS}/20260101T000000/distributions", json={"id": "d1"})
    assert client.delete(f"{EDITIONS}/20260101T000000").status_code == 409
    assert client.delete("/datasets/air/versions/1").status_code == 409
    assert client.delete(f"{EDITIONS}/20260101T000000/distributions/d1").status_code == 204
    assert client.delete(f"{EDITIONS}/20260101T000000").status_code == 204
    client.post(EDITIONS, json={"edition": "20260102T000000"})
    client.post(f"{EDITIONS}/20260102T000000/distributions", json={"id": "d2"})
    assert client.delete("/datasets/air/versions/1?cascade=true").status_code == 204
    assert client.get("/datasets/air/versions/1").status_code == 404
    assert client.get(f"{EDITIONS}/20260102T000000/distributions/d2").status_code == 404
    assert client.get("/datasets/air").status_code == 200


def test_edition_pages(client, dataset) -> None:
    for day in range(1, 8):
        client.post(EDITIONS, json={"edition": f"202601{day:02d}T000000"})
    seen, cursor = [], None
    while True:
        body = client.get(
            EDITIONS, query_string={"limit": 3, **({"cursor": cursor} if cursor else {})}
        ).json
        seen += [e["edition"] for e in body["items"]]
        cursor = body["next"]
        if not cursor:
            break
    assert seen == [f"202601{day:02d}T000000" for day in range(7, 0, -1)]
