"""Generated graphs validated with pyshacl against the DCAT-AP 3 and DCAT-AP-NO shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from catalogue.dcat import graph as dcat_graph
from catalogue.dcat.graph import catalog_graph, dataset_graph
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    LATEST_EDITION,
    distribution_id,
    editions,
    make_dataset,
    make_distribution,
)

# rdflib's closed namespaces stay behind ``ns.``: pytest would probe them as module names.
SPDX, VCARD = dcat_graph.SPDX, dcat_graph.VCARD

SHAPES_DIR = Path(__file__).parents[2] / "data" / "shapes"


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for name in ("dcat-ap-3.ttl", "dcat-ap-no.ttl"):
        graph.parse(SHAPES_DIR / name)
    return graph


def violations(data: Graph, shapes: Graph) -> set[tuple[str, str]]:
    """The (focus node, path) of each sh:Violation pyshacl reports."""
    _, report, _ = validate(data, shacl_graph=shapes)
    found = set()
    for result in report.subjects(ns.RDF.type, ns.SH.ValidationResult):
        if report.value(result, ns.SH.resultSeverity) == ns.SH.Violation:
            path = report.value(result, ns.SH.resultPath)
            found.add((str(report.value(result, ns.SH.focusNode)), str(path)))
    return found


def full_catalog() -> Graph:
    parquet = make_distribution("set-0", id="d2", mediaType="application/vnd.apache.parquet")
    entries = [
        (make_dataset(f"set-{n}"), [make_distribution(f"set-{n}")], editions()) for n in range(3)
    ]
    entries[0][1].append(parquet)
    page = {"self": f"{BASE_URL}/catalog?limit=3", "next": f"{BASE_URL}/catalog?cursor=abc"}
    return catalog_graph(CATALOG_INFO, entries, BASE_URL, page)


def test_catalog_with_complete_datasets_conforms(shapes: Graph) -> None:
    conforms, _, text = validate(full_catalog(), shacl_graph=shapes)
    assert conforms, text


def test_minimal_publishable_dataset_conforms(shapes: Graph) -> None:
    dataset = make_dataset()
    for optional in ("keywords", "spatial", "temporal", "conformsTo", "wasDerivedFrom"):
        dataset.pop(optional)
    distribution = {"id": "d1", "accessURL": f"{BASE_URL}/datasets/air-quality"}
    conforms, _, text = validate(
        dataset_graph(dataset, [distribution], BASE_URL), shacl_graph=shapes
    )
    assert conforms, text


DATASET = URIRef(f"{BASE_URL}/datasets/set-0")
CATALOG = URIRef(f"{BASE_URL}/catalog")
DISTRIBUTION = URIRef(
    f"{BASE_URL}/datasets/set-0/versions/1/editions/{LATEST_EDITION}"
    f"/distributions/{distribution_id()}"
)
CHECKSUM = URIRef(f"{DISTRIBUTION}#checksum")
PARQUET = URIRef(f"{BASE_URL}/datasets/set-0/versions/1/editions/{LATEST_EDITION}/distributions/d2")
CONTACT = URIRef(f"{DATASET}#contactPoint")


@pytest.mark.parametrize(
    ("subject", "path"),
    [
        # DCAT-AP 3 mandatory
        (CATALOG, ns.DCTERMS.title),
        (CATALOG, ns.DCTERMS.description),
        (CATALOG, ns.DCTERMS.publisher),
        (DATASET, ns.DCTERMS.title),
        (DATASET, ns.DCTERMS.description),
        (DISTRIBUTION, ns.DCAT.accessURL),
        (CHECKSUM, SPDX.algorithm),
        (CHECKSUM, SPDX.checksumValue),
        # DCAT-AP-NO mandatory
        (CATALOG, ns.DCAT.contactPoint),
        (DATASET, ns.DCAT.contactPoint),
        (DATASET, ns.DCAT.theme),
        (DATASET, ns.DCTERMS.publisher),
    ],
)
def test_missing_mandatory_property_is_a_violation(
    shapes: Graph, subject: URIRef, path: URIRef
) -> None:
    graph = full_catalog()
    assert (subject, path, None) in graph
    graph.remove((subject, path, None))
    assert (str(subject), str(path)) in violations(graph, shapes)


@pytest.mark.parametrize("path", [VCARD.fn, VCARD.hasEmail])
def test_contact_point_without_name_or_email_is_a_violation(shapes: Graph, path: URIRef) -> None:
    graph = full_catalog()
    graph.remove((CONTACT, path, None))
    # The contact point is checked through the dataset's dcat:contactPoint (sh:node).
    assert (str(DATASET), str(ns.DCAT.contactPoint)) in violations(graph, shapes)


@pytest.mark.parametrize(
    ("subject", "path", "value"),
    [
        (
            DISTRIBUTION,
            ns.DCTERMS.license,
            "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
        ),
        (
            DATASET,
            ns.DCAT.theme,
            "http://publications.europa.eu/resource/authority/data-theme/ENVI",
        ),
        (
            DATASET,
            ns.DCTERMS.accessRights,
            "http://publications.europa.eu/resource/authority/access-right/PUBLIC",
        ),
        (
            DATASET,
            ns.DCTERMS.accrualPeriodicity,
            "http://publications.europa.eu/resource/authority/frequency/DAILY",
        ),
        (
            DATASET,
            ns.DCTERMS.language,
            "http://publications.europa.eu/resource/authority/language/NOB",
        ),
        (
            DATASET,
            ns.DCTERMS.spatial,
            "https://data.geonorge.no/administrativeEnheter/kommune/id/173018",
        ),
        (DATASET, ns.DCTERMS.temporal, f"{DATASET}#temporal"),
        (DATASET, ns.DCTERMS.publisher, f"{BASE_URL}/publishers/example-municipality"),
        (
            DISTRIBUTION,
            ns.DCTERMS.format,
            "http://publications.europa.eu/resource/authority/file-type/CSV",
        ),
        (
            PARQUET,
            ns.DCAT.mediaType,
            "https://www.iana.org/assignments/media-types/application/vnd.apache.parquet",
        ),
        (DISTRIBUTION, SPDX.checksum, str(CHECKSUM)),
        (
            CATALOG,
            ns.DCAT.themeTaxonomy,
            "http://publications.europa.eu/resource/authority/data-theme",
        ),
    ],
)
def test_vocabulary_value_without_its_type_is_a_range_violation(
    shapes: Graph, subject: URIRef, path: URIRef, value: str
) -> None:
    graph = full_catalog()
    assert (subject, path, URIRef(value)) in graph
    graph.remove((URIRef(value), ns.RDF.type, None))
    assert (str(subject), str(path)) in violations(graph, shapes)


@pytest.mark.parametrize(
    ("subject", "path", "bad_value"),
    [
        (DATASET, ns.DCTERMS.title, Literal("No language tag")),
        (DATASET, ns.DCAT.keyword, Literal("untagged")),
        (DISTRIBUTION, ns.DCAT.byteSize, Literal(-1)),
        (DATASET, ns.DCTERMS.modified, Literal("yesterday")),
        (DATASET, ns.DCTERMS.accessRights, URIRef("https://example.no/open")),
        (DATASET, ns.DCTERMS.publisher, Literal("Example municipality")),
    ],
)
def test_wrong_kind_of_value_is_a_violation(
    shapes: Graph, subject: URIRef, path: URIRef, bad_value: Any
) -> None:
    graph = full_catalog()
    graph.remove((subject, path, None))
    graph.add((subject, path, bad_value))
    if isinstance(bad_value, URIRef):
        graph.add((bad_value, ns.RDF.type, ns.DCTERMS.RightsStatement))
    assert (str(subject), str(path)) in violations(graph, shapes)


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("contactPoint", ns.DCAT.contactPoint),
        ("themes", ns.DCAT.theme),
        ("description", ns.DCTERMS.description),
        ("publisher", ns.DCTERMS.publisher),
        ("title", ns.DCTERMS.title),
    ],
)
def test_dataset_lacking_a_field_yields_an_invalid_graph(
    shapes: Graph, field: str, path: URIRef
) -> None:
    dataset = make_dataset()
    dataset.pop(field)
    graph = dataset_graph(dataset, [make_distribution()], BASE_URL)
    assert (f"{BASE_URL}/datasets/air-quality", str(path)) in violations(graph, shapes)


def test_publisher_without_name_is_a_violation(shapes: Graph) -> None:
    graph = full_catalog()
    agent = URIRef(f"{BASE_URL}/publishers/example-municipality")
    graph.remove((agent, ns.FOAF.name, None))
    assert (str(agent), str(ns.FOAF.name)) in violations(graph, shapes)


def test_theme_outside_the_eu_list_is_only_a_warning(shapes: Graph) -> None:
    graph = full_catalog()
    unknown = URIRef("http://publications.europa.eu/resource/authority/data-theme/WEATHER")
    graph.add((DATASET, ns.DCAT.theme, unknown))
    graph.add((unknown, ns.RDF.type, ns.SKOS.Concept))
    _, report, _ = validate(graph, shacl_graph=shapes)
    severities = {
        (
            str(report.value(result, ns.SH.focusNode)),
            str(report.value(result, ns.SH.resultSeverity)),
        )
        for result in report.subjects(ns.RDF.type, ns.SH.ValidationResult)
    }
    assert severities == {(str(DATASET), str(ns.SH.Warning))}
