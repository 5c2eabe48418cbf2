"""ObjectStore: the files of the data lake, in a local directory or an S3 bucket.

Both stores use the key layout of ``pipelines.object_keys``; a key outside it is refused
with ``InvalidValue(field="key")`` before any I/O. Bodies stream in chunks: no operation holds
a whole object in memory.
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Protocol

from pipelines.aws import assumed_client, aws_client
from pipelines.errors import InvalidValue
from pipelines.object_keys import ZONES, parse_object_key

CHUNK_BYTES = 1024 * 1024
# S3 DeleteObjects takes at most 1000 keys per request.
DELETE_BATCH = 1000
# CopyObject copies at most 5 GB in one request; larger objects need a multipart copy.
MAX_SINGLE_COPY_BYTES = 5 * 1024**3
SHA256_METADATA = "sha256"


class ObjectExists(FileExistsError):
    """An exclusive put found an object already stored under its key."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"an object with key {self.key!r} already exists"


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


class ObjectOutOfScope(Exception):
    """A step asked for an object outside its run's scope.

    Raised before any I/O: the answer is the same whether or not the object exists.
    """

    def __init__(self, key: str, action: str) -> None:
        super().__init__(key, action)
        self.key = key
        self.action = action

    def __str__(self) -> str:
        return f"may not {self.action} {self.key!r}: it is outside this run's objects"


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


