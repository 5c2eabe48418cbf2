"""Feed export time per 1,000 datasets, measured on a catalogue of 10,000 synthetic datasets.

Run: ``.venv/bin/python bench/catalog.py [--datasets 10000] [--runs 3] [--rdflib]``. Not
collected by pytest. Alternates Brygge's export (statements written directly in each format)
with a baseline, the same records as plain JSON (what ``GET /datasets`` costs), and prints
the median of the runs, one line per figure: both values, the ratio and the target.
``--rdflib`` also times the export as it was made before, through an rdflib graph and
rdflib's serialisers (``tests/catalogue/dcat/rdflib_reference.py``), in the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from catalogue.dcat.serialization import JSON_LD, RDF_XML, TURTLE, serialize
from catalogue.dcat.statements import catalog_statements

BASE_URL = "https://data.example.no/api"
THEMES = ["AGRI", "ECON", "EDUC", "ENER", "ENVI", "GOVE", "HEAL", "REGI", "SOCI", "TRAN"]
FREQUENCIES = ["daily", "weekly", "monthly", "annual", "irregular"]
# Harvesters page through /catalog and the publishing job writes the whole catalogue every
# night in each format: at 100,000 datasets, 0.2 s per 1,000 is 20 s per format.
TARGET_S_PER_1000 = 0.2
CATALOG_INFO = {
    "title": "Brygge open data",
    "description": "Public datasets of the Brygge data platform",
    "publisher": {"name": "Example municipality", "uri": "https://data.example.no/org/example"},
    "contactPoint": {"name": "Data team", "email": "data@example.no"},
    "language": "nb",
    "homepage": "https://data.example.no/",
}


def synthetic_entries(
    count: int, seed: int = 7
) -> list[tuple[dict[str, Any], list[Any], list[Any]]]:
    """``count`` public datasets with one distribution and one edition each, from a seed."""
    rng = random.Random(seed)
    entries = []
    for number in range(count):
        dataset_id = f"dataset-{number:05d}"
        edition = f"2025{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}T120000"
        dataset = {
            "id": dataset_id,
            "title": f"Dataset number {number}",
            "description": f"Synthetic measurements, series {number}",
            "accessRights": "public",
            "owner": f"team-{number % 20}",
            "publisher": "Example municipality",
            "contactPoint": {
                "name": f"Team {number % 20}",
                "email": f"team{number % 20}@example.no",
            },
            "keywords": [f"keyword-{rng.randint(0, 500)}" for _ in range(3)],
            "themes": rng.sample(THEMES, 2),
            "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
            "spatial": "https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
            "temporal": {"start": "2020-01-01", "end": "2025-12-31"},
            "accrualPeriodicity": rng.choice(FREQUENCIES),
            "language": "nb",
            "conformsTo": [],
            "wasDerivedFrom": [f"dataset-{rng.randint(0, count - 1):05d}"]
            if number % 5 == 0
            else [],
            "sourceType": "file",
            "state": "active",
            "created": "2024-01-02T03:04:05Z",
            "modified": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T10:00:00Z",
        }
        distribution = {
            "id": "d1",
            "type": "file",
            "version": "1",
            "edition": edition,
            "filenames": [f"{dataset_id}.parquet"],
            "mediaType": "application/vnd.apache.parquet",
            "format": "PARQUET",
            "byteSize": rng.randint(1_000, 10_000_000),
            "checksum": f"{rng.getrandbits(256):064x}",
            "downloadURL": f"https://opendata.example.no/datasets/{dataset_id}/{dataset_id}.parquet",
        }
        run = {"edition": edition, "startTime": None, "endTime": None, "runId": f"run-{number}"}
        entries.append((dataset, [distribution], [run]))
    return entries


def median_s(action: Callable[[], Any], runs: int) -> float:
    """Median CPU seconds of ``action``: the export is single-threaded, and CPU time stays
    meaningful on a machine whose two cores the whole team shares."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        action()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rdflib", action="store_true", help="also time the rdflib export")
    args = parser.parse_args()
    entries = synthetic_entries(args.datasets)
    per_1000 = 1000 / args.datasets

    def baseline() -> str:
        return json.dumps({"items": [{**d, "distributions": dist} for d, dist, _ in entries]})

    def export(rdf_format: str) -> Callable[[], str]:
        # The whole export: the statements from the records, then the document.
        return lambda: serialize(catalog_statements(CATALOG_INFO, entries, BASE_URL), rdf_format)

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("statements", lambda: catalog_statements(CATALOG_INFO, entries, BASE_URL)),
        ("jsonld", export(JSON_LD)),
        ("turtle", export(TURTLE)),
        ("rdfxml", export(RDF_XML)),
    ]
    if args.rdflib:
        sys.path.insert(
            0, str(Path(__file__).resolve().parents[1] / "tests" / "catalogue" / "dcat")
        )
        import rdflib_reference as reference

        def rdflib_export(rdf_format: str) -> Callable[[], str]:
            return lambda: reference.serialize(
                reference.catalog_graph(CATALOG_INFO, entries, BASE_URL), rdf_format
            )

        cases += [
            ("rdflib_graph", lambda: reference.catalog_graph(CATALOG_INFO, entries, BASE_URL)),
            ("rdflib_jsonld", rdflib_export("json-ld")),
            ("rdflib_turtle", rdflib_export("turtle")),
            ("rdflib_rdfxml", rdflib_export("xml")),
        ]
    figures = {}
    # Alternate baseline and Brygge within each round so drift hits both alike.
    for name, action in cases:
        baseline_s = median_s(baseline, args.runs)
        figures[name] = (median_s(action, args.runs), baseline_s)

    statements = catalog_statements(CATALOG_INFO, entries, BASE_URL)
    print(
        f"# {args.datasets} datasets, {len(statements)} triples, "
        f"median CPU time of {args.runs} runs"
    )
    for name, (brygge_s, baseline_s) in figures.items():
        brygge, base = brygge_s * per_1000, baseline_s * per_1000
        verdict = "ok" if brygge <= TARGET_S_PER_1000 else "MISSED"
        print(
            f"catalog_{name}_per_1000 brygge {brygge:.3f} s json {base:.3f} s "
            f"ratio {brygge / base:.1f}x target <= {TARGET_S_PER_1000:.1f} s {verdict}"
        )


if __name__ == "__main__":
    main()
