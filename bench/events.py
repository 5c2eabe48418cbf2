"""Change events: what the outbox costs a write, how fast webhooks go out, and how late.

Three figures, each against its target, on an embedded (SQLite) store in a temporary home:

- ``patch``: dataset PATCH throughput (in-process API, one client) with events written
  beside the same code with the event writes left out, rounds alternating, median
  (target >= 0.8x);
- ``delivery``: events delivered per second by the worker's loop to a local receiver
  (``http.server`` on 127.0.0.1 in a process of its own, keep-alive), from a full outbox
  (target >= 500/s), beside the receiver's own rate from as many connections;
- ``lag``: commit-to-delivery time with the delivery worker of ``brygge serve`` running
  while a client PATCHes, p99 (target <= 1 s).

    .venv/bin/python bench/events.py [--patches 400] [--rounds 5] [--events 1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fixtures.receiver import running_receiver  # noqa: E402 (after the path)

DATASET = {"title": "Bench", "accessRights": "public", "owner": "team:bench"}


def make_app(home: Path) -> Any:
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from catalogue.store import migrations

    settings = Settings(home=home, auth="off", principal="user:bench", webhook_allow_private=True)
    migrations.apply(settings)
    return create_app(settings)


@contextmanager
def events_off() -> Any:
    """The same code without the event writes: the baseline of the outbox's cost."""
    from catalogue.repositories import datasets

    real = datasets.event_ops
    datasets.event_ops = lambda *args, **kwargs: []  # type: ignore[assignment]
    try:
        yield
    finally:
        datasets.event_ops = real  # type: ignore[assignment]


def patches_per_second(client: Any, dataset_id: str, count: int) -> float:
    start = time.perf_counter()
    for number in range(count):
        response = client.patch(f"/datasets/{dataset_id}", json={"description": f"d{number}"})
        assert response.status_code == 200, response.json
    return count / (time.perf_counter() - start)


def bench_patch(home: Path, count: int, rounds: int) -> tuple[float, float]:
    app = make_app(home)
    client = app.test_client()
    assert client.post("/datasets", json={**DATASET, "id": "bench"}).status_code == 201
    patches_per_second(client, "bench", 50)  # warm up
    with_events, without = [], []
    for _ in range(rounds):
        with events_off():
            without.append(patches_per_second(client, "bench", count))
        with_events.append(patches_per_second(client, "bench", count))
    app.extensions["brygge"].store.close()
    return statistics.median(with_events), statistics.median(without)


def fill_outbox(client: Any, count: int) -> None:
    assert client.post("/datasets", json={**DATASET, "id": "filled"}).status_code == 201
    for number in range(count - 1):
        client.patch("/datasets/filled", json={"description": f"d{number}"})


RECEIVER = """
import sys
sys.path.insert(0, sys.argv[1])
from tests.fixtures.receiver import running_receiver
with running_receiver() as receiver:
    print(receiver.url, flush=True)
    for _ in sys.stdin:
        print(len(receiver.requests), flush=True)
"""


@contextmanager
def receiver_process() -> Any:
    """The test receiver in a process of its own, as a subscriber's server is: in this
    one, its threads would share the interpreter lock with the sender's.

    Yields (url, received) where ``received()`` asks it how many requests it got.
    """
    import subprocess

    child = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(ROOT)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    url = child.stdout.readline().strip()

    def received() -> int:
        child.stdin.write("count\n")
        child.stdin.flush()
        return int(child.stdout.readline())

    try:
        yield url, received
    finally:
        child.stdin.close()
        child.wait(timeout=10)


def bare_posts_per_second(url: str, count: int, threads: int) -> float:
    """POSTs per second to ``url`` from ``threads`` keep-alive connections (http.client)."""
    import concurrent.futures
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    local = threading.local()

    def post(_: int) -> None:
        connection = getattr(local, "connection", None)
        if connection is None:
            connection = local.connection = http.client.HTTPConnection(parts.hostname, parts.port)
        connection.request("POST", "/", body=b"{}", headers={"content-type": "application/json"})
        connection.getresponse().read()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(post, range(count)):
            pass
    return count / (time.perf_counter() - start)


def bench_delivery(home: Path, count: int) -> tuple[float, float]:
    """Events per second from a full outbox to a receiver; and the receiver's bare rate
    (as many POSTs from as many keep-alive connections as the worker sends on)."""
    from catalogue.events.delivery import SEND_THREADS, HttpSender
    from catalogue.events.worker import run_once

    app = make_app(home)
    client = app.test_client()
    services = app.extensions["brygge"]
    with receiver_process() as (url, received):
        assert client.post("/subscriptions", json={"url": url}).status_code == 201
        fill_outbox(client, count)
        sender = HttpSender(allow_private=True)
        start = time.perf_counter()
        while run_once(services, sender):
            pass
        elapsed = time.perf_counter() - start
        assert received() == count, received()
        bare = bare_posts_per_second(url, count, SEND_THREADS)
    services.store.close()
    return count / elapsed, bare


def bench_lag(home: Path, count: int) -> list[float]:
    """Seconds from each PATCH's answer to its event's arrival, worker running."""
    from catalogue.events.worker import start_delivery_worker

    app = make_app(home)
    client = app.test_client()
    services = app.extensions["brygge"]
    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    lock = threading.Lock()
    with running_receiver() as receiver:

        def answer(request: Any) -> tuple[int, bytes]:
            with lock:
                arrived[request.headers["webhook-id"]] = time.perf_counter()
            return 204, b""

        receiver.answer = answer
        assert client.post("/datasets", json={**DATASET, "id": "lag"}).status_code == 201
        assert client.post("/subscriptions", json={"url": receiver.url}).status_code == 201
        stop = start_delivery_worker(services)
        try:
            from catalogue.store import keys
            from catalogue.store.base import Query

            for number in range(count):
                client.patch("/datasets/lag", json={"description": f"d{number}"})
                done = time.perf_counter()
                newest = services.store.query(
                    Query(keys.EVENTS_PK, descending=True), limit=1
                ).items[0]
                committed[newest["event"]["id"]] = done
                time.sleep(0.005)  # a steady stream of changes, not a burst
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline:
                with lock:
                    if set(committed) <= set(arrived):
                        break
                time.sleep(0.01)
        finally:
            stop.set()
    services.store.close()
    return sorted(max(0.0, arrived[e] - committed[e]) for e in committed if e in arrived)


def line(name: str, text: str, ok: Callable[[], bool]) -> None:
    print(f"{name} {text} {'ok' if ok() else 'MISSED'}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--lag-events", type=int, default=300)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        on, off = bench_patch(base / "patch", args.patches, args.rounds)
        ratio = on / off
        line(
            "patch",
            f"events {on:.0f}/s without {off:.0f}/s ratio {ratio:.2f}x target >= 0.8x",
            lambda: ratio >= 0.8,
        )
        rate, bare = bench_delivery(base / "delivery", args.events)
        line(
            "delivery",
            f"{rate:.0f} events/s (receiver alone {bare:.0f} req/s) target >= 500/s",
            lambda: rate >= 500,
        )
        lags = bench_lag(base / "lag", args.lag_events)
        p50 = statistics.median(lags)
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        line(
            "lag",
            f"p50 {p50 * 1000:.0f} ms p99 {p99 * 1000:.0f} ms of {len(lags)} target p99 <= 1000 ms",
            lambda: p99 <= 1.0 and len(lags) == args.lag_events,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
