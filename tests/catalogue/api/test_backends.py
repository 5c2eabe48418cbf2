"""The main API flows on every backend: SQLite, DynamoDB in moto, DynamoDB Local."""

from __future__ import annotations

import json
import re

import pytest

DATASET = {"title": "Bysykkel", "accessRights": "public", "owner": "team:mobility"}


@pytest.fixture
def api(app_on_store):
    return app_on_store.test_client()


def test_dataset_lifecycle(api) -> None:
    first = api.post("/datasets", json={**DATASET, "keywords": ["Bike"], "description": "Trips"})
    assert first.status_code == 201, first.json
    second = api.post("/datasets", json=DATASET)
    assert first.json["id"] == "bysykkel"
    assert re.fullmatch(r"bysykkel-[a-z0-9]{6}", second.json["id"])
    assert api.post("/datasets", json={**DATASET, "id": "bysykkel"}).status_code == 409

    patched = api.patch(
        "/datasets/bysykkel",
        json={"keywords": ["cycling"]},
        headers={"If-Match": first.headers["ETag"]},
    )
    assert patched.status_code == 200
    stale = api.patch(
        "/datasets/bysykkel", json={"title": "x"}, headers={"If-Match": first.headers["ETag"]}
    )
    assert stale.status_code == 412

    assert [d["id"] for d in api.get("/datasets?keyword=CYCLING").json["items"]] == ["bysykkel"]
    assert api.get("/datasets?keyword=bike").json["items"] == []
    assert [d["id"] for d in api.get("/datasets?q=trips").json["items"]] == ["bysykkel"]

    editions = "/datasets/bysykkel/versions/1/editions"
    for day in range(1, 4):
        assert api.post(editions, json={"edition": f"2026010{day}T000000"}).status_code == 201
    assert api.get(f"{editions}/latest").json["edition"] == "20260103T000000"
    for index in range(30):
        api.post(f"{editions}/latest/distributions", json={"id": f"d{index}"})
    assert api.delete("/datasets/bysykkel").status_code == 409
    assert api.delete("/datasets/bysykkel?cascade=true").status_code == 204
    assert api.get(f"{editions}/latest").status_code == 404
    assert [d["id"] for d in api.get("/datasets").json["items"]] == [second.json["id"]]


def test_pages_across_backends(api) -> None:
    for number in range(7):
        api.post("/datasets", json={**DATASET, "id": f"set-{number}", "themes": ["TRAN"]})
    for query in (
        "/datasets?limit=3",
        "/datasets?limit=3&theme=TRAN",
        "/datasets?limit=3&q=bysykkel",
    ):
        seen, cursor, pages = [], None, 0
        while True:
            body = api.get(query + (f"&cursor={cursor}" if cursor else "")).json
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next"]
            if cursor is None:
                break
        assert sorted(seen) == [f"set-{number}" for number in range(7)], query
        assert pages == 3, query


