"""Search at scale: ranked, prefix and filtered queries with facets, beside ``GET /health``.

Seeds N realistic datasets (default 100,000) through the repositories (no HTTP): titles
and descriptions drawn from a word list with a Zipf distribution, 5-15 keywords, 1-3 of
the 13 EU themes, 200 owner teams, 70 % public, 20 % restricted, 10 % non-public. Then
serves the catalogue with gunicorn (2 workers, 127.0.0.1: ``brygge serve`` is a single
threaded process, gunicorn is how Brygge runs on more than one) and loads it with wrk at 16
connections: one-word, two-word, prefix and filtered queries, facets on, each right after
``GET /health`` on the same server (the baseline). Median of the rounds.

On DynamoDB (``--backend dynamodb``, DynamoDB Local from node_modules) it also reports the
read capacity units one request of each kind consumes, from ``ReturnConsumedCapacity``.

    .venv/bin/python bench/search.py [--backend sqlite|dynamodb] [--datasets 100000]
        [--seconds 10] [--rounds 3] [--home DIR] [--cpu-only] [--profile KIND] [--warm N]

Needs ``wrk`` (Debian package ``wrk``); DynamoDB needs Java 17.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

# The API bench's DynamoDB Local, gunicorn and start-up wait.
from api import serve, start_dynamodb_local, wait_until_up

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT / "tests" / "fixtures" / "search" / "corpus.json"
THEMES = sorted(
    [
        "AGRI",
        "ECON",
        "EDUC",
        "ENER",
        "ENVI",
        "GOVE",
        "HEAL",
        "INTR",
        "JUST",
        "OP_DATPRO",
        "REGI",
        "SOCI",
        "TECH",
        "TRAN",
    ]
)[:13]
OWNERS = [f"team:team-{number:03d}" for number in range(200)]
TARGET_P99_MS = {"sqlite": 50.0, "dynamodb": 150.0}
# Word stems combined into Norwegian-style compounds to widen the vocabulary.
STEMS = [
    *("luft", "vann", "sykkel", "buss", "trikk", "skole", "bolig", "vei", "park", "tre"),
    *("avfall", "energi", "strøm", "støy", "helse", "folk", "bydel", "kart", "data", "vær"),
    *("snø", "is", "bro", "havn", "båt", "tog", "bil", "gate", "plass", "hage"),
]
SUFFIXES = [
    *("kvalitet", "måling", "stasjon", "rute", "plan", "register", "tall", "data", "kart"),
    *("statistikk", "forbruk", "nivå", "område", "oversikt", "prognose", "tilsyn", "drift"),
]


def vocabulary(rng: random.Random) -> list[str]:
    """About 5,000 words in Zipf rank order: the relevance corpus's words and compounds."""
    from catalogue.store.base import tokens

    words: dict[str, None] = {}
    for dataset in json.loads(CORPUS.read_text()):
        text = " ".join([dataset["title"], dataset.get("description", "")])
        for word in tokens(text) + list(dataset.get("keywords", [])):
            if len(word) > 2 and word.isalpha():
                words[word] = None
    for stem in STEMS:
        for suffix in SUFFIXES:
            words[stem + suffix] = None
    while len(words) < 5000:
        words["".join(rng.sample("abdefghiklmnoprstuvyæøå", rng.randint(4, 9)))] = None
    ranked = list(words)
    rng.shuffle(ranked)
    return ranked


class Zipf:
    """Draws ranks 0..n-1 with probability proportional to 1 / (rank + 1) ** s."""

    def __init__(self, size: int, rng: random.Random, s: float = 1.05) -> None:
        weights = [1 / (rank + 1) ** s for rank in range(size)]
        total = sum(weights)
        self.cumulative: list[float] = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)
        self.rng = rng

    def draw(self) -> int:
        import bisect

        return min(bisect.bisect(self.cumulative, self.rng.random()), len(self.cumulative) - 1)


def datasets(count: int, words: list[str], seed: int = 42) -> Iterator[dict[str, Any]]:
    """``count`` realistic datasets, the same for the same seed."""
    rng = random.Random(seed)
    zipf = Zipf(len(words), rng)
    owners = Zipf(len(OWNERS), rng, s=0.8)

    def phrase(low: int, high: int) -> str:
        return " ".join(words[zipf.draw()] for _ in range(rng.randint(low, high)))

    for number in range(count):
        keywords = list(dict.fromkeys(words[zipf.draw()] for _ in range(rng.randint(5, 15))))
        access = rng.choices(["public", "restricted", "non-public"], [7, 2, 1])[0]
        yield {
            "id": f"ds-{number:06d}",
            "title": phrase(3, 8).capitalize(),
            "description": phrase(20, 60).capitalize() + ".",
            "keywords": keywords,
            "themes": rng.sample(THEMES, rng.randint(1, 3)),
            "owner": OWNERS[owners.draw()],
            "accessRights": access,
            "state": "active" if rng.random() < 0.9 else "deprecated",
        }


