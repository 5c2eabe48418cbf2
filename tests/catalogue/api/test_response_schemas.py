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
