"""Uploads, downloads and run watching against ``brygge serve`` and moto's S3 server."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from brygge import Client, ClientError
from brygge.transfers import post_form, send_multipart, state_name
from tests.brygge.conftest import csv_dataset
from tests.e2e.conftest import Server, start_server, stop_server

CSV = "station;value\nAlna;1\nBygdøy;2\n".encode()
PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last)
BUCKET = "brygge-client-tests"


def upload_url(client: Client, dataset_id: str, size: int) -> dict[str, Any]:
    """An upload of data.csv handed out, the file not sent yet."""
    path = f"/datasets/{dataset_id}/versions/1/uploads"
    return client.resource("POST", path, json={"filename": "data.csv", "size": size})


def test_upload_watch_and_download_through_the_local_upload_url(
    client: Client, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    source = tmp_path / "målinger.csv"
    source.write_bytes(CSV)
    progress: list[tuple[int, int]] = []

    upload = client.upload(dataset_id, source, progress=lambda *sent: progress.append(sent))
    assert progress[-1] == (len(CSV), len(CSV))
    events = [
        (event.step["name"] if event.step else "run", event.status)
        for event in client.watch(upload["run"]["id"], interval_s=0.05)
    ]
    assert events[-1] == ("run", "SUCCEEDED")
    assert ("ToParquet", "SUCCEEDED") in events
    assert events.index(("ToParquet", "SUCCEEDED")) < events.index(("Publish", "SUCCEEDED"))

    edition = upload["edition"]
    [distribution] = client.distributions(dataset_id, "1", edition)
    downloaded = client.download(dataset_id, "1", edition, distribution["id"], tmp_path / "out")
    assert downloaded.name == "målinger.parquet"
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == distribution["checksum"]


def test_a_file_larger_than_its_announced_size_is_refused_with_the_servers_reason(
    client: Client, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    source = tmp_path / "data.csv"
    source.write_bytes(CSV)
    answer = upload_url(client, dataset_id, 4)
    with pytest.raises(ClientError) as refused:
        post_form(answer["upload"]["url"], answer["upload"]["fields"], source, "text/csv", None)
    assert refused.value.status == 413


def test_watch_waits_for_a_server_that_restarts(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    dataset_id = csv_dataset(client)
    source = tmp_path / "data.csv"
    source.write_bytes(CSV)
    answer = upload_url(client, dataset_id, len(CSV))
    port = int(brygge_server.url.rpartition(":")[2])
    restarted: list[Server] = []
    calls = 0

    def between_polls(_seconds: float) -> None:
        # The first pause stops the server; two polls later it is back, and the file arrives.
        nonlocal calls
        calls += 1
        if calls == 1:
            stop_server(brygge_server)
        elif calls == 3:
            restarted.append(start_server(tmp_path, port=port))
            post_form(answer["upload"]["url"], answer["upload"]["fields"], source, "text/csv", None)

    watcher = Client(brygge_server.url, retries=0, sleep=between_polls)
    try:
        statuses = [event.status for event in watcher.watch(answer["run"]["id"])]
    finally:
        for server in restarted:
            stop_server(server)
    assert statuses[0] == "WAITING"
    assert statuses[-1] == "SUCCEEDED"
    assert calls >= 3


@pytest.fixture
def bucket(moto_server: str) -> str:
    import boto3

    boto3.client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return BUCKET


def served_target(target: Any) -> dict[str, Any]:
    """The upload target as the API serialises it."""
    from catalogue.schemas.uploads import UploadTargetSchema

    return dict(UploadTargetSchema().dump(target))


def s3_object(key: str) -> bytes:
    import boto3

    return bytes(boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read())


def test_a_presigned_s3_post_takes_the_streamed_form(bucket: str, tmp_path: Path) -> None:
    from pipelines.presign import s3_presigned_post

    source = tmp_path / "data.csv"
    source.write_bytes(CSV * 1000)
    key = "raw/green/a/version=1/edition=1/data.csv"
    target = served_target(
        s3_presigned_post(
            bucket,
            key,
            max_bytes=len(CSV) * 1000,
            content_type="text/csv",
            ttl_s=600,
            now=datetime.now(UTC),
        )
    )
    post_form(target["url"], target["fields"], source, "text/csv", None)
    assert s3_object(key) == source.read_bytes()


def multipart_answer(bucket: str, key: str, size: int) -> dict[str, Any]:
    from pipelines.presign import s3_multipart_upload

    target = s3_multipart_upload(
        bucket,
        key,
        size=size,
        content_type=None,
        ttl_s=600,
        now=datetime.now(UTC),
        part_bytes=PART_BYTES,
    )
    return {"edition": "1", "key": key, "run": {"id": "r"}, "upload": served_target(target)}


def test_multipart_upload_sends_parts_in_parallel_and_completes(
    bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (PART_BYTES * 3 // 256 + 1000))
    key = "raw/green/a/version=1/edition=1/big.bin"
    answer = multipart_answer(bucket, key, source.stat().st_size)
    assert len(answer["upload"]["multipart"]["parts"]) == 4
    progress: list[int] = []
    state_file = tmp_path / "state.json"

    send_multipart(
        answer["upload"],
        source,
        progress=lambda sent, _total: progress.append(sent),
        state_file=state_file,
        answer=answer,
    )
    assert s3_object(key) == source.read_bytes()
    assert max(progress) == source.stat().st_size
    assert not state_file.exists()


class Crash(Exception):
    """Stands for the process dying mid-upload."""


def test_an_interrupted_multipart_upload_resumes_from_its_state_file(
    bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (PART_BYTES * 2 // 256 + 1000))
    size = source.stat().st_size
    key = "raw/green/a/version=1/edition=1/big.bin"
    answer = multipart_answer(bucket, key, size)
    state_dir = tmp_path / "state"
    state_file = state_dir / state_name(source, "a", "1", None)

    def crash_in_the_second_part(sent: int, _total: int) -> None:
        if sent > PART_BYTES + 1024 * 1024:
            raise Crash

    with pytest.raises(Crash):
        send_multipart(
            answer["upload"],
            source,
            progress=crash_in_the_second_part,
            state_file=state_file,
            answer=answer,
            parallel=1,
        )
    assert state_file.exists()

    # No server at this URL: a resumed upload asks for no new upload URL.
    resumed: list[int] = []
    offline = Client("http://127.0.0.1:9", retries=0)
    again = offline.upload(
        "a", source, state_dir=state_dir, progress=lambda sent, _total: resumed.append(sent)
    )
    assert again["key"] == key
    assert resumed[0] > PART_BYTES  # the first part was not sent again
    assert s3_object(key) == source.read_bytes()
    assert not state_file.exists()


def test_a_cancelled_multipart_upload_is_aborted_in_s3_and_not_resumed(
    bucket: str, tmp_path: Path
) -> None:
    import boto3

    from brygge.transfers import cancel_upload

    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * (PART_BYTES * 2 // 256 + 1000))
    key = "raw/green/a/version=1/edition=1/big.bin"
    answer = multipart_answer(bucket, key, source.stat().st_size)
    state_file = tmp_path / "state" / state_name(source, "a", "1", None)

    def ctrl_c_in_the_second_part(sent: int, _total: int) -> None:
        if sent > PART_BYTES + 1024 * 1024:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        send_multipart(
            answer["upload"],
            source,
            progress=ctrl_c_in_the_second_part,
            state_file=state_file,
            answer=answer,
            parallel=1,
        )
    assert boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads")

    # No API at this URL: the run cannot be aborted, but S3 and the state are cleared.
    told = cancel_upload(Client("http://127.0.0.1:9", retries=0), answer, state_file)

    assert not told
    assert not boto3.client("s3").list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert not state_file.exists()
