"""Event ingest and latest values against gunicorn (2 workers), beside ``GET /health``.

Creates an event dataset (a schema with a pattern, a range and a required field, key
``sensorId``, time ``observedAt``) in an embedded (SQLite) store, serves it with gunicorn
(2 workers, 127.0.0.1, the API bench's ``serve``) and loads it with wrk:

- ingest: ``POST .../events`` with a writer's token, batches of 100 new readings of
  ``--sensors`` sensors (every reading later than the last, so every batch moves latest
  values), ``--connections`` at once: accepted events/s and the p99 of a batch;
- latest: ``GET .../latest/{sensor}`` of a random sensor (a public dataset: no token);
- health: ``GET /health`` on the same server, the baseline of the same round.

Rounds alternate the three; figures are medians. On a loaded machine quote the ratios to
``/health``. Needs ``wrk`` (Debian package ``wrk``).

    .venv/bin/python bench/events_ingest.py [--seconds 10] [--rounds 3] [--connections 4]

``--profile N`` posts N batches in-process under cProfile instead and prints where the time
goes (no wrk, no gunicorn).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# The API bench's gunicorn, start-up wait, wrk runner and median.
from api import median, serve, wrk

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BATCH = 100
WRITER = "user:bench"
SOURCE = {
    "type": "event",
    "schema": {
        "fields": [
            {"name": "sensorId", "type": "string", "constraints": {"pattern": "s-[0-9]+"}},
            {"name": "observedAt", "type": "datetime"},
            {
                "name": "temperature",
                "type": "number",
                "constraints": {"required": True, "minimum": -40, "maximum": 60},
            },
            {"name": "status", "type": "string", "constraints": {"enum": ["ok", "degraded"]}},
        ]
    },
    "key": ["sensorId"],
    "time": "observedAt",
}
DATASET = {"id": "bench", "title": "Bench", "accessRights": "public", "owner": "team:bench"}
EVENTS = "/datasets/bench/versions/1/events"
LATEST = "/datasets/bench/versions/1/latest"
TARGETS = {"events_per_s": 5000.0, "batch_p99_ms": 50.0, "latest_p99_ms": 10.0}


def prepare(home: Path) -> str:
    """Migrate the store under ``home``; a writer's token (a site admin, to create datasets)."""
    from catalogue.repositories.tokens import TokenRepository
    from catalogue.services import utc_now
    from catalogue.settings import Settings
    from catalogue.store import migrations
    from catalogue.store.factory import open_store

    settings = Settings(home=home)
    migrations.apply(settings)
    store = open_store(settings)
    try:
        token, _ = TokenRepository(store, utc_now).create(WRITER, teams=["team:bench"])
    finally:
        store.close()
    return token


