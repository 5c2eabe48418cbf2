"""Conditions on writes that make a resource, on grants, and on resources without an ETag.

RFC 9110 13.1.1: If-Match is false when the resource has no current representation, and
13.1.2: If-None-Match ``*`` is false when it has one. A create (POST of a collection) is
conditional on the resource it makes; a grant has no ETag, so only ``*`` can be checked on
it; a write to any other resource without an ETag refuses conditions it cannot check,
rather than acting as if they held.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from catalogue.settings import Settings
from tests.e2e.test_local_flow import TWO_STEPS

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EDITION = "20260102T030405"
TEMPLATE = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
EDITIONS = "/datasets/air/versions/1/editions"
DISTRIBUTIONS = f"{EDITIONS}/{EDITION}/distributions"
GRANT = "/datasets/air/permissions/user:bob"
# (collection, body of a create, the created resource, a field a second create would change)
CREATES = [
    ("/datasets", {**DATASET, "title": "Air again"}, "/datasets/air", "title"),
    (
        "/datasets/air/versions",
        {"version": "1", "description": "again"},
        "/datasets/air/versions/1",
        "description",
    ),
    (
        EDITIONS,
        {"edition": EDITION, "description": "again"},
        f"{EDITIONS}/{EDITION}",
        "description",
    ),
    (DISTRIBUTIONS, {"id": "d1", "format": "PARQUET"}, f"{DISTRIBUTIONS}/d1", "format"),
    ("/pipelines", {**TEMPLATE, "title": "Again"}, "/pipelines/csv-to-parquet", "title"),
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Subscriptions to a receiver on this machine (never called: no change is delivered).
    return replace(settings, webhook_allow_private=True)


@pytest.fixture
def made(client):  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    assert client.post(EDITIONS, json={"edition": EDITION}).status_code == 201
    assert client.post(DISTRIBUTIONS, json={"id": "d1", "format": "CSV"}).status_code == 201
    assert client.post("/pipelines", json=TEMPLATE).status_code == 201
    assert client.put(GRANT, json={"scopes": ["read"]}).status_code == 200
    return client


def fresh_body(collection: str, body: dict) -> dict:
    """The create's body with an id that is free."""
    id_field = next(name for name in ("id", "version", "edition") if name in body)
    free = {"id": "water", "version": "7", "edition": "20260203T040506"}[id_field]
    if collection == "/pipelines":
        free = "csv-again"
    return {**body, id_field: free}


