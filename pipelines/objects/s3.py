"""S3ObjectStore: the objects in one S3 bucket, and the session policy of a run's scope."""

from __future__ import annotations

import builtins
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from pipelines.aws import assumed_client, aws_client
from pipelines.errors import InvalidValue
from pipelines.objects.base import (
    DeleteFailure,
    ObjectInfo,
    ObjectNotFound,
    check_key,
    check_prefix,
    sha256_of,
)

if TYPE_CHECKING:
    from pipelines.objects.scopes import ObjectScope

# S3 DeleteObjects takes at most 1000 keys per request.
DELETE_BATCH = 1000
# CopyObject copies at most 5 GB in one request; larger objects need a multipart copy.
MAX_SINGLE_COPY_BYTES = 5 * 1024**3
SHA256_METADATA = "sha256"
# AssumeRole's shortest session, and a Lambda's longest run: enough for any step.
SESSION_SECONDS = 900
_SESSION_NAME = re.compile(r"[^\w+=,.@-]")


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

    def delete_versions_marked(self, key: str, name: str, keep: str | None) -> builtins.list[str]:
        """Delete every version of ``key`` whose metadata ``name`` is set to other than
        ``keep`` (None: set at all); return the version ids deleted.

        Versions without that metadata stay. Deleting by version id removes the object
        itself, not just hides it behind a delete marker.
        """
        bucket_key = self._key(key)
        paginator = self.client.get_paginator("list_object_versions")
        deleted: builtins.list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=bucket_key):
            for version in page.get("Versions", []):
                if version["Key"] != bucket_key:
                    continue
                version_id = version["VersionId"]
                # An unversioned bucket lists its one version as "null"; its key alone
                # names it (and deleting it deletes the object).
                which = {} if version_id == "null" else {"VersionId": version_id}
                head = self.client.head_object(Bucket=self.bucket, Key=bucket_key, **which)
                marked = head.get("Metadata", {}).get(name)
                if marked is not None and marked != keep:
                    self.client.delete_object(Bucket=self.bucket, Key=bucket_key, **which)
                    deleted.append(version_id)
        return deleted

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
