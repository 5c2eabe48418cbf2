"""Local history of event datasets: append-only buffer files, closed into editions.

Each process that accepts events writes them, one JSON object per line, to a file per
dataset, version and batch window under ``<home>/events/<writer>/<dataset>/<version>/``,
and hands it to the operating system before the POST answers: an accepted event outlives
the process, as a commit of the SQLite store (WAL, ``synchronous = NORMAL``) does. The
flush timer fsyncs the windows written since its last round, so a power loss takes at most
the last interval's events, as it may take the store's last commits; an fsync per POST
would cost each batch a disk round trip (about a millisecond here, up to several at the
tail) while the store around it gives no stronger promise. A window closes when it holds
the source's ``maxEvents`` or is ``maxSeconds`` old; closing renames its file (``.open`` →
``.closed``), and the flush (a timer of ``brygge serve``, and at shutdown) hands each
closed file to ``event_windows.close_window``, which makes its edition and run once, then
deletes it.

A window holds the events of one event schema: an append under another schema (the
dataset's source changed while the window was open) closes it and opens the next. The
schema its events were accepted under (``event_pipeline.history_schema``) is kept once per
writer, ``<writer>/_schemas/<digest>.json``, and named by the window file, so its run reads
the window with that schema, not with the one in force when it closes.

A writer holds an exclusive lock on ``<writer>/lock`` while it lives. A writer whose lock is
free has died (a crash, a SIGKILL): the next start (and every flush) takes its windows over,
cuts a line the crash left half written (that POST never answered), and flushes them. A
window flushed twice makes one edition (``EventWindowRepository``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from catalogue.runs.arrival import handle_object_created
from catalogue.runs.event_pipeline import history_schema, schema_digest, schema_text
from catalogue.runs.event_windows import Window, close_window

if TYPE_CHECKING:
    from catalogue.services import Services

log = logging.getLogger(__name__)

OPEN, CLOSED = ".open", ".closed"
LOCK = "lock"
# Beside the dataset folders of a writer; a dataset id never starts with "_".
SCHEMAS = "_schemas"
# A window's name: when it opened (UTC, microseconds), a random part and the digest of its
# schema (windows written before schemas were kept have none).
WINDOW_TIME = "%Y%m%dT%H%M%S%fZ"
ISO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
# One encoder for every line: json.dumps with options builds a new one per call.
_encode_line = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(slots=True)
class _OpenWindow:
    path: Path
    handle: IO[bytes]
    opened: datetime
    events: int
    max_events: int
    max_seconds: int
    schema: dict[str, Any]
    # Written since the last sync: the timer fsyncs it.
    dirty: bool = False


class EventBuffer:
    """The buffer files of one process; ``append`` is safe from many threads."""

    def __init__(self, services: Services, root: Path) -> None:
        self.services = services
        self.root = root
        self.writer = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.directory = root / self.writer
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_file = (self.directory / LOCK).open("a+b")
        # Held for the life of the process; the kernel drops it when the process dies.
        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._windows: dict[tuple[str, str], _OpenWindow] = {}
        self._unsynced_schemas: list[Path] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._stop = threading.Event()

    # Appending --------------------------------------------------------------------------

    def append(
        self, dataset: Mapping[str, Any], version: str, events: Sequence[Mapping[str, Any]]
    ) -> None:
        """Append accepted events to their windows (in the OS's hands on return); full
        windows close."""
        if not events:
            return
        lines = [_encode_line(event).encode() + b"\n" for event in events]
        batch = dataset["source"]["batch"]
        # The schema that accepted these events (the caller checked them with ``dataset``).
        schema = history_schema(dataset["source"])
        key = (dataset["id"], version)
        touched: list[_OpenWindow] = []
        with self._lock:
            current = self._windows.get(key)
            if current is not None and current.schema != schema:
                self._close(key)
            while lines:
                window = self._windows.get(key) or self._open(key, batch, schema)
                room = window.max_events - window.events
                window.handle.write(b"".join(lines[:room]))
                window.events += len(lines[:room])
                lines = lines[room:]
                touched.append(window)
                if window.events >= window.max_events:
                    self._close(key)
            for window in touched:
                if not window.handle.closed:
                    window.handle.flush()
                    window.dirty = True

    def _open(
        self, key: tuple[str, str], batch: Mapping[str, int], schema: dict[str, Any]
    ) -> _OpenWindow:
        opened = self.services.clock().astimezone(UTC)
        digest = self._keep_schema(schema)
        name = f"{opened.strftime(WINDOW_TIME)}-{secrets.token_hex(4)}-{digest}"
        folder = self.directory / key[0] / key[1]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}{OPEN}"
        window = _OpenWindow(
            path,
            path.open("ab"),
            opened,
            0,
            batch["maxEvents"],
            batch["maxSeconds"],
            schema,
            dirty=True,
        )
        self._windows[key] = window
        return window

    def _keep_schema(self, schema: Mapping[str, Any]) -> str:
        """Store a window's schema once (lock held; the next sync makes it durable); its
        digest."""
        text = schema_text(schema)
        digest = schema_digest(schema)
        path = self.directory / SCHEMAS / f"{digest}.json"
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            partial = path.with_suffix(".partial")
            partial.write_text(text, encoding="utf-8")
            partial.rename(path)
            self._unsynced_schemas.append(path)
        return digest

    def _close(self, key: tuple[str, str]) -> None:
        """Close a window (lock held): its file complete, then renamed for the flush."""
        window = self._windows.pop(key)
        window.handle.flush()
        window.handle.close()
        window.path.rename(window.path.with_suffix(CLOSED))

    def sync(self) -> int:
        """Fsync the open windows written since the last sync, and their folders; how many.

        The disk waits happen outside the lock, on duplicated descriptors: appends go on,
        and a window closing meanwhile leaves its file to the flush. Schemas stored since
        the last sync go first, as their windows read them.
        """
        with self._lock:
            schemas, self._unsynced_schemas = self._unsynced_schemas, []
        for path in schemas:
            _fsync_file(path)
        if schemas:
            _fsync_directory(self.directory / SCHEMAS)
        with self._lock:
            dirty = [window for window in self._windows.values() if window.dirty]
            descriptors = []
            for window in dirty:
                window.dirty = False
                descriptors.append((os.dup(window.handle.fileno()), window.path.parent))
        for descriptor, folder in descriptors:
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            _fsync_directory(folder)
        return len(descriptors)

    def close_due(self, now: datetime | None = None) -> int:
        """Close the windows that have been open ``maxSeconds``; how many closed."""
        now = now or self.services.clock()
        with self._lock:
            due = [
                key
                for key, window in self._windows.items()
                if now >= window.opened + timedelta(seconds=window.max_seconds)
            ]
            for key in due:
                self._close(key)
        return len(due)

    # Flushing ---------------------------------------------------------------------------

    def flush(self, *, close_all: bool = False) -> list[str]:
        """Close due windows (all of them with ``close_all``) and turn every closed window
        of this writer and of dead writers into editions; the run ids started.

        A window whose flush fails stays for the next flush.
        """
        if close_all:
            with self._lock:
                for key in list(self._windows):
                    self._close(key)
        else:
            self.sync()
            self.close_due()
        runs: list[str] = []
        with self._flushing:
            for directory, lock in self._writers():
                try:
                    runs += self._flush_writer(directory, lock)
                finally:
                    if lock is not None:
                        lock.close()
        return runs

    def _writers(self) -> list[tuple[Path, IO[bytes] | None]]:
        """This writer's folder, then those of writers that have died (with their lock)."""
        found: list[tuple[Path, IO[bytes] | None]] = [(self.directory, None)]
        for directory in sorted(self.root.iterdir()) if self.root.is_dir() else []:
            if directory == self.directory or not directory.is_dir():
                continue
            lock = _take_lock(directory)
            if lock is not None:
                found.append((directory, lock))
        return found

    def _flush_writer(self, directory: Path, lock: IO[bytes] | None) -> list[str]:
        """Flush a writer's closed windows (all of them for a dead writer, ``lock`` held)."""
        own = lock is None
        runs = []
        failed = False
        pattern = f"*/*/*{CLOSED}" if own else "*/*/*"
        for path in sorted(directory.glob(pattern)):
            if path.suffix not in (OPEN, CLOSED):
                continue
            try:
                run = self._flush_file(path)
            except Exception:
                log.exception("flushing the batch window %s failed; it is kept", path)
                failed = True
                continue
            if run:
                runs.append(run)
        if not own and not failed:
            shutil.rmtree(directory, ignore_errors=True)
        return runs

    def _flush_file(self, path: Path) -> str | None:
        """Close one window file into its edition and delete it; the run id, if any."""
        # What a dead writer's last, unanswered POST half wrote goes; so does a tail a power
        # loss tore off a window closed since the last sync. A whole file is left as it is.
        _cut_partial_line(path)
        version_folder = path.parent
        name = path.name.removesuffix(path.suffix)
        opened = datetime.strptime(name.split("-", 1)[0], WINDOW_TIME).replace(tzinfo=UTC)
        ended = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        with path.open("rb") as handle:
            count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
        if count == 0:
            path.unlink()
            return None
        window = Window(
            dataset=version_folder.parent.name,
            version=version_folder.name,
            name=name,
            started=opened.strftime(ISO_TIME),
            ended=max(ended, opened).strftime(ISO_TIME),
            events=count,
            schema=_window_schema(version_folder.parent.parent, name),
        )
        result = close_window(self.services, window, lambda: path.open("rb"), handle_object_created)
        path.unlink()
        return result.run if result is not None else None

    # The timer --------------------------------------------------------------------------

    def start_timer(self, interval_s: float) -> None:
        """Flush every ``interval_s`` seconds in a daemon thread until ``stop``."""

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.flush()
                except Exception:
                    # The windows stay on disk; the next round tries again.
                    log.exception("flushing event windows failed")

        threading.Thread(target=loop, name="brygge-event-windows", daemon=True).start()

    def stop(self) -> list[str]:
        """Stop the timer and flush every window, open ones included (at shutdown)."""
        self._stop.set()
        return self.flush(close_all=True)


def _window_schema(writer: Path, name: str) -> dict[str, Any] | None:
    """The schema a window's events were accepted under; None if its name gives none."""
    parts = name.split("-")
    if len(parts) < 3:
        return None
    path = writer / SCHEMAS / f"{parts[2]}.json"
    try:
        return json.loads(path.read_bytes())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        log.warning("the schema of batch window %s is lost; the dataset's is used", name)
        return None


def _take_lock(directory: Path) -> IO[bytes] | None:
    """The lock of a writer that has died, now held by this process; None while it lives."""
    try:
        handle = (directory / LOCK).open("a+b")
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return None
    return handle


def _cut_partial_line(path: Path) -> None:
    """Truncate the file after its last newline (a write the crash interrupted)."""
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        position = size
        while position > 0:
            step = min(position, 1 << 16)
            handle.seek(position - step)
            block = handle.read(step)
            newline = block.rfind(b"\n")
            if newline >= 0:
                position = position - step + newline + 1
                break
            position -= step
        if position != size:
            handle.truncate(position)
            os.fsync(handle.fileno())


def _fsync_file(path: Path) -> None:
    """Make a file's content durable."""
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(path: Path) -> None:
    """Make a file's creation or rename in ``path`` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def event_buffer(services: Services) -> EventBuffer:
    """The buffer of a local application's process, under ``<home>/events``."""
    return EventBuffer(services, services.settings.home / "events")
