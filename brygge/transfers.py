"""Moving files: streamed form uploads, S3 multipart with resume, streamed downloads.

Memory stays flat: every body is a generator of CHUNK_BYTES pieces read from the file, and
every download is written as it arrives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import httpx

from brygge.resources import ClientError, Resource, path_of
from brygge.session import Retry, Session, retry_delay

if TYPE_CHECKING:
    from brygge.client import Client

Progress = Callable[[int, int], None]
# Called before a transfer is tried again: the attempt that failed (from 0), the Retry-After,
# and why it failed.
Wait = Callable[[int, str | None, str], None]

# 1 MiB: large enough that per-chunk overhead is noise, small enough that 4 parallel parts
# stay a few MB of memory.
CHUNK_BYTES = 1024 * 1024
PARALLEL_PARTS = 4
PART_ATTEMPTS = 4
# A store that is busy or restarting for a moment: 503 SlowDown from S3, 429 from a proxy.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The bytes go out over seconds to minutes; the answer may wait for the store to finish writing.
TRANSFER_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=120.0, pool=30.0)


def transfer_timeout(idle_s: float | None) -> httpx.Timeout:
    """How long a transfer waits on the store: ``TRANSFER_TIMEOUT``, or, with ``idle_s``
    (--timeout, BRYGGE_TIMEOUT), at most that long for each connect, read and write.

    Never a total: a large file takes as long as its bytes need, but a store that stops
    taking or sending them ends the transfer after ``idle_s``.
    """
    return TRANSFER_TIMEOUT if idle_s is None else httpx.Timeout(idle_s)


def pause(attempt: int, retry_after: str | None, reason: str = "") -> None:
    """Wait before a transfer is tried again: the store's Retry-After, else 0.5 s doubling."""
    time.sleep(retry_delay(attempt, retry_after, 0.5))


