"""Controlled-vocabulary fields take a term's code and the IRI the EU (or IANA) publishes for it.

A client copying terms from the EU vocabularies gets IRIs; one typing them gets codes. Both
are stored in one form, the one the API answers and filters by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from catalogue.settings import Settings
from catalogue.store import keys
from catalogue.store.base import Replace
from tests.fixtures.app import catalog_settings

EU = "http://publications.europa.eu/resource/authority/"
BASE = {
    "title": "Luftkvalitet",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return catalog_settings(tmp_path / "home", "https://data.example.no/api")


def created(client: FlaskClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/datasets", json={**BASE, **fields})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("field", "given", "stored"),
    [
        ("themes", [EU + "data-theme/ENVI", "TRAN"], ["ENVI", "TRAN"]),
        ("themes", ["https://publications.europa.eu/resource/authority/data-theme/HEAL"], ["HEAL"]),
        ("accrualPeriodicity", EU + "frequency/DAILY", "DAILY"),
        ("accrualPeriodicity", EU + "frequency/ANNUAL_2", "ANNUAL_2"),
        ("language", EU + "language/NOB", "nb"),
        ("language", "NNO", "nn"),
        ("license", "CC_BY_4_0", EU + "licence/CC_BY_4_0"),
        ("license", EU + "licence/NLOD_2_0", EU + "licence/NLOD_2_0"),
        ("accessRights", EU + "access-right/PUBLIC", "public"),
    ],
)
def test_a_vocabulary_term_is_taken_as_code_or_iri_and_stored_in_one_form(
    client: FlaskClient, field: str, given: Any, stored: Any
) -> None:
    dataset = created(client, **{field: given})

    assert dataset[field] == stored
    assert client.get(f"/datasets/{dataset['id']}").json[field] == stored


def test_a_patch_takes_a_theme_iri_and_the_dataset_is_found_by_its_code(
    client: FlaskClient,
) -> None:
    dataset = created(client, themes=["ENVI"])

    response = client.patch(f"/datasets/{dataset['id']}", json={"themes": [EU + "data-theme/AGRI"]})

    assert response.status_code == 200, response.json
    assert response.json["themes"] == ["AGRI"]
    listed = client.get("/datasets", query_string={"theme": "AGRI"}).json["items"]
    assert [item["id"] for item in listed] == [dataset["id"]]


@pytest.mark.parametrize(
    ("field", "given"),
    [
        ("themes", [EU + "data-theme/OP_DATPRO"]),
        ("themes", [EU + "frequency/DAILY"]),
        ("themes", ["ENVIRONMENT"]),
        ("accrualPeriodicity", EU + "frequency/SOMETIMES"),
        ("accrualPeriodicity", EU + "data-theme/ENVI"),
        ("language", EU + "language/XXX"),
        ("language", "klingon"),
        ("license", "NOT_A_LICENCE"),
        ("accessRights", EU + "access-right/SENSITIVE"),
    ],
)
def test_a_term_outside_its_vocabulary_is_422_naming_the_field(
    client: FlaskClient, field: str, given: Any
) -> None:
    response = client.post("/datasets", json={**BASE, field: given})

    assert response.status_code == 422
    assert field in response.json["errors"]["json"]


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({"format": EU + "file-type/CSV"}, {"format": "CSV"}),
        (
            {"mediaType": "https://www.iana.org/assignments/media-types/text/csv"},
            {"mediaType": "text/csv"},
        ),
        (
            {"mediaType": "https://www.w3.org/ns/iana/media-types/application/geo+json#Resource"},
            {"mediaType": "application/geo+json"},
        ),
    ],
)
def test_a_distribution_takes_the_eu_file_type_and_iana_media_type_iris(
    client: FlaskClient, given: dict[str, str], stored: dict[str, str]
) -> None:
    dataset = created(client)
    editions = f"/datasets/{dataset['id']}/versions/1/editions"
    edition = client.post(editions, json={"description": "first"}).json["edition"]

    response = client.post(
        f"{editions}/{edition}/distributions", json={"filenames": ["air.csv"], **given}
    )

    assert response.status_code == 201, response.json
    assert {key: response.json[key] for key in stored} == stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("daily", "DAILY"),
        ("Daily", "DAILY"),
        ("DAILY", "DAILY"),
        (" weekly ", "WEEKLY"),
        ("realtime", "UPDATE_CONT"),
        ("yearly", "ANNUAL"),
        ("triennial", "TRIENNIAL"),
        ("https://publications.europa.eu/resource/authority/frequency/WEEKLY", "WEEKLY"),
    ],
)
def test_an_update_frequency_is_stored_as_its_eu_code_whatever_its_form(
    client: FlaskClient, given: str, stored: str
) -> None:
    made = created(client, accrualPeriodicity=given)
    patched = client.patch(f"/datasets/{made['id']}", json={"accrualPeriodicity": given})

    assert made["accrualPeriodicity"] == stored
    assert patched.json["accrualPeriodicity"] == stored
    assert client.get(f"/datasets/{made['id']}").json["accrualPeriodicity"] == stored


def test_an_update_frequency_stored_in_another_case_is_read_as_its_term(
    app: Any, client: FlaskClient
) -> None:
    # Datasets written before frequencies were stored as codes hold the word ("daily").
    made = created(client, accrualPeriodicity="DAILY")
    store = app.extensions["brygge"].store
    item = store.get(keys.dataset_pk(made["id"]), keys.DATASET_SK)
    store.write(Replace({**item, "accrualPeriodicity": "Daily"}, rev=item["rev"]))

    missing = client.get(f"/datasets/{made['id']}/publishability").json["missing"]
    assert "accrualPeriodicity" not in str(missing)
    turtle = client.get(f"/datasets/{made['id']}", headers={"Accept": "text/turtle"})
    assert EU + "frequency/DAILY" in turtle.get_data(as_text=True)


@pytest.mark.parametrize(
    "given",
    [
        EU + "file-type/CSV",
        "https://publications.europa.eu/resource/authority/file-type/CSV",
        "csv",
        "CSV",
    ],
)
def test_datasets_are_listed_by_the_eu_file_type_iri_of_a_format(
    client: FlaskClient, given: str
) -> None:
    dataset = created(client)
    editions = f"/datasets/{dataset['id']}/versions/1/editions"
    edition = client.post(editions, json={"description": "first"}).json["edition"]
    distribution = {"filenames": ["air.csv"], "format": "CSV"}
    assert client.post(f"{editions}/{edition}/distributions", json=distribution).status_code == 201

    for facets in ("true", "false"):
        answer = client.get("/datasets", query_string={"format": given, "facets": facets})
        assert answer.status_code == 200, answer.json
        assert [item["id"] for item in answer.json["items"]] == [dataset["id"]], facets


def test_a_format_iri_of_another_vocabulary_is_422(client: FlaskClient) -> None:
    answer = client.get("/datasets", query_string={"format": EU + "data-theme/ENVI"})

    assert answer.status_code == 422
    assert "format" in answer.json["errors"]["query"]
