"""Sample datasets, editions and distributions, made through the API as a data owner would.

The catalogue below is built once per test process by a real app over SQLite: the datasets
are POSTed, each edition gets a file through a signed upload URL, and a run publishes it.
The dicts the DCAT tests use are read back the way the feed reads them, so a field the app
stores under one name and the graph reads under another cannot hide behind a hand-written
fixture.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import io
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from catalogue.object_stores import open_data_store
from catalogue.settings import Settings
from pipelines.objects import ObjectStore

BASE_URL = "https://data.example.no/api"
CSV_BODY = b"time,value\n2024-06-07T08:00:00Z,12.5\n"
LATEST_EDITION = "20240607T080910"
OLD_EDITION = "20240101T000000"

CATALOG_INFO: dict[str, Any] = {
    "title": "Brygge open data",
    "description": "Public datasets of the Brygge data platform",
    "publisher": {"name": "Example municipality", "uri": "https://data.example.no/org/example"},
    "contactPoint": {"name": "Data team", "email": "data@example.no"},
    "language": "nb",
    "homepage": "https://data.example.no/",
}

# What a data owner sends: every DCAT field the API takes.
DATASET_REQUEST: dict[str, Any] = {
    "id": "air-quality",
    "title": "Dataset air-quality",
    "description": "Measurements of air-quality",
    "accessRights": "public",
    "owner": "team:environment",
    "publisher": "Example municipality",
    "contactPoint": {"name": "Environment team", "email": "miljo@example.no"},
    "keywords": ["air"],
    "themes": ["ENVI", "HEAL"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "spatial": "https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
    "temporal": {"start": "2020-01-01", "end": "2024-12-31"},
    "accrualPeriodicity": "daily",
    "language": "nb",
    "conformsTo": ["https://example.no/standards/air-quality"],
    "wasDerivedFrom": ["sensor-readings"],
}


@dataclass(frozen=True)
class ApiMade:
    """The air-quality dataset as the API made it: its editions and its latest distribution."""

    dataset: dict[str, Any]
    editions: list[dict[str, Any]]
    distribution: dict[str, Any]


def _at(clock: Any, moment: datetime) -> None:
    clock.now = moment


@functools.cache
def api_made() -> ApiMade:
    """Build the sample catalogue through the API once per process; see the module doc."""
    from catalogue.api.catalog import api_distributions
    from catalogue.app import create_app
    from catalogue.dcat.selection import publish_item
    from catalogue.store import migrations
    from tests.fixtures.app import Clock, authenticate_as_site_admin, catalog_settings

    home = Path(tempfile.mkdtemp(prefix="brygge-dcat-"))
    settings = catalog_settings(home, BASE_URL)
    migrations.apply(settings)
    clock = Clock(step=timedelta(0))
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    authenticate_as_site_admin(app)
    client = app.test_client()
    try:
        _at(clock, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))
        source = {**DATASET_REQUEST, "id": "sensor-readings", "wasDerivedFrom": []}
        for body in (source, DATASET_REQUEST):
            response = client.post("/datasets", json=body)
            assert response.status_code == 201, response.json
        for edition, start, end in (
            (OLD_EDITION, "2023-01-01T00:00:00Z", "2023-12-31T23:59:59Z"),
            (LATEST_EDITION, "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"),
        ):
            _upload(app, client, edition, start, end)
        # The metadata changes after the last upload: ``modified`` moves, ``created`` stays.
        _at(clock, datetime(2024, 6, 7, 8, 9, 10, tzinfo=UTC))
        response = client.patch("/datasets/air-quality", json={"keywords": ["air", "pollution"]})
        assert response.status_code == 200, response.json

        repositories = app.extensions["brygge"].repositories
        dataset = client.get("/datasets/air-quality").json
        editions = client.get("/datasets/air-quality/versions/1/editions").json["items"]
        with app.test_request_context():
            # Shaped as the feed hands them to the graph: stored fields with the API's URLs.
            [distribution] = api_distributions(publish_item(repositories, dataset))
        return ApiMade(dataset, editions, distribution)
    finally:
        app.extensions["brygge"].store.close()
        # What the test reads is in memory by now; the home would stay in /tmp for good.
        shutil.rmtree(home, ignore_errors=True)


def _upload(app: Any, client: Any, edition: str, start: str, end: str) -> None:
    """Make ``edition`` and send it ``air.csv`` through a signed upload URL; wait for the run."""
    editions = "/datasets/air-quality/versions/1/editions"
    response = client.post(editions, json={"edition": edition, "startTime": start, "endTime": end})
    assert response.status_code == 201, response.json
    response = client.post(
        "/datasets/air-quality/versions/1/uploads",
        json={"filename": "air.csv", "contentType": "text/csv", "edition": edition},
    )
    assert response.status_code == 201, response.json
    upload = response.json["upload"]
    form = {**upload["fields"], "file": (io.BytesIO(CSV_BODY), "air.csv")}
    sent = client.post(
        upload["url"].removeprefix(BASE_URL), data=form, content_type="multipart/form-data"
    )
    assert sent.status_code == 204, sent.data
    assert app.extensions["brygge"].runs.wait_idle(timeout_s=60)


def make_dataset(dataset_id: str = "air-quality", **changes: Any) -> dict[str, Any]:
    """The API-made public dataset under another id; a change of None removes the field."""
    dataset = copy.deepcopy(api_made().dataset)
    dataset.update(
        id=dataset_id,
        title=f"Dataset {dataset_id}",
        description=f"Measurements of {dataset_id}",
    )
    return _changed(dataset, changes)


def make_distribution(dataset_id: str = "air-quality", **changes: Any) -> dict[str, Any]:
    """The API-made distribution of the latest edition, as if of ``dataset_id``."""
    distribution = copy.deepcopy(api_made().distribution)
    for name in ("accessURL", "downloadURL", "key"):
        distribution[name] = distribution[name].replace("air-quality", dataset_id)
    distribution["dataset"] = dataset_id
    return _changed(distribution, changes)


def _changed(document: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    document.update(changes)
    return {name: value for name, value in document.items() if value is not None}


def editions() -> list[dict[str, Any]]:
    """The dataset's editions as ``GET .../editions`` lists them (newest first)."""
    return copy.deepcopy(api_made().editions)