@pytest.mark.parametrize(("collection", "body", "resource", "field"), CREATES)
def test_a_create_with_if_none_match_star_of_a_taken_id_is_412(
    made, collection: str, body: dict, resource: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    before = made.get(resource).json

    answer = made.post(collection, json=body, headers={"If-None-Match": "*"})

    assert answer.status_code == 412, answer.json
    assert answer.json["code"] == 412
    assert "If-None-Match" in answer.json["message"]
    assert made.get(resource).json[field] == before[field]


@pytest.mark.parametrize(("collection", "body", "resource", "field"), CREATES)
def test_a_create_with_if_none_match_star_of_a_free_id_is_made(
    made, collection: str, body: dict, resource: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    for condition in ("*", '"r1", W/"r2"'):
        answer = made.post(
            collection, json=fresh_body(collection, body), headers={"If-None-Match": condition}
        )
        assert answer.status_code == 201, (condition, answer.json)
        assert made.delete(answer.headers["Location"] + "?cascade=true").status_code == 204


@pytest.mark.parametrize(("collection", "body", "resource", "field"), CREATES)
def test_a_create_with_if_match_is_412_and_makes_nothing(
    made, collection: str, body: dict, resource: str, field: str
) -> None:  # type: ignore[no-untyped-def]
    # If-Match asks for a current state, which a resource not yet made does not have.
    tag = made.get(resource).headers["ETag"]
    new = fresh_body(collection, body)

    for condition in ("*", tag):
        answer = made.post(collection, json=new, headers={"If-Match": condition})
        assert answer.status_code == 412, (condition, answer.json)
        assert answer.json["code"] == 412
    listed = made.get(collection).json["items"]
    assert all(item.get("id") != "water" and item.get("version") != "7" for item in listed)
    assert made.get("/pipelines/csv-again").status_code == 404


def test_a_create_with_if_none_match_star_is_made_once_when_two_race(made) -> None:  # type: ignore[no-untyped-def]
    first = made.post("/datasets", json={**DATASET, "id": "water"}, headers={"If-None-Match": "*"})
    second = made.post(
        "/datasets", json={**DATASET, "id": "water", "title": "W"}, headers={"If-None-Match": "*"}
    )

    assert (first.status_code, second.status_code) == (201, 412)
    assert made.get("/datasets/water").json["title"] == "Air"


def grant_of(client) -> list[str] | None:  # type: ignore[no-untyped-def]
    grants = client.get("/datasets/air/permissions").json["items"]
    return next((g["scopes"] for g in grants if g["principal"] == "user:bob"), None)


def test_a_grant_with_if_none_match_star_is_made_only_where_none_is(made) -> None:  # type: ignore[no-untyped-def]
    taken = made.put(GRANT, json={"scopes": ["admin"]}, headers={"If-None-Match": "*"})
    free = made.put(
        "/datasets/air/permissions/user:carol",
        json={"scopes": ["read"]},
        headers={"If-None-Match": "*"},
    )

    assert taken.status_code == 412, taken.json
    assert grant_of(made) == ["read"]
    assert free.status_code == 200, free.json


def test_a_grant_with_if_match_star_is_changed_only_where_one_is(made) -> None:  # type: ignore[no-untyped-def]
    missing = made.put(
        "/datasets/air/permissions/user:carol",
        json={"scopes": ["read"]},
        headers={"If-Match": "*"},
    )
    present = made.put(GRANT, json={"scopes": ["read", "update"]}, headers={"If-Match": "*"})

    assert missing.status_code == 412, missing.json
    grants = made.get("/datasets/air/permissions").json["items"]
    assert "user:carol" not in {grant["principal"] for grant in grants}
    assert present.status_code == 200, present.json
    assert grant_of(made) == ["read", "update"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_grant_has_no_etag_so_an_if_match_tag_is_412(made, method: str) -> None:  # type: ignore[no-untyped-def]
    body = {"scopes": ["admin"]} if method == "PUT" else None
    tag = made.get("/datasets/air").headers["ETag"]

    answer = made.open(GRANT, method=method, json=body, headers={"If-Match": tag})

    assert answer.status_code == 412, answer.json
    assert "ETag" in answer.json["message"]
    assert grant_of(made) == ["read"]


def test_removing_a_grant_with_if_none_match_star_is_412(made) -> None:  # type: ignore[no-untyped-def]
    answer = made.delete(GRANT, headers={"If-None-Match": "*"})

    assert answer.status_code == 412, answer.json
    assert grant_of(made) == ["read"]
    assert made.delete(GRANT, headers={"If-Match": "*"}).status_code == 204
    # No grant left: as without a condition (RFC 9110 13.2.1), 404 rather than 412.
    assert made.delete(GRANT, headers={"If-Match": "*"}).status_code == 404


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_if_match_star_on_a_missing_dataset_is_404_as_without_it(client, method: str) -> None:  # type: ignore[no-untyped-def]
    # RFC 9110 13.2.1: a request that would be 404 without its conditions stays 404.
    body = {"title": "x"} if method == "PATCH" else None
    answer = client.open("/datasets/missing", method=method, json=body, headers={"If-Match": "*"})

    assert answer.status_code == 404


@pytest.mark.parametrize(
    "condition", [{"If-Match": '"r1"'}, {"If-Match": "*"}, {"If-None-Match": "*"}]
)
def test_a_write_to_a_resource_without_an_etag_refuses_a_condition_it_cannot_check(
    made, condition: dict
) -> None:  # type: ignore[no-untyped-def]
    subscription = made.post("/subscriptions", json={"url": "http://127.0.0.1:9/hook"})
    assert subscription.status_code == 201, subscription.json
    path = f"/subscriptions/{subscription.json['id']}"

    answer = made.delete(path, headers=condition)

    assert answer.status_code == 412, answer.json
    assert "ETag" in answer.json["message"]
    assert made.get(path).status_code == 200
    assert made.delete(path, headers={"If-None-Match": '"r1"'}).status_code == 204


def test_the_document_gives_creates_and_grants_their_conditions(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json["paths"]
    operations = [
        paths["/datasets"]["post"],
        paths["/pipelines"]["post"],
        paths["/datasets/{dataset_id}/versions/{version}/editions"]["post"],
        paths["/datasets/{dataset_id}/permissions/{principal}"]["put"],
        paths["/datasets/{dataset_id}/permissions/{principal}"]["delete"],
    ]
    for operation in operations:
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
        assert {"If-Match", "If-None-Match"} <= headers, operation["summary"]
        assert "412" in operation["responses"], operation["summary"]
