"""A 300 MB file through ``brygge upload`` and through the multipart path, memory flat."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from brygge import Client
from brygge.transfers import send_multipart
from tests.brygge.test_transfers import bucket, multipart_answer, s3_object  # noqa: F401
from tests.e2e.conftest import Server, brygge_command

pytestmark = pytest.mark.slow

SIZE = 300 * 1024 * 1024
LINE = b"Alna;2026-12-06T10:00:00Z;12.5;a reading that fills the line out\n"
# Client RSS may grow by at most this much for a 300 MB file over a tiny one (issue 15).
RSS_GROWTH_BYTES = 50 * 1024 * 1024


def write_file(path: Path, size: int) -> str:
    """A CSV-like file of ``size`` bytes on disk; its sha256."""
    digest = hashlib.sha256()
    block = LINE * (1024 * 1024 // len(LINE))
    with path.open("wb") as out:
        left = size
        while left:
            chunk = block[:left]
            out.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def upload_peak_rss(server: Server, source: Path, target: str) -> int:
    """``brygge upload`` run as a person runs it; its peak resident memory in bytes."""
    process = subprocess.Popen(
        [*brygge_command(), "upload", str(source), target, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "BRYGGE_URL": server.url},
    )
    # wait4 gives this one child's own peak, which RUSAGE_CHILDREN would mix with others'.
    _pid, status, usage = os.wait4(process.pid, 0)
    stdout, stderr = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    process.stdout.close()  # type: ignore[union-attr]
    process.stderr.close()  # type: ignore[union-attr]
    assert os.waitstatus_to_exitcode(status) == 0, (stdout, stderr)
    return usage.ru_maxrss * 1024  # kilobytes on Linux


def test_a_300_mb_upload_through_brygge_upload_arrives_whole_with_flat_memory(
    client: Client, brygge_server: Server, tmp_path: Path
) -> None:
    # No pipeline: the file is published as it is, so the test measures the transfer alone.
    dataset_id = client.create_dataset(
        {"title": "Store målinger", "accessRights": "public", "owner": "team:miljo"}
    )["id"]
    small = tmp_path / "small.csv"
    write_file(small, 64 * 1024)
    big = tmp_path / "big.csv"
    expected = write_file(big, SIZE)

    small_rss = upload_peak_rss(brygge_server, small, f"ds:{dataset_id}")
    big_rss = upload_peak_rss(brygge_server, big, f"ds:{dataset_id}")

    assert big_rss - small_rss <= RSS_GROWTH_BYTES, (small_rss, big_rss)
    stored = [
        path
        for path in (brygge_server.home / "objects").rglob("big.csv")
        if "/raw/" in path.as_posix()
    ]
    assert stored, "the upload left no raw object"
    assert all(path.stat().st_size == SIZE for path in stored)
    assert sha256_of(stored[0]) == expected


def test_a_300_mb_file_through_the_multipart_path_to_s3(
    bucket: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    source = tmp_path / "big.csv"
    expected = write_file(source, SIZE)
    key = "raw/green/a/version=1/edition=1/big.csv"
    answer = multipart_answer(bucket, key, SIZE)
    parts = answer["upload"]["multipart"]["parts"]
    assert len(parts) > 1
    sent: list[int] = []

    send_multipart(
        answer["upload"],
        source,
        progress=lambda done, _total: sent.append(done),
        state_file=tmp_path / "state.json",
        answer=answer,
    )

    assert max(sent) == SIZE
    assert hashlib.sha256(s3_object(key)).hexdigest() == expected