def post_json(url: str, body: Any, token: str) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def get_json(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def ingest_script(folder: Path, token: str, sensors: int) -> Path:
    """A wrk script posting batches of new readings: each request's are later than the last.

    Times are ``<start + request number> s`` and a fraction unique to the thread and the
    event, so no two events of a run share a series and a time by accident.
    """
    script = folder / "ingest.lua"
    script.write_text(
        f"""
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local counter = 0
local start = os.time() - 86400
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
request = function()
  counter = counter + 1
  local second = os.date("!%Y-%m-%dT%H:%M:%S", start + counter)
  local parts = {{}}
  for i = 1, {BATCH} do
    parts[i] = string.format(
      '{{"sensorId":"s-%d","observedAt":"%s.%03d%03dZ","temperature":%.1f,"status":"ok"}}',
      math.random(0, {sensors - 1}), second, tid, i, math.random() * 30)
  end
  return wrk.format(nil, "{EVENTS}", nil, "[" .. table.concat(parts, ",") .. "]")
end
"""
    )
    return script


def latest_script(folder: Path, sensors: int) -> Path:
    script = folder / "latest.lua"
    script.write_text(
        "request = function()\n"
        f'  return wrk.format(nil, "{LATEST}/s-" .. math.random(0, {sensors - 1}))\n'
        "end\n"
    )
    return script


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def bench(seconds: int, rounds: int, connections: int, sensors: int) -> int:
    home = Path(tempfile.mkdtemp(prefix="brygge-bench-events-"))
    server = None
    try:
        token = prepare(home)
        env = {
            "BRYGGE_HOME": str(home),
            "BRYGGE_BACKEND": "local",
            "BRYGGE_AUTH": "on",
            "BRYGGE_ADMINS": WRITER,
            "BRYGGE_SECRET_KEY": "bench-secret",
        }
        server, base = serve(env)
        post_json(f"{base}/datasets", {**DATASET, "source": SOURCE}, token)
        # Every series gets a latest value before reads are measured.
        rng = random.Random(7)
        for start in range(0, sensors, BATCH):
            batch = [
                {
                    "sensorId": f"s-{number}",
                    "observedAt": "2020-01-01T00:00:00Z",
                    "temperature": round(rng.random() * 30, 1),
                }
                for number in range(start, min(start + BATCH, sensors))
            ]
            post_json(f"{base}{EVENTS}", batch, token)
        ingest = ingest_script(home, token, sensors)
        latest = latest_script(home, sensors)
        runs: dict[str, list[dict[str, float]]] = {"health": [], "ingest": [], "latest": []}
        for _ in range(rounds):
            runs["health"].append(wrk(f"{base}/health", seconds, None, connections))
            runs["ingest"].append(wrk(base, seconds, ingest, connections))
            runs["latest"].append(wrk(base, seconds, latest, connections))
        rejects = get_json(f"{base}{EVENTS}/rejects?limit=1", token)["items"]
        if rejects:
            raise RuntimeError(f"the bench's events were rejected: {rejects[0]}")
        health = median(runs["health"], "rps")
        batches = median(runs["ingest"], "rps")
        events = batches * BATCH
        batch_p99 = median(runs["ingest"], "p99")
        reads = median(runs["latest"], "rps")
        latest_p99 = median(runs["latest"], "p99")
        print(
            f"machine load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
            f"{connections} connections, {rounds} rounds of {seconds} s, median"
        )
        print(f"health          {health:9.0f} req/s  p99 {median(runs['health'], 'p99'):6.1f} ms")
        print(
            f"ingest          {events:9.0f} events/s ({batches:.0f} batches of {BATCH}/s)  "
            f"ratio {batches / health:.2f}x of health req/s  "
            f"target >= {TARGETS['events_per_s']:.0f} {verdict(events >= TARGETS['events_per_s'])}"
        )
        batch_target = TARGETS["batch_p99_ms"]
        print(
            f"ingest p99      {batch_p99:9.1f} ms per batch  "
            f"target <= {batch_target:.0f} {verdict(batch_p99 <= batch_target)}"
        )
        print(
            f"latest          {reads:9.0f} req/s  ratio {reads / health:.2f}x of health  "
            f"p99 {latest_p99:.1f} ms  target <= {TARGETS['latest_p99_ms']:.0f} "
            f"{verdict(latest_p99 <= TARGETS['latest_p99_ms'])}"
        )
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


def profile(batches: int, sensors: int) -> int:
    """Post ``batches`` batches in-process under cProfile; print the top functions."""
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from catalogue.store import migrations

    home = Path(tempfile.mkdtemp(prefix="brygge-bench-events-"))
    try:
        settings = Settings(home=home, auth="off", principal=WRITER)
        migrations.apply(settings)
        client = create_app(settings).test_client()
        assert client.post("/datasets", json={**DATASET, "source": SOURCE}).status_code == 201
        # As the wrk script posts them: every reading later than the last, so each one moves
        # its series' latest value.
        rng = random.Random(7)
        start = datetime(2026, 6, 1, tzinfo=UTC)
        bodies = [
            [
                {
                    "sensorId": f"s-{rng.randrange(sensors)}",
                    "observedAt": (start + timedelta(microseconds=number * BATCH + index))
                    .isoformat()
                    .replace("+00:00", "Z"),
                    "temperature": round(rng.random() * 30, 1),
                }
                for index in range(BATCH)
            ]
            for number in range(batches)
        ]
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for body in bodies:
            client.post(EVENTS, json=body)
        profiler.disable()
        elapsed = time.perf_counter() - began
        print(f"{batches * BATCH / elapsed:.0f} events/s in-process under cProfile")
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
        return 0
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sensors", type=int, default=1000)
    parser.add_argument("--profile", type=int, metavar="BATCHES", default=0)
    args = parser.parse_args()
    if args.profile:
        return profile(args.profile, args.sensors)
    return bench(args.seconds, args.rounds, args.connections, args.sensors)


if __name__ == "__main__":
    sys.exit(main())
