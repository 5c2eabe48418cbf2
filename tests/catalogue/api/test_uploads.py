"""Uploads and downloads in local mode: upload URLs, the signed upload form, downloads."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipelines import presign, signing
from pipelines.object_keys import parse_object_key

DATASET = {
    "id": "air",
    "title": "Air quality",
    "description": "Hourly readings",
    "accessRights": "public",
    "owner": "team:miljo",
}
KEY = "raw/green/air/version=1/edition=20260102T030405/readings.csv"
CSV = b"station,value\nA,1.5\nB,2.5\n"


def create_dataset(client, **changes):  # type: ignore[no-untyped-def]
    response = client.post("/datasets", json={**DATASET, **changes})
    assert response.status_code == 201, response.json
    return response.json


def signed_form(app, key: str = KEY, *, max_bytes: int = 1024, ttl_s: int = 60):  # type: ignore[no-untyped-def]
    """A local upload URL and fields, made as the upload endpoint makes them.

    Its dataset, edition and WAITING run are made first, as the endpoint makes them: an
    upload URL whose run is gone stores nothing.
    """
    services = app.extensions["brygge"]
    parsed = parse_object_key(key)
    admin = app.test_client()
    if admin.get(f"/datasets/{parsed.dataset}").status_code == 404:
        create_dataset(admin, id=parsed.dataset)
    editions = f"/datasets/{parsed.dataset}/versions/{parsed.version}/editions"
    if admin.get(f"{editions}/{parsed.edition}").status_code == 404:
        assert admin.post(editions, json={"edition": parsed.edition}).status_code == 201
    run = services.runs.create_waiting(
        parsed.dataset, parsed.version, parsed.edition, key, principal="user:tester"
    )
    target = presign.local_upload(
        "http://localhost",
        key,
        max_bytes=max_bytes,
        content_type=None,
        ttl_s=ttl_s,
        now=services.clock.now,
        signing_key=services.settings.signing_key,
        incarnation=run["incarnation"],
    )
    return urlsplit(target.url).path, dict(target.fields)


def post_form(client, path: str, fields: dict, body: bytes = CSV, name: str = "readings.csv"):  # type: ignore[no-untyped-def]
    data = {**fields, "file": (io.BytesIO(body), name)}
    return client.post(path, data=data, content_type="multipart/form-data")


def stored(settings, key: str = KEY) -> Path:  # type: ignore[no-untyped-def]
    return settings.objects_dir / key


def leftovers(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    return [path for path in settings.objects_dir.rglob("*") if path.is_file()]


def test_signed_form_stores_the_file_under_the_signed_key(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    response = post_form(client, path, fields)
    assert response.status_code == 204, response.json
    assert stored(settings).read_bytes() == CSV


def test_form_takes_bodies_over_the_json_limit(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    body = bytes(range(256)) * (3 * 4096 + 7)  # about 3 MB, over the app's 1 MB cap
    path, fields = signed_form(app, max_bytes=len(body))
    response = post_form(client, path, fields, body)
    assert response.status_code == 204, response.json
    assert hashlib.sha256(stored(settings).read_bytes()).digest() == hashlib.sha256(body).digest()


def test_expired_upload_url_is_403_and_stores_nothing(app, client, settings, clock) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app, ttl_s=60)
    clock.now += timedelta(seconds=61)
    response = post_form(client, path, fields)
    assert response.status_code == 403
    assert "expired" in response.json["message"]
    assert leftovers(settings) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("policy", "eyJrZXkiOiJyYXcvZ3JlZW4vYWlyIn0"),
        ("x-amz-signature", "AAAA" + "B" * 39),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("key", "raw/green/air/version=1/edition=20260102T030405/other.csv"),
    ],
)
def test_tampered_field_is_403(app, client, settings, field: str, value: str) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    response = post_form(client, path, {**fields, field: value})
    assert response.status_code == 403, response.json
    assert leftovers(settings) == []


def test_missing_signature_field_is_403(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    del fields["x-amz-signature"]
    assert post_form(client, path, fields).status_code == 403


def test_url_token_with_a_forged_signature_is_403(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    payload, _, _ = path.rpartition("/")[2].partition(".")
    forged = signing.sign({"use": "upload", "key": KEY, "max": 10**9, "exp": 2**40}, b"guess")
    response = post_form(client, f"/uploads/{payload}.{forged.partition('.')[2]}", fields)
    assert response.status_code == 403


def test_token_signed_for_another_key_cannot_write_this_one(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    other = "raw/green/air/version=1/edition=20260102T030405/other.csv"
    path, fields = signed_form(app, other)
    response = post_form(client, path, {**fields, "key": KEY})
    assert response.status_code == 403
    assert not stored(settings).exists()
    assert not stored(settings, other).exists()


def test_body_over_the_signed_size_is_413_and_leaves_no_file(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app, max_bytes=len(CSV) - 1)
    response = post_form(client, path, fields)
    assert response.status_code == 413
    assert leftovers(settings) == []


def test_body_exactly_the_signed_size_is_accepted(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app, max_bytes=len(CSV))
    assert post_form(client, path, fields).status_code == 204


def test_declared_length_over_the_limit_is_refused_unread(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app, max_bytes=10)
    body = b"x" * (200 * 1024)
    response = post_form(client, path, fields, body)
    assert response.status_code == 413
    assert leftovers(settings) == []


def test_form_without_a_file_part_is_400(app, client) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    response = client.post(path, data=fields, content_type="multipart/form-data")
    assert response.status_code == 400


def test_upload_that_is_not_a_form_is_400(app, client) -> None:  # type: ignore[no-untyped-def]
    path, _ = signed_form(app)
    response = client.post(path, data=CSV, content_type="text/csv")
    assert response.status_code == 400


def test_truncated_form_is_400_and_leaves_no_file(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    body = (
        "".join(parts).encode()
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="r.csv"\r\n\r\n'
        ).encode()
        + CSV
    )  # no closing boundary
    response = client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 400
    assert leftovers(settings) == []


def test_fields_after_the_file_are_ignored_as_s3_does(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    boundary = "b0undary"

    def part(name: str, value: bytes, filename: str = "") -> bytes:
        extra = f'; filename="{filename}"' if filename else ""
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n'
        return head.encode() + value + b"\r\n"

    body = b"".join(part(name, value.encode()) for name, value in fields.items())
    body += part("file", CSV, "r.csv") + part("key", b"raw/green/x/version=1/edition=1/y.csv")
    body += f"--{boundary}--\r\n".encode()
    response = client.post(
        path, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 204
    assert stored(settings).read_bytes() == CSV


def test_download_token_streams_the_object(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    assert post_form(client, path, fields).status_code == 204
    services = app.extensions["brygge"]
    url = presign.local_download_url(
        "http://localhost",
        KEY,
        filename="readings.csv",
        ttl_s=60,
        now=services.clock.now,
        signing_key=settings.signing_key,
    )
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200
    assert response.data == CSV
    assert response.headers["Content-Length"] == str(len(CSV))
    assert "readings.csv" in response.headers["Content-Disposition"]


def test_expired_or_tampered_download_token_is_403(app, client, settings, clock) -> None:  # type: ignore[no-untyped-def]
    services = app.extensions["brygge"]
    url = presign.local_download_url(
        "http://localhost",
        KEY,
        filename="readings.csv",
        ttl_s=60,
        now=services.clock.now,
        signing_key=settings.signing_key,
    )
    path = urlsplit(url).path
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 403
    clock.now += timedelta(seconds=61)
    assert client.get(path).status_code == 403


def test_upload_token_is_no_download_token(app, client, settings) -> None:  # type: ignore[no-untyped-def]
    path, fields = signed_form(app)
    assert post_form(client, path, fields).status_code == 204
    token = path.rpartition("/")[2]
    assert client.get(f"/downloads/{token}").status_code == 403


@pytest.mark.parametrize(
    "filename",
    ["../escape.csv", "a/b.csv", "..\\escape.csv", "..", "bad\x00name.csv", "x" * 256, ".hidden"],
)
def test_traversal_and_bad_filenames_are_422_naming_filename(client, filename: str) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    response = client.post("/datasets/air/versions/1/uploads", json={"filename": filename})
    assert response.status_code == 422, response.json
    assert "filename" in response.json["errors"]["json"]


def test_an_upload_request_that_is_not_json_is_415(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    # curl -d without a Content-Type sends a JSON text as a urlencoded form.
    response = client.post(
        "/datasets/air/versions/1/uploads",
        data='{"filename": "r.csv"}',
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 415, response.json
    assert "Content-Type: application/json" in response.json["message"]


def test_upload_to_a_dataset_not_fed_by_files_is_409(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client, sourceType="api")
    response = client.post("/datasets/air/versions/1/uploads", json={"filename": "r.csv"})
    assert response.status_code == 409
    assert "sourceType" in response.json["message"]


def test_upload_to_an_unknown_dataset_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/datasets/nope/versions/1/uploads", json={"filename": "r.csv"})
    assert response.status_code == 404


def test_size_over_the_local_limit_is_422(client, settings) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    response = client.post(
        "/datasets/air/versions/1/uploads",
        json={"filename": "r.csv", "size": settings.upload_max_bytes + 1},
    )
    assert response.status_code == 422
    assert "size" in response.json["errors"]["json"]


def test_upload_url_makes_an_edition_and_a_waiting_run(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client, accessRights="restricted")
    response = client.post(
        "/datasets/air/versions/1/uploads", json={"filename": "målinger.csv", "size": 100}
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["key"] == f"raw/yellow/air/version=1/edition={body['edition']}/målinger.csv"
    assert client.get(f"/datasets/air/versions/1/editions/{body['edition']}").status_code == 200
    assert body["run"]["status"] == "WAITING"
    assert body["upload"]["url"].startswith("http://localhost/uploads/")
    assert body["upload"]["fields"]["key"] == body["key"]
    assert body["upload"]["expiresAt"]


def test_upload_into_a_given_edition_keeps_it(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    edition = client.post("/datasets/air/versions/1/editions", json={}).json["edition"]
    response = client.post(
        "/datasets/air/versions/1/uploads", json={"filename": "r.csv", "edition": edition}
    )
    assert response.status_code == 201, response.json
    assert response.json["edition"] == edition


def test_upload_without_pipeline_is_published_and_downloadable(client, settings) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    body = client.post("/datasets/air/versions/1/uploads", json={"filename": "r.csv"}).json
    upload = body["upload"]
    response = post_form(client, urlsplit(upload["url"]).path, upload["fields"])
    assert response.status_code == 204
    run = client.get(f"/runs/{body['run']['id']}").json
    assert run["status"] == "SUCCEEDED"
    distributions = client.get(
        f"/datasets/air/versions/1/editions/{body['edition']}/distributions"
    ).json["items"]
    assert len(distributions) == 1
    distribution = distributions[0]
    assert distribution["byteSize"] == len(CSV)
    assert distribution["checksum"] == hashlib.sha256(CSV).hexdigest()
    assert distribution["key"] == body["key"].replace("raw/", "processed/", 1)
    redirect = client.get(urlsplit(distribution["downloadURL"]).path)
    assert redirect.status_code == 302
    download = client.get(urlsplit(redirect.headers["Location"]).path)
    assert download.data == CSV


def test_download_of_unknown_distribution_is_404(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    edition = client.post("/datasets/air/versions/1/editions", json={}).json["edition"]
    response = client.get(f"/datasets/air/versions/1/editions/{edition}/distributions/x/download")
    assert response.status_code == 404


def anonymous(app):  # type: ignore[no-untyped-def]
    client = app.test_client()
    client.environ_base.pop("HTTP_AUTHORIZATION", None)
    return client


def test_anonymous_caller_cannot_ask_for_an_upload_url(app, client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    response = anonymous(app).post("/datasets/air/versions/1/uploads", json={"filename": "r.csv"})
    assert response.status_code == 401


@pytest.mark.parametrize(("access_rights", "status"), [("public", 302), ("non-public", 404)])
def test_anonymous_download_only_of_public_datasets(  # type: ignore[no-untyped-def]
    app, client, access_rights: str, status: int
) -> None:
    create_dataset(client, accessRights=access_rights)
    edition = client.post("/datasets/air/versions/1/editions", json={}).json["edition"]
    path = f"/datasets/air/versions/1/editions/{edition}/distributions"
    zone = {"public": "green", "non-public": "red"}[access_rights]
    key = f"raw/{zone}/air/version=1/edition={edition}/r.csv".replace("raw/", "processed/")
    created = app.extensions["brygge"].repositories.distributions.create(
        ["air", "1", edition], {"id": "d1", "filenames": ["r.csv"], "key": key}, principal="t"
    )
    response = anonymous(app).get(f"{path}/{created['id']}/download")
    assert response.status_code == status


def test_same_file_again_into_an_edition_whose_run_started_is_409(client) -> None:  # type: ignore[no-untyped-def]
    create_dataset(client)
    body = client.post("/datasets/air/versions/1/uploads", json={"filename": "r.csv"}).json
    upload = body["upload"]
    assert post_form(client, urlsplit(upload["url"]).path, upload["fields"]).status_code == 204
    again = client.post(
        "/datasets/air/versions/1/uploads", json={"filename": "r.csv", "edition": body["edition"]}
    )
    assert again.status_code == 409
    assert body["run"]["id"] in again.json["message"]


def test_a_download_token_that_is_not_ascii_is_403(client) -> None:
    response = client.get("/downloads/%F2%BD%82%AE.%C3%B4")
    assert response.status_code == 403
    assert response.json["code"] == 403


def test_upload_url_of_a_deleted_dataset_stores_nothing(client, settings) -> None:  # type: ignore[no-untyped-def]
    # The URL outlives the dataset: its file must not land in the lake under an id that a
    # later dataset (another team's, perhaps) may take, where a run of it could read it.
    create_dataset(client, accessRights="non-public")
    body = client.post("/datasets/air/versions/1/uploads", json={"filename": "r.csv"}).json
    assert client.delete("/datasets/air?cascade=true").status_code == 204
    create_dataset(client, accessRights="non-public", owner="team:other")
    upload = body["upload"]
    response = post_form(client, urlsplit(upload["url"]).path, upload["fields"])
    assert response.status_code == 409, response.json
    assert "no longer waits" in response.json["message"]
    assert leftovers(settings) == []


def test_upload_url_of_an_earlier_dataset_of_the_same_id_is_409(client, settings) -> None:  # type: ignore[no-untyped-def]
    # Deleted and made again under its id, the dataset gets a waiting run for the very same
    # key (same version, edition and filename): the old URL must not fill it.
    editions = "/datasets/air/versions/1/editions"
    uploads = "/datasets/air/versions/1/uploads"
    request = {"filename": "r.csv", "edition": "20260102T030405"}
    create_dataset(client, accessRights="non-public")
    assert client.post(editions, json={"edition": request["edition"]}).status_code == 201
    old = client.post(uploads, json=request).json
    assert client.delete("/datasets/air?cascade=true").status_code == 204
    create_dataset(client, accessRights="non-public", owner="team:other")
    assert client.post(editions, json={"edition": request["edition"]}).status_code == 201
    new = client.post(uploads, json=request).json
    assert new["key"] == old["key"]

    refused = post_form(client, urlsplit(old["upload"]["url"]).path, old["upload"]["fields"])

    assert refused.status_code == 409, refused.data
    assert "an earlier dataset air" in refused.json["message"]
    assert leftovers(settings) == []
    taken = post_form(client, urlsplit(new["upload"]["url"]).path, new["upload"]["fields"])
    assert taken.status_code == 204, taken.data
    assert stored(settings, new["key"]).read_bytes() == CSV
