"""The DCAT feed validated with pyshacl against the official DCAT-AP 3 and DCAT-AP-NO shapes.

The shapes are verbatim copies of the published files (tests/data/shapes/official/README.md
names their sources). A feed conforms when pyshacl reports no sh:Violation; warnings and
infos may remain and are shown in the failure message.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from catalogue.dcat import graph as dcat_graph
from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.catalog_info import configured_catalog_info
from catalogue.dcat.graph import catalog_graph, dataset_graph
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.publishing import publish
from catalogue.dcat.selection import PublishItem
from catalogue.settings import Settings
from pipelines.objects import LocalObjectStore
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    LATEST_EDITION,
    directory_target,
    distribution_id,
    edition_run,
    editions,
    make_dataset,
)
from tests.catalogue.dcat.conftest import make_distribution as csv_distribution
from tests.fixtures.app import catalog_settings

# rdflib's closed namespaces stay behind ``ns.``: pytest would probe them as module names.
SPDX, VCARD = dcat_graph.SPDX, dcat_graph.VCARD

EU = "http://publications.europa.eu/resource/authority/"
CATALOG = URIRef(f"{BASE_URL}/catalog")
DATASET = URIRef(f"{BASE_URL}/datasets/air-quality")
SOURCE = URIRef(f"{BASE_URL}/datasets/sensor-readings")
EDITION = f"{DATASET}/versions/1/editions/{LATEST_EDITION}"
DISTRIBUTION = URIRef(f"{EDITION}/distributions/{distribution_id()}")
CHECKSUM = URIRef(f"{DISTRIBUTION}#checksum")


PROFILES = ["dcat-ap-3.0.1", "dcat-ap-3.0.0", "dcat-ap-no-3", "dcat-ap-no-2.2"]
# The rendering each shape profile validates: DCAT-AP-NO 2.2 and 3 conflict on dcat:byteSize's
# datatype and on the checksum algorithm, so 2.2 gets its own rendering (vocabularies.PROFILES);
# DCAT-AP 3 and DCAT-AP-NO 3 name media types by different IRIs, so NO 3 gets its own too.
RENDERING = {
    "dcat-ap-3.0.1": vocab.DCAT_AP_3,
    "dcat-ap-3.0.0": vocab.DCAT_AP_3,
    "dcat-ap-no-3": vocab.DCAT_AP_NO_3,
    "dcat-ap-no-2.2": vocab.DCAT_AP_NO_2,
}
# DCAT-AP 3's vocabulary shape for dcat:mediaType (SEMICeu/DCAT-AP,
# releases/3.0.1/html/shacl/mdr-vocabularies.shape.ttl, :IANARestrictionRegexURI, a
# Violation): IANA's own IRIs, which data.europa.eu also maps the EU file types to.
DCAT_AP_MEDIA_TYPE = re.compile(r"^http.*://www.iana.org/assignments/media-types/")


def results(data: Graph, shapes: Graph) -> list[tuple[str, str, str, str]]:
    """(severity, focus node, path, message) of each result pyshacl reports, sorted.

    Only the report's own results count: those under ``sh:detail`` explain a result (a
    Warning's nested shape may fail with its default severity, Violation) and do not stand
    on their own.
    """
    _, report, _ = validate(data, shacl_graph=shapes)
    found = []
    for result in report.objects(None, ns.SH.result):
        value = report.value
        found.append(
            (
                str(value(result, ns.SH.resultSeverity)).rsplit("#", 1)[-1],
                str(value(result, ns.SH.focusNode)),
                str(value(result, ns.SH.resultPath)),
                str(value(result, ns.SH.resultMessage)),
            )
        )
    return sorted(found)


def assert_no_violations(data: Graph, shapes: Graph, profile: str) -> None:
    found = results(data, shapes)
    violations = [result for result in found if result[0] == "Violation"]
    listing = "\n".join(" | ".join(result) for result in found)
    assert not violations, f"{profile}: {len(violations)} violation(s)\n{listing}"


def violation_paths(data: Graph, shapes: Graph) -> set[tuple[str, str]]:
    return {
        (focus, path)
        for severity, focus, path, _ in results(data, shapes)
        if severity == "Violation"
    }


def parquet_distribution(dataset_id: str = "air-quality") -> dict[str, Any]:
    """A second distribution of the same edition, with a media type DCAT-AP-NO admits."""
    return csv_distribution(
        dataset_id,
        id="d2",
        filenames=["air.parquet"],
        mediaType="application/vnd.apache.parquet",
        format="PARQUET",
        byteSize=999,
        checksum="cd" * 32,
        downloadURL=f"https://opendata.example.no/datasets/{dataset_id}/air.parquet",
    )


def full_feed(profile: str = vocab.DCAT_AP_3) -> Graph:
    """A catalogue page with every optional field set, lineage inside the page and a view."""
    derived = make_dataset(
        wasDerivedFrom=["sensor-readings"],
        spatial="https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
        temporal={"start": "2020-01-01", "end": "2024-12-31"},
        conformsTo=["https://example.no/standards/air-quality"],
        license="https://creativecommons.org/licenses/by/4.0/",
    )
    source = make_dataset(
        "sensor-readings",
        wasDerivedFrom=[],
        spatial="http://publications.europa.eu/resource/authority/country/NOR",
        temporal={"start": "2019-01-01T00:00:00Z"},
        license="NLOD_2_0",
        language="en",
    )
    entries: list[Any] = [
        (derived, [csv_distribution(), parquet_distribution()], editions()),
        (source, [csv_distribution("sensor-readings")], editions()),
    ]
    info = {
        **CATALOG_INFO,
        "license": "http://publications.europa.eu/resource/authority/licence/CC0",
    }
    page = {"self": f"{BASE_URL}/catalog?limit=2", "next": f"{BASE_URL}/catalog?cursor=abc"}
    return catalog_graph(info, entries, BASE_URL, page, profile)


MINIMAL = {
    "id": "x",
    "accessRights": "public",
    "title": "X",
    "description": "An x",
    "publisher": "Example municipality",
    "contactPoint": {"name": "Team", "email": "team@example.no"},
    "themes": ["GOVE"],
    "license": "https://creativecommons.org/licenses/by/4.0/",
}


@pytest.mark.parametrize("profile", PROFILES)
def test_full_feed_conforms(official_shapes: dict[str, Graph], profile: str) -> None:
    graph = full_feed(RENDERING[profile])
    # The feed really carries what it is meant to: checksums, lineage, temporal, spatial.
    assert (DATASET, ns.DCTERMS.source, SOURCE) in graph
    assert (DATASET, ns.PROV.wasDerivedFrom, SOURCE) in graph
    assert ((DISTRIBUTION, SPDX.checksum, CHECKSUM) in graph) == (profile != "dcat-ap-no-2.2")
    assert graph.value(DISTRIBUTION, ns.DCAT.byteSize) is not None
    assert graph.value(DATASET, ns.DCTERMS.temporal) is not None
    assert graph.value(DATASET, ns.DCTERMS.spatial) is not None
    run = URIRef(f"{BASE_URL}/runs/{edition_run(LATEST_EDITION)}")
    assert graph.value(DATASET, ns.PROV.wasGeneratedBy) == run
    assert_no_violations(graph, official_shapes[profile], profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_deprecated_dataset_conforms_with_its_status(
    official_shapes: dict[str, Graph], profile: str
) -> None:
    dataset = make_dataset(state="deprecated", license="NLOD_2_0")
    graph = dataset_graph(dataset, [csv_distribution()], BASE_URL, editions(), RENDERING[profile])
    status = URIRef("http://www.w3.org/ns/adms#status")
    # DCAT-AP-NO 2.2 takes the ADMS Status vocabulary, the others the EU Distribution Status.
    expected = (
        "http://purl.org/adms/status/Deprecated"
        if profile == "dcat-ap-no-2.2"
        else EU + "distribution-status/DEPRECATED"
    )
    assert graph.value(DISTRIBUTION, status) == URIRef(expected)
    assert graph.value(DATASET, status) == URIRef(EU + "dataset-status/DEPRECATED")
    assert_no_violations(graph, official_shapes[profile], profile)


@pytest.mark.parametrize("profile", PROFILES)
def test_minimal_publishable_dataset_conforms(
    official_shapes: dict[str, Graph], profile: str
) -> None:
    assert missing_for_publication(MINIMAL) == []
    distribution = {"id": "d1", "accessURL": f"{BASE_URL}/datasets/x"}
    graph = dataset_graph(MINIMAL, [distribution], BASE_URL, profile=RENDERING[profile])
    assert_no_violations(graph, official_shapes[profile], profile)


@pytest.mark.parametrize("rendering", [vocab.DCAT_AP_3, vocab.DCAT_AP_NO_2])
def test_media_types_are_iana_iris_as_dcat_ap_names_them(rendering: str) -> None:
    graph = full_feed(rendering)
    parquet = URIRef(f"{EDITION}/distributions/d2")
    stated = {
        distribution: str(graph.value(distribution, ns.DCAT.mediaType))
        for distribution in (DISTRIBUTION, parquet)
    }
    assert stated == {
        DISTRIBUTION: "https://www.iana.org/assignments/media-types/text/csv",
        parquet: "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet",
    }
    assert all(DCAT_AP_MEDIA_TYPE.match(iri) for iri in stated.values())


def test_dcat_ap_no_3_rendering_names_media_types_as_its_range_shape_asks() -> None:
    graph = full_feed(vocab.DCAT_AP_NO_3)
    parquet = URIRef(f"{EDITION}/distributions/d2")
    assert graph.value(parquet, ns.DCAT.mediaType) == URIRef(
        "https://www.w3.org/ns/iana/media-types/application/vnd.apache.parquet"
    )
    # Its range shape admits application/* only: CSV is named by its EU file type alone.
    assert graph.value(DISTRIBUTION, ns.DCAT.mediaType) is None
    assert graph.value(DISTRIBUTION, ns.DCTERMS.format) == URIRef(EU + "file-type/CSV")


def test_dcat_ap_3_0_0_as_published_fails_only_on_its_in_series_erratum(
    dcat_ap_3_0_0_as_published: Graph,
) -> None:
    paths = {path for _, path in violation_paths(full_feed(), dcat_ap_3_0_0_as_published)}
    # rdflib's DCAT namespace predates DCAT 3, so dcat:inSeries is spelt out.
    assert paths == {"http://www.w3.org/ns/dcat#inSeries"}


@pytest.mark.parametrize(
    ("profile", "subject", "path"),
    [
        ("dcat-ap-3.0.1", CATALOG, ns.DCTERMS.title),
        ("dcat-ap-3.0.1", CATALOG, ns.DCTERMS.publisher),
        ("dcat-ap-3.0.1", DATASET, ns.DCTERMS.title),
        ("dcat-ap-3.0.1", DATASET, ns.DCTERMS.description),
        ("dcat-ap-3.0.1", DISTRIBUTION, ns.DCAT.accessURL),
        ("dcat-ap-3.0.1", CHECKSUM, SPDX.algorithm),
        ("dcat-ap-3.0.1", CHECKSUM, SPDX.checksumValue),
        ("dcat-ap-3.0.0", DATASET, ns.DCTERMS.description),
        ("dcat-ap-3.0.0", CATALOG, ns.DCTERMS.description),
        ("dcat-ap-no-3", CATALOG, ns.DCAT.contactPoint),
        ("dcat-ap-no-3", DATASET, ns.DCAT.contactPoint),
        ("dcat-ap-no-3", DATASET, ns.DCAT.theme),
        ("dcat-ap-no-3", DATASET, ns.DCTERMS.publisher),
        ("dcat-ap-no-3", DATASET, ns.DCTERMS.title),
        ("dcat-ap-no-2.2", CATALOG, ns.DCTERMS.identifier),
        ("dcat-ap-no-2.2", DATASET, ns.DCTERMS.identifier),
        ("dcat-ap-no-2.2", DATASET, ns.DCTERMS.description),
        ("dcat-ap-no-2.2", CATALOG, ns.DCTERMS.publisher),
        ("dcat-ap-no-2.2", URIRef("https://example.no/standards/air-quality"), ns.DCTERMS.title),
    ],
)
def test_dropping_a_mandatory_property_is_a_violation(
    official_shapes: dict[str, Graph], profile: str, subject: URIRef, path: URIRef
) -> None:
    graph = full_feed(RENDERING[profile])
    assert (subject, path, None) in graph
    graph.remove((subject, path, None))
    assert (str(subject), str(path)) in violation_paths(graph, official_shapes[profile])


@pytest.mark.parametrize(
    ("profile", "subject", "path", "value"),
    [
        # Range checks need the object's rdf:type, since pyshacl runs without inference.
        ("dcat-ap-3.0.1", DISTRIBUTION, ns.DCTERMS.license, EU + "licence/CC_BY_4_0"),
        ("dcat-ap-3.0.1", DATASET, ns.DCAT.theme, EU + "data-theme/ENVI"),
        ("dcat-ap-3.0.1", DATASET, ns.DCTERMS.accrualPeriodicity, EU + "frequency/DAILY"),
        ("dcat-ap-3.0.0", DISTRIBUTION, ns.DCAT.downloadURL, None),
        ("dcat-ap-no-3", DATASET, ns.DCAT.contactPoint, f"{DATASET}#contactPoint"),
    ],
)
def test_value_without_its_type_is_a_range_violation(
    official_shapes: dict[str, Graph],
    profile: str,
    subject: URIRef,
    path: URIRef,
    value: str | None,
) -> None:
    graph = full_feed()
    node = URIRef(value) if value else graph.value(subject, path)
    assert (subject, path, node) in graph
    graph.remove((node, ns.RDF.type, None))
    assert (str(subject), str(path)) in violation_paths(graph, official_shapes[profile])


@pytest.mark.parametrize(
    ("subject", "path", "value"),
    [
        # DCAT-AP-NO's range shapes: licences, places and media types from set vocabularies.
        (DISTRIBUTION, ns.DCTERMS.license, "https://creativecommons.org/licenses/by/4.0/"),
        (DATASET, ns.DCTERMS.spatial, "https://example.no/places/oslo"),
        (URIRef(f"{EDITION}/distributions/d2"), ns.DCAT.mediaType, None),
    ],
)
def test_value_outside_dcat_ap_no_vocabularies_is_a_violation(
    official_shapes: dict[str, Graph], subject: URIRef, path: URIRef, value: str | None
) -> None:
    graph = full_feed(vocab.DCAT_AP_NO_3)
    # text/csv under the W3C IANA namespace: outside the application/* pattern.
    node = URIRef(value or "https://www.w3.org/ns/iana/media-types/text/csv")
    old = graph.value(subject, path)
    graph.remove((subject, path, None))
    graph.add((subject, path, node))
    graph.add((node, ns.RDF.type, graph.value(old, ns.RDF.type)))
    assert (str(subject), str(path)) in violation_paths(graph, official_shapes["dcat-ap-no-3"])


def test_untagged_title_is_a_dcat_ap_no_violation(official_shapes: dict[str, Graph]) -> None:
    graph = full_feed(vocab.DCAT_AP_NO_3)
    graph.remove((DATASET, ns.DCTERMS.title, None))
    graph.add((DATASET, ns.DCTERMS.title, Literal("No language tag")))
    assert (str(DATASET), str(ns.DCTERMS.title)) in violation_paths(
        graph, official_shapes["dcat-ap-no-3"]
    )


@pytest.mark.parametrize(
    ("subject", "path", "term"),
    [
        (CATALOG, ns.DCTERMS.language, EU + "language/NOB"),
        (DATASET, ns.DCTERMS.language, EU + "language/NOB"),
        (DATASET, ns.DCTERMS.license, EU + "licence/CC_BY_4_0"),
        (DATASET, ns.DCTERMS.accessRights, EU + "access-right/PUBLIC"),
        (DATASET, ns.DCTERMS.accrualPeriodicity, EU + "frequency/DAILY"),
        (DISTRIBUTION, ns.DCTERMS.format, EU + "file-type/CSV"),
    ],
)
def test_term_not_in_its_eu_vocabulary_is_a_dcat_ap_no_2_violation(
    official_shapes: dict[str, Graph], subject: URIRef, path: URIRef, term: str
) -> None:
    graph = full_feed(vocab.DCAT_AP_NO_2)
    assert (subject, path, URIRef(term)) in graph
    # DCAT-AP-NO 2.2 checks membership (skos:inScheme), not the rdf:type 3 checks.
    assert (URIRef(term), ns.SKOS.inScheme, URIRef(term.rsplit("/", 1)[0])) in graph
    graph.remove((URIRef(term), ns.SKOS.inScheme, None))
    assert (str(subject), str(path)) in violation_paths(graph, official_shapes["dcat-ap-no-2.2"])


def test_dcat_ap_no_2_2_and_3_conflict_only_on_byte_size_and_checksum(
    official_shapes: dict[str, Graph],
) -> None:
    """Why 2.2 has its own rendering: each profile's feed fails the other on these alone."""
    size, algorithm = str(ns.DCAT.byteSize), str(SPDX.algorithm)
    for rendering in (vocab.DCAT_AP_3, vocab.DCAT_AP_NO_3):
        shapes = official_shapes["dcat-ap-no-2.2"]
        found = {path for _, path in violation_paths(full_feed(rendering), shapes)}
        assert found == {size, algorithm}
    no2 = full_feed(vocab.DCAT_AP_NO_2)
    assert {path for _, path in violation_paths(no2, official_shapes["dcat-ap-3.0.1"])} == {size}


