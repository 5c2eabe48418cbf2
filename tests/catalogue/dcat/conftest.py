"""Sample datasets and distributions, shaped as the API returns them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

BASE_URL = "https://data.example.no/api"

CATALOG_INFO: dict[str, Any] = {
    "title": "Brygge open data",
    "description": "Public datasets of the Brygge data platform",
    "publisher": {"name": "Example municipality", "uri": "https://data.example.no/org/example"},
    "contactPoint": {"name": "Data team", "email": "data@example.no"},
    "language": "nb",
    "homepage": "https://data.example.no/",
}


def make_dataset(dataset_id: str = "air-quality", **changes: Any) -> dict[str, Any]:
    """A public dataset with every DCAT field filled in."""
    dataset: dict[str, Any] = {
        "id": dataset_id,
        "title": f"Dataset {dataset_id}",
        "description": f"Measurements of {dataset_id}",
        "accessRights": "public",
        "owner": "team-environment",
        "publisher": "Example municipality",
        "contactPoint": {"name": "Environment team", "email": "miljo@example.no"},
        "keywords": ["air", "pollution"],
        "themes": ["ENVI", "HEAL"],
        "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
        "spatial": "https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
        "temporal": {"start": "2020-01-01", "end": "2024-12-31"},
        "accrualPeriodicity": "daily",
        "language": "nb",
        "conformsTo": ["https://example.no/standards/air-quality"],
        "wasDerivedFrom": ["sensor-readings"],
        "sourceType": "file",
        "state": "active",
        "created": "2024-01-02T03:04:05Z",
        "modified": "2024-06-07T08:09:10Z",
    }
    dataset.update(changes)
    return dataset


def make_distribution(dataset_id: str = "air-quality", **changes: Any) -> dict[str, Any]:
    """A processed CSV distribution of edition 20240607T080910 of version 1."""
    distribution: dict[str, Any] = {
        "id": "d1",
        "type": "file",
        "version": "1",
        "edition": "20240607T080910",
        "filenames": ["air.csv"],
        "mediaType": "text/csv",
        "format": "CSV",
        "byteSize": 1234,
        "checksum": "ab" * 32,
        "schema": {"fields": [{"name": "value", "type": "number"}]},
        "accessURL": f"{BASE_URL}/datasets/{dataset_id}",
        "downloadURL": f"https://opendata.example.no/datasets/{dataset_id}/air.csv",
    }
    distribution.update(changes)
    return distribution


EDITIONS = [
    {
        "edition": "20240101T000000",
        "startTime": "2023-01-01T00:00:00Z",
        "endTime": "2023-12-31T23:59:59Z",
        "runId": "run-old",
    },
    {
        "edition": "20240607T080910",
        "startTime": "2024-01-01T00:00:00Z",
        "endTime": "2024-06-01T00:00:00Z",
        "runId": "run-42",
    },
]


@pytest.fixture
def dataset() -> dict[str, Any]:
    return make_dataset()


@pytest.fixture
def distribution() -> dict[str, Any]:
    return make_distribution()


@pytest.fixture
def catalog_info() -> dict[str, Any]:
    return copy.deepcopy(CATALOG_INFO)
