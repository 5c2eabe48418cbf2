"""Pages against the JSON API calls that read the same data, same gunicorn server, same run.

Seeds 10,000 datasets (bench/api.py's corpus), gives 500 of them an edition with a
distribution, runs one real pipeline (csv_to_parquet, publish) on the local engine, starts
gunicorn (2 workers, 127.0.0.1) and loads each page and its JSON counterpart with wrk at 16
connections, alternating them, median of the rounds:

- search: ``/?q=...`` (text/html) beside ``/datasets?q=...`` (the list the page renders);
- dataset: ``/datasets/{id}`` as a page beside the same URL as JSON, over 500 datasets;
- run: ``/runs/{id}`` as a page beside the same URL as JSON.

Targets: p99 <= 50 ms and each page >= 0.5x the throughput of its JSON counterpart.

    .venv/bin/python bench/web.py [--datasets 10000] [--seconds 5] [--rounds 3]
        [--cases run,dataset,search]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api import median, parse_latency, seed, serve, wait_until_up

WITH_DATA = 500
PIPELINE = {
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}
CSV = b"station;value\n" + b"".join(f"s{n};{n}\n".encode() for n in range(1000))
QUERY = "q=traffic+bike&limit=50"


def seed_data(home: Path, ids: list[str]) -> str:
    """Give ``ids`` an edition with a distribution; run one pipeline; return the run id."""
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from pipelines.objects import LocalObjectStore

    settings = Settings(home=home, auth="off", principal="user:bench")
    app = create_app(settings)
    services = app.extensions["brygge"]
    repositories = services.repositories
    for number, dataset_id in enumerate(ids):
        edition = f"20260101T{number // 3600:02d}{number // 60 % 60:02d}{number % 60:02d}"
        repositories.editions.create(
            [dataset_id, "1"], {"edition": edition}, principal="user:bench"
        )
        repositories.distributions.create(
            [dataset_id, "1", edition],
            {"filenames": ["data.parquet"], "format": "PARQUET", "byteSize": 123_456},
            principal="user:bench",
        )
    client = app.test_client()
    template = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": PIPELINE}
    assert client.post("/pipelines", json=template).status_code == 201
    dataset_id = ids[0]
    pipeline = {"template": "csv-to-parquet", "taskConfig": {"ToParquet": {"delimiter": ";"}}}
    assert client.put(f"/datasets/{dataset_id}/pipeline", json=pipeline).status_code == 200
    edition = "20270101T000000"
    assert (
        client.post(
            f"/datasets/{dataset_id}/versions/1/editions", json={"edition": edition}
        ).status_code
        == 201
    )
    raw = f"raw/green/{dataset_id}/version=1/edition={edition}/data.csv"
    LocalObjectStore(settings.objects_dir).put(raw, io.BytesIO(CSV))
    started = client.post(
        f"/datasets/{dataset_id}/versions/1/editions/{edition}/runs",
        json={"input": {"keys": [raw]}},
    )
    assert started.status_code == 202, started.json
    services.runs.wait_idle(timeout_s=120)
    run = client.get(f"/runs/{started.json['id']}").json
    assert run["status"] == "SUCCEEDED", run
    services.runs.shutdown()
    services.store.close()
    return str(run["id"])


def server_cpu_s(pid: int) -> float:
    """CPU seconds used so far by the server ``pid`` and its workers (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # ended meanwhile
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def wrk(url: str, seconds: int, script_path: Path, server_pid: int) -> dict[str, float]:
    """wrk at 16 connections with a 10 s timeout (a loaded machine answers slowly).

    Beside the throughput, the server's CPU time per request: on a machine shared with
    other work, throughput follows the CPU the server got, CPU per request does not.
    """
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "10s", "--latency"]
    cpu_before = server_cpu_s(server_pid)
    output = subprocess.run(
        [*command, "-s", str(script_path), url], capture_output=True, text=True, check=True
    ).stdout
    cpu_s = server_cpu_s(server_pid) - cpu_before
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error answers")
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    answered = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    figures["cpu_ms"] = cpu_s * 1000 / max(answered, 1)
    for percentile in ("50", "99"):
        match = re.search(rf"^\s+{percentile}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        figures[f"p{percentile}"] = parse_latency(match.group(1)) if match else float("inf")
    return figures


def script(home: Path, name: str, accept: str, paths: list[str] | None = None) -> Path:
    """A wrk script sending ``Accept: accept`` (to one URL, or a random one of ``paths``)."""
    lines = [f'wrk.headers["Accept"] = "{accept}"']
    if paths:
        lines += [
            "paths = {" + ",".join(f'"{path}"' for path in paths) + "}",
            "request = function()",
            "  return wrk.format(nil, paths[math.random(#paths)])",
            "end",
        ]
    found = home / f"{name}.lua"
    found.write_text("\n".join(lines) + "\n")
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases", default="run,dataset,search", help="comma-separated: run, dataset, search"
    )
    args = parser.parse_args()
    chosen = args.cases.split(",")
    if not shutil.which("wrk"):
        print("bench/web.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="brygge-bench-web-"))
    server = None
    try:
        started = time.perf_counter()
        ids = seed(home, args.datasets)
        with_data = random.Random(11).sample(ids, min(WITH_DATA, len(ids)))
        run_id = seed_data(home, with_data)
        print(f"seeded {len(ids)} datasets in {time.perf_counter() - started:.1f} s")
        html, json = "text/html,application/xhtml+xml,*/*;q=0.8", "application/json"
        dataset_paths = [f"/datasets/{dataset_id}" for dataset_id in with_data]
        server, base = serve(
            {"BRYGGE_HOME": str(home), "BRYGGE_AUTH": "off", "BRYGGE_PRINCIPAL": "user:bench"}
        )
        # Search last: at 10,000 datasets its queries are the slowest, and requests still
        # queued when wrk stops would be charged to the next case.
        cases = {
            "run": (
                (f"{base}/runs/{run_id}", script(home, "run-page", html)),
                (f"{base}/runs/{run_id}", script(home, "run-json", json)),
            ),
            "dataset": (
                (base, script(home, "dataset-page", html, dataset_paths)),
                (base, script(home, "dataset-json", json, dataset_paths)),
            ),
            "search": (
                (f"{base}/?{QUERY}", script(home, "search-page", html)),
                (f"{base}/datasets?{QUERY}", script(home, "search-json", json)),
            ),
        }
        cases = {name: urls for name, urls in cases.items() if name in chosen}
        pages: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        apis: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, ((page_url, page_script), (api_url, api_script)) in cases.items():
                apis[name].append(wrk(api_url, args.seconds, api_script, server.pid))
                wait_until_up(f"{base}/health", timeout_s=120)  # the queue has drained
                pages[name].append(wrk(page_url, args.seconds, page_script, server.pid))
                wait_until_up(f"{base}/health", timeout_s=120)
        print("16 connections on 2 workers (median of rounds):")
        for name in cases:
            rps, p50, p99 = (median(pages[name], key) for key in ("rps", "p50", "p99"))
            api_rps, api_p99 = median(apis[name], "rps"), median(apis[name], "p99")
            ratio = rps / api_rps if api_rps else 0.0
            verdict = "ok" if ratio >= 0.5 and p99 <= 50 else "MISS"
            cpu, api_cpu = median(pages[name], "cpu_ms"), median(apis[name], "cpu_ms")
            print(
                f"{name}_page page {rps:.0f} req/s p50 {p50:.2f} ms p99 {p99:.2f} ms "
                f"json {api_rps:.0f} req/s p99 {api_p99:.2f} ms ratio {ratio:.2f}x "
                f"target >= 0.5x and p99 <= 50 ms {verdict}",
                flush=True,
            )
            print(
                f"{name}_page server CPU per request: page {cpu:.3f} ms json {api_cpu:.3f} ms "
                f"(json/page {api_cpu / cpu if cpu else 0.0:.2f}x); load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
