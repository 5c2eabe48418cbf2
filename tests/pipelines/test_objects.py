"""ObjectStore behaviour, the same on the local directory and on S3 (moto)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from catalogue.domain.errors import InvalidValue
from pipelines.aws import aws_client
from pipelines.objects import (
    LocalObjectStore,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    download,
)

PREFIX = "raw/green/trees/version=1/edition=20240101T000000/"
KEY = PREFIX + "trees.csv"


class OneWayStream(io.RawIOBase):
    """A body that cannot seek, like a request stream."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        chunk = self.inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def s3_objects(moto: None) -> S3ObjectStore:
    """An S3ObjectStore on a fresh moto bucket (the ``moto`` fixture fakes the credentials)."""

    aws_client("s3").create_bucket(
        Bucket="brygge-test", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return S3ObjectStore("brygge-test")


@pytest.fixture
def local_objects(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest) -> ObjectStore:
    return request.getfixturevalue(f"{request.param}_objects")


def test_put_returns_size_and_sha256_and_get_reads_it_back(objects: ObjectStore) -> None:
    data = b"a,b\n1,2\n" * 1000
    info = objects.put(KEY, io.BytesIO(data))
    assert (info.key, info.bytes, info.sha256) == (KEY, len(data), hashlib.sha256(data).hexdigest())
    assert objects.get(KEY) == data
    with objects.open(KEY) as body:
        assert body.read(4) == b"a,b\n"


def test_put_from_a_stream_that_cannot_seek(objects: ObjectStore) -> None:
    data = bytes(range(256)) * 20_000  # several MB: more than one chunk
    info = objects.put(KEY, io.BufferedReader(OneWayStream(data)))
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert objects.head(KEY).bytes == len(data)
    assert objects.get(KEY) == data


def test_put_replaces_an_existing_object(objects: ObjectStore) -> None:
    objects.put(KEY, io.BytesIO(b"old"))
    objects.put(KEY, io.BytesIO(b"new!"))
    assert objects.get(KEY) == b"new!"
    assert objects.head(KEY).bytes == 4


def test_missing_objects_raise_object_not_found(objects: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound) as raised:
        objects.head(KEY)
    assert raised.value.key == KEY
    assert isinstance(raised.value, KeyError)
    with pytest.raises(ObjectNotFound), objects.open(KEY):
        pass
    with pytest.raises(ObjectNotFound):
        objects.copy(KEY, PREFIX + "other.csv")
    assert not objects.exists(KEY)


def test_list_returns_every_object_under_the_prefix_in_key_order(objects: ObjectStore) -> None:
    keys = [PREFIX + f"part-{n:04d}.csv" for n in range(25)]
    for key in reversed(keys):
        objects.put(key, io.BytesIO(b"x"))
    objects.put("raw/green/other/version=1/edition=20240101T000000/x.csv", io.BytesIO(b"y"))
    assert [info.key for info in objects.list(PREFIX)] == keys
    assert [info.key for info in objects.list(PREFIX + "part-001")] == keys[10:20]
    assert list(objects.list("processed/")) == []


def test_list_reads_every_page(s3_objects: S3ObjectStore) -> None:
    # More keys than one ListObjectsV2 page (1000) holds.
    client = s3_objects.client
    for n in range(1005):
        client.put_object(Bucket=s3_objects.bucket, Key=f"{PREFIX}k{n:05d}.csv", Body=b"")
    assert len(list(s3_objects.list(PREFIX))) == 1005


def test_copy_keeps_the_bytes_and_sha256(objects: ObjectStore) -> None:
    data = b"col\nvalue\n"
    objects.put(KEY, io.BytesIO(data))
    target = "processed/green/trees/version=1/edition=20240101T000000/trees.csv"
    info = objects.copy(KEY, target)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert objects.get(target) == data


def test_delete_many_removes_keys_and_ignores_missing_ones(objects: ObjectStore) -> None:
    keys = [PREFIX + f"f{n}.csv" for n in range(3)]
    for key in keys:
        objects.put(key, io.BytesIO(b"x"))
    failures = objects.delete_many([*keys[:2], PREFIX + "never-written.csv"])
    assert failures == []
    assert [info.key for info in objects.list(PREFIX)] == keys[2:]


def test_delete_many_reports_invalid_keys_and_deletes_the_rest(objects: ObjectStore) -> None:
    objects.put(KEY, io.BytesIO(b"x"))
    failures = objects.delete_many(["../../etc/passwd", KEY])
    assert [(failure.key, failure.code) for failure in failures] == [
        ("../../etc/passwd", "InvalidKey")
    ]
    assert not objects.exists(KEY)


def test_delete_many_sends_batches_of_at_most_1000(
    s3_objects: S3ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = []
    real = s3_objects.client.delete_objects

    def counting(**kwargs: object) -> object:
        sizes.append(len(kwargs["Delete"]["Objects"]))  # type: ignore[index]
        return real(**kwargs)

    monkeypatch.setattr(s3_objects.client, "delete_objects", counting)
    s3_objects.delete_many(f"{PREFIX}k{n}.csv" for n in range(2345))
    assert sizes == [1000, 1000, 345]


def test_s3_delete_failures_are_reported_per_key(
    s3_objects: S3ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def partly_failing(**kwargs: object) -> dict[str, object]:
        return {"Errors": [{"Key": KEY, "Code": "AccessDenied", "Message": "Access Denied"}]}

    monkeypatch.setattr(s3_objects.client, "delete_objects", partly_failing)
    failures = s3_objects.delete_many([KEY, PREFIX + "b.csv"])
    expected = [(KEY, "AccessDenied", "Access Denied")]
    assert [(f.key, f.code, f.message) for f in failures] == expected


@pytest.mark.parametrize(
    "key",
    [
        "../outside.csv",
        "raw/green/trees/version=1/edition=1/../../../../../etc/passwd",
        "/etc/passwd",
        "raw/green/trees/version=1/edition=1/a\\b.csv",
        "raw/green/Trees/version=1/edition=1/a.csv",
        "scratch/anything.csv",
    ],
)
def test_keys_outside_the_layout_are_refused(objects: ObjectStore, key: str) -> None:
    with pytest.raises(InvalidValue) as raised:
        objects.put(key, io.BytesIO(b"x"))
    assert raised.value.field == "key"
    with pytest.raises(InvalidValue):
        objects.head(key)


def test_local_store_refuses_a_symlink_out_of_its_root(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    outside = tmp_path / "outside"
    outside.mkdir()
    link_parent = store.root / "raw/green/trees/version=1"
    link_parent.mkdir(parents=True)
    (link_parent / "edition=1").symlink_to(outside)
    with pytest.raises(InvalidValue):
        store.put("raw/green/trees/version=1/edition=1/x.csv", io.BytesIO(b"x"))
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("prefix", ["../", "raw/../../", "/etc"])
def test_list_refuses_prefixes_that_climb(objects: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidValue):
        list(objects.list(prefix))


def test_local_put_leaves_no_partial_file_when_the_body_fails(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(KEY, Broken())  # type: ignore[arg-type]
    assert not store.exists(KEY)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_local_store_calls_on_created_after_put_and_copy(tmp_path: Path) -> None:
    created: list[str] = []
    store = LocalObjectStore(tmp_path, on_created=created.append)
    store.put(KEY, io.BytesIO(b"x"))
    store.copy(KEY, PREFIX + "copy.csv")
    assert created == [KEY, PREFIX + "copy.csv"]


def test_s3_head_reports_the_sha256_recorded_at_put(s3_objects: S3ObjectStore) -> None:
    s3_objects.put(KEY, io.BytesIO(b"abc"))
    assert s3_objects.head(KEY).sha256 == hashlib.sha256(b"abc").hexdigest()


def test_download_streams_to_a_file(objects: ObjectStore, tmp_path: Path) -> None:
    objects.put(KEY, io.BytesIO(b"0123456789" * 1000))
    path = download(objects, KEY, tmp_path / "copy.csv")
    assert path.read_bytes() == b"0123456789" * 1000


def test_local_move_in_renames_the_file_and_reports_its_sha256(tmp_path: Path) -> None:
    created: list[str] = []
    store = LocalObjectStore(tmp_path / "objects", on_created=created.append)
    source = tmp_path / "work.csv"
    source.write_bytes(b"a,b\n1,2\n")
    info = store.move_in(KEY, source)
    assert info.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert info.bytes == 8
    assert store.get(KEY) == b"a,b\n1,2\n"
    assert not source.exists()
    assert created == [KEY]
