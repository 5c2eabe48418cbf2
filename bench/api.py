"""API throughput and latency against bare Flask on the same gunicorn server, same run.

Seeds an embedded (SQLite) store with 10,000 datasets, starts gunicorn (2 workers,
127.0.0.1) serving Brygge plus a bare Flask route, and loads both with wrk, alternating
baseline and Brygge, median of the rounds. Needs ``wrk`` (Debian package ``wrk``).

    .venv/bin/python bench/api.py [--datasets 10000] [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    *("air", "quality", "traffic", "bike", "school", "water", "weather", "energy", "health"),
    *("budget", "parking", "noise", "population", "housing", "waste", "tree", "park", "road"),
    *("bus", "tram", "library", "election", "tax"),
]


def bench_app():  # type: ignore[no-untyped-def]
    """Brygge plus a bare Flask route, as gunicorn loads it (``api:bench_app()``)."""
    from flask import jsonify

    from catalogue.app import create_app

    app = create_app()

    @app.get("/bare")
    def bare():  # type: ignore[no-untyped-def]
        return jsonify(id="bare", title="A bare Flask answer")

    return app


def seed(home: Path, count: int) -> list[str]:
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from catalogue.store import migrations

    settings = Settings(home=home)
    migrations.apply(settings)
    app = create_app(settings)
    repositories = app.extensions["brygge"].repositories
    rng = random.Random(42)
    ids = []
    for number in range(count):
        words = rng.sample(WORDS, 3)
        dataset = repositories.datasets.create(
            {
                "id": f"dataset-{number:05d}",
                "title": " ".join(words).title(),
                "description": f"{' '.join(rng.sample(WORDS, 8))} number {number}",
                "accessRights": "public",
                "owner": f"team:team-{number % 20}",
                "keywords": rng.sample(WORDS, 2),
                "themes": ["ENVI"],
            },
            principal="user:bench",
        )
        ids.append(dataset["id"])
    app.extensions["brygge"].store.close()
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not answer")


def parse_latency(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, seconds: int, script: Path | None = None, connections: int = 16
) -> dict[str, float]:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "99"):
        match = re.search(rf"^\s+{percentile}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        figures[f"p{percentile}"] = parse_latency(match.group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error answers")
    return figures


def median(runs: list[dict[str, float]], name: str) -> float:
    return statistics.median(run[name] for run in runs)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench/api.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="brygge-bench-api-"))
    server = None
    try:
        started = time.perf_counter()
        ids = seed(home, args.datasets)
        print(f"seeded {len(ids)} datasets in {time.perf_counter() - started:.1f} s")
        ids_script = home / "ids.lua"
        sample = random.Random(7).sample(ids, min(1000, len(ids)))
        ids_script.write_text(
            "ids = {" + ",".join(f'"{i}"' for i in sample) + "}\n"
            "request = function()\n"
            "  return wrk.format(nil, '/datasets/' .. ids[math.random(#ids)])\n"
            "end\n"
        )
        port = free_port()
        env = {**os.environ, "BRYGGE_HOME": str(home), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "--workers",
                "2",
                "--bind",
                f"127.0.0.1:{port}",
                "--pythonpath",
                str(ROOT / "bench"),
                "--log-level",
                "warning",
                "api:bench_app()",
            ],
            env=env,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health")
        cases = {
            "get_dataset": (f"{base}/", ids_script),
            "list_datasets": (f"{base}/datasets?limit=50", None),
            "search": (f"{base}/datasets?q=traffic+bike&limit=50", None),
        }
        bare: list[dict[str, float]] = []
        results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        # Latency of one request at a time per worker: 16 connections on 2 workers measure
        # queueing as much as the request.
        search_url = cases["search"][0]
        quiet: dict[str, list[dict[str, float]]] = {"bare": [], "search": []}
        for _ in range(args.rounds):
            bare.append(wrk(f"{base}/bare", args.seconds))
            for name, (url, script) in cases.items():
                results[name].append(wrk(url, args.seconds, script))
            quiet["bare"].append(wrk(f"{base}/bare", args.seconds, connections=2))
            quiet["search"].append(wrk(search_url, args.seconds, connections=2))
        bare_rps = median(bare, "rps")
        print(
            f"bare_flask rps {bare_rps:.0f} p50 {median(bare, 'p50'):.2f} ms "
            f"p99 {median(bare, 'p99'):.2f} ms"
        )
        targets = {"get_dataset": ("ratio", 0.6), "search": ("p99", 50.0)}
        print("16 connections on 2 workers:")
        for name, runs in results.items():
            rps, p50, p99 = median(runs, "rps"), median(runs, "p50"), median(runs, "p99")
            ratio = rps / bare_rps
            line = (
                f"{name} brygge {rps:.0f} req/s bare {bare_rps:.0f} req/s ratio {ratio:.2f}x "
                f"p50 {p50:.2f} ms p99 {p99:.2f} ms"
            )
            if name in targets:
                kind, goal = targets[name]
                if kind == "ratio":
                    line += f" target >= {goal}x {'ok' if ratio >= goal else 'MISS'}"
                else:
                    line += f" target p99 <= {goal:.0f} ms {'ok' if p99 <= goal else 'MISS'}"
            print(line, flush=True)
        p99 = median(quiet["search"], "p99")
        print(
            f"search_2_connections brygge p50 {median(quiet['search'], 'p50'):.2f} ms "
            f"p99 {p99:.2f} ms bare p99 {median(quiet['bare'], 'p99'):.2f} ms "
            f"target p99 <= 50 ms {'ok' if p99 <= 50 else 'MISS'}",
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
