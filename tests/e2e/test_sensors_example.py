"""examples/sensors/sensors.py against a real ``brygge serve``, scaled down to seconds."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import polars as pl

from tests.e2e.conftest import Server, clean_environment

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "sensors" / "sensors.py"


def test_the_sensor_example_registers_ingests_and_shows_latest_values(
    brygge_server: Server, tmp_path: Path
) -> None:
    command = [
        sys.executable,
        str(SCRIPT),
        "--url",
        brygge_server.url,
        "--sensors",
        "10",
        "--seconds",
        "1",
        "--rate",
        "4",
        "--broken",
        "0.2",
        "--json",
    ]
    # The first run waits for its history: a one-second window, closed by the server's timer
    # into an edition that the default pipeline turns into Parquet.
    first = [*command, "--window", "1", "--wait-history", "120"]

    done = subprocess.run(
        first, capture_output=True, text=True, timeout=300, env=clean_environment(), cwd=tmp_path
    )

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    totals = summary["totals"]
    assert totals["sent"] == 40 and totals["broken"] > 0
    # Exactly the broken readings are rejected: the schema's constraints catch each of them.
    assert totals["rejected"] == totals["broken"]
    assert totals["accepted"] == totals["sent"] - totals["broken"]
    latest = {item["key"]: item["event"] for item in summary["latest"]}
    assert sorted(latest) == [f"bt-{number:03d}" for number in range(10)]
    assert latest["bt-000"]["place"] == "Sørenga" and latest["bt-000"]["lat"] == "59.9027"
    assert all(-2 <= event["temperature"] <= 35 for event in latest.values())
    history = summary["history"]
    assert history, "no Parquet edition was published"
    assert all(name.endswith(".parquet") for found in history for name in found["filenames"])
    rows = 0
    for found in history:
        with urllib.request.urlopen(found["downloadURL"], timeout=30) as answer:
            table = pl.read_parquet(io.BytesIO(answer.read()))
        # Enriched from the lookup dataset, typed by the schema.
        assert {"sensorId", "temperature", "place", "lat", "lon"} <= set(table.columns)
        assert table["temperature"].dtype == pl.Float64
        rows += table.height
    # Windows closed after the first one may still be on their way.
    assert 0 < rows <= totals["accepted"]

    # A second run reuses both datasets and sends new readings, accepted as before.
    again = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=clean_environment(), cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"]["accepted"] == totals["accepted"]