def check_name(name: str) -> str:
    """Return ``name`` if it is a relative name (``a/b.csv``) that stays inside its store.

    For stores outside the lake's key layout (the open-data location). Raises
    InvalidValue(field="name") otherwise.
    """
    parts = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise InvalidValue("name", f"{name!r} is not a relative name in the object store")
    if any(ord(ch) < 32 for ch in name):
        raise InvalidValue("name", "must not contain control characters")
    return name


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
    object-created notifications in local mode. ``check`` refuses keys (the lake's layout
    by default); ``file_mode`` is given to each stored file (mkstemp's 0600 otherwise);
    ``prune_folders`` removes the folders a delete leaves empty.
    """

    def __init__(
        self,
        root: Path,
        on_created: Callable[[str], None] | None = None,
        *,
        check: Callable[[str], str] = check_key,
        file_mode: int | None = None,
        prune_folders: bool = False,
    ) -> None:
        self.root = Path(root)
        self.on_created = on_created
        self.check = check
        self.file_mode = file_mode
        self.prune_folders = prune_folders

    def path(self, key: str) -> Path:
        """The file of ``key``; raises InvalidValue for keys that would escape the root."""
        self.check(key)
        root = self.root.resolve()
        path = (root / key).resolve()
        # parse_object_key already refuses '..' in names; this also refuses symlinks out.
        if not path.is_relative_to(root):
            raise InvalidValue("key", f"{key!r} resolves outside the object directory")
        return path

    def put(
        self,
        key: str,
        body: IO[bytes],
        *,
        content_type: str | None = None,
        exclusive: bool = False,
    ) -> ObjectInfo:
        """Store ``body`` under ``key``; with ``exclusive``, raise ObjectExists instead of
        replacing an object already there (checked atomically when the file lands)."""
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
            if self.file_mode is not None:
                Path(temp_name).chmod(self.file_mode)
            if exclusive:
                # A hard link fails if the name exists: two racing uploads land once.
                try:
                    os.link(temp_name, path)
                except FileExistsError:
                    raise ObjectExists(key) from None
                Path(temp_name).unlink()
            else:
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

    def remove_stale_parts(self, before: datetime) -> builtins.list[Path]:
        """Remove the partial files of transfers (``.put-*.part``) last written before
        ``before``; return their paths. A live transfer keeps writing to its file."""
        root = self.root.resolve()
        if not root.is_dir():
            return []
        cutoff = before.timestamp()
        removed = []
        for path in sorted(root.rglob(".put-*.part")):
            with suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path)
        return removed

    def copy(self, source: str, destination: str) -> ObjectInfo:
        self.path(destination)
        with self.open(source) as body:
            return self.put(destination, body)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        failures = []
        for key in keys:
            try:
                path = self.path(key)
                path.unlink(missing_ok=True)
                if self.prune_folders:
                    self._prune(path.parent)
            except InvalidValue as error:
                failures.append(DeleteFailure(key, "InvalidKey", error.message))
            except OSError as error:
                failures.append(DeleteFailure(key, type(error).__name__, str(error)))
        return failures

    def _prune(self, folder: Path) -> None:
        root = self.root.resolve()
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:  # not empty (or gone): stop climbing
                return
            folder = folder.parent

    def _created(self, key: str) -> None:
        if self.on_created is not None:
            self.on_created(key)


def _local_etag(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


class S3ObjectStore:
    """Objects in one S3 bucket, under ``prefix``; the boto3 client is made on first use.

    Keys are relative to ``prefix`` (the lake's have none; the open-data location may keep
    its files under one); ``check`` refuses keys (the lake's layout by default).
    ``scope_role_arn`` is the role steps assume, with a session policy limited to their run
    (``scoped_store``); ``client`` replaces the process-wide client (assumed credentials).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        check: Callable[[str], str] = check_key,
        scope_role_arn: str = "",
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.check = check
        self.scope_role_arn = scope_role_arn
        self._client = client

    def _key(self, key: str) -> str:
        """The bucket's key of ``key``; raises InvalidValue as ``check`` does."""
        return self.prefix + self.check(key)

    @property
    def client(self) -> Any:
        if self._client is not None:
            return self._client
        return aws_client("s3")

    def assume_scope(self, scope: ObjectScope, session_name: str) -> S3ObjectStore:
        """This bucket through ``scope_role_arn`` with a session policy allowing only ``scope``.

        Whatever the Python code asks, S3 itself then refuses other tenants' objects.
        """
        response = aws_client("sts").assume_role(
            RoleArn=self.scope_role_arn,
            RoleSessionName=session_name_of(session_name),
            Policy=json.dumps(session_policy(self.bucket, scope), separators=(",", ":")),
            DurationSeconds=SESSION_SECONDS,
        )
        client = assumed_client("s3", response["Credentials"])
        return S3ObjectStore(self.bucket, prefix=self.prefix, check=self.check, client=client)

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        bucket_key = self._key(key)
        extra: dict[str, Any] = {}
        if content_type:
            extra["ContentType"] = content_type
        if body.seekable():
            # Hash first so the sha256 travels as metadata and `head` can report it later.
            start = body.tell()
            sha256, _ = sha256_of(body)
            body.seek(start)
            extra["Metadata"] = {SHA256_METADATA: sha256}
            self.client.upload_fileobj(body, self.bucket, bucket_key, ExtraArgs=extra)
            return self.head(key)
        reader = _HashingReader(body)
        # upload_fileobj streams in parts (multipart past 8 MB): memory stays bounded.
        self.client.upload_fileobj(reader, self.bucket, bucket_key, ExtraArgs=extra)
        info = self.head(key)
        return ObjectInfo(key, info.bytes, reader.digest.hexdigest(), info.etag)

    @contextmanager
    def open(self, key: str) -> Iterator[IO[bytes]]:
        bucket_key = self._key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=bucket_key)
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
        bucket_key = self._key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=bucket_key)
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
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Contents", []):
                key = item["Key"].removeprefix(self.prefix)
                yield ObjectInfo(key, item["Size"], None, item["ETag"].strip('"'))

    def copy(self, source: str, destination: str) -> ObjectInfo:
        bucket_destination = self._key(destination)
        size = self.head(source).bytes
        copy_source = {"Bucket": self.bucket, "Key": self._key(source)}
        if size <= MAX_SINGLE_COPY_BYTES:
            # MetadataDirective COPY keeps the recorded sha256.
            self.client.copy_object(
                Bucket=self.bucket,
                Key=bucket_destination,
                CopySource=copy_source,
                MetadataDirective="COPY",
            )
        else:
            self.client.copy(copy_source, self.bucket, bucket_destination)
        return self.head(destination)

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        failures: builtins.list[DeleteFailure] = []
        batch: builtins.list[str] = []
        for key in keys:
            try:
                batch.append(self._key(key))
            except InvalidValue as error:
                failures.append(DeleteFailure(key, "InvalidKey", error.message))
                continue
            if len(batch) == DELETE_BATCH:
                failures += self._delete_batch(batch)
                batch = []
        if batch:
            failures += self._delete_batch(batch)
        return failures

    def keep_first_version(self, key: str) -> builtins.list[str]:
        """Delete every version of ``key`` but the first; return the version ids deleted.

        A presigned POST cannot be made single-use, so a second upload to a used URL lands as
        a newer version of the (versioned) data bucket's object; deleting it restores the
        first. On an unversioned bucket there is one version and nothing is deleted.
        """
        bucket_key = self._key(key)
        paginator = self.client.get_paginator("list_object_versions")
        versions = [
            version
            for page in paginator.paginate(Bucket=self.bucket, Prefix=bucket_key)
            for version in page.get("Versions", [])
            if version["Key"] == bucket_key
        ]
        # S3 lists the versions of a key newest first: the last one is the first upload.
        newer = [version["VersionId"] for version in versions[:-1]]
        for version_id in newer:
            self.client.delete_object(Bucket=self.bucket, Key=bucket_key, VersionId=version_id)
        return newer

    def _delete_batch(self, keys: builtins.list[str]) -> builtins.list[DeleteFailure]:
        response = self.client.delete_objects(
            Bucket=self.bucket,
            Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
        )
        return [
            DeleteFailure(
                error["Key"].removeprefix(self.prefix),
                error.get("Code", ""),
                error.get("Message", ""),
            )
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


# AssumeRole's shortest session, and a Lambda's longest run: enough for any step.
SESSION_SECONDS = 900
_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


@dataclass(frozen=True, slots=True)
class ObjectScope:
    """The objects one run's steps may touch.

    Read: the run's edition under raw/, intermediate/ and processed/, the published objects
    of each lookup dataset, and the exact ``lookup_keys``. Write: the edition's
    intermediate/ and processed/ prefixes. ``lookups`` pairs a dataset with its access rights.
    """

    access_rights: str
    dataset: str
    version: str
    edition: str
    lookups: tuple[tuple[str, str], ...] = ()
    lookup_keys: frozenset[str] = frozenset()

    def edition_prefix(self, stage: str) -> str:
        """The prefix of this run's edition under ``stage``."""
        zone = ZONES[self.access_rights]
        return f"{stage}/{zone}/{self.dataset}/version={self.version}/edition={self.edition}/"

    @property
    def write_prefixes(self) -> tuple[str, ...]:
        # Never raw/: an object there would start another run.
        return (self.edition_prefix("intermediate"), self.edition_prefix("processed"))

    @property
    def read_prefixes(self) -> tuple[str, ...]:
        lookups = tuple(f"processed/{ZONES[access]}/{dataset}/" for dataset, access in self.lookups)
        return (self.edition_prefix("raw"), *self.write_prefixes, *lookups)

    def may_read(self, key: str) -> bool:
        """Whether ``key`` (a key of the layout) is readable in this scope."""
        return key in self.lookup_keys or key.startswith(self.read_prefixes)

    def may_write(self, key: str) -> bool:
        """Whether ``key`` (a key of the layout) is writable in this scope."""
        return key.startswith(self.write_prefixes)


class ScopedObjectStore:
    """An ObjectStore that passes on only what its ObjectScope allows.

    Keys are checked against the layout first (``InvalidValue``), then against the scope
    (``ObjectOutOfScope``), both before any I/O.
    """

    def __init__(self, inner: ObjectStore, scope: ObjectScope) -> None:
        self.inner = inner
        self.scope = scope

    def readable(self, key: str) -> str:
        """Return ``key`` if the scope may read it; raises InvalidValue or ObjectOutOfScope."""
        if not self.scope.may_read(check_key(key)):
            raise ObjectOutOfScope(key, "read")
        return key

    def writable(self, key: str) -> str:
        """Return ``key`` if the scope may write it; raises InvalidValue or ObjectOutOfScope."""
        if not self.scope.may_write(check_key(key)):
            raise ObjectOutOfScope(key, "write")
        return key

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        return self.inner.put(self.writable(key), body, content_type=content_type)

    def open(self, key: str) -> AbstractContextManager[IO[bytes]]:
        return self.inner.open(self.readable(key))

    def get(self, key: str) -> bytes:
        return self.inner.get(self.readable(key))

    def head(self, key: str) -> ObjectInfo:
        return self.inner.head(self.readable(key))

    def exists(self, key: str) -> bool:
        return self.inner.exists(self.readable(key))

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        check_prefix(prefix)
        if not prefix.startswith(self.scope.read_prefixes):
            raise ObjectOutOfScope(prefix, "list")
        return self.inner.list(prefix)

    def copy(self, source: str, destination: str) -> ObjectInfo:
        return self.inner.copy(self.readable(source), self.writable(destination))

    def delete_many(self, keys: Iterable[str]) -> builtins.list[DeleteFailure]:
        allowed: builtins.list[str] = []
        failures: builtins.list[DeleteFailure] = []
        for key in keys:
            try:
                allowed.append(self.writable(key))
            except (InvalidValue, ObjectOutOfScope) as error:
                failures.append(DeleteFailure(key, type(error).__name__, str(error)))
        return failures + self.inner.delete_many(allowed)


def scoped_store(objects: ObjectStore, scope: ObjectScope, session_name: str) -> ObjectStore:
    """``objects`` limited to ``scope``; on S3 with a scope role, also by S3 itself."""
    if isinstance(objects, ScopedObjectStore):
        objects = objects.inner
    if isinstance(objects, S3ObjectStore) and objects.scope_role_arn:
        objects = objects.assume_scope(scope, session_name)
    return ScopedObjectStore(objects, scope)


def session_name_of(name: str) -> str:
    """An AssumeRole session name (2-64 characters of ``[\\w+=,.@-]``) from a run id."""
    return ("brygge-" + _SESSION_NAME.sub("-", name))[:64]


def session_policy(bucket: str, scope: ObjectScope) -> dict[str, Any]:
    """The inline session policy that limits assumed credentials to ``scope``.

    The role's own policy still applies: the session gets the intersection of both.
    """
    arn = f"arn:aws:s3:::{bucket}"
    reads = [f"{arn}/{prefix}*" for prefix in scope.read_prefixes]
    reads += [f"{arn}/{key}" for key in sorted(scope.lookup_keys)]
    statements: builtins.list[dict[str, Any]] = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": reads},
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": [f"{arn}/{prefix}*" for prefix in scope.write_prefixes],
        },
        {
            # Listing what the scope may read turns a missing key into a 404, not a 403.
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": arn,
            "Condition": {
                "StringLike": {"s3:prefix": [f"{prefix}*" for prefix in scope.read_prefixes]}
            },
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def local_file(objects: ObjectStore, key: str) -> Path | None:
    """The file holding ``key`` when ``objects`` keeps files locally, else None.

    Checks the key as a read of ``objects`` would (InvalidValue, ObjectOutOfScope).
    """
    if isinstance(objects, ScopedObjectStore):
        return local_file(objects.inner, objects.readable(key))
    if isinstance(objects, LocalObjectStore):
        return objects.path(key)
    return None


def move_in(objects: ObjectStore, key: str, source: Path) -> ObjectInfo | None:
    """Move the file ``source`` in as ``key`` when ``objects`` keeps files locally, else None."""
    if isinstance(objects, ScopedObjectStore):
        return move_in(objects.inner, objects.writable(key), source)
    if isinstance(objects, LocalObjectStore):
        return objects.move_in(key, source)
    return None


def download(objects: ObjectStore, key: str, destination: Path) -> Path:
    """Stream an object into the file ``destination`` and return its path."""
    with objects.open(key) as body, destination.open("wb") as target:
        shutil.copyfileobj(body, target, CHUNK_BYTES)
    return destination


__all__ = [
    "DeleteFailure",
    "LocalObjectStore",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectOutOfScope",
    "ObjectScope",
    "ObjectStore",
    "S3ObjectStore",
    "ScopedObjectStore",
    "check_name",
    "download",
    "local_file",
    "move_in",
    "scoped_store",
    "session_policy",
]
