"""Cascade deletes take the objects with them, on both object stores, and can be repeated."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from catalogue.app import create_app
from catalogue.settings import Settings
from pipelines.objects import DeleteFailure, LocalObjectStore, S3ObjectStore
from tests.fixtures.app import SITE_ADMIN, authenticate_as_site_admin

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EDITIONS = ("20260101T000000", "20260102T000000")
BUCKET = "brygge-data"


def lake_keys(edition: str, count: int = 2) -> list[str]:
    """Raw, intermediate and processed keys of one edition of ``air``."""
    base = f"air/version=1/edition={edition}"
    keys = [f"raw/green/{base}/upload-{number}.csv" for number in range(count)]
    keys += [f"intermediate/green/{base}/ToParquet/upload.parquet"]
    keys += [f"processed/green/{base}/upload.parquet"]
    return keys


def fill(client, put, count: int = 2) -> list[str]:  # type: ignore[no-untyped-def]
    """The dataset, two editions with a distribution each (as a run registers them), and
    their objects."""
    services = client.application.extensions["brygge"]
    assert client.post("/datasets", json=DATASET).status_code == 201
    keys = []
    for edition in EDITIONS:
        assert (
            client.post("/datasets/air/versions/1/editions", json={"edition": edition}).status_code
            == 201
        )
        edition_keys = lake_keys(edition, count)
        distribution = {"id": "parquet", "key": edition_keys[-1], "filenames": ["upload.parquet"]}
        services.repositories.distributions.create(
            ["air", "1", edition], distribution, principal="service:trigger"
        )
        for key in edition_keys:
            put(key)
        keys += edition_keys
    # Another dataset whose id starts the same: its objects stay.
    put("raw/green/air-2/version=1/edition=20260101T000000/other.csv")
    return keys


@pytest.fixture
def local(app, client):  # type: ignore[no-untyped-def]
    objects = LocalObjectStore(app.extensions["brygge"].settings.objects_dir)
    return client, objects, lambda key: objects.put(key, io.BytesIO(b"x"))


def listed(objects) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(
        info.key
        for stage in ("raw/", "intermediate/", "processed/")
        for info in objects.list(stage)
    )


def test_deleting_an_edition_with_cascade_deletes_its_objects(local) -> None:  # type: ignore[no-untyped-def]
    client, objects, put = local
    keys = fill(client, put)
    path = f"/datasets/air/versions/1/editions/{EDITIONS[0]}"
    assert client.delete(path).status_code == 409  # has a distribution
    assert listed(objects) == sorted(
        [*keys, "raw/green/air-2/version=1/edition=20260101T000000/other.csv"]
    )
    assert client.delete(f"{path}?cascade=true").status_code == 204
    assert client.get(path).status_code == 404
    assert listed(objects) == sorted(
        [*lake_keys(EDITIONS[1]), "raw/green/air-2/version=1/edition=20260101T000000/other.csv"]
    )


def test_deleting_a_distribution_with_cascade_deletes_its_file(local) -> None:  # type: ignore[no-untyped-def]
    client, objects, put = local
    fill(client, put)
    path = f"/datasets/air/versions/1/editions/{EDITIONS[0]}/distributions/parquet"
    assert client.delete(f"{path}?cascade=true").status_code == 204
    assert not objects.exists(lake_keys(EDITIONS[0])[-1])
    assert objects.exists(lake_keys(EDITIONS[1])[-1])


def test_a_stale_if_match_deletes_no_object(local) -> None:  # type: ignore[no-untyped-def]
    client, objects, put = local
    keys = fill(client, put)
    stale = client.delete("/datasets/air?cascade=true", headers={"If-Match": '"99"'})
    assert stale.status_code == 412
    assert set(keys) <= set(listed(objects))


def test_a_cascade_delete_with_the_current_etag_deletes_it_and_its_objects(  # type: ignore[no-untyped-def]
    local,
) -> None:
    client, objects, put = local
    keys = fill(client, put)
    etag = client.get("/datasets/air").headers["ETag"]

    assert (
        client.delete("/datasets/air?cascade=true", headers={"If-Match": etag}).status_code == 204
    )

    assert not set(keys) & set(listed(objects))
    assert client.get("/datasets/air").status_code == 404


def test_a_cascade_delete_that_fails_half_way_is_repeated_to_the_end(  # type: ignore[no-untyped-def]
    local, monkeypatch
) -> None:
    client, objects, put = local
    fill(client, put)
    real = LocalObjectStore.delete_many
    calls = []

    def failing_once(self, keys):  # type: ignore[no-untyped-def]
        keys = list(keys)
        calls.append(keys)
        if len(calls) > 1:
            return real(self, keys)
        half = len(keys) // 2
        real(self, keys[:half])
        return [DeleteFailure(key, "OSError", "disk went away") for key in keys[half:]]

    monkeypatch.setattr(LocalObjectStore, "delete_many", failing_once)
    first = client.delete("/datasets/air?cascade=true")
    assert first.status_code == 503, first.json
    assert "repeat the delete" in first.json["message"]
    assert client.get("/datasets/air").status_code == 200
    assert [key for key in listed(objects) if "/air/" in key]
    second = client.delete("/datasets/air?cascade=true")
    assert second.status_code == 204, second.json
    assert client.get("/datasets/air").status_code == 404
    assert listed(objects) == ["raw/green/air-2/version=1/edition=20260101T000000/other.csv"]


def test_s3_cascade_deletes_every_page_and_finishes_after_a_failure(  # type: ignore[no-untyped-def]
    moto_store, tmp_path: Path, monkeypatch
) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    settings = Settings(
        backend="aws",
        home=tmp_path / "home",
        data_bucket=BUCKET,
        principal=SITE_ADMIN,
        admins=(SITE_ADMIN,),
        secret_key="test-secret",
    )
    application = create_app(settings, store=moto_store)
    application.config["TESTING"] = True
    authenticate_as_site_admin(application)
    client = application.test_client()
    objects = S3ObjectStore(BUCKET)
    # Over 1000 keys: S3 lists and deletes them in pages of 1000.
    keys = fill(client, lambda key: s3.put_object(Bucket=BUCKET, Key=key, Body=b"x"), count=500)
    assert len(keys) > 1000
    real = S3ObjectStore._delete_batch
    batches = []

    def failing_first_batch(self, batch):  # type: ignore[no-untyped-def]
        batches.append(len(batch))
        if len(batches) == 1:
            return [
                DeleteFailure(key, "SlowDown", "Please reduce your request rate") for key in batch
            ]
        return real(self, batch)

    monkeypatch.setattr(S3ObjectStore, "_delete_batch", failing_first_batch)
    assert client.delete("/datasets/air?cascade=true").status_code == 503
    assert client.get("/datasets/air").status_code == 200
    assert client.delete("/datasets/air?cascade=true").status_code == 204
    assert batches[0] == 1000
    assert listed(objects) == ["raw/green/air-2/version=1/edition=20260101T000000/other.csv"]
