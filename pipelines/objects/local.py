"""LocalObjectStore: the objects as files under a directory, with S3's key layout."""

from __future__ import annotations

import builtins
import errno
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import IO

from pipelines.errors import InvalidValue
from pipelines.objects.base import (
    CHUNK_BYTES,
    DeleteFailure,
    ObjectExists,
    ObjectInfo,
    ObjectNotFound,
    check_key,
    check_prefix,
    sha256_of,
)


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

    def move_in(self, key: str, source: Path, *, sha256: str | None = None) -> ObjectInfo:
        """Store the local file ``source`` as ``key``, moving it rather than copying.

        A rename when ``source`` is on the same filesystem (atomic, no second copy of a large
        step output), else a streamed put; ``source`` is gone afterwards either way.
        ``sha256`` is the file's, when its writer took it; else it is read here.
        """
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if sha256 is None:
            with source.open("rb") as body:
                sha256, size = sha256_of(body)
        else:
            size = source.stat().st_size
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
