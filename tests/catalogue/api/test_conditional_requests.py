"""Conditional GET and HEAD (RFC 9110 section 13.1.2): If-None-Match answers 304 Not
Modified when it matches the current representation's ETag, or is ``*`` and one exists."""

from __future__ import annotations

import pytest

from tests.e2e.test_local_flow import TWO_STEPS

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EDITION = "20260102T030405"
RESOURCES = [
    "/datasets/air",
    "/datasets/air/versions/1",
    f"/datasets/air/versions/1/editions/{EDITION}",
    f"/datasets/air/versions/1/editions/{EDITION}/distributions/d1",
    "/pipelines/csv-to-parquet",
    "/datasets/air/pipeline",
]


@pytest.fixture
def made(client):  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    editions = "/datasets/air/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    distributions = f"{editions}/{EDITION}/distributions"
    assert client.post(distributions, json={"id": "d1"}).status_code == 201
    template = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
    assert client.post("/pipelines", json=template).status_code == 201
    pipeline = {"template": "csv-to-parquet", "taskConfig": {}}
    assert client.put("/datasets/air/pipeline", json=pipeline).status_code == 200
    return client


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_star_on_an_existing_resource_is_304(made, path, method) -> None:  # type: ignore[no-untyped-def]
    tag = made.get(path).headers["ETag"]

    response = made.open(path, method=method, headers={"If-None-Match": "*"})

    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == tag


@pytest.mark.parametrize("path", RESOURCES)
def test_if_none_match_of_the_current_tag_is_304_and_of_another_200(made, path) -> None:  # type: ignore[no-untyped-def]
    tag = made.get(path).headers["ETag"]

    for matching in (tag, f"W/{tag}", f'"other", {tag}'):
        answer = made.get(path, headers={"If-None-Match": matching})
        assert (answer.status_code, answer.headers["ETag"]) == (304, tag), matching
    other = made.get(path, headers={"If-None-Match": '"r0.other"'})
    assert other.status_code == 200
    assert other.headers["ETag"] == tag and other.json


# Lists and other answers without an ETag: a current representation exists all the same.
UNTAGGED = ["/datasets", "/datasets/air/versions", "/pipelines", "/steps"]


@pytest.mark.parametrize("path", UNTAGGED)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_none_match_star_on_a_list_is_304(made, path, method) -> None:  # type: ignore[no-untyped-def]
    # RFC 9110 13.1.2: "*" is false when the server has a current representation, whether
    # or not that representation has an ETag.
    full = made.get(path)
    assert full.status_code == 200 and "ETag" not in full.headers

    response = made.open(path, method=method, headers={"If-None-Match": "*"})

    assert response.status_code == 304
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert response.headers.get("Vary") == full.headers.get("Vary")


@pytest.mark.parametrize("path", UNTAGGED)
def test_if_none_match_tags_on_a_list_without_an_etag_get_the_list(made, path) -> None:  # type: ignore[no-untyped-def]
    answer = made.get(path, headers={"If-None-Match": '"r1", W/"x"'})

    assert answer.status_code == 200
    assert "items" in answer.json


def test_if_none_match_star_on_a_missing_resource_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/datasets/missing", headers={"If-None-Match": "*"})
    assert response.status_code == 404


def test_a_stale_tag_after_a_change_gets_the_new_representation(made) -> None:  # type: ignore[no-untyped-def]
    old = made.get("/datasets/air").headers["ETag"]
    assert made.patch("/datasets/air", json={"title": "Air quality"}).status_code == 200

    answer = made.get("/datasets/air", headers={"If-None-Match": old})

    assert answer.status_code == 200
    assert answer.json["title"] == "Air quality"
    assert answer.headers["ETag"] != old


@pytest.mark.parametrize("path", RESOURCES)
def test_a_304_says_the_vary_its_200_says(made, path) -> None:  # type: ignore[no-untyped-def]
    # RFC 9110 15.4.5: a 304 carries the Vary the 200 would have; a cache keys on it.
    full = made.get(path)

    answer = made.get(path, headers={"If-None-Match": full.headers["ETag"]})

    assert answer.status_code == 304
    assert answer.headers.get("Vary") == full.headers.get("Vary")
    assert "Content-Type" not in answer.headers