def seed(
    settings: Any, count: int, words: list[str], budget_s: float | None = None
) -> tuple[int, float]:
    """Create ``count`` datasets through the repository; return how many and the seconds.

    With ``budget_s``, seeding stops at the first thousand past that many seconds (on a
    shared machine DynamoDB Local may not reach ``count`` in the time there is).

    In bulk (``create_many``: the writes of ``create``, loaded many datasets at a time by
    ``ItemStore.load``: SQLite commits 500 per transaction, DynamoDB writes them with
    BatchWriteItem).
    """
    from catalogue.app import create_app

    app = create_app(settings)
    repositories = app.extensions["brygge"].repositories
    store = app.extensions["brygge"].store

    def ownership(made: Any) -> Any:
        return repositories.permissions.owner_ops(made, made["owner"])

    started = time.perf_counter()

    def progress(made: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for done, dataset in enumerate(made, start=1):
            yield dataset
            if done % 10_000 == 0 or (done % 1000 == 0 and store.backend != "sqlite"):
                elapsed = time.perf_counter() - started
                print(f"  seeded {done} ({done / elapsed:.0f}/s)", flush=True)
                if budget_s is not None and elapsed > budget_s:
                    return

    made = repositories.datasets.create_many(
        progress(datasets(count, words)), principal="user:bench", extra_ops=ownership
    )
    store.close()
    return made, time.perf_counter() - started


def scenarios(words: list[str], rng: random.Random) -> dict[str, list[str]]:
    """The request paths of each kind of query (wrk picks one at random per request)."""
    # Words a person would search for: neither the commonest (in every other title) nor
    # the rarest; the prefixes complete several words.
    middle = words[20:400]
    one = [f"/datasets?q={word}&limit=20" for word in rng.sample(middle, 100)]
    two = [
        f"/datasets?q={a}+{b}&limit=20"
        for a, b in zip(rng.sample(middle, 100), rng.sample(middle, 100), strict=True)
    ]
    prefix = [
        f"/datasets?q={word[: rng.randint(3, 4)]}&limit=20"
        for word in rng.sample(middle, 100)
        if len(word) > 4
    ]
    filtered = [
        f"/datasets?q={word}&theme={rng.choice(THEMES)}&limit=20" for word in rng.sample(middle, 50)
    ] + [
        f"/datasets?theme={rng.choice(THEMES)}&owner={rng.choice(OWNERS[:40])}&limit=20"
        for _ in range(50)
    ]
    return {
        "one_word": one,
        "two_words": two,
        "prefix": prefix,
        "filtered": filtered,
        "filters_only": filtered[50:],
        "no_query": ["/datasets?limit=20"],
    }


def lua(paths: list[str], target: Path) -> Path:
    # Percent-encoded: Lua strings take no \u escapes.
    quoted = ",".join(json.dumps(quote(path, safe="/?=&+")) for path in paths)
    target.write_text(
        f"paths = {{{quoted}}}\n"
        "request = function()\n"
        "  return wrk.format(nil, paths[math.random(#paths)])\n"
        "end\n"
    )
    return target


def warm(base: str, paths: list[str], times: int) -> None:
    """Ask every path ``times`` times, 4 at a time (the workers share them out)."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def ask(path: str) -> None:
        with urllib.request.urlopen(base + quote(path, safe="/?=&+"), timeout=600) as response:
            response.read()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(ask, list(dict.fromkeys(paths)) * times))


def parse_latency(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, script: Path | None = None) -> dict[str, float]:
    # A long timeout: on a loaded machine slow answers must count in the latencies, not
    # vanish as socket timeouts.
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--timeout", "30s", "--latency", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "99"):
        match = re.search(rf"^\s+{percentile}(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
        figures[f"p{percentile}"] = parse_latency(match.group(1))  # type: ignore[union-attr]
    if figures["rps"] == 0:
        raise RuntimeError(f"{url}: no answers in {seconds} s:\n{output}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error answers")
    return figures


def read_capacity(
    settings: Any, cases: dict[str, list[str]], samples: int
) -> dict[str, tuple[float, float]]:
    """Mean read capacity units of one request of each kind, from ReturnConsumedCapacity.

    Two figures per kind, as ``cpu_per_request`` has: each path asked the first time, and
    asked again with nothing written in between (the answer the store kept).
    """
    from catalogue.app import create_app
    from catalogue.store.dynamodb import dynamodb_client

    client = dynamodb_client()
    consumed: list[float] = []

    def ask(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def count(parsed: dict[str, Any], **_: Any) -> None:
        capacity = parsed.get("ConsumedCapacity")
        for entry in capacity if isinstance(capacity, list) else [capacity] if capacity else []:
            consumed.append(float(entry.get("CapacityUnits", 0.0)))

    for operation in ("Query", "GetItem", "BatchGetItem"):
        client.meta.events.register(f"provide-client-params.dynamodb.{operation}", ask)
        client.meta.events.register(f"after-call.dynamodb.{operation}", count)
    app = create_app(settings)
    test_client = app.test_client()
    result = {}
    for name, paths in cases.items():
        asked = list(dict.fromkeys(paths[:samples]))
        units = []
        for _ in ("first", "again"):
            consumed.clear()
            for path in asked:
                response = test_client.get(path)
                assert response.status_code == 200, response.json
            units.append(sum(consumed) / len(asked))
        result[name] = (units[0], units[1])
    return result


def cpu_per_request(
    settings: Any, cases: dict[str, list[str]], samples: int, profile: str | None = None
) -> dict[str, tuple[float, float]]:
    """Median CPU milliseconds of one request of each kind, served in this process.

    Steadier than latencies on a shared machine: other processes' load barely moves it.
    Two figures per kind: each path asked the first time (computed) and asked again with
    nothing written in between (the answer the store kept: ``answer_cache``).
    ``profile`` names a kind whose requests run under cProfile (the top functions printed).
    """
    import cProfile
    import pstats

    from catalogue.app import create_app

    client = create_app(settings).test_client()
    result = {}
    for name, paths in cases.items():
        asked = (paths * samples)[:samples]
        # Imports and connections, through a search no kind asks.
        assert client.get("/datasets?q=warmup&theme=NONE").status_code == 200
        profiler = cProfile.Profile() if name == profile else None
        times: dict[bool, list[float]] = {False: [], True: []}
        for again in (False, True):
            for path in asked if again else dict.fromkeys(asked):
                if profiler is not None:
                    profiler.enable()
                started = time.process_time()
                response = client.get(path)
                times[again].append((time.process_time() - started) * 1000)
                if profiler is not None:
                    profiler.disable()
                assert response.status_code == 200, response.json
        result[name] = (statistics.median(times[False]), statistics.median(times[True]))
        if profiler is not None:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=("sqlite", "dynamodb"), default="sqlite")
    parser.add_argument("--datasets", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--home",
        type=Path,
        help="keep the SQLite store here and reuse it when seeded with as many datasets",
    )
    parser.add_argument(
        "--samples", type=int, default=20, help="requests per kind for RCUs and CPU times"
    )
    parser.add_argument(
        "--cpu-only",
        action="store_true",
        help="only the in-process CPU time per request (no wrk run)",
    )
    parser.add_argument("--profile", help="run this kind's requests under cProfile")
    parser.add_argument(
        "--warm",
        type=int,
        default=0,
        help="ask every path this many times (4 at a time) before the rounds, so they "
        "measure answers the workers keep (the first round otherwise computes them)",
    )
    parser.add_argument(
        "--seed-minutes",
        type=float,
        help="stop seeding after this long and measure the datasets seeded by then",
    )
    args = parser.parse_args()
    # A plain kill still stops DynamoDB Local and gunicorn (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        print("bench/search.py needs wrk (apt-get install wrk)", file=sys.stderr)
        return 2
    from catalogue.settings import Settings
    from catalogue.store import migrations
    from catalogue.store.dynamodb_answers import MAX_AGE

    kept = args.home is not None
    home = args.home or Path(tempfile.mkdtemp(prefix="brygge-bench-search-"))
    home.mkdir(parents=True, exist_ok=True)
    seeded = home / f"seeded-{args.datasets}"
    env = {**os.environ, "BRYGGE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    dynamodb = server = None
    try:
        if args.backend == "dynamodb":
            dynamodb, url = start_dynamodb_local()
            table = f"bench-{uuid.uuid4().hex[:8]}"
            aws = {
                "AWS_ENDPOINT_URL_DYNAMODB": url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "eu-north-1",
            }
            os.environ.update(aws)
            env.update(aws, BRYGGE_BACKEND="aws", BRYGGE_DYNAMODB_TABLE=table)
            settings = Settings(backend="aws", home=home, dynamodb_table=table)
            wait_until_dynamodb(url)
        else:
            settings = Settings(home=home)
        migrations.apply(settings)
        words = vocabulary(random.Random(7))
        size = args.datasets
        if seeded.exists():
            print(f"reusing the {args.datasets} datasets seeded in {home}", flush=True)
        else:
            budget = None if args.seed_minutes is None else args.seed_minutes * 60
            size, seconds = seed(settings, args.datasets, words, budget)
            print(
                f"seeded {size} datasets on {args.backend} in {seconds:.1f} s "
                f"({size / seconds:.0f}/s; load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if kept and args.backend == "sqlite" and size == args.datasets:
                seeded.touch()
        cases = scenarios(words, random.Random(11))
        if args.backend == "dynamodb":
            units = read_capacity(settings, cases, args.samples)
            for name, (first, again) in units.items():
                print(
                    f"{name} read capacity units per request {first:.1f} first, "
                    f"{again:.1f} asked again",
                    flush=True,
                )
        for name, (first, again) in cpu_per_request(
            settings, cases, args.samples, args.profile
        ).items():
            print(
                f"{name} CPU per request in process {first:.1f} ms first, "
                f"{again:.1f} ms asked again (median)",
                flush=True,
            )
        if args.cpu_only:
            return 0
        server, base = serve(env, start_timeout_s=60)
        scripts = {name: lua(paths, home / f"{name}.lua") for name, paths in cases.items()}
        for paths in cases.values():  # warm both workers (imports, connections)
            for path in paths[:4]:
                wait_until_up(base + quote(path, safe="/?=&+"), timeout_s=60)
        loads = [os.getloadavg()[0]]
        health: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        # Kind by kind, each warmed right before its rounds: DynamoDB keeps answers at most
        # MAX_AGE, and warming every kind first takes longer than that at 100,000.
        for name, script in scripts.items():
            started = time.monotonic()
            if args.warm:
                warm(base, cases[name], args.warm)
                print(f"{name}: warmed its paths in {time.monotonic() - started:.0f} s", flush=True)
            for _ in range(args.rounds):
                health[name].append(wrk(f"{base}/health", args.seconds))
                measured[name].append(wrk(base, args.seconds, script))
                loads.append(os.getloadavg()[0])
            if args.backend == "dynamodb" and args.warm and time.monotonic() - started > MAX_AGE:
                print(
                    f"{name}: warming and rounds took {time.monotonic() - started:.0f} s, "
                    f"past the {MAX_AGE:.0f} s answers are kept: later rounds recomputed them",
                    flush=True,
                )
        target = TARGET_P99_MS[args.backend]
        print(
            f"{args.backend}, {size} datasets, 16 connections on 2 workers "
            f"(load average {min(loads):.1f}-{max(loads):.1f} over the rounds):"
        )
        for name, runs in measured.items():
            p50 = statistics.median(run["p50"] for run in runs)
            p99 = statistics.median(run["p99"] for run in runs)
            rps = statistics.median(run["rps"] for run in runs)
            base_rps = statistics.median(run["rps"] for run in health[name])
            base_p99 = statistics.median(run["p99"] for run in health[name])
            verdict = "ok" if p99 <= target else "MISS"
            # The first round computes each path once per worker; later rounds may reuse
            # the answers the store kept, so the rounds' p99s differ.
            by_round = ", ".join(f"{run['p99']:.1f}" for run in runs)
            print(
                f"{name} brygge {rps:.0f} req/s p50 {p50:.1f} ms p99 {p99:.1f} ms "
                f"health {base_rps:.0f} req/s p99 {base_p99:.1f} ms "
                f"ratio {rps / base_rps:.2f}x target p99 <= {target:.0f} ms {verdict} "
                f"(p99 by round {by_round} ms)",
                flush=True,
            )
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        if dynamodb is not None:
            os.killpg(dynamodb.pid, signal.SIGTERM)
            dynamodb.wait(timeout=10)
        if not kept:
            shutil.rmtree(home, ignore_errors=True)
    return 0


def wait_until_dynamodb(url: str, timeout_s: float = 60) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=url)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.list_tables()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


if __name__ == "__main__":
    sys.exit(main())
