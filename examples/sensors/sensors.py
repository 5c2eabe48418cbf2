"""Badetemperatur: water temperature sensors posting readings to an event dataset.

Registers a sensor lookup dataset (id -> place, lat, lon, published as CSV) and the event
dataset "badetemperatur" (its readings enriched from the lookup), then simulates sensors
posting one reading each per tick, a few of them broken (999, -273, missing fields), and
shows what came of it: accepted and rejected counts, the latest value per sensor, and the
Parquet history once a batch window has closed into an edition.

    python examples/sensors/sensors.py --url http://127.0.0.1:8000 --token $TOKEN
    python examples/sensors/sensors.py --sensors 10 --seconds 2 --rate 5 --json

Uses only the client (``brygge.client``) and the standard library.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from brygge.client import Client
from brygge.resources import ClientError

LOOKUP = "badeplasser-sensorer"
DATASET = "badetemperatur"
PLACES = [
    ("Sørenga", 59.9027, 10.7524),
    ("Bygdøy Huk", 59.8957, 10.6770),
    ("Tjuvholmen", 59.9071, 10.7206),
    ("Ingierstrand", 59.8237, 10.7745),
    ("Hvervenbukta", 59.8327, 10.7789),
    ("Paradisbukta", 59.8975, 10.6729),
    ("Katten", 59.8488, 10.7766),
    ("Langøyene", 59.8724, 10.7298),
]
SCHEMA = {
    "fields": [
        {"name": "readingId", "type": "string", "constraints": {"required": True}},
        {"name": "sensorId", "type": "string", "constraints": {"pattern": "bt-[0-9]{3}"}},
        {"name": "observedAt", "type": "datetime"},
        # Water in Oslo is never below -2 or above 35 degrees: 999 and -273 are broken sensors.
        {
            "name": "temperature",
            "type": "number",
            "constraints": {"required": True, "minimum": -2, "maximum": 35},
        },
    ]
}


def sensor_id(number: int) -> str:
    return f"bt-{number:03d}"


def lookup_csv(sensors: int) -> str:
    """The sensor lookup table: id, place, lat, lon (a place has several sensors)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "place", "lat", "lon"])
    for number in range(sensors):
        place, lat, lon = PLACES[number % len(PLACES)]
        writer.writerow([sensor_id(number), place, f"{lat:.4f}", f"{lon:.4f}"])
    return out.getvalue()


def create(client: Client, dataset: dict[str, Any]) -> None:
    """Create the dataset; one that exists already (a second run) is kept."""
    try:
        client.create_dataset(dataset)
    except ClientError as error:
        if error.status != 409:
            raise


def register(client: Client, sensors: int, owner: str, window_s: int) -> None:
    """The lookup dataset (its CSV published by a run) and the event dataset enriched by it."""
    create(
        client,
        {
            "id": LOOKUP,
            "title": "Badeplasser: temperatursensorer",
            "accessRights": "public",
            "owner": owner,
        },
    )
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sensorer.csv"
        path.write_text(lookup_csv(sensors), encoding="utf-8")
        upload = client.upload(LOOKUP, path)
    run = client.wait(upload["run"]["id"])
    if run["status"] != "SUCCEEDED":
        raise SystemExit(f"publishing the sensor lookup failed: {run}")
    source = {
        "type": "event",
        "schema": SCHEMA,
        "key": ["sensorId"],
        "time": "observedAt",
        "id": "readingId",
        "enrich": {"lookup": {"dataset": LOOKUP}, "on": {"sensorId": "id"}, "unmatched": "reject"},
        "batch": {"maxEvents": 10_000, "maxSeconds": window_s},
    }
    create(
        client,
        {
            "id": DATASET,
            "title": "Badetemperatur",
            "description": "Water temperature at Oslo's bathing places, from sensors.",
            "accessRights": "public",
            "owner": owner,
            "keywords": ["badetemperatur", "sensor"],
            "source": source,
        },
    )


def reading(rng: random.Random, number: int, at: datetime, broken: float) -> tuple:
    """One reading of sensor ``number`` at ``at``; ``(event, is_broken)``."""
    event: dict[str, Any] = {
        # A sensor's reading is identified by its time: a resent one is a duplicate.
        "readingId": f"{sensor_id(number)}@{at:%Y%m%dT%H%M%S.%f}",
        "sensorId": sensor_id(number),
        "observedAt": at.isoformat().replace("+00:00", "Z"),
        "temperature": round(17 + 4 * rng.random() + number % 5 * 0.3, 2),
    }
    if rng.random() >= broken:
        return event, False
    fault = rng.choice(["999", "-273", "no temperature", "no time"])
    if fault == "999":
        event["temperature"] = 999
    elif fault == "-273":
        event["temperature"] = -273
    elif fault == "no temperature":
        del event["temperature"]
    else:
        del event["observedAt"]
    return event, True


