"""ObjectStore: the files of the data lake, in a local directory or an S3 bucket.

Both stores use the key layout of ``pipelines.object_keys``; a key outside it is refused
with ``InvalidValue(field="key")`` before any I/O. Bodies stream in chunks: no operation holds
a whole object in memory.

``base`` holds the protocol, its errors and the key checks; ``local`` and ``s3`` the two
stores; ``scopes`` a run's scope and the store that keeps its steps inside it; ``files``
moves objects to and from local files. Callers import from this package.
"""

from __future__ import annotations

from pipelines.objects.base import (
    CHUNK_BYTES,
    DeleteFailure,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    ObjectOutOfScope,
    ObjectStore,
    check_delivered_key,
    check_key,
    check_name,
    check_prefix,
    sha256_of,
)
from pipelines.objects.files import download, local_file, move_in
from pipelines.objects.local import LocalObjectStore
from pipelines.objects.s3 import S3ObjectStore, session_name_of, session_policy
from pipelines.objects.scopes import ObjectScope, ScopedObjectStore, scoped_store

__all__ = [
    "CHUNK_BYTES",
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
    "check_delivered_key",
    "check_key",
    "check_name",
    "check_prefix",
    "download",
    "local_file",
    "move_in",
    "scoped_store",
    "session_name_of",
    "session_policy",
    "sha256_of",
]
