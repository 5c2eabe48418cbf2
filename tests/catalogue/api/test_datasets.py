"""The dataset endpoints over real HTTP semantics (Flask test client, SQLite file)."""

from __future__ import annotations

import gzip
import json
import re

import pytest

DATASET = {
    "title": "Luftkvalitet i Oslo",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "keywords": ["air", "Quality"],
    "themes": ["ENVI"],
}


def create(client, **changes):
    response = client.post("/datasets", json={**DATASET, **changes})
    assert response.status_code == 201, response.json
    return response


def test_health_names_the_backend(client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "backend": "local"}


def test_create_derives_the_id_from_the_title_and_makes_version_1(client) -> None:
    response = create(client)
    body = response.json
    assert body["id"] == "luftkvalitet-i-oslo"
    assert body["state"] == "active"
    assert body["sourceType"] == "file"
    assert body["created"] == body["modified"]
    assert response.headers["Location"].endswith("/datasets/luftkvalitet-i-oslo")
    assert response.headers["ETag"].startswith('"r1.')
    version = client.get("/datasets/luftkvalitet-i-oslo/versions/1")
    assert version.status_code == 200
    assert version.json["version"] == "1"


def test_derived_ids_that_clash_get_a_random_suffix(client) -> None:
    ids = [create(client).json["id"] for _ in range(3)]
    assert ids[0] == "luftkvalitet-i-oslo"
    assert all(re.fullmatch(r"luftkvalitet-i-oslo-[a-z0-9]{6}", id_) for id_ in ids[1:])
    assert len(set(ids)) == 3


