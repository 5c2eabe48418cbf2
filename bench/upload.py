"""Local upload throughput and server memory: 1 GB through ``POST /uploads/{token}``.

Starts ``brygge serve`` (local mode, 127.0.0.1) and streams a file of ``--mb`` megabytes
(fixed seed) through the signed upload endpoint, alternating with a plain file copy of the
same file (the baseline) in the same run; median of ``--rounds``. The server's peak RSS
growth is read from ``/proc/<pid>/status`` (VmHWM after the uploads minus VmRSS before).
The upload URL is signed for a key no run waits for, so the figure is the endpoint's
streaming alone (the trigger logs the key and ignores it).

    .venv/bin/python bench/upload.py [--mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024
SECRET = "bench-secret"
KEY = "raw/green/bench/version=1/edition=20260102T030405/upload.bin"
RSS_TARGET_MB = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_file(path: Path, size_mb: int) -> None:
    block = random.Random(42).randbytes(MB)
    with path.open("wb") as out:
        for number in range(size_mb):
            # Vary each block a little so no layer can deduplicate the data.
            out.write(number.to_bytes(8, "big") + block[8:])


class MultipartBody:
    """A multipart/form-data body streamed from disk: fields, then the file, then the end."""

    def __init__(self, fields: dict[str, str], path: Path, boundary: str) -> None:
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        self.head = head.encode()
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.path = path
        self.size = len(self.head) + path.stat().st_size + len(self.tail)
        self.pending = b""
        self.file = None

    def __len__(self) -> int:
        return self.size

    def read(self, size: int = -1) -> bytes:
        if self.file is None:
            self.file = self.path.open("rb")  # type: ignore[assignment]
            self.pending = self.head
        if self.pending:
            chunk, self.pending = self.pending, b""
            return chunk
        chunk = self.file.read(size if size > 0 else MB)  # type: ignore[attr-defined]
        if chunk:
            return chunk
        if self.tail:
            chunk, self.tail = self.tail, b""
            return chunk
        self.file.close()  # type: ignore[attr-defined]
        return b""


def proc_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def upload_once(url: str, home: Path, source: Path) -> float:
    from pipelines.presign import local_upload

    target = local_upload(
        url,
        KEY,
        max_bytes=source.stat().st_size,
        content_type=None,
        ttl_s=600,
        now=datetime.now(UTC),
        signing_key=SECRET.encode(),
    )
    boundary = "brygge-bench-boundary"
    body = MultipartBody(target.fields, source, boundary)
    started = time.perf_counter()
    response = requests.post(
        target.url,
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 204:
        raise RuntimeError(f"upload failed: {response.status_code} {response.text}")
    stored = home / "objects" / KEY
    if stored.stat().st_size != source.stat().st_size:
        raise RuntimeError("the stored object has the wrong size")
    stored.unlink()
    return elapsed


def copy_once(source: Path, directory: Path) -> float:
    """``shutil.copyfile``: the kernel copies (copy_file_range/sendfile), no user-space pass."""
    target = directory / "copy.bin"
    started = time.perf_counter()
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def loop_copy_once(source: Path, directory: Path) -> float:
    """A 1 MiB read/write loop: what any user-space writer of the same bytes pays."""
    target = directory / "loop.bin"
    started = time.perf_counter()
    with source.open("rb") as reader, target.open("wb") as writer:
        while chunk := reader.read(MB):
            writer.write(chunk)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="brygge-bench-upload-") as temp:
        directory = Path(temp)
        source = directory / "source.bin"
        make_file(source, args.mb)
        home = directory / "home"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BRYGGE_", "AWS_"))}
        env.update(
            BRYGGE_HOME=str(home),
            BRYGGE_SECRET_KEY=SECRET,
            BRYGGE_AUTH="off",
            BRYGGE_UPLOAD_MAX_BYTES=str(args.mb * MB + MB),
        )
        script = Path(sys.executable).with_name("brygge")
        log = (directory / "serve.log").open("wb")
        server = subprocess.Popen(
            [str(script), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("brygge serve did not start")
                time.sleep(0.05)
            # A small upload first, so imports and first-request work are not counted.
            warm = directory / "warm.bin"
            warm.write_bytes(b"warm" * 1024)
            upload_once(url, home, warm)
            rss_before_kb = proc_kb(server.pid, "VmRSS")
            uploads, copies, loops = [], [], []
            for _ in range(args.rounds):
                copies.append(copy_once(source, directory))
                loops.append(loop_copy_once(source, directory))
                uploads.append(upload_once(url, home, source))
            peak_kb = proc_kb(server.pid, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
    upload_s = statistics.median(uploads)
    copy_s = statistics.median(copies)
    upload_mbs = args.mb / upload_s
    copy_mbs = args.mb / copy_s
    loop_mbs = args.mb / statistics.median(loops)
    growth_mb = (peak_kb - rss_before_kb) / 1024
    ok = "ok" if growth_mb < RSS_TARGET_MB else "MISSED"
    print(
        f"upload_{args.mb}mb brygge {upload_mbs:.0f} MB/s ({upload_s:.2f} s) "
        f"file copy {copy_mbs:.0f} MB/s ({copy_s:.2f} s) ratio {upload_mbs / copy_mbs:.2f}x"
    )
    print(
        f"upload_{args.mb}mb brygge {upload_mbs:.0f} MB/s "
        f"read/write loop copy {loop_mbs:.0f} MB/s ratio {upload_mbs / loop_mbs:.2f}x"
    )
    print(
        f"server_peak_rss_growth brygge {growth_mb:.1f} MB "
        f"(baseline rss {rss_before_kb / 1024:.0f} MB) target < {RSS_TARGET_MB} MB {ok}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