def test_dcat_ap_3_and_dcat_ap_no_3_conflict_only_on_media_types(
    official_shapes: dict[str, Graph],
) -> None:
    """Why NO 3 has its own rendering: DCAT-AP 3's IANA IRIs fail its range shape."""
    found = {path for _, path in violation_paths(full_feed(), official_shapes["dcat-ap-no-3"])}
    assert found == {str(ns.DCAT.mediaType)}
    no3 = full_feed(vocab.DCAT_AP_NO_3)
    assert not violation_paths(no3, official_shapes["dcat-ap-3.0.1"])


def test_published_catalog_files_conform(tmp_path: Path, official_shapes: dict[str, Graph]) -> None:
    objects = LocalObjectStore(tmp_path / "objects")
    items = []
    for dataset_id, sources in (("sensor-readings", []), ("air-quality", ["sensor-readings"])):
        body = f"value\n{dataset_id}\n".encode()
        key = f"processed/green/{dataset_id}/version=1/edition={LATEST_EDITION}/{dataset_id}.csv"
        objects.put(key, io.BytesIO(body))
        distribution = csv_distribution(
            dataset_id,
            filenames=[f"{dataset_id}.csv"],
            byteSize=len(body),
            checksum=hashlib.sha256(body).hexdigest(),
        )
        dataset = make_dataset(dataset_id, wasDerivedFrom=sources)
        items.append(PublishItem(dataset, [distribution], [key], editions()))
    target_dir = tmp_path / "open-data"
    publish(
        items,
        objects,
        directory_target(target_dir),
        catalog_info=CATALOG_INFO,
        base_url=BASE_URL,
        open_data_url="https://opendata.example.no",
    )
    files = {
        "catalog.ttl": ("turtle", PROFILES[:2]),
        "catalog.jsonld": ("json-ld", PROFILES[:2]),
        "catalog-dcat-ap-no-3.ttl": ("turtle", ["dcat-ap-no-3"]),
        "catalog-dcat-ap-no-2.ttl": ("turtle", ["dcat-ap-no-2.2"]),
    }
    for name, (syntax, profiles) in files.items():
        graph = Graph().parse(target_dir / name, format=syntax)
        assert len(set(graph.objects(CATALOG, ns.DCAT.dataset))) == 2, name
        for profile in profiles:
            assert_no_violations(graph, official_shapes[profile], f"{name} {profile}")