def simulate(
    client: Client, sensors: int, seconds: float, rate: float, broken: float, seed: int
) -> dict[str, int]:
    """Every sensor posts a reading per tick (``rate`` ticks a second); one batch per tick."""
    rng = random.Random(seed)
    path = f"/datasets/{DATASET}/versions/1/events"
    ticks = max(1, round(seconds * rate))
    start = datetime.now(UTC).replace(microsecond=0)
    totals = {"sent": 0, "broken": 0, "accepted": 0, "rejected": 0, "duplicates": 0}
    began = time.monotonic()
    for tick in range(ticks):
        at = start + timedelta(seconds=tick / rate)
        batch = [reading(rng, number, at, broken) for number in range(sensors)]
        # The key makes a retry of this POST safe: the server answers it as the first time.
        answer = client.request(
            "POST",
            path,
            json=[event for event, _ in batch],
            headers={"Idempotency-Key": f"{DATASET}-{seed}-{start:%Y%m%dT%H%M%S}-{tick}"},
            idempotent=True,
        ).json()
        totals["sent"] += len(batch)
        totals["broken"] += sum(is_broken for _, is_broken in batch)
        totals["accepted"] += answer["accepted"]
        totals["rejected"] += len(answer["rejected"])
        totals["duplicates"] += len(answer.get("duplicates", []))
        pause = began + (tick + 1) / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # a sensor's pace, not a wait for the server
    return totals


def latest_values(client: Client) -> list[dict[str, Any]]:
    return list(client.pages(f"/datasets/{DATASET}/versions/1/latest", page_size=500))


def history(client: Client, wait_s: float) -> list[dict[str, Any]]:
    """The Parquet distributions of the dataset's editions, waiting up to ``wait_s`` for one."""
    deadline = time.monotonic() + wait_s
    while True:
        found = [
            {"edition": edition["edition"], **distribution}
            for edition in client.editions(DATASET, "1")
            for distribution in client.distributions(DATASET, "1", edition["edition"])
            if str(distribution.get("format", "")).lower() == "parquet"
        ]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(1.0)  # the batch window closes on the server's timer


def show(totals: dict[str, int], latest: list[dict[str, Any]], files: list[dict]) -> None:
    print(
        f"sent {totals['sent']} readings ({totals['broken']} from broken sensors): "
        f"{totals['accepted']} accepted, {totals['rejected']} rejected"
    )
    print(f"\nlatest value of {len(latest)} sensors:")
    for item in latest:
        event = item["event"]
        print(
            f"  {event['sensorId']}  {event['place']:<14} {event['lat']:>8} {event['lon']:>8}"
            f"  {event['temperature']:>6.2f} °C  at {event['observedAt']}"
        )
    if files:
        print("\npublished history (Parquet):")
        for found in files:
            print(f"  edition {found['edition']}: {', '.join(found.get('filenames', []))}")
    else:
        print("\nno history published yet: it appears when the batch window closes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="Brygge's API (default: BRYGGE_URL or the profile)")
    parser.add_argument("--token", help="an API token (default: BRYGGE_TOKEN or the profile)")
    parser.add_argument("--owner", default="team:bad", help="the datasets' owner team")
    parser.add_argument("--sensors", type=int, default=50, help="how many sensors post")
    parser.add_argument("--seconds", type=float, default=60, help="how long they post")
    parser.add_argument("--rate", type=float, default=1.0, help="readings per sensor a second")
    parser.add_argument("--broken", type=float, default=0.02, help="share of broken readings")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulation")
    parser.add_argument("--window", type=int, default=60, help="history batch window, seconds")
    parser.add_argument(
        "--wait-history", type=float, default=0, help="seconds to wait for a Parquet edition"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary instead")
    args = parser.parse_args(argv)
    with Client(args.url, args.token) as client:
        register(client, args.sensors, args.owner, args.window)
        totals = simulate(client, args.sensors, args.seconds, args.rate, args.broken, args.seed)
        latest = latest_values(client)
        files = history(client, args.wait_history)
    if args.json:
        json.dump({"totals": totals, "latest": latest, "history": files}, sys.stdout)
        print()
    else:
        show(totals, latest, files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
