"""Answers match what the OpenAPI document says of them, as a client generated from it reads them.

Each test makes a resource the way a user would, then validates the answer against the
operation's documented response (status, media type and JSON Schema) with schemathesis.
"""

from __future__ import annotations

import pytest
import schemathesis

PUBLISH_ONLY = {
    "StartAt": "Publish",
    "States": {"Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True}},
}


@pytest.fixture
def schema(app):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


def assert_documented(schema, method: str, path: str, answer) -> None:  # type: ignore[no-untyped-def]
    """Raise the schemathesis failure when ``answer`` is not what the document says."""
    schema.find_operation_by_path(method, path).validate_response(answer)


def test_a_template_without_an_owner_team_matches_its_documented_shape(schema, client) -> None:
    # A site admin without a team registers it: no team owns it (site admins only).
    template = {"id": "publish", "title": "Publish", "definition": PUBLISH_ONLY}
    created = client.post("/pipelines", json=template)
    assert created.status_code == 201
    assert created.json["owner"] is None
    assert_documented(schema, "POST", "/pipelines", created)
    assert_documented(schema, "GET", "/pipelines/publish", client.get("/pipelines/publish"))
    assert_documented(schema, "GET", "/pipelines", client.get("/pipelines"))


def test_a_null_owner_sent_on_put_keeps_the_owner_team(client) -> None:
    template = {"id": "publish", "title": "Publish", "definition": PUBLISH_ONLY}
    assert client.post("/pipelines", json={**template, "owner": "team:miljo"}).status_code == 201
    del template["id"]  # a PUT's id is the path's
    changed = client.put("/pipelines/publish", json={**template, "owner": None})
    assert changed.status_code == 200, changed.json
    assert changed.json["owner"] == "team:miljo"


def test_json_ld_answers_match_their_documented_shape(schema, client) -> None:
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201
    json_ld = {"Accept": "application/ld+json"}
    feed = client.get("/catalog", headers=json_ld)
    assert feed.status_code == 200
    assert "@context" in feed.json
    assert_documented(schema, "GET", "/catalog", feed)
    one = client.get("/datasets/air", headers=json_ld)
    assert one.mimetype == "application/ld+json"
    assert_documented(schema, "GET", "/datasets/air", one)


def test_an_api_distribution_is_made_with_the_documented_access_url(schema, client) -> None:
    # accessURL is sent for type api and answered for both types: a client generated from
    # the document leaves read-only properties out of what it sends.
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201
    editions = "/datasets/air/versions/1/editions"
    assert client.post(editions, json={"edition": "20260101T000000"}).status_code == 201
    path = f"{editions}/20260101T000000/distributions"
    operation = schema.find_operation_by_path("POST", path)
    body = operation.definition.raw["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    access_url = schema.raw_schema["components"]["schemas"][name]["properties"]["accessURL"]
    assert not access_url.get("readOnly")
    assert access_url["format"] == "uri"

    made = client.post(path, json={"type": "api", "accessURL": "https://api.example.org/air"})
    assert made.status_code == 201
    assert made.json["accessURL"] == "https://api.example.org/air"
    assert made.json["downloadURL"] is None
    assert_documented(schema, "POST", path, made)
    file = client.post(path, json={"type": "file", "filenames": ["air.csv"]})
    assert_documented(schema, "POST", path, file)


def test_bodies_the_api_does_without_are_documented_as_optional(schema, client) -> None:
    # Every field of these bodies is optional, and no body at all makes or changes nothing
    # more than {} does: a generated client must not be made to send one.
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    assert client.post("/datasets", json=dataset).status_code == 201
    edition = client.post("/datasets/air/versions/1/editions").json["edition"]
    calls = [
        ("POST", "/datasets/air/versions"),
        ("POST", "/datasets/air/versions/1/editions"),
        ("POST", f"/datasets/air/versions/1/editions/{edition}/distributions"),
        ("PATCH", "/datasets/air"),
        ("PATCH", "/datasets/air/versions/1"),
        ("PATCH", f"/datasets/air/versions/1/editions/{edition}"),
    ]
    for method, path in calls:
        answer = client.open(path, method=method)
        assert answer.status_code in (200, 201), (method, path, answer.json)
        operation = schema.find_operation_by_path(method, path).definition.raw
        assert not operation["requestBody"].get("required"), (method, path)