def state_directory() -> Path:
    """Where multipart upload state lives: ``$XDG_CACHE_HOME/brygge/uploads``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "brygge" / "uploads"


def upload(
    client: Client,
    dataset_id: str,
    path: Path,
    version: str,
    edition: str | None,
    *,
    content_type: str | None,
    progress: Progress | None,
    state_dir: Path | None,
) -> Resource:
    """Ask for an upload URL and send the file there; resume a crashed multipart upload.

    Interrupted (KeyboardInterrupt: Ctrl-C), the upload is given up before the interrupt
    goes on (``cancel_upload``): a cancelled upload is not resumed, nor left for the server
    to clear when its URL expires. Raises ClientError for a refused upload,
    FileNotFoundError for a missing file.
    """
    size = path.stat().st_size
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    state_file = (state_dir or state_directory()) / state_name(path, dataset_id, version, edition)
    answer = resumable_upload(state_file)
    if answer is None:
        body = {"filename": path.name, "contentType": content_type, "size": size}
        if edition:
            body["edition"] = edition
        answer = client.resource(
            "POST", path_of("datasets", dataset_id, "versions", version, "uploads"), json=body
        )
    target = answer["upload"]

    multipart = target.get("method") == "MULTIPART"
    store = host_of(target["multipart"]["completeUrl"] if multipart else target["url"])

    def wait(attempt: int, retry_after: str | None, reason: str) -> None:
        wait_s = client.backoff(attempt, retry_after)
        if client.on_retry is not None:
            method = "PUT" if multipart else "POST"
            client.on_retry(Retry(method, store, reason, wait_s, attempt + 1, PART_ATTEMPTS - 1))
        client.sleep(wait_s)

    timeout = transfer_timeout(client.total_timeout_s)
    try:
        if multipart:
            send_multipart(
                target,
                path,
                progress=progress,
                state_file=state_file,
                answer=answer,
                wait=wait,
                timeout=timeout,
            )
        else:
            post_form(
                target["url"],
                target.get("fields") or {},
                path,
                content_type,
                progress,
                wait=wait,
                timeout=timeout,
            )
    except KeyboardInterrupt as interrupt:
        told = cancel_upload(client, answer, state_file)
        raise UploadCancelled(answer, told=told) from interrupt
    return answer


class UploadCancelled(KeyboardInterrupt):
    """An upload interrupted (Ctrl-C) and given up: ``answer`` is the upload's, ``told``
    whether the server was told (else its run waits until its URL expires)."""

    def __init__(self, answer: Mapping[str, Any], *, told: bool) -> None:
        super().__init__("upload cancelled")
        self.answer = answer
        self.told = told


# How long giving up an upload may take: the user has asked to stop, not to wait.
CANCEL_TIMEOUT_S = 10.0


def cancel_upload(client: Client, answer: Mapping[str, Any], state_file: Path) -> bool:
    """Give up an upload whose file did not all go: abort its S3 multipart upload (the
    parts sent so far are dropped), forget its resume state, and abort its waiting run, so
    the server removes the edition the upload made (it would otherwise be the newest one,
    empty, until the URL expired). Whether the server was told; a server that cannot be
    told leaves the run to expire with its URL."""
    state_file.unlink(missing_ok=True)
    abort_url = ((answer.get("upload") or {}).get("multipart") or {}).get("abortUrl")
    if abort_url:
        with contextlib.suppress(httpx.HTTPError):
            httpx.delete(abort_url, timeout=CANCEL_TIMEOUT_S)
    run_id = (answer.get("run") or {}).get("id")
    if not run_id:
        return False
    with Session(
        client.url, client.token or "", retries=1, total_timeout_s=CANCEL_TIMEOUT_S
    ) as brief:
        try:
            brief.resource("POST", path_of("runs", run_id, "abort"))
        except ClientError as error:
            # 409: the run had already ended (or started, and stops now): nothing waits.
            return error.status == 409
    return True


def state_name(path: Path, dataset_id: str, version: str, edition: str | None) -> str:
    """One state file per file (path, size, modification time) and destination."""
    info = path.stat()
    identity = f"{path.resolve()}\0{info.st_size}\0{info.st_mtime_ns}\0{dataset_id}\0{version}"
    return hashlib.sha256(f"{identity}\0{edition or ''}".encode()).hexdigest()[:32] + ".json"


def resumable_upload(state_file: Path) -> Resource | None:
    """The upload answer a crashed multipart upload left, unless its URLs have expired."""
    if not state_file.exists():
        return None
    try:
        state = json.loads(state_file.read_text())
        expires = datetime.fromisoformat(state["answer"]["upload"]["expiresAt"])
    except (ValueError, KeyError, TypeError):
        state_file.unlink(missing_ok=True)
        return None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        state_file.unlink(missing_ok=True)
        return None
    return Resource(state["answer"])


def form_parts(
    fields: Mapping[str, str], filename: str, content_type: str
) -> tuple[bytes, bytes, str]:
    """The bytes before and after the file of a multipart/form-data body, and its boundary.

    The fields come first and the file last, as S3's presigned POST requires.
    """
    boundary = f"brygge-{secrets.token_hex(16)}"
    head = bytearray()
    for name, value in fields.items():
        head += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        head += f"{value}\r\n".encode()
    # Quotes and line breaks would end the header early; the server sanitises names anyway.
    safe_name = re.sub(r'["\r\n\\]', "_", filename)
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{safe_name}"\r\nContent-Type: {content_type}\r\n\r\n'
    ).encode()
    return bytes(head), f"\r\n--{boundary}--\r\n".encode(), boundary


def file_chunks(
    path: Path, first_byte: int, length: int, sent: Callable[[int], None]
) -> Iterator[bytes]:
    """``length`` bytes of the file from ``first_byte``, in CHUNK_BYTES pieces."""
    with path.open("rb") as file:
        file.seek(first_byte)
        left = length
        while left > 0:
            chunk = file.read(min(CHUNK_BYTES, left))
            if not chunk:
                raise ClientError(0, f"{path} became shorter while it was being uploaded")
            left -= len(chunk)
            sent(len(chunk))
            yield chunk


def post_form(
    url: str,
    fields: Mapping[str, str],
    path: Path,
    content_type: str,
    progress: Progress | None,
    *,
    wait: Wait = pause,
    timeout: httpx.Timeout = TRANSFER_TIMEOUT,
) -> None:
    """POST the fields, then the file, as a streamed multipart/form-data body.

    Retried from the start, after ``wait``, when no answer came or the target was busy or
    unavailable (nothing was stored then); raises ClientError when the target refuses the file.
    """
    size = path.stat().st_size
    head, tail, boundary = form_parts(fields, path.name, content_type)
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        # A known length: S3 refuses chunked transfer encoding for a POST.
        "Content-Length": str(len(head) + size + len(tail)),
    }
    for attempt in range(PART_ATTEMPTS):
        counter = Counter(size, progress)

        def body() -> Iterator[bytes]:
            yield head
            yield from file_chunks(path, 0, size, counter.add)  # noqa: B023 (used at once)
            yield tail

        try:
            with httpx.Client(timeout=timeout) as http:
                response = http.post(url, content=body(), headers=headers)
        except httpx.TransportError as error:
            if attempt == PART_ATTEMPTS - 1:
                raise ClientError(0, f"upload to {host_of(url)} failed: {error}") from None
            wait(attempt, None, f"{type(error).__name__}: {error}")
            continue
        if response.status_code in RETRY_STATUSES and attempt < PART_ATTEMPTS - 1:
            reason = f"the store answered {response.status_code}"
            wait(attempt, response.headers.get("Retry-After"), reason)
            continue
        if response.status_code >= 300:
            raise transfer_error(response)
        return


class Counter:
    """Bytes sent so far, shared by parallel parts, reported to the progress callback."""

    def __init__(self, total: int, progress: Progress | None, done: int = 0) -> None:
        self.total = total
        self.progress = progress
        self.done = done
        self.lock = threading.Lock()

    def add(self, count: int) -> None:
        with self.lock:
            self.done += count
            done = self.done
        if self.progress is not None:
            self.progress(done, self.total)


def send_multipart(
    target: Mapping[str, Any],
    path: Path,
    *,
    progress: Progress | None,
    state_file: Path,
    answer: Mapping[str, Any],
    parallel: int = PARALLEL_PARTS,
    wait: Wait = pause,
    timeout: httpx.Timeout = TRANSFER_TIMEOUT,
) -> None:
    """PUT every part not yet sent (in parallel, each retried), then complete the upload.

    Each finished part's ETag goes to ``state_file`` at once, so a crash loses at most the
    parts in flight; the file is removed once the upload is complete.
    """
    multipart = target["multipart"]
    size = path.stat().st_size
    state = load_state(state_file)
    etags: dict[str, str] = dict(state.get("etags") or {})
    lock = threading.Lock()

    def record(number: int, etag: str) -> None:
        with lock:
            etags[str(number)] = etag
            save_state(state_file, {"answer": dict(answer), "etags": dict(etags)})

    save_state(state_file, {"answer": dict(answer), "etags": etags})
    parts = multipart["parts"]
    waiting = [part for part in parts if str(part["partNumber"]) not in etags]
    already = sum(part["bytes"] for part in parts if str(part["partNumber"]) in etags)
    counter = Counter(size, progress, done=already)
    with httpx.Client(timeout=timeout) as http:
        if parallel <= 1:
            for part in waiting:
                record(part["partNumber"], put_part(http, part, path, counter, wait=wait))
        else:
            with ThreadPoolExecutor(max_workers=parallel) as pool:
                futures = [
                    (
                        part["partNumber"],
                        pool.submit(put_part, http, part, path, counter, wait=wait),
                    )
                    for part in waiting
                ]
                for number, future in futures:
                    record(number, future.result())
        ordered = [etags[str(part["partNumber"])] for part in parts]
        complete(http, multipart["completeUrl"], ordered)
    state_file.unlink(missing_ok=True)


def put_part(
    http: httpx.Client,
    part: Mapping[str, Any],
    path: Path,
    counter: Counter,
    *,
    wait: Wait = pause,
) -> str:
    """PUT one part (retried from its first byte, after ``wait``) and return its ETag."""
    for attempt in range(PART_ATTEMPTS):
        sent = 0

        def count(chunk_bytes: int) -> None:
            nonlocal sent
            sent += chunk_bytes
            counter.add(chunk_bytes)

        try:
            response = http.put(
                part["url"],
                content=file_chunks(path, part["firstByte"], part["bytes"], count),
                headers={"Content-Length": str(part["bytes"])},
            )
        except httpx.TransportError as error:
            counter.add(-sent)
            if attempt == PART_ATTEMPTS - 1:
                raise ClientError(0, f"part {part['partNumber']} failed: {error}") from None
            wait(attempt, None, f"part {part['partNumber']}: {type(error).__name__}: {error}")
            continue
        if (
            response.status_code >= 500 or response.status_code in RETRY_STATUSES
        ) and attempt < PART_ATTEMPTS - 1:
            counter.add(-sent)
            reason = f"part {part['partNumber']}: the store answered {response.status_code}"
            wait(attempt, response.headers.get("Retry-After"), reason)
            continue
        if response.status_code >= 300 or not response.headers.get("ETag"):
            raise transfer_error(response)
        return response.headers["ETag"]
    raise AssertionError("unreachable")  # the last attempt returns or raises


def complete(http: httpx.Client, url: str, etags: list[str]) -> None:
    """Complete a multipart upload; S3 may answer 200 with an error in the body."""
    parts = "".join(
        f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
        for number, etag in enumerate(etags, start=1)
    )
    body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
    response = http.post(url, content=body, headers={"Content-Type": "application/xml"})
    if response.status_code >= 300 or "<Error>" in response.text:
        raise transfer_error(response)


def transfer_error(response: httpx.Response) -> ClientError:
    """A ClientError from a store's answer: the API's JSON, or S3's XML ``<Message>``."""
    if "json" in response.headers.get("Content-Type", ""):
        return ClientError.from_response(response)
    code = re.search(r"<Code>(.*?)</Code>", response.text)
    message = re.search(r"<Message>(.*?)</Message>", response.text)
    return ClientError(
        response.status_code,
        message.group(1) if message else f"the upload was refused by {host_of(str(response.url))}",
        code=code.group(1) if code else "",
    )


