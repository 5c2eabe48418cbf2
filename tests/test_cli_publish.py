"""``brygge publish`` end to end: datasets made through the API, open data in a directory."""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from catalogue.cli import main
from catalogue.lambdas import publish_open_data as handler
from catalogue.settings import Settings
from pipelines.objects import LocalObjectStore
from tests.fixtures.app import SITE_ADMIN

BASE_URL = "https://data.example.no/api"
DATASET = {
    "title": "Luftkvalitet",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Miljøteamet", "email": "miljo@example.no"},
    "themes": ["ENVI"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "language": "nb",
}
OPEN_DATA_URL = "https://open.example.no/data"
CATALOG_ENV = {
    "BRYGGE_BASE_URL": BASE_URL,
    "BRYGGE_OPEN_DATA_BASE_URL": OPEN_DATA_URL,
    "BRYGGE_CATALOG_TITLE": "Oslo open data",
    "BRYGGE_CATALOG_PUBLISHER_NAME": "Oslo kommune",
    "BRYGGE_CATALOG_CONTACT_EMAIL": "data@example.no",
}


@pytest.fixture
def environment(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment ``brygge`` reads: the app fixture's home and catalogue metadata."""
    for variable in ("BRYGGE_BACKEND", "BRYGGE_OPEN_DATA_BUCKET", "BRYGGE_OPEN_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BRYGGE_HOME", str(settings.home))
    monkeypatch.setenv("BRYGGE_SECRET_KEY", settings.secret_key)
    for variable, value in CATALOG_ENV.items():
        monkeypatch.setenv(variable, value)
    return settings


def create(client: FlaskClient, dataset_id: str, **changes: Any) -> None:
    body = {key: value for key, value in {**DATASET, **changes}.items() if value is not None}
    response = client.post("/datasets", json={**body, "id": dataset_id})
    assert response.status_code == 201, response.json


def add_processed_file(app: Flask, settings: Settings, dataset_id: str, body: bytes) -> str:
    """An edition whose distribution is a processed file in the local object store."""
    client = app.test_client()
    editions = f"/datasets/{dataset_id}/versions/1/editions"
    edition = client.post(editions, json={"description": "daily"}).json["edition"]
    key = f"processed/green/{dataset_id}/version=1/edition={edition}/{dataset_id}.csv"
    LocalObjectStore(settings.objects_dir).put(key, io.BytesIO(body))
    # The key is the pipeline's to set; tests stand in for the pipeline's last step.
    app.extensions["brygge"].repositories.distributions.create(
        [dataset_id, "1", edition],
        {
            "type": "file",
            "filenames": [f"{dataset_id}.csv"],
            "mediaType": "text/csv",
            "byteSize": len(body),
            "checksum": hashlib.sha256(body).hexdigest(),
            "key": key,
        },
        principal=SITE_ADMIN,
    )
    return key


def publish(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["publish"]) == 0
    return capsys.readouterr().out.splitlines()


def catalogued(open_data: Path) -> set[str]:
    graph = Graph().parse(open_data / "catalog.ttl", format="turtle")
    catalog = URIRef(f"{BASE_URL}/catalog")
    return {str(node).rsplit("/", 1)[-1] for node in graph.objects(catalog, ns.DCAT.dataset)}


def test_publish_writes_once_then_nothing_new_then_withdraws_a_deleted_dataset(
    app: Flask,
    client: FlaskClient,
    environment: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create(client, "air")
    add_processed_file(app, environment, "air", b"time,value\n2026-01-01T00:00:00Z,3\n")
    create(client, "noise")
    create(client, "traffic", themes=None)
    create(client, "members", accessRights="restricted")
    open_data = environment.home / "open-data"

    first = publish(capsys)

    assert "published datasets/air/air.csv" in first
    assert "published catalog.jsonld" in first
    assert "published catalog.ttl" in first
    assert "skipped traffic: lacks or has invalid themes" in first
    assert first[-1] == "published 5, withdrawn 0, unchanged 0, skipped 1"
    assert (open_data / "datasets/air/air.csv").read_bytes().startswith(b"time,value")
    assert catalogued(open_data) == {"air", "noise"}
    catalog = Graph().parse(open_data / "catalog.jsonld", format="json-ld")
    title = catalog.value(URIRef(f"{BASE_URL}/catalog"), ns.DCTERMS.title)
    assert str(title) == "Oslo open data"

    second = publish(capsys)

    assert second == [
        "skipped traffic: lacks or has invalid themes",
        "published 0, withdrawn 0, unchanged 5, skipped 1",
    ]

    deleted = client.delete("/datasets/air?cascade=true")
    assert deleted.status_code == 204
    third = publish(capsys)

    assert "withdrew datasets/air/air.csv (dataset air was deleted)" in third
    assert "published catalog.ttl" in third
    assert not (open_data / "datasets/air").exists()
    assert catalogued(open_data) == {"noise"}
    report = json.loads((open_data / "publish-report.json").read_text())
    assert report["withdrawnDatasets"] == ["air"]


def test_a_dataset_failing_the_gate_keeps_its_files_out_of_the_feed(
    app: Flask,
    client: FlaskClient,
    environment: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create(client, "air")
    add_processed_file(app, environment, "air", b"a,b\n1,2\n")
    open_data = environment.home / "open-data"
    publish(capsys)
    assert (open_data / "datasets/air/air.csv").exists()

    assert client.patch("/datasets/air", json={"contactPoint": None}).status_code == 200
    lines = publish(capsys)

    assert not [line for line in lines if line.startswith("withdrew")]
    assert "skipped air: lacks or has invalid contactPoint; its published files stay" in lines
    assert (open_data / "datasets/air/air.csv").read_bytes() == b"a,b\n1,2\n"
    assert catalogued(open_data) == set()


def test_an_api_distribution_is_published_with_its_endpoint_as_access_url(
    client: FlaskClient, environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    create(client, "air")
    editions = "/datasets/air/versions/1/editions"
    edition = client.post(editions, json={"description": "live"}).json["edition"]
    endpoint = "https://api.example.no/air/v1?station=all"
    response = client.post(
        f"{editions}/{edition}/distributions", json={"type": "api", "accessURL": endpoint}
    )
    assert response.status_code == 201, response.json
    distribution = URIRef(f"{BASE_URL}{editions}/{edition}/distributions/{response.json['id']}")

    publish(capsys)

    catalog = Graph().parse(environment.home / "open-data" / "catalog.ttl", format="turtle")
    assert list(catalog.objects(distribution, ns.DCAT.accessURL)) == [URIRef(endpoint)]
    assert catalog.value(distribution, ns.DCAT.downloadURL) is None


def test_a_dataset_made_restricted_is_withdrawn_saying_why(
    app: Flask,
    client: FlaskClient,
    environment: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create(client, "air")
    add_processed_file(app, environment, "air", b"a,b\n1,2\n")
    publish(capsys)
    # accessRights is immutable: the dataset goes, and comes back restricted.
    assert client.delete("/datasets/air?cascade=true").status_code == 204
    create(client, "air", accessRights="restricted")

    lines = publish(capsys)

    assert "withdrew datasets/air/air.csv (dataset air is no longer public (restricted))" in lines


@pytest.mark.parametrize("variable", ["BRYGGE_BASE_URL", "BRYGGE_OPEN_DATA_BASE_URL"])
def test_publish_without_a_public_url_refuses_naming_the_variable(
    client: FlaskClient,
    environment: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
) -> None:
    create(client, "noise")
    monkeypatch.delenv(variable)

    assert main(["publish"]) == 2

    assert f"brygge publish: {variable} is not set" in capsys.readouterr().err
    assert not (environment.home / "open-data").exists()


def test_publish_writes_to_the_configured_open_data_directory(
    client: FlaskClient,
    environment: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    portal = tmp_path / "portal"
    monkeypatch.setenv("BRYGGE_OPEN_DATA_DIR", str(portal))
    create(client, "noise")

    lines = publish(capsys)

    assert lines[-1] == "published 4, withdrawn 0, unchanged 0, skipped 0"
    assert catalogued(portal) == {"noise"}
    assert not (environment.home / "open-data").exists()


def catalog_value(open_data: Path, predicate: URIRef) -> str | None:
    graph = Graph().parse(open_data / "catalog.ttl", format="turtle")
    value = graph.value(URIRef(f"{BASE_URL}/catalog"), predicate)
    return None if value is None else str(value)


def test_publish_runs_without_the_api_module(
    client: FlaskClient,
    environment: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create(client, "noise")
    # None in sys.modules makes any import of the module fail.
    monkeypatch.setitem(sys.modules, "catalogue.api.catalog", None)

    lines = publish(capsys)

    assert lines[-1] == "published 4, withdrawn 0, unchanged 0, skipped 0"
    assert catalog_value(environment.home / "open-data", ns.DCTERMS.title) == "Oslo open data"


def test_the_scheduled_handler_describes_the_catalogue_from_its_settings(
    client: FlaskClient, environment: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    create(client, "noise")

    report = handler({}, None)

    open_data = environment.home / "open-data"
    assert "catalog.ttl" in report["published"]
    assert json.loads(capsys.readouterr().out)["published"] == len(report["published"])
    assert catalog_value(open_data, ns.DCTERMS.title) == "Oslo open data"
    graph = Graph().parse(open_data / "catalog.ttl", format="turtle")
    contact = graph.value(URIRef(f"{BASE_URL}/catalog"), ns.DCAT.contactPoint)
    assert contact is not None
    assert str(graph.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail"))) == (
        "mailto:data@example.no"
    )