# --- GET /catalog of the real app -------------------------------------------------------

PUBLISHABLE = {
    "title": "Luftkvalitet",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Miljøteamet", "email": "miljo@example.no"},
    "themes": ["ENVI", "HEAL"],
    "keywords": ["air", "pollution"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "language": "nb",
    "accrualPeriodicity": "daily",
    "spatial": "https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
    "temporal": {"start": "2020-01-01", "end": "2024-12-31"},
    "conformsTo": ["https://example.no/standards/air-quality"],
}
FILES = [
    {"filenames": ["air.csv"], "mediaType": "text/csv", "byteSize": 10, "checksum": "a" * 64},
    {
        "filenames": ["air.parquet"],
        "mediaType": "application/vnd.apache.parquet",
        "byteSize": 20,
        "checksum": "b" * 64,
    },
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return catalog_settings(tmp_path / "home", BASE_URL)


def create(client: FlaskClient, dataset_id: str, **changes: Any) -> None:
    body = {key: value for key, value in {**PUBLISHABLE, **changes}.items() if value is not None}
    response = client.post("/datasets", json={**body, "id": dataset_id})
    assert response.status_code == 201, response.json


def add_edition(client: FlaskClient, dataset_id: str, files: Iterable[dict[str, Any]]) -> None:
    editions = f"/datasets/{dataset_id}/versions/1/editions"
    edition = client.post(editions, json={"description": "first"}).json["edition"]
    for file in files:
        response = client.post(f"{editions}/{edition}/distributions", json=file)
        assert response.status_code == 201, response.json


def test_api_catalog_conforms_to_every_profile(
    client: FlaskClient, official_shapes: dict[str, Graph]
) -> None:
    create(client, "sensors")
    create(client, "air", wasDerivedFrom=["sensors"])
    create(client, "noise", contactPoint=None)  # fails the gate: left out of the feed
    add_edition(client, "air", FILES)
    add_edition(client, "sensors", FILES[:1])

    client.environ_base.pop("HTTP_AUTHORIZATION")
    air, sensors = (URIRef(f"{BASE_URL}/datasets/{name}") for name in ("air", "sensors"))
    for profile in PROFILES:
        query = "" if RENDERING[profile] == vocab.DCAT_AP_3 else f"?profile={RENDERING[profile]}"
        response = client.get(f"/catalog{query}")

        assert response.status_code == 200
        graph = Graph().parse(data=response.get_data(as_text=True), format="json-ld")
        assert set(graph.objects(CATALOG, ns.DCAT.dataset)) == {air, sensors}
        assert len(set(graph.objects(air, ns.DCAT.distribution))) == 2
        assert (air, ns.PROV.wasDerivedFrom, sensors) in graph
        # The Hydra links keep the profile, so a harvester stays on it from page to page.
        first = graph.value(graph.value(CATALOG, dcat_graph.HYDRA.view), dcat_graph.HYDRA.first)
        assert ("profile=" in str(first)) == bool(query), first
        assert_no_violations(graph, official_shapes[profile], profile)


def test_api_dataset_dcat_conforms_to_every_profile(
    client: FlaskClient, official_shapes: dict[str, Graph]
) -> None:
    create(client, "air")
    add_edition(client, "air", FILES)
    air = URIRef(f"{BASE_URL}/datasets/air")
    for profile in PROFILES:
        query = {"format": "turtle"}
        if RENDERING[profile] != vocab.DCAT_AP_3:
            query["profile"] = RENDERING[profile]
        response = client.get("/datasets/air", query_string=query)

        assert response.status_code == 200, response.json
        graph = Graph().parse(data=response.get_data(as_text=True), format="turtle")
        assert len(set(graph.objects(air, ns.DCAT.distribution))) == 2
        assert_no_violations(graph, official_shapes[profile], profile)


def test_api_unknown_profile_is_422(client: FlaskClient) -> None:
    create(client, "air")
    for url in ("/catalog?profile=dcat-ap-no-1", "/datasets/air?profile=dcat-ap-no-1"):
        response = client.get(url)
        assert response.status_code == 422, url
        assert "profile" in response.get_data(as_text=True), url


@pytest.mark.parametrize("profile", PROFILES)
def test_catalogue_configured_with_only_a_contact_email_conforms(
    tmp_path: Path, official_shapes: dict[str, Graph], profile: str
) -> None:
    # What an operator sets first; DCAT-AP-NO wants a name (vcard:fn) on every contact point.
    settings = Settings(
        home=tmp_path, catalog_publisher_name="Oslo kommune", catalog_contact_email="data@ex.no"
    )
    info = configured_catalog_info(settings, BASE_URL)
    graph = catalog_graph(info, [], BASE_URL, profile=RENDERING[profile])

    contact = graph.value(CATALOG, ns.DCAT.contactPoint)
    assert graph.value(contact, VCARD.hasEmail) == URIRef("mailto:data@ex.no")
    assert graph.value(contact, VCARD.fn) == Literal("Oslo kommune")
    assert_no_violations(graph, official_shapes[profile], profile)