def test_a_patch_that_rewrites_every_indexed_field(api) -> None:
    def words(prefix: str, count: int) -> str:
        return " ".join(f"{prefix}{index}" for index in range(count))

    themes = ["AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "INTR", "JUST"]
    themes += ["REGI", "SOCI", "TECH", "TRAN"]
    body = {
        **DATASET,
        "id": "big",
        "title": words("t", 10),
        "description": words("d", 60),
        "keywords": [f"k{index}" for index in range(20)],
        "themes": themes,
    }
    assert api.post("/datasets", json=body).status_code == 201
    patched = api.patch(
        "/datasets/big",
        json={
            "title": words("x", 10),
            "description": words("y", 60),
            "keywords": [f"z{index}" for index in range(20)],
            "themes": ["ENVI"],
            "owner": "team:other",
            "state": "deprecated",
        },
    )
    assert patched.status_code == 200, patched.json
    assert [d["id"] for d in api.get("/datasets?q=x3 y20").json["items"]] == ["big"]
    assert api.get("/datasets?q=t3").json["items"] == []
    assert [d["id"] for d in api.get("/datasets?keyword=z19&owner=team:other").json["items"]] == [
        "big"
    ]
    assert api.get("/datasets?keyword=k19").json["items"] == []
    assert api.get("/datasets?theme=TRAN").json["items"] == []


def test_a_description_holding_a_very_long_word_is_stored_and_found_by_its_others(api) -> None:
    sequence = "ACGT" * 300  # one word of 1,200 bytes: longer than a DynamoDB sort key holds
    body = {**DATASET, "id": "genome", "description": f"Reads {sequence} sequenced"}

    created = api.post("/datasets", json=body)

    assert created.status_code == 201, created.json
    assert api.get("/datasets/genome").json["description"] == body["description"]
    assert [d["id"] for d in api.get("/datasets?q=sequenced").json["items"]] == ["genome"]
    assert api.get("/datasets", query_string={"q": "\u3316" * 200}).status_code == 200


def test_a_distribution_too_large_to_store_is_422_naming_the_field_and_writes_nothing(api) -> None:
    assert api.post("/datasets", json={**DATASET, "id": "wide"}).status_code == 201
    editions = "/datasets/wide/versions/1/editions"
    assert api.post(editions, json={"edition": "20260101T000000"}).status_code == 201
    columns = [{"name": f"c{index}", "description": "x" * 900} for index in range(500)]

    answer = api.post(
        f"{editions}/latest/distributions", json={"id": "d1", "schema": {"fields": columns}}
    )

    assert answer.status_code == 422, answer.json
    assert "too large to store" in answer.json["errors"]["json"]["schema"][0]
    assert api.get(f"{editions}/latest/distributions").json["items"] == []
    fitting = api.post(
        f"{editions}/latest/distributions", json={"id": "d1", "schema": {"fields": columns[:400]}}
    )
    assert fitting.status_code == 201, fitting.json


def test_a_number_dynamodb_cannot_hold_is_422_naming_the_field(api) -> None:
    assert api.post("/datasets", json={**DATASET, "id": "sizes"}).status_code == 201
    editions = "/datasets/sizes/versions/1/editions"
    assert api.post(editions, json={"edition": "20260101T000000"}).status_code == 201

    # An integral float is an integer to the schema: 301 digits, far past DynamoDB's 38.
    answer = api.post(
        f"{editions}/latest/distributions",
        data='{"id": "d1", "byteSize": 1.5e300}',
        content_type="application/json",
    )

    assert answer.status_code == 422, answer.json
    assert "cannot be stored" in answer.json["errors"]["json"]["byteSize"][0]
    assert api.get(f"{editions}/latest/distributions").json["items"] == []


def test_write_conditions_on_a_dataset_pipeline(api) -> None:
    # RFC 9110 13.1: If-None-Match "*" creates only where nothing is; a tag list fails on the
    # current ETag (weakly); an If-Match list passes when one tag is current (strongly).
    from tests.e2e.test_local_flow import TWO_STEPS

    assert api.post("/datasets", json={**DATASET, "id": "sykkel"}).status_code == 201
    template = {"id": "two", "title": "Two steps", "definition": TWO_STEPS}
    assert api.post("/pipelines", json=template).status_code == 201
    pipeline = {"template": "two", "taskConfig": {"ToParquet": {"delimiter": ";"}}}
    other = {"template": "two", "taskConfig": {"ToParquet": {"delimiter": ","}}}
    path = "/datasets/sykkel/pipeline"

    created = api.put(path, json=pipeline, headers={"If-None-Match": "*"})
    assert created.status_code == 200, created.json
    tag = created.headers["ETag"]
    for matching in ("*", tag, f'"r9", W/{tag}'):
        refused = api.put(path, json=other, headers={"If-None-Match": matching})
        assert refused.status_code == 412, matching
    assert api.delete(path, headers={"If-None-Match": tag}).status_code == 412
    assert api.get(path).json["taskConfig"] == pipeline["taskConfig"]

    replaced = api.put(path, json=other, headers={"If-Match": f'"r9", {tag}'})
    assert replaced.status_code == 200, replaced.json
    assert api.put(path, json=pipeline, headers={"If-Match": f'"r9", {tag}'}).status_code == 412
    assert api.get(path).json["taskConfig"] == other["taskConfig"]


def test_write_conditions_on_a_create_and_a_grant(api) -> None:
    # A create's If-None-Match "*" is the store's own create condition; a grant's "*"
    # conditions are checked in the write that replaces the grants' head.
    made = api.post("/datasets", json={**DATASET, "id": "buss"}, headers={"If-None-Match": "*"})
    assert made.status_code == 201, made.json
    again = api.post(
        "/datasets",
        json={**DATASET, "id": "buss", "title": "Again"},
        headers={"If-None-Match": "*"},
    )
    assert again.status_code == 412, again.json
    assert api.get("/datasets/buss").json["title"] == DATASET["title"]

    grant = "/datasets/buss/permissions/user:bob"
    assert api.put(grant, json={"scopes": ["read"]}, headers={"If-Match": "*"}).status_code == 412
    assert (
        api.put(grant, json={"scopes": ["read"]}, headers={"If-None-Match": "*"}).status_code == 200
    )
    taken = api.put(grant, json={"scopes": ["admin"]}, headers={"If-None-Match": "*"})
    assert taken.status_code == 412, taken.json
    grants = {
        g["principal"]: g["scopes"] for g in api.get("/datasets/buss/permissions").json["items"]
    }
    assert grants["user:bob"] == ["read"]


def test_a_whole_float_comes_back_as_a_float_on_every_backend(api) -> None:
    # A client in a typed language reads 20.0 as a float: the same on every deployment.
    from tests.catalogue.api.test_events import EVENTS, LATEST, make_dataset

    fields = [
        {"name": "sensorId", "type": "string"},
        {"name": "observedAt", "type": "number"},
        {"name": "temperature", "type": "number"},
        {"name": "depth", "type": "integer"},
    ]
    source = {"type": "event", "schema": {"fields": fields}, "key": ["sensorId"]}
    make_dataset(api, source={**source, "time": "observedAt"})
    event = {"sensorId": "s-1", "observedAt": 1780000000.0, "temperature": 20.0, "depth": 3}

    assert api.post(EVENTS, json=[event]).json["accepted"] == 1
    latest = json.loads(api.get(f"{LATEST}/s-1").data)
    listed = json.loads(api.get(LATEST).data)["items"][0]

    for answer in (latest, listed):
        assert type(answer["time"]) is float
        assert [type(answer["event"][name]) for name in ("temperature", "depth")] == [float, int]


def test_an_object_with_an_empty_key_is_422_naming_the_field_or_a_reject_kept_as_text(api) -> None:
    from tests.catalogue.api.test_events import EVENTS, make_dataset, reading

    make_dataset(api)
    editions = "/datasets/bad/versions/1/editions"
    assert api.post(editions, json={"edition": "20260101T000000"}).status_code == 201
    schema = {"fields": [{"name": "id"}], "primaryKey": {"": "id"}}

    answer = api.post(f"{editions}/latest/distributions", json={"id": "d1", "schema": schema})
    posted = api.post(EVENTS, json=[{**reading("s-1", "2026-06-01T12:00:00Z"), "": {"": 1}}])

    assert answer.status_code == 422, answer.json
    assert "empty" in answer.json["errors"]["json"]["schema"][0]
    assert api.get(f"{editions}/latest/distributions").json["items"] == []
    assert posted.status_code == 200, posted.json
    assert posted.json["rejected"][0]["errors"] == {
        "_event": ['a field without a name ("") is not a field of the schema']
    }
    rejects = api.get(f"{EVENTS}/rejects").json["items"]
    assert json.loads(rejects[0]["eventText"])[""] == {"": 1}
