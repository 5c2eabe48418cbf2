"""ObjectStore: the files of the data lake, in a local directory or an S3 bucket.

Both stores use the key layout of ``catalogue.domain.object_keys``; a key outside it is refused
with ``InvalidValue(field="key")`` before any I/O. Bodies stream in chunks: no operation holds
a whole object in memory.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from catalogue.domain.errors import InvalidValue
from catalogue.domain.object_keys import parse_object_key
from pipelines.aws import aws_client

CHUNK_BYTES = 1024 * 1024
# S3 DeleteObjects takes at most 1000 keys per request.
DELETE_BATCH = 1000
# CopyObject copies at most 5 GB in one request; larger objects need a multipart copy.
MAX_SINGLE_COPY_BYTES = 5 * 1024**3
SHA256_METADATA = "sha256"


class ObjectNotFound(KeyError):
    """No object has this key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"no object with key {self.key!r}"


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What a store knows of one object; ``sha256`` is None when the store did not record it."""

    key: str
    bytes: int
    sha256: str | None = None
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteFailure:
    """A key that ``delete_many`` could not delete, and why."""

    key: str
    code: str
    message: str


class ObjectStore(Protocol):
    """The operations steps, uploads and the trigger need from object storage."""

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        """Store ``body`` (read in chunks) under ``key``, replacing any object there.

        Returns the stored size and sha256. Raises InvalidValue for a key outside the layout.
        """
        ...

    def open(self, key: str) -> AbstractContextManager[IO[bytes]]:
        """Open the object for streaming reads; raises ObjectNotFound."""
        ...

    def get(self, key: str) -> bytes:
        """Return the whole object; for small objects only. Raises ObjectNotFound."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Return size, etag and (when recorded) sha256; raises ObjectNotFound."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object has this key."""
        ...

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with ``prefix``, in key order, over all pages."""
        ...

    def copy(self, source: str, destination: str) -> ObjectInfo:
        """Copy an object, keeping its recorded sha256; raises ObjectNotFound for ``source``."""
        ...

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        """Delete the keys (missing ones count as deleted); return the ones that failed."""
        ...


def check_key(key: str) -> str:
    """Return ``key`` if it follows the object key layout; raises InvalidValue otherwise."""
    try:
        parse_object_key(key)
    except InvalidValue as error:
        if error.field == "key":
            raise
        raise InvalidValue("key", f"{key!r}: {error.message}") from None
    return key


def check_prefix(prefix: str) -> str:
    """Return a listing prefix if it cannot name anything outside the layout."""
    parts = prefix.split("/")
    if prefix.startswith("/") or any(part in (".", "..") for part in parts) or "\\" in prefix:
        raise InvalidValue("prefix", f"{prefix!r} is not a key prefix")
    if any(ord(ch) < 32 for ch in prefix):
        raise InvalidValue("prefix", "must not contain control characters")
    return prefix


