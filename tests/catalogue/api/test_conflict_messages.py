"""409 and 412 answers speak of resources (``dataset 'trees' changed: If-Match "r1.x", its ETag
is now "r2.x"``), never of store keys, on every backend, including races lost in the store
itself."""

from __future__ import annotations

import re

import pytest

from catalogue.domain.errors import PreconditionFailed

DATASET = {"title": "Trees", "accessRights": "public", "owner": "team:park", "id": "trees"}
TEMPLATE = {
    "id": "copy",
    "title": "Copy",
    "definition": {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
}
STORE_KEY = re.compile(r"[a-z_]+#")


@pytest.fixture
def api(app_on_store):
    return app_on_store.test_client()


def etag_of(response) -> str:  # type: ignore[no-untyped-def]
    return response.headers["ETag"]


def test_stale_if_match_names_the_resource_its_revision_and_the_tag(api) -> None:
    first = api.post("/datasets", json=DATASET)
    old = etag_of(first)
    api.patch("/datasets/trees", json={"description": "Oslo's trees"})
    stale = api.patch("/datasets/trees", json={"description": "x"}, headers={"If-Match": old})
    assert stale.status_code == 412
    now = etag_of(api.get("/datasets/trees"))
    assert (
        stale.json["message"] == f"dataset 'trees' changed: If-Match {old}, its ETag is now {now}"
    )


def test_an_if_match_of_the_revision_without_its_dataset_names_the_etag_to_send(api) -> None:
    created = api.post("/datasets", json=DATASET)
    current = etag_of(created)
    # The first revision, as a person types it from the docs: the dataset's part is missing.
    stale = api.patch("/datasets/trees", json={"description": "x"}, headers={"If-Match": '"r1"'})
    assert stale.status_code == 412
    assert stale.json["message"] == (
        f"dataset 'trees' changed: If-Match \"r1\", its ETag is now {current}"
    )


def test_every_conflict_answer_speaks_of_resources(api) -> None:
    answers = []
    created = api.post("/datasets", json=DATASET)
    old = etag_of(created)
    api.patch("/datasets/trees", json={"description": "changed"})
    edition = api.post("/datasets/trees/versions/1/editions", json={"description": "e"})
    edition_path = f"/datasets/trees/versions/1/editions/{edition.json['edition']}"
    api.patch(edition_path, json={"description": "changed"})
    template = api.post("/pipelines", json=TEMPLATE)
    assert template.status_code == 201, template.json
    template_body = {name: value for name, value in TEMPLATE.items() if name != "id"}
    assert api.put("/pipelines/copy", json=template_body | {"title": "2"}).status_code == 200
    stale = {"If-Match": old}
    answers += [
        api.post("/datasets", json=DATASET),
        api.post("/datasets/trees/versions", json={"version": "1"}),
        api.post("/pipelines", json=TEMPLATE),
        api.patch("/datasets/trees", json={"description": "x"}, headers=stale),
        api.delete("/datasets/trees?cascade=true", headers=stale),
        api.patch(
            "/datasets/trees/versions/1", json={"description": "x"}, headers={"If-Match": '"r9"'}
        ),
        api.patch(edition_path, json={"description": "x"}, headers=stale),
        api.delete(f"{edition_path}?cascade=true", headers=stale),
        api.put("/pipelines/copy", json=template_body, headers={"If-Match": etag_of(template)}),
        api.put(
            "/datasets/trees/pipeline", json={"template": "copy"}, headers={"If-Match": '"r7"'}
        ),
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [409, 409, 409, 412, 412, 412, 412, 412, 412, 412]
    for answer in answers:
        message = answer.json["message"]
        assert not STORE_KEY.search(message), message
        assert re.search(r"dataset|version|edition|template|pipeline", message), message
    now = etag_of(api.get("/datasets/trees"))
    assert answers[4].json["message"] == (
        f"dataset 'trees' changed: If-Match {old}, its ETag is now {now}"
    )
    version_etag = etag_of(api.get("/datasets/trees/versions/1"))
    assert answers[5].json["message"] == (
        f'version /datasets/trees/versions/1 changed: If-Match "r9", its ETag is now {version_etag}'
    )
    assert answers[9].json["message"] == (
        "the pipeline of dataset 'trees' does not exist: If-Match \"r7\" matches nothing"
    )


def test_a_race_lost_in_the_store_is_told_in_the_resources_words(api, app_on_store) -> None:
    created = api.post("/datasets", json=DATASET)
    store = app_on_store.extensions["brygge"].store
    real_transact = store.transact

    def lose_the_race(ops):  # type: ignore[no-untyped-def]
        # Another writer got there between this request's read and its write: the store's
        # conditional write fails as the store says it, naming its keys.
        raise PreconditionFailed(
            "item ('dataset#trees', 'dataset') is at revision 2, not 1",
            key=("dataset#trees", "dataset"),
        )

    store.transact = lose_the_race
    try:
        answer = api.patch(
            "/datasets/trees", json={"description": "x"}, headers={"If-Match": etag_of(created)}
        )
    finally:
        store.transact = real_transact
    assert answer.status_code == 412
    assert answer.json["message"] == (
        "dataset 'trees' changed while this request was writing it: read it again and retry"
    )


def test_a_cascade_delete_with_the_current_etag_deletes(api) -> None:
    created = api.post("/datasets", json=DATASET)
    api.post("/datasets/trees/versions/1/editions", json={"description": "e"})
    answer = api.delete("/datasets/trees?cascade=true", headers={"If-Match": etag_of(created)})
    assert answer.status_code == 204, answer.json
    assert api.get("/datasets/trees").status_code == 404


EDITION = "20260102T030405"
# A create whose id is taken: the field the client chose it in, and the message.
TAKEN_IDS = [
    ("/datasets", DATASET, "id", "dataset 'trees' already exists"),
    ("/datasets/trees/versions", {"version": "1"}, "version", "version /datasets/trees/versions/1"),
    ("/datasets/trees/versions/1/editions", {"edition": EDITION}, "edition", EDITION),
    (f"/datasets/trees/versions/1/editions/{EDITION}/distributions", {"id": "d1"}, "id", "d1"),
    ("/pipelines", TEMPLATE, "id", "pipeline template 'copy' already exists"),
]


@pytest.mark.parametrize(("path", "body", "field", "said"), TAKEN_IDS)
def test_a_taken_id_is_409_naming_the_field_as_a_422_does(client, path, body, field, said) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=DATASET).status_code == 201
    editions = "/datasets/trees/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    assert client.post(f"{editions}/{EDITION}/distributions", json={"id": "d1"}).status_code == 201
    assert client.post("/pipelines", json=TEMPLATE).status_code == 201

    answer = client.post(path, json=body)

    assert answer.status_code == 409
    assert answer.json["code"] == 409
    assert said in answer.json["message"]
    assert answer.json["errors"] == {"json": {field: [answer.json["message"]]}}


def test_a_file_uploaded_twice_to_an_edition_is_409_naming_the_filename(client) -> None:  # type: ignore[no-untyped-def]
    from tests.catalogue.api.test_uploads import post_form

    assert client.post("/datasets", json=DATASET).status_code == 201
    uploads = "/datasets/trees/versions/1/uploads"
    first = client.post(uploads, json={"filename": "r.csv"}).json
    form = first["upload"]
    path = form["url"].removeprefix("http://localhost")
    assert post_form(client, path, form["fields"]).status_code == 204

    again = client.post(uploads, json={"filename": "r.csv", "edition": first["edition"]})

    assert again.status_code == 409
    assert again.json["errors"] == {"json": {"filename": [again.json["message"]]}}


def test_a_conflict_with_a_field_the_request_did_not_send_names_none(client) -> None:  # type: ignore[no-untyped-def]
    # The dataset's sourceType is in the way, not anything in the request's body: naming it
    # under "json" would send the client looking for it there.
    assert client.post("/datasets", json={**DATASET, "sourceType": "api"}).status_code == 201

    answer = client.post("/datasets/trees/versions/1/uploads", json={"filename": "r.csv"})

    assert answer.status_code == 409
    assert "sourceType" in answer.json["message"]
    assert "errors" not in answer.json
