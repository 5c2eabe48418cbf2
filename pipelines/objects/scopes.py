"""ObjectScope: the objects one run's steps may touch, and the store that enforces it."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import IO

from pipelines.errors import InvalidValue
from pipelines.object_keys import ZONES
from pipelines.objects.base import (
    DeleteFailure,
    ObjectInfo,
    ObjectOutOfScope,
    ObjectStore,
    check_key,
    check_prefix,
)
from pipelines.objects.s3 import S3ObjectStore


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
