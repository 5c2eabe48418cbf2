"""The publish gate lists what keeps a dataset out of the DCAT-AP-NO feed."""

from __future__ import annotations

from typing import Any

import pytest

from catalogue.dcat.publishability import is_publishable, missing_for_publication
from tests.catalogue.dcat.conftest import make_dataset, make_distribution


def test_complete_public_dataset_passes() -> None:
    assert missing_for_publication(make_dataset(), [make_distribution()]) == []
    assert is_publishable(make_dataset())


def test_minimal_dataset_passes() -> None:
    dataset = {
        "id": "x",
        "accessRights": "public",
        "title": "X",
        "description": "An x",
        "publisher": "Example municipality",
        "contactPoint": {"name": "Team", "email": "team@example.no"},
        "themes": ["GOVE"],
        "license": "https://creativecommons.org/licenses/by/4.0/",
    }
    assert missing_for_publication(dataset) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"accessRights": "restricted"}, "accessRights"),
        ({"accessRights": "non-public"}, "accessRights"),
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"description": "   "}, "description"),
        ({"publisher": None}, "publisher"),
        ({"contactPoint": None}, "contactPoint"),
        ({"contactPoint": {}}, "contactPoint"),
        ({"contactPoint": {"email": "a@example.no"}}, "contactPoint.name"),
        ({"contactPoint": {"name": "Team"}}, "contactPoint.email"),
        ({"contactPoint": {"name": "Team", "email": "not-an-email"}}, "contactPoint.email"),
        ({"themes": []}, "themes"),
        ({"themes": ["ENVI", "WEATHER"]}, "themes"),
        ({"license": None}, "license"),
        ({"license": "CC-BY"}, "license"),
        # DCAT-AP-NO admits only the EU Licence vocabulary (known licence URLs are mapped).
        ({"license": "https://example.no/our-terms"}, "license"),
        ({"accrualPeriodicity": "sometimes"}, "accrualPeriodicity"),
        ({"language": "klingon"}, "language"),
        ({"spatial": "Oslo"}, "spatial"),
        # A place IRI outside the vocabularies DCAT-AP-NO's range shapes accept.
        ({"spatial": "https://example.no/places/oslo"}, "spatial"),
        ({"conformsTo": ["ISO 19115"]}, "conformsTo"),
        # No IRI can name such a host or port, so no escaping can write it.
        ({"conformsTo": ["https://example.no:port/std"]}, "conformsTo"),
        ({"conformsTo": ["https://[example.no/std"]}, "conformsTo"),
        ({"temporal": {"start": "2025-01-01", "end": "2024-01-01"}}, "temporal"),
    ],
)
def test_each_lack_is_named(changes: dict[str, Any], field: str) -> None:
    problems = missing_for_publication(make_dataset(**changes))
    assert [problem["field"] for problem in problems] == [field]
    assert problems[0]["reason"]
    assert not is_publishable(make_dataset(**changes))


def test_missing_field_counts_like_an_empty_one() -> None:
    dataset = make_dataset()
    for field in ("contactPoint", "themes", "description", "publisher", "license"):
        del dataset[field]
    fields = {problem["field"] for problem in missing_for_publication(dataset)}
    assert fields == {"contactPoint", "themes", "description", "publisher", "license"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"checksum": "abc"}, "distributions[0].checksum"),
        ({"checksum": "zz" * 32}, "distributions[0].checksum"),
        ({"byteSize": -5}, "distributions[0].byteSize"),
        ({"mediaType": "csv"}, "distributions[0].mediaType"),
        ({"downloadURL": "s3://bucket/key"}, "distributions[0].downloadURL"),
    ],
)
def test_distribution_problems_name_the_distribution(changes: dict[str, Any], field: str) -> None:
    problems = missing_for_publication(make_dataset(), [make_distribution(**changes)])
    assert [problem["field"] for problem in problems] == [field]