def test_a_given_id_that_exists_is_409(client) -> None:
    create(client, id="air")
    response = client.post("/datasets", json={**DATASET, "id": "air"})
    assert response.status_code == 409
    assert response.json["code"] == 409
    assert "air" in response.json["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**DATASET, "accessRights": "secret"}, "accessRights"),
        ({**DATASET, "id": "Not A Slug"}, "id"),
        ({**DATASET, "themes": ["SPACE"]}, "themes"),
        ({**DATASET, "license": "not a url"}, "license"),
        ({**DATASET, "contactPoint": {"name": "x", "email": "nope"}}, "contactPoint"),
        ({**DATASET, "owner": "alice"}, "owner"),
        ({**DATASET, "keywords": ["k"] * 21}, "keywords"),
        ({**DATASET, "created": "2020-01-01T00:00:00Z"}, "created"),
        ({**DATASET, "colour": "blue"}, "colour"),
        ({k: v for k, v in DATASET.items() if k != "title"}, "title"),
        ({**DATASET, "temporal": {"start": "2020-05-01", "end": "2020-01-01"}}, "temporal"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(client, body, field) -> None:
    response = client.post("/datasets", json=body)
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert client.get("/datasets").json["items"] == []


def test_unknown_dataset_is_404_in_the_error_shape(client) -> None:
    response = client.get("/datasets/nothing-here")
    assert response.status_code == 404
    assert response.json == {
        "code": 404,
        "status": "Not Found",
        "message": "dataset 'nothing-here' not found",
    }


def test_patch_is_a_merge_patch(client) -> None:
    create(client, id="air", publisher="Oslo kommune")
    response = client.patch(
        "/datasets/air",
        data=json.dumps({"description": "New", "publisher": None}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200
    body = response.json
    assert body["description"] == "New"
    assert "publisher" not in body
    assert body["title"] == DATASET["title"]
    assert body["keywords"] == DATASET["keywords"]
    assert response.headers["ETag"].startswith('"r2.')
    assert body["modified"] > body["created"]


@pytest.mark.parametrize(("field", "value"), [("accessRights", "non-public"), ("id", "other")])
def test_changing_an_immutable_field_is_422_naming_it(client, field, value) -> None:
    create(client, id="air")
    response = client.patch("/datasets/air", json={field: value})
    assert response.status_code == 422
    assert field in response.json["errors"]["json"]
    assert client.get("/datasets/air").json[field if field != "id" else "id"] != value


def test_patch_with_the_same_immutable_value_is_allowed(client) -> None:
    create(client, id="air")
    response = client.patch("/datasets/air", json={"accessRights": "public", "title": "Air"})
    assert response.status_code == 200
    assert response.json["title"] == "Air"


def test_patch_with_stale_etag_is_412(client) -> None:
    etag = create(client, id="air").headers["ETag"]
    assert (
        client.patch("/datasets/air", json={"title": "A"}, headers={"If-Match": etag}).status_code
        == 200
    )
    stale = client.patch("/datasets/air", json={"title": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert client.get("/datasets/air").json["title"] == "A"


@pytest.mark.parametrize("header", ['W/"r1"', '"nonsense"', '"r1", "r2"'])
def test_if_match_that_is_not_ours_is_412(client, header) -> None:
    create(client, id="air")
    response = client.patch("/datasets/air", json={"title": "A"}, headers={"If-Match": header})
    assert response.status_code == 412


def test_two_writers_racing_with_the_same_etag_one_wins_nothing_lost(app) -> None:
    import threading

    first = app.test_client()
    etag = create(first, id="air").headers["ETag"]
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def write(title: str) -> None:
        client = app.test_client()
        barrier.wait()
        response = client.patch("/datasets/air", json={"title": title}, headers={"If-Match": etag})
        results[title] = response.status_code

    threads = [threading.Thread(target=write, args=(title,)) for title in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results.values()) == [200, 412]
    winner = next(title for title, status in results.items() if status == 200)
    stored = first.get("/datasets/air")
    assert stored.json["title"] == winner
    assert stored.headers["ETag"].startswith('"r2.')


def test_delete_needs_cascade_when_editions_exist(client) -> None:
    create(client, id="air")
    for number in range(3):
        edition = f"2026010{number + 1}T000000"
        assert (
            client.post("/datasets/air/versions/1/editions", json={"edition": edition}).status_code
            == 201
        )
        for index in range(30):
            assert (
                client.post(
                    f"/datasets/air/versions/1/editions/{edition}/distributions",
                    json={"id": f"d{index}", "filenames": [f"f{index}.csv"]},
                ).status_code
                == 201
            )
    refused = client.delete("/datasets/air")
    assert refused.status_code == 409
    assert client.get("/datasets/air").status_code == 200
    assert client.delete("/datasets/air?cascade=true").status_code == 204
    assert client.get("/datasets/air").status_code == 404
    assert (
        client.get("/datasets/air/versions/1/editions/20260101T000000/distributions/d0").status_code
        == 404
    )
    # The id is free again and nothing of the old dataset shows through.
    create(client, id="air")
    assert client.get("/datasets/air/versions/1/editions").json["items"] == []


def test_delete_without_editions_and_with_stale_etag(client) -> None:
    first = create(client, id="air").headers["ETag"]
    second = client.patch("/datasets/air", json={"title": "B"}).headers["ETag"]
    assert client.delete("/datasets/air", headers={"If-Match": first}).status_code == 412
    assert client.delete("/datasets/air", headers={"If-Match": second}).status_code == 204
    assert client.delete("/datasets/air").status_code == 404
    assert client.get("/datasets").json["items"] == []


def test_list_reads_every_page(client) -> None:
    for number in range(7):
        create(client, id=f"set-{number}")
    seen, cursor, pages = [], None, 0
    while True:
        query = "/datasets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(query).json
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == [f"set-{number}" for number in range(7)]


def test_filters_combine_and_keywords_ignore_case(client) -> None:
    create(client, id="a", keywords=["Air"], owner="team:x")
    create(client, id="b", keywords=["air", "water"], owner="team:y")
    create(client, id="c", keywords=["water"], accessRights="restricted", themes=["TRAN"])
    create(client, id="d", keywords=["AIR"], state="deprecated")

    def ids(query: str) -> list[str]:
        response = client.get(f"/datasets?{query}")
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids("keyword=AIR") == ["a", "b", "d"]
    assert ids("keyword=air&owner=team:y") == ["b"]
    assert ids("theme=TRAN") == ["c"]
    assert ids("accessRights=restricted") == ["c"]
    assert ids("state=deprecated") == ["d"]
    assert ids("keyword=water&accessRights=public") == ["b"]
    assert ids("owner=team:nobody") == []


def test_filter_index_follows_patches(client) -> None:
    create(client, id="a", keywords=["air"])
    client.patch("/datasets/a", json={"keywords": ["water"], "owner": "team:z"})
    assert client.get("/datasets?keyword=air").json["items"] == []
    assert [i["id"] for i in client.get("/datasets?keyword=water&owner=team:z").json["items"]] == [
        "a"
    ]


def test_free_text_search_over_title_description_and_keywords(client) -> None:
    create(
        client,
        id="a",
        title="Bysykkel turer",
        description="Trips by city bike",
        keywords=["mobility"],
    )
    create(client, id="b", title="Luftkvalitet", description="Målinger av luft", keywords=["miljø"])
    create(client, id="c", title="Skoler", description="Skoler i Oslo", keywords=["education"])

    def ids(text: str) -> list[str]:
        return sorted(
            item["id"] for item in client.get("/datasets", query_string={"q": text}).json["items"]
        )

    assert ids("bysykkel") == ["a"]
    assert ids("CITY bike") == ["a"]
    assert ids("malinger") == ["b"]
    assert ids("MILJØ") == ["b"]
    assert ids("oslo skoler") == ["c"]
    assert ids("oslo bike") == []
    client.patch("/datasets/c", json={"description": "Schools"})
    assert ids("oslo") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=x", "limit"),
        ("cursor=garbage", "cursor"),
        # A search of spaces is as empty as q= (it answered 200 and found nothing).
        ("q=", "q"),
        ("q=%20%20", "q"),
        ("q=%0A%09", "q"),
    ],
)
def test_bad_list_parameters_are_422(client, query, field) -> None:
    response = client.get(f"/datasets?{query}")
    assert response.status_code == 422
    assert field in response.json["errors"]["query"]


def test_malformed_json_is_400(client) -> None:
    response = client.post("/datasets", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json["code"] == 400


def test_body_that_is_not_json_is_415(client) -> None:
    response = client.post(
        "/datasets", data="title=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json["code"] == 415


@pytest.mark.parametrize("path", ["/datasets", "/datasets/any/versions/1/events"])
@pytest.mark.parametrize("encoding", ["gzip", "br, gzip"])
def test_a_compressed_body_is_415_saying_which_encodings_are_taken(client, path, encoding) -> None:  # type: ignore[no-untyped-def]
    body = gzip.compress(json.dumps(DATASET).encode())
    response = client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )

    # RFC 9110 15.5.16: 415 for a content coding not taken, with Accept-Encoding.
    assert response.status_code == 415, response.json
    assert response.json["message"] == (
        f"The body is sent with Content-Encoding {encoding}; send it uncompressed."
    )
    assert response.headers["Accept-Encoding"] == "identity"
    assert client.get("/datasets").json["items"] == []


def test_an_identity_content_encoding_is_read(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/datasets",
        data=json.dumps(DATASET),
        headers={"Content-Type": "application/json", "Content-Encoding": "identity"},
    )

    assert response.status_code == 201, response.json


def test_body_over_one_megabyte_is_413(client) -> None:
    body = json.dumps({**DATASET, "description": "x" * (1024 * 1024)})
    response = client.post("/datasets", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_a_body_over_the_limit_is_told_the_limit_and_where_files_go(client) -> None:
    body = json.dumps({**DATASET, "description": "x" * (1024 * 1024)})
    response = client.post("/datasets", data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.json["message"] == (
        "The body is over 1048576 bytes (1 MiB), the most a request takes; "
        "files go to an upload URL (POST /datasets/{id}/versions/{v}/uploads)."
    )


def test_wrong_method_is_405_in_the_error_shape(client) -> None:
    response = client.put("/datasets", json={})
    assert response.status_code == 405
    assert response.json["code"] == 405


def test_unexpected_failure_is_500_without_a_traceback(app, client, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.extensions["brygge"].repositories.datasets, "get_item", explode)
    response = client.get("/datasets/anything")
    assert response.status_code == 500
    assert response.json == {
        "code": 500,
        "status": "Internal Server Error",
        "message": "Internal Server Error",
    }


def test_history_records_every_change(app, client) -> None:
    create(client, id="air")
    client.patch("/datasets/air", json={"title": "Air"})
    history = app.extensions["brygge"].repositories.audit.for_dataset(
        "air", incarnation=None, limit=10, cursor=None
    )
    actions = [entry["action"] for entry in history.items]
    assert actions == ["update", "create"]
    assert history.items[0]["changes"]["title"] == {"before": DATASET["title"], "after": "Air"}
    assert history.items[0]["principal"] == "user:tester"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/no/such/path", {}, 404),
        ("put", "/datasets", {"json": {}}, 405),
        ("post", "/datasets", {"data": "{", "content_type": "application/json"}, 400),
        ("post", "/datasets", {"data": "x", "content_type": "text/plain"}, 415),
        ("post", "/datasets", {"json": []}, 422),
        ("get", "/datasets?limit=0", {}, 422),
    ],
)
def test_every_error_answer_has_code_status_and_message(
    client, method, path, kwargs, status
) -> None:
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    body = response.json
    assert body["code"] == status
    assert isinstance(body["status"], str)
    assert body["status"]
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) <= {"code", "status", "message", "errors"}


def test_search_ranks_completes_the_last_word_and_sorts(client) -> None:
    create(client, id="desc", title="Målinger", description="Luftkvalitet målt i Oslo")
    create(client, id="keyword", title="Målestasjoner", keywords=["luftkvalitet"])
    create(client, id="old", title="Luftkvalitet i Oslo", description="Timeverdier")
    create(client, id="new", title="Luftkvalitet i Oslo", description="Timeverdier")
    create(client, id="other", title="Vannkvalitet i Oslo")

    def ids(**query: str) -> list[str]:
        response = client.get("/datasets", query_string=query)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    # Title over keywords over description; equal scores newest first.
    assert ids(q="luft") == ["new", "old", "keyword", "desc"]
    assert ids(q="luftkvalitet", sort="relevance") == ["new", "old", "keyword", "desc"]
    assert ids(q="oslo lu") == ["new", "old", "desc"]
    assert ids(q="oslo", sort="modified") == ["other", "new", "old", "desc"]
    assert ids(q="oslo", sort="title") == ["new", "old", "desc", "other"]
    assert ids(q="kvalitet") == []
    assert ids(q="l") == []


def test_ranked_search_pages_through_every_match_once(client) -> None:
    for number in range(9):
        create(client, id=f"d{number}", title="Bysykkel " + "tur " * number)
    seen: list[str] = []
    url: str | None = "/datasets?q=bysyk&limit=2"
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json
        seen.extend(item["id"] for item in response.json["items"])
        cursor = response.json["next"]
        url = f"/datasets?q=bysyk&limit=2&cursor={cursor}" if cursor else None
    whole = [item["id"] for item in client.get("/datasets?q=bysyk&limit=100").json["items"]]
    assert seen == whole and sorted(seen) == [f"d{number}" for number in range(9)]
    # Shorter titles hold "bysykkel" more densely.
    assert whole[0] == "d0"


def test_sort_needs_a_known_order(client) -> None:
    response = client.get("/datasets?sort=size")
    assert response.status_code == 422 and "sort" in response.json["errors"]["query"]
    response = client.get("/datasets?q=x&sort=size")
    assert response.status_code == 422 and "sort" in response.json["errors"]["query"]


def test_listed_datasets_are_the_datasets_read_one_by_one(client) -> None:
    create(
        client,
        id="full",
        publisher="Oslo kommune",
        contactPoint={"name": "Miljø", "email": "miljo@example.no"},
        temporal={"start": "2020-01-01", "end": "2024-12-31"},
        conformsTo=["https://example.no/standard"],
        language="nn",
    )
    bare = {"title": "Bare", "accessRights": "restricted", "owner": "team:miljo"}
    assert client.post("/datasets", json=bare).status_code == 201
    listed = client.get("/datasets?limit=10").json["items"]
    assert [item["id"] for item in listed] == ["bare", "full"]
    for item in listed:
        assert item == client.get(f"/datasets/{item['id']}").json
        # Only the resource's own fields: nothing of the store's item, no revision.
        assert not set(item) & {"pk", "sk", "gsi1pk", "search_text", "kind", "rev"}