def edition_run(edition: str) -> str:
    """The id of the run that made ``edition``."""
    return next(item["run"] for item in api_made().editions if item["edition"] == edition)


def distribution_id() -> str:
    """The id the run gave the latest edition's distribution."""
    return str(api_made().distribution["id"])


CSV_SHA256 = hashlib.sha256(CSV_BODY).hexdigest()


@pytest.fixture
def dataset() -> dict[str, Any]:
    return make_dataset()


@pytest.fixture
def distribution() -> dict[str, Any]:
    return make_distribution()


@pytest.fixture
def catalog_info() -> dict[str, Any]:
    return copy.deepcopy(CATALOG_INFO)


def directory_target(root: Path) -> ObjectStore:
    """The open-data location in the directory ``root``, as the settings make it."""
    return open_data_store(Settings(home=root.parent, open_data_dir=root))


OFFICIAL = Path(__file__).parents[2] / "data" / "shapes" / "official"
DCAT_AP_3_0_0 = "https://semiceu.github.io//DCAT-AP/releases/3.0.0#"


def load(*names: str) -> Graph:
    """The official shapes files ``names`` (tests/data/shapes/official) in one graph."""
    graph = Graph()
    for name in names:
        graph.parse(OFFICIAL / name)
    return graph


@pytest.fixture(scope="module")
def dcat_ap_3_0_0_as_published() -> Graph:
    return load("dcat-ap-3.0.0-SHACL.ttl")


@pytest.fixture(scope="module")
def official_shapes(dcat_ap_3_0_0_as_published: Graph) -> dict[str, Graph]:
    """Each official profile's shapes, by name."""
    dcat_ap_3_0_0 = Graph()
    dcat_ap_3_0_0 += dcat_ap_3_0_0_as_published
    # Erratum of the 3.0.0 file: its "Dataset member of a Dataset Series" shape targets every
    # dcat:Dataset and so demands dcat:inSeries of all of them; the spec applies it to datasets
    # in a series only, and 3.0.1 drops the shape. Only that target is taken out.
    dcat_ap_3_0_0.remove(
        (URIRef(DCAT_AP_3_0_0 + "DatasetInSeriesShape"), ns.SH.targetClass, ns.DCAT.Dataset)
    )
    return {
        "dcat-ap-3.0.1": load("dcat-ap-3.0.1-SHACL.ttl"),
        "dcat-ap-3.0.0": dcat_ap_3_0_0,
        "dcat-ap-no-3": load("dcatapno3-core-shapes.ttl", "dcatapno3-range-shapes.ttl"),
        "dcat-ap-no-2.2": load("DCAT-AP-NO-shacl_shapes_2.00.ttl"),
    }
