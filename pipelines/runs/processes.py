"""Local steps in worker processes: a warm pool, each worker under memory and CPU limits.

A step that crashes (a native abort, a Rust panic, an allocation past ``RLIMIT_AS``) or runs
past its time takes down its worker, never the server: the step fails with a named error,
``Brygge.StepCrashed`` or ``States.Timeout``, and the pool starts a fresh worker.

Workers are forked from a forkserver (``multiprocessing``), which forks from a small, clean
process rather than from the threaded server. A worker imports the step's handler by its
import path (``module:attribute``), runs it with the object store and limits it is sent,
and reports to the server's recorder through its pipe: every recorder call is a request
the server answers, so records land in the order the step makes them.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.asl.errors import Cancelled, StatesError, Timeout
from pipelines.steps.contract import StepRecorder

if TYPE_CHECKING:
    from pipelines.objects import ObjectStore
    from pipelines.steps.contract import StepLimits

CRASHED = "Brygge.StepCrashed"
_PR_SET_PDEATHSIG = 1
# How often a waiting server thread checks whether the run was cancelled.
_POLL_S = 0.5
# Steps are batch work beside a server answering requests on the same cores: a worker runs
# below the server's priority, so a busy step slows itself rather than every request.
STEP_NICENESS = 10
# The recorder methods a worker may call back: those of the StepRecorder protocol.
_RECORDER_METHODS = frozenset(
    name
    for name, value in vars(StepRecorder).items()
    if callable(value) and not name.startswith("_")
)


@dataclass(frozen=True, slots=True)
class ProcessLimits:
    """What one worker process may use: address space (MB) and CPU seconds per step.

    ``temp_root``: where each worker keeps its temporary files (``worker-<pid>``), emptied
    after each step and removed with the worker; None keeps the system's.
    """

    memory_mb: int
    cpu_seconds: int
    temp_root: str | None = None


class StepCrashed(StatesError):
    """``Brygge.StepCrashed``: the step's worker process died or the step hit a fatal error."""

    def __init__(self, cause: str) -> None:
        super().__init__(CRASHED, cause)


def handler_path(function: Callable[..., Any]) -> str | None:
    """``module:qualname`` of a module-level function a worker can import, else None."""
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", "")
    if not module or not name or "<" in name or "." in name or module == "__main__":
        return None
    return f"{module}:{name}"


def import_handler(path: str) -> Callable[[Any, Any], Any]:
    """The function an import path ``module:attribute`` names."""
    module_name, _, attribute = path.partition(":")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attribute)
    return handler