def load_state(state_file: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(state_file.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def save_state(state_file: Path, state: Mapping[str, Any]) -> None:
    """Write the state atomically (a crash mid-write leaves the previous state)."""
    state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = state_file.with_suffix(f".{threading.get_ident()}.tmp")
    # The state holds presigned URLs: readable by the owner alone.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(state, file)
    temporary.replace(state_file)


def host_of(url: str) -> str:
    return urlsplit(url).netloc or url


def download(client: Client, api_path: str, directory: Path, *, progress: Progress | None) -> Path:
    """Follow the API's redirect to the file's short-lived URL and stream it into ``directory``.

    The file is written under a temporary name and renamed when complete, so an interrupted
    download never leaves a file that looks whole. Raises ClientError when the store
    refuses the file, or stops sending it (for the client's timeout, ``transfer_timeout``).
    """
    location = client.request("GET", api_path).headers.get("Location")
    if not location:
        raise ClientError(0, f"{api_path} answered without a download location")
    location = str(httpx.URL(client.url + "/").join(location))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return _stream_download(location, directory, progress, client.total_timeout_s)
    except httpx.TransportError as error:
        store = host_of(location)
        if isinstance(error, httpx.TimeoutException) and client.total_timeout_s is not None:
            raise ClientError(
                0,
                f"download from {store} stopped: no bytes came within "
                f"{client.total_timeout_s:g} s (--timeout / BRYGGE_TIMEOUT)",
            ) from None
        raise ClientError(0, f"download from {store} failed: {error}") from None


def _stream_download(
    location: str, directory: Path, progress: Progress | None, idle_s: float | None
) -> Path:
    with (
        httpx.Client(timeout=transfer_timeout(idle_s)) as http,
        http.stream("GET", location) as response,
    ):
        if response.status_code >= 300:
            response.read()
            raise transfer_error(response)
        name = download_name(response.headers.get("Content-Disposition", ""), location)
        target = directory / name
        partial = target.with_name(f".{name}.part")
        total = int(response.headers.get("Content-Length") or 0)
        counter = Counter(total, progress)
        try:
            with partial.open("wb") as file:
                for chunk in response.iter_bytes(CHUNK_BYTES):
                    file.write(chunk)
                    counter.add(len(chunk))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()
            raise
    partial.replace(target)
    return target


def download_name(disposition: str, url: str) -> str:
    """The file name a download names (``filename*=UTF-8''…`` first), never a path."""
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition, re.IGNORECASE)
    if match:
        name = unquote(match.group(1))
    else:
        plain = re.search(r'filename="?([^";]+)"?', disposition)
        name = plain.group(1) if plain else unquote(urlsplit(url).path.rpartition("/")[2])
    # A name from a server is untrusted: keep only its last component.
    name = name.replace("\\", "/").rpartition("/")[2].strip()
    return name if name not in ("", ".", "..") else "download"
