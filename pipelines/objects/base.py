"""The ObjectStore protocol, its errors, and the checks on keys, names and prefixes.

Every store (``local``, ``s3``, ``scopes``) implements ``ObjectStore``; a key outside the
layout of ``pipelines.object_keys`` is refused with ``InvalidValue(field="key")`` before any
I/O.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO, Protocol

from pipelines.errors import InvalidValue
from pipelines.object_keys import parse_delivered_events, parse_object_key

CHUNK_BYTES = 1024 * 1024


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


def check_delivered_key(key: str) -> str:
    """Return ``key`` if it names events Firehose delivered; raises InvalidValue otherwise."""
    if parse_delivered_events(key) is None:
        raise InvalidValue("key", f"{key!r} is not an object of delivered events")
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