def sha256_of(body: IO[bytes]) -> tuple[str, int]:
    """Return the hex sha256 and size of what is left to read in ``body``."""
    digest = hashlib.sha256()
    size = 0
    while chunk := body.read(CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class LocalObjectStore:
    """Objects as files under ``root``, with the same key layout as S3.

    ``on_created(key)`` is called after each put and copy, standing in for S3's
    object-created notifications in local mode.
    """

    def __init__(self, root: Path, on_created: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.on_created = on_created

    def path(self, key: str) -> Path:
        """The file of ``key``; raises InvalidValue for keys that would escape the root."""
        check_key(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        # parse_object_key already refuses '..' in names; this also refuses symlinks out.
        if not path.is_relative_to(root):
            raise InvalidValue("key", f"{key!r} resolves outside the object directory")
        return path

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        # A reader never sees a half-written object: write aside, then rename atomically.
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".put-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as temp:
                while chunk := body.read(CHUNK_BYTES):
                    digest.update(chunk)
                    size += len(chunk)
                    temp.write(chunk)
            Path(temp_name).replace(path)
        except BaseException:
            with suppress(FileNotFoundError):
                Path(temp_name).unlink()
            raise
        info = ObjectInfo(key, size, digest.hexdigest(), _local_etag(path))
        self._created(key)
        return info

    def move_in(self, key: str, source: Path) -> ObjectInfo:
        """Store the local file ``source`` as ``key``, moving it rather than copying.

        A rename when ``source`` is on the same filesystem (atomic, no second copy of a large
        step output), else a streamed put; ``source`` is gone afterwards either way.
        """
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        with source.open("rb") as body:
            sha256, size = sha256_of(body)
        try:
            source.replace(target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            with source.open("rb") as body:
                info = self.put(key, body)
            source.unlink()
            return info
        self._created(key)
        return ObjectInfo(key, size, sha256, _local_etag(target))

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        path = self.path(key)
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        with handle:
            yield handle

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def head(self, key: str) -> ObjectInfo:
        path = self.path(key)
        if not path.is_file():
            raise ObjectNotFound(key)
        # Hashing on every head would read the whole file: the sha256 comes from put/copy.
        return ObjectInfo(key, path.stat().st_size, None, _local_etag(path))

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        root = self.root.resolve()
        if not root.is_dir():
            return
        # Walk only below the deepest directory the prefix names.
        directory = root / prefix.rpartition("/")[0] if "/" in prefix else root
        if not directory.is_dir():
            return
        found = []
        for dirpath, _dirs, files in os.walk(directory):
            for name in files:
                if name.startswith(".put-"):
                    continue
                path = Path(dirpath) / name
                key = path.relative_to(root).as_posix()
                if key.startswith(prefix):
                    found.append((key, path))
        for key, path in sorted(found):
            yield ObjectInfo(key, path.stat().st_size, None, _local_etag(path))

    def copy(self, source: str, destination: str) -> ObjectInfo:
        self.path(destination)
        with self.open(source) as body:
            return self.put(destination, body)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        failures = []
        for key in keys:
            try:
                self.path(key).unlink(missing_ok=True)
            except InvalidValue as error:
                failures.append(DeleteFailure(key, "InvalidKey", error.message))
            except OSError as error:
                failures.append(DeleteFailure(key, type(error).__name__, str(error)))
        return failures

    def _created(self, key: str) -> None:
        if self.on_created is not None:
            self.on_created(key)


def _local_etag(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


class S3ObjectStore:
    """Objects in one S3 bucket; the boto3 client is made on first use."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    @property
    def client(self) -> Any:
        return aws_client("s3")

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        check_key(key)
        extra: dict[str, Any] = {}
        if content_type:
            extra["ContentType"] = content_type
        if body.seekable():
            # Hash first so the sha256 travels as metadata and `head` can report it later.
            start = body.tell()
            sha256, _ = sha256_of(body)
            body.seek(start)
            extra["Metadata"] = {SHA256_METADATA: sha256}
            self.client.upload_fileobj(body, self.bucket, key, ExtraArgs=extra)
            return self.head(key)
        reader = _HashingReader(body)
        # upload_fileobj streams in parts (multipart past 8 MB): memory stays bounded.
        self.client.upload_fileobj(reader, self.bucket, key, ExtraArgs=extra)
        info = self.head(key)
        return ObjectInfo(key, info.bytes, reader.digest.hexdigest(), info.etag)

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        check_key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except Exception as error:
            _raise_not_found(error, key)
            raise
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def head(self, key: str) -> ObjectInfo:
        check_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except Exception as error:
            _raise_not_found(error, key)
            raise
        return ObjectInfo(
            key,
            response["ContentLength"],
            response.get("Metadata", {}).get(SHA256_METADATA),
            response.get("ETag", "").strip('"') or None,
        )

    def exists(self, key: str) -> bool:
        try:
            self.head(key)
        except ObjectNotFound:
            return False
        return True

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield ObjectInfo(item["Key"], item["Size"], None, item["ETag"].strip('"'))

    def copy(self, source: str, destination: str) -> ObjectInfo:
        check_key(destination)
        size = self.head(source).bytes
        copy_source = {"Bucket": self.bucket, "Key": source}
        if size <= MAX_SINGLE_COPY_BYTES:
            # MetadataDirective COPY keeps the recorded sha256.
            self.client.copy_object(
                Bucket=self.bucket,
                Key=destination,
                CopySource=copy_source,
                MetadataDirective="COPY",
            )
        else:
            self.client.copy(copy_source, self.bucket, destination)
        return self.head(destination)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        failures: builtins.list[DeleteFailure] = []
        batch: builtins.list[str] = []
        for key in keys:
            try:
                batch.append(check_key(key))
            except InvalidValue as error:
                failures.append(DeleteFailure(key, "InvalidKey", error.message))
                continue
            if len(batch) == DELETE_BATCH:
                failures += self._delete_batch(batch)
                batch = []
        if batch:
            failures += self._delete_batch(batch)
        return failures

    def _delete_batch(self, keys: builtins.list[str]) -> builtins.list[DeleteFailure]:
        response = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        return [
            DeleteFailure(error["Key"], error.get("Code", ""), error.get("Message", ""))
            for error in response.get("Errors", [])
        ]


class _HashingReader:
    """A read-only file object that hashes what passes through it."""

    def __init__(self, body: IO[bytes]) -> None:
        self.body = body
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self.body.read(size)
        self.digest.update(chunk)
        return chunk


def _raise_not_found(error: Exception, key: str) -> None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            raise ObjectNotFound(key) from None


def download(objects: ObjectStore, key: str, destination: Path) -> Path:
    """Stream an object into the file ``destination`` and return its path."""
    with objects.open(key) as body, destination.open("wb") as target:
        shutil.copyfileobj(body, target, CHUNK_BYTES)
    return destination


__all__ = [
    "DeleteFailure",
    "LocalObjectStore",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "S3ObjectStore",
    "download",
]