@pytest.mark.parametrize("path", RESOURCES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_if_match_on_a_read_is_412_unless_a_tag_matches_strongly(made, path, method) -> None:  # type: ignore[no-untyped-def]
    # RFC 9110 13.1.1: a false If-Match means the method is not performed, for reads too.
    tag = made.get(path).headers["ETag"]

    for matching in (tag, "*", f'"other", {tag}'):
        assert made.open(path, method=method, headers={"If-Match": matching}).status_code == 200
    for failing in ('"r0.other"', f"W/{tag}"):
        answer = made.open(path, method=method, headers={"If-Match": failing})
        assert answer.status_code == 412, failing
        if method == "GET":
            assert answer.json["code"] == 412


@pytest.mark.parametrize("path", UNTAGGED)
def test_the_document_says_a_list_answers_if_none_match_star_with_304(made, path) -> None:  # type: ignore[no-untyped-def]
    # What the two tests above show a list doing, a client generated from the document knows.
    assert made.get(path, headers={"If-None-Match": "*"}).status_code == 304
    assert made.get(path, headers={"If-Match": '"r1"'}).status_code == 412
    paths = made.get("/openapi.json").json["paths"]
    template = path.replace("/air/", "/{dataset_id}/")
    operation = paths[template]["get"]

    headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
    assert "`*`" in headers["If-None-Match"]["description"], template
    assert "304" in headers["If-None-Match"]["description"], template
    assert "412" in headers["If-Match"]["description"], template
    assert "content" not in operation["responses"]["304"], template
    assert "412" in operation["responses"], template
    assert "ETag" not in operation["responses"]["200"].get("headers", {}), template


def test_every_read_answering_200_documents_its_304(client) -> None:  # type: ignore[no-untyped-def]
    paths = client.get("/openapi.json").json["paths"]
    for template, operations in paths.items():
        read = operations.get("get")
        if read is not None and "200" in read["responses"]:
            assert "304" in read["responses"], template


def test_if_match_on_a_missing_resource_stays_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/datasets/missing", headers={"If-Match": '"r1"'})
    assert response.status_code == 404


def documented_operations(client, path: str) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    """The OpenAPI path template matching ``path`` and its operations."""
    import re

    paths = client.get("/openapi.json").json["paths"]
    for template, operations in paths.items():
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", template)
        if re.fullmatch(pattern, path) and "{" in template:
            return template, operations
    raise AssertionError(f"no documented path matches {path}")


@pytest.mark.parametrize("path", RESOURCES)
def test_the_document_says_which_conditions_each_resource_with_an_etag_takes(made, path) -> None:  # type: ignore[no-untyped-def]
    # A client generated from the document can send If-Match / If-None-Match and read ETag.
    assert "ETag" in made.get(path).headers
    template, operations = documented_operations(made, path)

    for method, operation in operations.items():
        if method == "parameters":  # the path's own, not an operation
            continue
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        responses = operation["responses"]
        if method == "get":
            assert {"If-Match", "If-None-Match"} <= headers, template
            assert "ETag" in responses["200"]["headers"], template
            assert "content" not in responses["304"], template
            assert "412" in responses, template
        else:
            assert {"If-Match", "If-None-Match"} <= headers, (method, template)
            assert "412" in responses, (method, template)
            if "200" in responses:
                assert "ETag" in responses["200"]["headers"], (method, template)


# Every write that takes If-Match, with a body that changes the resource (RFC 9110 13.1.2:
# If-None-Match on a state-changing method fails with 412 when it matches).
WRITES = [
    ("PATCH", "/datasets/air", {"title": "Air quality"}),
    ("DELETE", "/datasets/air?cascade=true", None),
    ("PATCH", "/datasets/air/versions/1", {"description": "First"}),
    ("DELETE", "/datasets/air/versions/1?cascade=true", None),
    ("PATCH", f"/datasets/air/versions/1/editions/{EDITION}", {"description": "January"}),
    ("DELETE", f"/datasets/air/versions/1/editions/{EDITION}?cascade=true", None),
    ("DELETE", f"/datasets/air/versions/1/editions/{EDITION}/distributions/d1", None),
    (
        "PUT",
        "/pipelines/csv-to-parquet",
        {"title": "CSV to Parquet, again", "definition": TWO_STEPS},
    ),
    ("DELETE", "/pipelines/csv-to-parquet", None),
    (
        "PUT",
        "/datasets/air/pipeline",
        {"template": "csv-to-parquet", "taskConfig": {"ToParquet": {"delimiter": ";"}}},
    ),
    ("DELETE", "/datasets/air/pipeline", None),
]


# A template in use is 409 whatever its conditions: the dataset's pipeline goes first.
IN_THE_WAY = {("DELETE", "/pipelines/csv-to-parquet"): "/datasets/air/pipeline"}


def write(client, method: str, path: str, body, condition: dict):  # type: ignore[no-untyped-def]
    return client.open(path, method=method, json=body, headers=condition)


def clear_the_way(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    if (method, path) in IN_THE_WAY:
        assert client.delete(IN_THE_WAY[method, path]).status_code == 204


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_if_none_match_on_a_write_to_an_existing_resource_is_412(made, method, path, body) -> None:  # type: ignore[no-untyped-def]
    resource = path.split("?")[0]
    tag = made.get(resource).headers["ETag"]

    for matching in ("*", tag, f"W/{tag}", f'"other", {tag}'):
        answer = write(made, method, path, body, {"If-None-Match": matching})
        assert answer.status_code == 412, (matching, answer.json)
        assert answer.json["code"] == 412
        assert made.get(resource).headers["ETag"] == tag, matching  # nothing written


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_if_none_match_of_another_tag_lets_a_write_through(made, method, path, body) -> None:  # type: ignore[no-untyped-def]
    tag = made.get(path.split("?")[0]).headers["ETag"]
    clear_the_way(made, method, path)

    answer = write(made, method, path, body, {"If-None-Match": f'"r0.other", W/"x", W/"", {tag}x'})

    assert answer.status_code in (200, 204), answer.json


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_if_match_with_a_list_succeeds_when_one_tag_matches_strongly(
    made, method, path, body
) -> None:  # type: ignore[no-untyped-def]
    resource = path.split("?")[0]
    tag = made.get(resource).headers["ETag"]

    refused = write(made, method, path, body, {"If-Match": f'"r0.other", W/{tag}'})
    assert refused.status_code == 412, refused.json
    assert made.get(resource).headers["ETag"] == tag
    clear_the_way(made, method, path)

    answer = write(made, method, path, body, {"If-Match": f'"r0.other", {tag}'})
    assert answer.status_code in (200, 204), answer.json


def test_if_none_match_star_creates_a_pipeline_only_where_none_is(made) -> None:  # type: ignore[no-untyped-def]
    assert made.post("/datasets", json={**DATASET, "id": "water"}).status_code == 201
    pipeline = {"template": "csv-to-parquet", "taskConfig": {"ToParquet": {"delimiter": ";"}}}

    created = made.put("/datasets/water/pipeline", json=pipeline, headers={"If-None-Match": "*"})
    again = made.put(
        "/datasets/water/pipeline",
        json={**pipeline, "taskConfig": {"ToParquet": {"delimiter": ","}}},
        headers={"If-None-Match": "*"},
    )

    assert created.status_code == 200, created.json
    assert again.status_code == 412, again.json
    assert made.get("/datasets/water/pipeline").json["taskConfig"] == {
        "ToParquet": {"delimiter": ";"}
    }


def test_if_match_star_replaces_a_pipeline_only_where_one_is(made) -> None:  # type: ignore[no-untyped-def]
    assert made.post("/datasets", json={**DATASET, "id": "water"}).status_code == 201
    pipeline = {"template": "csv-to-parquet", "taskConfig": {"ToParquet": {"delimiter": ";"}}}

    missing = made.put("/datasets/water/pipeline", json=pipeline, headers={"If-Match": "*"})
    replaced = made.put("/datasets/air/pipeline", json=pipeline, headers={"If-Match": "*"})

    assert missing.status_code == 412, missing.json
    assert made.get("/datasets/water/pipeline").status_code == 404
    assert replaced.status_code == 200, replaced.json
