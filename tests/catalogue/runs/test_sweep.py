"""Runs on every store: stale uploads expire by the test clock; an edition lists its runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from catalogue.app import create_app
from catalogue.runs.sweep import SweepReport, sweep
from catalogue.settings import Settings
from catalogue.store import migrations
from pipelines.objects import LocalObjectStore
from tests.fixtures.app import SITE_ADMIN, Clock, authenticate_as_site_admin

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


def test_an_upload_url_that_expires_unused_ends_its_run_and_removes_its_edition(  # type: ignore[no-untyped-def]
    app_on_store, clock
) -> None:
    client = app_on_store.test_client()
    services = app_on_store.extensions["brygge"]
    assert client.post("/datasets", json=DATASET).status_code == 201
    stale = client.post("/datasets/air/versions/1/uploads", json={"filename": "a.csv"}).json
    kept = client.post("/datasets/air/versions/1/editions", json={"edition": "20250101T000000"})
    assert kept.status_code == 201
    other = client.post(
        "/datasets/air/versions/1/uploads",
        json={"filename": "b.csv", "edition": "20250101T000000"},
    ).json
    run = client.get(f"/runs/{stale['run']['id']}").json
    assert run["status"] == "WAITING"
    assert run["uploadExpires"]

    assert sweep(services).expired == []  # not expired yet
    settings = services.settings
    clock.now += timedelta(seconds=settings.upload_url_ttl_s + settings.upload_grace_s + 5)
    report = sweep(services)

    assert sorted(report.expired) == sorted([stale["run"]["id"], other["run"]["id"]])
    assert report.editions == [f"air/1/{stale['edition']}"]
    expired = client.get(f"/runs/{stale['run']['id']}").json
    assert expired["status"] == "EXPIRED"
    assert expired["error"]["error"] == "Brygge.UploadExpired"
    assert expired["endedAt"]
    assert client.get(f"/datasets/air/versions/1/editions/{stale['edition']}").status_code == 404
    # An edition the upload did not make stays.
    assert client.get("/datasets/air/versions/1/editions/20250101T000000").status_code == 200
    assert sweep(services).expired == []
    # An expired run is ended: it cannot be aborted.
    assert client.post(f"/runs/{stale['run']['id']}/abort").status_code == 409


def test_a_new_upload_url_for_a_waiting_run_keeps_it_until_the_later_expiry(  # type: ignore[no-untyped-def]
    app_on_store, clock
) -> None:
    client = app_on_store.test_client()
    services = app_on_store.extensions["brygge"]
    assert client.post("/datasets", json=DATASET).status_code == 201
    first = client.post("/datasets/air/versions/1/uploads", json={"filename": "a.csv"}).json
    clock.now += timedelta(seconds=services.settings.upload_url_ttl_s)
    again = client.post(
        "/datasets/air/versions/1/uploads",
        json={"filename": "a.csv", "edition": first["edition"]},
    ).json
    assert again["run"]["id"] == first["run"]["id"]
    clock.now += timedelta(seconds=services.settings.upload_grace_s + 5)
    assert sweep(services).expired == []
    assert client.get(f"/runs/{first['run']['id']}").json["status"] == "WAITING"


@pytest.fixture
def aws_app(moto: None, tmp_path: Path, clock: Clock) -> Iterator[Flask]:
    """The app in aws mode on moto: DynamoDB table, data bucket, S3 upload URLs."""
    from pipelines.aws import aws_client

    settings = Settings(
        backend="aws",
        home=tmp_path / "home",
        dynamodb_table="brygge-sweep",
        data_bucket="brygge-sweep-data",
        principal=SITE_ADMIN,
        admins=(SITE_ADMIN,),
        secret_key="test-secret",
    )
    aws_client("s3").create_bucket(
        Bucket=settings.data_bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-north-1"},
    )
    migrations.apply(settings)
    app = create_app(settings, clock=clock)
    authenticate_as_site_admin(app)
    yield app


def test_a_run_whose_trigger_never_started_it_fails_saying_why(aws_app, clock) -> None:  # type: ignore[no-untyped-def]
    from pipelines.aws import aws_client

    client = aws_app.test_client()
    services = aws_app.extensions["brygge"]
    assert client.post("/datasets", json=DATASET).status_code == 201
    upload = client.post("/datasets/air/versions/1/uploads", json={"filename": "a.csv"}).json
    run_id = upload["run"]["id"]
    # The client's POST landed; the notification's invocations all failed, so no run started.
    aws_client("s3").put_object(
        Bucket=services.settings.data_bucket, Key=upload["key"], Body=b"a;b\n1;2\n"
    )
    settings = services.settings
    clock.now += timedelta(seconds=settings.upload_url_ttl_s + settings.upload_grace_s + 5)
    # Lambda may still be retrying the notification (for up to 6 hours): the run waits.
    assert sweep(services).as_dict()["failed"] == []
    assert client.get(f"/runs/{run_id}").json["status"] == "WAITING"

    clock.now += timedelta(hours=6)
    report = sweep(services)

    assert report.failed == [run_id]
    assert report.expired == []
    run = client.get(f"/runs/{run_id}").json
    assert run["status"] == "FAILED"
    assert run["endedAt"]
    assert run["error"]["error"] == "Brygge.TriggerFailed"
    assert upload["key"] in run["error"]["cause"]
    assert f"POST /runs/{run_id}/rerun" in run["error"]["cause"]
    # Sent as any failed run's: started, then failed.
    events = client.get("/events").json["items"]
    assert [e["type"] for e in events if e["subject"] == f"/runs/{run_id}"] == [
        "no.brygge.run.started",
        "no.brygge.run.failed",
    ]
    assert sweep(services).failed == []
    # The edition keeps its upload: the run can be run again over it.
    assert client.get(f"/datasets/air/versions/1/editions/{upload['edition']}").status_code == 200


EVENTS = {
    "id": "bad",
    "title": "Bad",
    "accessRights": "public",
    "owner": "team:bath",
    "source": {
        "type": "event",
        "schema": {
            "fields": [{"name": "id", "type": "string"}, {"name": "at", "type": "datetime"}]
        },
        "key": ["id"],
        "time": "at",
        "batch": {"maxEvents": 3, "maxSeconds": 3600},
    },
}


@pytest.mark.parametrize("failing", ["start", "put"])
def test_a_delivered_window_whose_run_never_started_fails_once_no_retry_can_come(  # type: ignore[no-untyped-def]
    aws_app, clock, monkeypatch, failing
) -> None:
    import json

    from catalogue.runs import arrival
    from pipelines.aws import aws_client
    from pipelines.object_keys import delivered_events_prefix
    from pipelines.objects import S3ObjectStore

    client = aws_app.test_client()
    services = aws_app.extensions["brygge"]
    assert client.post("/datasets", json=EVENTS).status_code == 201
    delivered = delivered_events_prefix("public", "bad", "1") + "2026/06/01/ev-1-2026-06-01-abc"
    record = {
        "dataset": "bad",
        "version": "1",
        "event": {"id": "s-1", "at": "2026-06-01T12:00:00Z"},
    }
    bucket = services.settings.data_bucket
    aws_client("s3").put_object(Bucket=bucket, Key=delivered, Body=json.dumps(record).encode())

    def unavailable(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ConnectionError("unavailable")

    # Every invocation of the notification fails after the window's run was made: starting
    # it, or storing the window's object.
    if failing == "start":
        monkeypatch.setattr(services.runs, "start", unavailable)
    else:
        monkeypatch.setattr(S3ObjectStore, "put", unavailable)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            arrival.handle_object_created(delivered, services)
    monkeypatch.undo()
    [waiting] = services.runs.repository.waiting()
    # Lambda may still be retrying the notification (for up to 6 hours): the run waits.
    clock.now += timedelta(seconds=services.settings.upload_grace_s + 5)
    assert sweep(services).as_dict() == SweepReport().as_dict()
    assert client.get(f"/runs/{waiting['id']}").json["status"] == "WAITING"

    clock.now += timedelta(hours=6)
    report = sweep(services)

    assert report.failed == [waiting["id"]]
    assert report.expired == []
    run = client.get(f"/runs/{waiting['id']}").json
    assert run["status"] == "FAILED"
    assert run["error"]["error"] == "Brygge.TriggerFailed"
    assert waiting["input"]["keys"][0] in run["error"]["cause"]
    assert ("never stored" in run["error"]["cause"]) == (failing == "put")
    # Nobody uploaded the window's file: there is none to upload again.
    assert "upload" not in run["error"]["cause"]
    assert sweep(services).as_dict() == SweepReport().as_dict()
    # The events stay: where Firehose delivered them, and the edition of their window.
    assert client.get(f"/datasets/bad/versions/1/editions/{run['edition']}").status_code == 200
    aws_client("s3").head_object(Bucket=bucket, Key=delivered)


def test_partial_files_untouched_for_the_grace_period_are_removed(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    objects = LocalObjectStore(tmp_path)
    folder = tmp_path / "raw/green/air/version=1/edition=20260102T030405"
    folder.mkdir(parents=True)
    old, fresh, data = folder / ".put-old.part", folder / ".put-new.part", folder / "a.csv"
    for path in (old, fresh, data):
        path.write_bytes(b"x")
    now = clock()
    stamp = (now - timedelta(hours=2)).timestamp()
    os.utime(old, (stamp, stamp))
    os.utime(data, (stamp, stamp))
    os.utime(fresh, (now.timestamp(), now.timestamp()))
    assert objects.remove_stale_parts(now - timedelta(hours=1)) == [old.resolve()]
    assert fresh.exists() and data.exists()


def test_an_editions_runs_are_listed_under_it(app_on_store) -> None:  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    assert client.post("/datasets", json=DATASET).status_code == 201
    first = client.post("/datasets/air/versions/1/uploads", json={"filename": "a.csv"}).json
    second = client.post("/datasets/air/versions/1/uploads", json={"filename": "b.csv"}).json
    also = client.post(
        "/datasets/air/versions/1/uploads", json={"filename": "c.csv", "edition": first["edition"]}
    ).json
    assert first["edition"] != second["edition"]
    runs = f"/datasets/air/versions/1/editions/{first['edition']}/runs"
    page = client.get(f"{runs}?limit=1").json
    assert len(page["items"]) == 1 and page["next"]
    rest = client.get(f"{runs}?limit=1&cursor={page['next']}").json
    listed = [run["id"] for run in page["items"] + rest["items"]]
    assert sorted(listed) == sorted([first["run"]["id"], also["run"]["id"]])
    assert client.get("/datasets/air/versions/1/editions/19990101T000000/runs").status_code == 404


def test_the_sweep_deletes_expired_items_where_no_time_to_live_does(  # type: ignore[no-untyped-def]
    app_on_store, clock
) -> None:
    from catalogue.repositories.auth_failures import AuthFailures
    from catalogue.store import keys
    from catalogue.store.base import Query

    services = app_on_store.extensions["brygge"]
    failures = AuthFailures(services.store)
    now = clock.now.timestamp()
    failures.record(["address:192.0.2.1"], now - 120, 60.0)  # its window is over
    failures.record(["address:192.0.2.2"], now, 60.0)

    report = sweep(services)

    def stored(address: str) -> int:
        partition = keys.auth_failures_pk(f"address:{address}")
        return len(services.store.query(Query(partition), limit=10).items)

    assert stored("192.0.2.2") == 2
    if services.store.backend == "sqlite":
        # A failure and the key's newest time: both expired, both deleted.
        assert report.expired_items == 2
        assert stored("192.0.2.1") == 0
    else:
        # The table's time to live deletes them on DynamoDB.
        assert report.expired_items == 0
    assert sweep(services).expired_items == 0
