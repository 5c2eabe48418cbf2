"""The client's uploads: ``brygge upload`` beside ``curl -F`` to the same kind of URL, and
S3 multipart to moto's server beside boto3's own multipart ``upload_file``.

Starts ``brygge serve`` (local mode, 127.0.0.1) with a dataset without a pipeline, makes a file
of ``--mb`` megabytes (fixed seed), then alternates, ``--rounds`` times: ``brygge upload FILE
ds:bench`` (a subprocess, as a data owner runs it: start-up and the API call included) and
``curl -F`` of the fields and the file to an upload URL handed out the same way. Prints the
median throughput of each, the ratio, and the client's peak RSS growth (its VmHWM, from
wait4, minus that of ``brygge --help``). Then the same file through the SDK's multipart path
to moto's S3 server (100 MiB parts, 4 in parallel) beside boto3's ``upload_file``.

    .venv/bin/python bench/client.py [--mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from upload import MB, free_port, make_file  # the upload bench's port and test file

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RATIO_TARGET = 0.8
RSS_TARGET_MB = 50
BRYGGE = [str(Path(sys.executable).with_name("brygge"))]


def timed_child(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run ``command``; its wall time (s) and peak RSS (kB) from wait4."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{command[:3]} failed: {process.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss


def curl_once(url: str, source: Path, env: dict[str, str]) -> float:
    answer = httpx.post(
        f"{url}/datasets/bench/versions/1/uploads",
        json={"filename": source.name, "size": source.stat().st_size},
        timeout=60,
    ).json()
    fields = [
        arg
        for name, value in answer["upload"]["fields"].items()
        for arg in ("-F", f"{name}={value}")
    ]
    command = [
        "curl",
        "-sS",
        "--fail",
        "-o",
        "/dev/null",
        *fields,
        "-F",
        f"file=@{source}",
        answer["upload"]["url"],
    ]
    return timed_child(command, env)[0]


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("BRYGGE_")}
    env.update(
        BRYGGE_HOME=str(home),
        BRYGGE_BACKEND="local",
        BRYGGE_SECRET_KEY="bench",
        BRYGGE_AUTH="off",
        BRYGGE_PRINCIPAL="user:bench",
    )
    process = subprocess.Popen(
        [*BRYGGE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # waiting for a server to start, not timing
    process.kill()
    raise RuntimeError("brygge serve did not start")


def local_figures(directory: Path, source: Path, rounds: int) -> None:
    port = free_port()
    server = start_server(directory / "home", port)
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BRYGGE_URL": url,
        "HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory / "config"),
    }
    try:
        httpx.post(
            f"{url}/datasets",
            json={
                "id": "bench",
                "title": "Bench",
                "accessRights": "non-public",
                "owner": "team:bench",
            },
            timeout=60,
        )
        _, idle_kb = timed_child([*BRYGGE, "--help"], env)
        client_s, curl_s, peaks = [], [], []
        for _ in range(rounds):
            elapsed, peak_kb = timed_child([*BRYGGE, "upload", str(source), "ds:bench"], env)
            client_s.append(elapsed)
            peaks.append(peak_kb)
            curl_s.append(curl_once(url, source, env))
    finally:
        server.terminate()
        server.wait(timeout=30)
    size_mb = source.stat().st_size / MB
    client_rate = size_mb / statistics.median(client_s)
    curl_rate = size_mb / statistics.median(curl_s)
    ratio = client_rate / curl_rate
    growth_mb = (max(peaks) - idle_kb) / 1024
    print(
        f"upload {size_mb:.0f} MB brygge {client_rate:.0f} MB/s curl -F {curl_rate:.0f} MB/s "
        f"ratio {ratio:.2f}x target >= {RATIO_TARGET}x {'ok' if ratio >= RATIO_TARGET else 'MISS'}"
    )
    print(
        f"client rss growth {growth_mb:.1f} MB (peak {max(peaks) / 1024:.0f} MB, idle "
        f"{idle_kb / 1024:.0f} MB) target <= {RSS_TARGET_MB} MB "
        f"{'ok' if growth_mb <= RSS_TARGET_MB else 'MISS'}"
    )


def multipart_figures(source: Path, rounds: int) -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    from brygge.transfers import send_multipart
    from catalogue.schemas.uploads import UploadTargetSchema
    from pipelines.aws import aws_client
    from pipelines.presign import s3_multipart_upload

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="eu-north-1",
    )
    aws_client.cache_clear()
    try:
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket="bench", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
        )
        size = source.stat().st_size
        sdk_s, boto_s = [], []
        with tempfile.TemporaryDirectory() as state:
            for number in range(rounds):
                target = s3_multipart_upload(
                    "bench",
                    f"sdk-{number}",
                    size=size,
                    content_type=None,
                    ttl_s=600,
                    now=datetime.now(UTC),
                )
                served = UploadTargetSchema().dump(target)
                started = time.perf_counter()
                send_multipart(
                    served,
                    source,
                    progress=None,
                    state_file=Path(state) / "state.json",
                    answer={"upload": served},
                )
                sdk_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                s3.upload_file(str(source), "bench", f"boto-{number}")
                boto_s.append(time.perf_counter() - started)
    finally:
        moto.stop()
    size_mb = size / MB
    sdk_rate = size_mb / statistics.median(sdk_s)
    boto_rate = size_mb / statistics.median(boto_s)
    print(
        f"multipart {size_mb:.0f} MB to moto S3 brygge {sdk_rate:.0f} MB/s boto3 upload_file "
        f"{boto_rate:.0f} MB/s ratio {sdk_rate / boto_rate:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-multipart", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="brygge-bench-client-") as temporary:
        directory = Path(temporary)
        source = directory / "upload.bin"
        make_file(source, args.mb)
        local_figures(directory, source, args.rounds)
        if not args.skip_multipart:
            multipart_figures(source, args.rounds)


if __name__ == "__main__":
    main()