class _Worker:
    """One worker process and the server's end of its pipe."""

    def __init__(self, context: Any, limits: ProcessLimits) -> None:
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(child, limits), name="brygge-step", daemon=True
        )
        self.process.start()
        child.close()
        self.temp_dir = worker_temp_dir(limits, self.process.pid)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def death(self) -> str:
        """Why the worker process ended, in words."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        if code is None:
            return "the step's worker process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if -code == signal.SIGXCPU:
                return "the step's worker process used up its CPU time (SIGXCPU)"
            return f"the step's worker process was killed by {name}"
        return f"the step's worker process exited with status {code}"


class StepProcesses:
    """A bounded pool of warm worker processes that run step handlers under limits."""

    def __init__(self, size: int, limits: ProcessLimits) -> None:
        self.size = size
        self.limits = limits
        self._context = multiprocessing.get_context("forkserver")
        self._idle: list[_Worker] = []
        self._busy = 0
        self._condition = threading.Condition()
        self._closed = False

    def call(
        self,
        path: str,
        event: Any,
        *,
        objects: ObjectStore,
        recorder: StepRecorder,
        limits: StepLimits,
        timeout_s: float,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Any:
        """Run the handler at ``path`` on ``event`` in a worker and return its result.

        Raises StatesError named after the handler's exception when it fails, StepCrashed
        when the worker dies or the step hits a fatal error (out of memory, a panic),
        Timeout past ``timeout_s`` and Cancelled once ``cancelled()`` turns true; in the
        last three cases the worker is killed and replaced, and its temporary folder goes.
        """
        worker = self._acquire()
        healthy = False
        try:
            try:
                worker.connection.send(("run", path, event, objects, limits))
            except (OSError, ValueError) as error:
                raise StepCrashed(f"the step could not be sent to its worker: {error}") from None
            reply = self._wait(worker, recorder, timeout_s, cancelled)
            kind = reply[0]
            if kind == "ok":
                healthy = True
                return reply[1]
            _, error_name, cause, is_fatal = reply
            if is_fatal:
                raise StepCrashed(f"{error_name}: {cause}")
            healthy = True
            raise StatesError(error_name, cause)
        finally:
            self._release(worker, healthy=healthy)

    def _wait(
        self,
        worker: _Worker,
        recorder: StepRecorder,
        timeout_s: float,
        cancelled: Callable[[], bool],
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Timeout(f"The task ran longer than its TimeoutSeconds ({timeout_s:g} s)")
            if cancelled():
                raise Cancelled("the run stopped while its step was running")
            try:
                if not worker.connection.poll(min(remaining, _POLL_S)):
                    continue
                message = worker.connection.recv()
            except (EOFError, OSError):
                raise StepCrashed(worker.death()) from None
            if message[0] != "call":
                return message
            _, method, args, kwargs = message
            try:
                if method not in _RECORDER_METHODS:
                    raise ValueError(f"a worker may not call {method!r}")
                answer: tuple[str, Any] = ("ok", getattr(recorder, method)(*args, **kwargs))
            except Exception as error:
                answer = ("error", f"{type(error).__name__}: {error}")
            try:
                worker.connection.send(answer)
            except OSError:
                raise StepCrashed(worker.death()) from None

    def _acquire(self) -> _Worker:
        with self._condition:
            while not self._idle and self._busy >= self.size:
                self._condition.wait()
            if self._closed:
                raise StepCrashed("the server is shutting down")
            self._busy += 1
            if self._idle:
                return self._idle.pop()
        try:
            return _Worker(self._context, self.limits)
        except BaseException:
            with self._condition:
                self._busy -= 1
                self._condition.notify()
            raise

    def _release(self, worker: _Worker, *, healthy: bool) -> None:
        if not healthy or not worker.process.is_alive():
            worker.stop()
            worker = None  # type: ignore[assignment]
        with self._condition:
            self._busy -= 1
            if worker is not None:
                if self._closed:
                    worker.stop()
                else:
                    self._idle.append(worker)
            self._condition.notify()

    def warm_up(self, count: int = 1) -> None:
        """Start ``count`` idle workers ahead of the first step (at most the pool's size)."""
        with self._condition:
            missing = min(count, self.size) - len(self._idle) - self._busy
            self._busy += max(missing, 0)
        for _ in range(max(missing, 0)):
            self._release(_Worker(self._context, self.limits), healthy=True)

    def close(self) -> None:
        """Stop the idle workers; busy ones stop when their step ends."""
        with self._condition:
            self._closed = True
            idle, self._idle = self._idle, []
            self._condition.notify_all()
        for worker in idle:
            worker.stop()


class _RemoteRecorder:
    """A StepRecorder in a worker: each call is a request the server answers."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def __getattr__(self, method: str) -> Callable[..., Any]:
        if method not in _RECORDER_METHODS:
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._connection.send(("call", method, args, kwargs))
            kind, value = self._connection.recv()
            if kind != "ok":
                raise RuntimeError(f"recording failed: {value}")
            return value

        return call


def worker_temp_dir(limits: ProcessLimits, pid: int | None) -> Path | None:
    """The temporary folder of the worker process ``pid``, if the limits give a root."""
    if limits.temp_root is None or pid is None:
        return None
    return Path(limits.temp_root) / f"worker-{pid}"


def _use_temp_dir(limits: ProcessLimits) -> Path | None:
    folder = worker_temp_dir(limits, os.getpid())
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    # tempfile and polars (its spill files) both follow these.
    tempfile.tempdir = str(folder)
    os.environ["TMPDIR"] = os.environ["POLARS_TEMP_DIR"] = str(folder)
    return folder


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _apply_limits(limits: ProcessLimits) -> None:
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.nice(STEP_NICENESS)
    # A worker whose forkserver (and so whose server) is gone ends at once, not after its step.
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _limit_cpu(seconds: int) -> None:
    """Let the next step use ``seconds`` more CPU time; SIGXCPU ends the worker past it."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = used + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _serve(connection: Connection, limits: ProcessLimits) -> None:
    """A worker's loop: run steps as the server sends them, until the pipe closes."""
    from pipelines.steps.runtime import use_environment, use_limits

    # The server handles interrupts; a worker ends when its pipe closes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _apply_limits(limits)
    temp_dir = _use_temp_dir(limits)
    recorder = _RemoteRecorder(connection)
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        _, path, event, objects, step_limits = message
        _limit_cpu(limits.cpu_seconds)
        is_fatal = False
        try:
            handler = import_handler(path)
            with use_environment(objects, recorder), use_limits(step_limits):  # type: ignore[arg-type]
                reply: tuple[Any, ...] = ("ok", handler(event, None))
        except BaseException as error:  # a Rust panic is a BaseException: it must not escape
            # Past a MemoryError or a panic the worker's state is suspect: it is replaced.
            is_fatal = isinstance(error, MemoryError) or not isinstance(error, Exception)
            reply = ("error", type(error).__name__, str(error), is_fatal)
        try:
            connection.send(reply)
        except Exception as error:  # a result that does not pickle
            connection.send(("error", "Runtime.MarshalError", str(error), False))
        if temp_dir is not None:
            _empty(temp_dir)  # what a step left behind goes with it
        if is_fatal:
            os._exit(1)


_POOLS: dict[tuple[int, ProcessLimits], StepProcesses] = {}
_POOLS_LOCK = threading.Lock()


def shared_pool(size: int, limits: ProcessLimits) -> StepProcesses:
    """The process-wide pool of this size and these limits (apps in one process share it)."""
    with _POOLS_LOCK:
        pool = _POOLS.get((size, limits))
        if pool is None:
            pool = _POOLS[(size, limits)] = StepProcesses(size, limits)
        return pool
