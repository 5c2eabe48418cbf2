"""Objects to and from local files: a rename where the store keeps files locally."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipelines.objects.base import CHUNK_BYTES, ObjectInfo, ObjectStore
from pipelines.objects.local import LocalObjectStore
from pipelines.objects.scopes import ScopedObjectStore


def local_file(objects: ObjectStore, key: str) -> Path | None:
    """The file holding ``key`` when ``objects`` keeps files locally, else None.

    Checks the key as a read of ``objects`` would (InvalidValue, ObjectOutOfScope).
    """
    if isinstance(objects, ScopedObjectStore):
        return local_file(objects.inner, objects.readable(key))
    if isinstance(objects, LocalObjectStore):
        return objects.path(key)
    return None


def move_in(
    objects: ObjectStore, key: str, source: Path, *, sha256: str | None = None
) -> ObjectInfo | None:
    """Move the file ``source`` in as ``key`` when ``objects`` keeps files locally, else None.

    ``sha256``, when given, is the file's own, taken by whoever wrote it.
    """
    if isinstance(objects, ScopedObjectStore):
        return move_in(objects.inner, objects.writable(key), source, sha256=sha256)
    if isinstance(objects, LocalObjectStore):
        return objects.move_in(key, source, sha256=sha256)
    return None


def download(objects: ObjectStore, key: str, destination: Path) -> Path:
    """Stream an object into the file ``destination`` and return its path."""
    with objects.open(key) as body, destination.open("wb") as target:
        shutil.copyfileobj(body, target, CHUNK_BYTES)
    return destination
