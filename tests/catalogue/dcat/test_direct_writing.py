"""The feed written directly from the records says what the rdflib graph said, in every syntax.

The oracle is the feed as Brygge made it before (``rdflib_reference``: an rdflib graph and
rdflib's serialisers). On a varied corpus (odd characters, several languages, missing
optional fields, many distributions, every access right, lineage inside and outside the
page) and in every profile, each syntax parses back to a graph isomorphic to the oracle's,
the JSON-LD is byte for byte the oracle's, and the publishable part of the corpus still has
no violation under the official shapes.
"""

from __future__ import annotations

import gc
import hashlib
from typing import Any

import pytest
from rdflib import Graph
from rdflib.compare import graph_diff, isomorphic, to_isomorphic

from catalogue.collector import collector_paused
from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.graph import to_graph
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.rdf import DCAT, DCT, TYPE, XSD_INTEGER, Literal, Statements
from catalogue.dcat.serialization import serialize
from catalogue.dcat.statements import catalog_statements, dataset_statements
from tests.catalogue.dcat import rdflib_reference as reference
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    editions,
    make_dataset,
    make_distribution,
)
from tests.catalogue.dcat.test_official_shapes import PROFILES, RENDERING, assert_no_violations

# Everything a text field may hold that a syntax must escape or may mangle: quotes of every
# kind, backslashes, line breaks (CR too: XML would turn CRLF into LF), markup, Turtle's
# own punctuation, letters beyond Latin-1 and beyond the BMP.
ODD = 'Quote " and \'single\' """ \\ back\\slash\nnew line\r\ncrlf\ttab <b>&amp; @nb ^^x # ; , .'
ODD += " æøå ÆØÅ é ñ ß Ω 中文 🚲 \u00a0nbsp"
SYNTAXES = ("json-ld", "turtle", "xml")
OUTSIDE = "not-in-this-page"


def distribution(dataset_id: str, number: int, **changes: Any) -> dict[str, Any]:
    """The API-made distribution under another id, varied by ``number``."""
    formats = [
        ("text/csv", "CSV"),
        ("application/vnd.apache.parquet", "PARQUET"),
        ("application/json", "JSON"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
        (None, "GEOJSON"),
        ("application/x-unknown", None),
    ]
    media_type, file_format = formats[number % len(formats)]
    varied: dict[str, Any] = {
        "id": f"d{number}",
        "filenames": [f"part-{number}.{(file_format or 'bin').lower()}", f"extra {number}.txt"],
        "mediaType": media_type,
        "format": file_format,
        "byteSize": number * 1_000_003,
        "checksum": f"{number:02X}" * 32,
    }
    return make_distribution(dataset_id, **{**varied, **changes})


def corpus() -> list[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """Catalogue entries that between them use every field and leave out every optional one."""
    full = make_dataset(
        "full",
        title=f"Full {ODD}",
        description=f"Everything set. {ODD}",
        publisher="https://data.example.no/org/example",
        contactPoint={"name": f"Team {ODD}", "email": "team@example.no"},
        keywords=["air", "Air", f"odd {ODD}", "luftkvalitet"],
        themes=["ENVI", "HEAL", "TRAN", "GOVE"],
        language="en",
        conformsTo=["https://example.no/standards/a", "https://example.no/standards/b#x"],
        wasDerivedFrom=["minimal", OUTSIDE],
        temporal={"start": "2020-01-01T00:00:00.5+02:00", "end": "2024-12-31T23:59:59Z"},
        spatial="http://sws.geonames.org/3143244/",
        accrualPeriodicity="MONTHLY",
        license="https://creativecommons.org/publicdomain/zero/1.0/",
    )
    many = [distribution("full", number) for number in range(12)]
    many += [
        distribution("full", 12, version=None, edition=None, run=None, byteSize=None),
        distribution("full", 13, downloadURL=None, checksum=None, modified="2024-02-03"),
        distribution("full", 14, run="run/with ä space", accessURL=None),
    ]
    minimal = {
        "id": "minimal",
        "title": "Minimal",
        "accessRights": "public",
        "owner": "team:environment",
        "created": "2024-01-02T03:04:05Z",
        "modified": "2024-01-02T03:04:05Z",
    }
    restricted = make_dataset(
        "restricted",
        accessRights="restricted",
        language="nn",
        title=f"Avgrensa {ODD}",
        publisher=f"Oslo kommune {ODD}",
        contactPoint={"name": "Only a name"},
        keywords=[],
        temporal={"end": "2030-01-01"},
        wasDerivedFrom=["full"],
    )
    hidden = make_dataset(
        "non-public",
        accessRights="non-public",
        language=None,
        description=None,
        contactPoint={"email": "only@example.no"},
        themes=None,
        license="not a licence",
        spatial="somewhere",
        accrualPeriodicity="whenever",
        temporal=None,
        publisher="Oslo  Kommune",  # the same agent IRI as restricted's publisher
    )
    swedish = make_dataset(
        "svensk",
        state="deprecated",
        language="sv",
        title="Svensk titel åäö",
        license="CC_BY_4_0",
        conformsTo=[],
        wasDerivedFrom=[],
    )
    return [
        (full, many, editions()),
        (minimal, [], []),
        (restricted, [distribution("restricted", 1)], editions()),
        (hidden, [distribution("non-public", 2, mediaType=None, format=None)], []),
        (swedish, [distribution("svensk", 3)], editions()),
    ]


PAGE = {
    "self": f"{BASE_URL}/catalog?limit=5",
    "first": f"{BASE_URL}/catalog?limit=5",
    "next": f"{BASE_URL}/catalog?limit=5&cursor=abc",
    "previous": f"{BASE_URL}/catalog?limit=5&cursor=xyz",
    "last": f"{BASE_URL}/catalog?limit=5&cursor=last",
    "totalItems": 40,
}
INFO = {
    **CATALOG_INFO,
    "license": "http://publications.europa.eu/resource/authority/licence/CC0",
    "modified": "2024-12-24T12:00:00Z",
}


def assert_same_graph(written: Graph, expected: Graph) -> None:
    if isomorphic(written, expected):
        return
    _, only_written, only_expected = graph_diff(to_isomorphic(written), to_isomorphic(expected))
    pytest.fail(
        f"only written: {sorted(only_written)[:5]}\nonly expected: {sorted(only_expected)[:5]}"
    )


@pytest.mark.parametrize("profile", vocab.PROFILES)
@pytest.mark.parametrize("rdf_format", SYNTAXES)
def test_catalog_parses_back_to_the_rdflib_graph(profile: str, rdf_format: str) -> None:
    entries = corpus()
    expected = reference.catalog_graph(INFO, entries, BASE_URL, PAGE, profile)
    text = serialize(catalog_statements(INFO, entries, BASE_URL, PAGE, profile), rdf_format)
    written = Graph().parse(data=text, format=rdf_format)
    assert len(written) == len(expected) > 300
    assert_same_graph(written, expected)


@pytest.mark.parametrize("profile", vocab.PROFILES)
@pytest.mark.parametrize("rdf_format", SYNTAXES)
def test_each_dataset_parses_back_to_the_rdflib_graph(profile: str, rdf_format: str) -> None:
    for dataset, distributions, dataset_editions in corpus():
        expected = reference.dataset_graph(
            dataset, distributions, BASE_URL, dataset_editions, profile
        )
        described = dataset_statements(dataset, distributions, BASE_URL, dataset_editions, profile)
        written = Graph().parse(data=serialize(described, rdf_format), format=rdf_format)
        assert_same_graph(written, expected)


@pytest.mark.parametrize("profile", vocab.PROFILES)
def test_json_ld_is_the_rdflib_document_byte_for_byte(profile: str) -> None:
    entries = corpus()
    expected = reference.serialize(
        reference.catalog_graph(INFO, entries, BASE_URL, PAGE, profile), "json-ld"
    )
    assert serialize(catalog_statements(INFO, entries, BASE_URL, PAGE, profile)) == expected
    for dataset, distributions, dataset_editions in entries:
        graph = reference.dataset_graph(dataset, distributions, BASE_URL, dataset_editions)
        described = dataset_statements(dataset, distributions, BASE_URL, dataset_editions)
        assert serialize(described) == reference.serialize(graph, "json-ld")


def escaped_statements() -> Statements:
    """Subjects, objects and datatypes holding every character XML escapes.

    Not valid IRIs: what the writer makes of them is checked, not what a parser reads back.
    """
    described = Statements()
    iris = ('"quote', "\ttab", "\nline", "\rreturn", "&amp<lt>gt", "plain")
    for number, iri in enumerate(f"https://x.example/{name}" for name in iris):
        described.state(
            iri,
            [
                (TYPE, DCAT + "Dataset"),
                (DCT + "title", Literal(ODD, "nb")),
                (DCT + "description", Literal(f"{number} & <{number}> \r\n\t\"'")),
                (DCT + "identifier", Literal(str(number), datatype=XSD_INTEGER)),
                (DCT + "issued", Literal("2024", datatype='https://x.example/t?a=1&b="2"')),
                (DCAT + "keyword", Literal("x", "nb-NO")),
                (DCAT + "keyword", Literal("a")),
                (DCAT + "keyword", Literal("a", "en")),
                (DCT + "relation", iri),
                (DCT + "relation", "https://x.example/plain"),
            ],
        )
    return described


def test_rdf_xml_is_the_document_written_before_byte_for_byte() -> None:
    # The digest of what the writer made before its escaping and start tags were reused
    # (as of 2da472c): the feed's bytes stay the same, so publishing rewrites nothing.
    # Changed on purpose: publishers named beyond ASCII got IRIs of their own; media types
    # became IANA's IRIs, and a DCAT-AP-NO 3 rendering joined the profiles; the adms prefix
    # and a deprecated dataset's status; the owl prefix and each dataset's version.
    digest = hashlib.sha256()
    for profile in vocab.PROFILES:
        entries = corpus()
        catalog = catalog_statements(INFO, entries, BASE_URL, PAGE, profile)
        digest.update(serialize(catalog, "xml").encode())
        for dataset, distributions, dataset_editions in entries:
            described = dataset_statements(
                dataset, distributions, BASE_URL, dataset_editions, profile
            )
            digest.update(serialize(described, "xml").encode())
    digest.update(serialize(escaped_statements(), "xml").encode())
    assert digest.hexdigest() == "a81f74acc3edcf5faffecd711cc2980dcce922d7ebd128c348a2552ff96c9b27"


def test_rdflib_view_of_the_statements_is_the_rdflib_graph() -> None:
    entries = corpus()
    expected = reference.catalog_graph(INFO, entries, BASE_URL, PAGE)
    assert_same_graph(to_graph(catalog_statements(INFO, entries, BASE_URL, PAGE)), expected)


@pytest.mark.parametrize("profile", PROFILES)
def test_publishable_corpus_has_no_violation_in_any_syntax(
    official_shapes: dict[str, Graph], profile: str
) -> None:
    publishable = [entry for entry in corpus() if not missing_for_publication(entry[0], entry[1])]
    # The corpus's odd text and many distributions are among what is validated.
    assert {entry[0]["id"] for entry in publishable} >= {"full", "svensk"}
    described = catalog_statements(INFO, publishable, BASE_URL, PAGE, RENDERING[profile])
    for rdf_format in SYNTAXES:
        written = Graph().parse(data=serialize(described, rdf_format), format=rdf_format)
        assert_no_violations(written, official_shapes[profile], f"{profile} {rdf_format}")


@pytest.mark.parametrize("rdf_format", SYNTAXES)
def test_an_export_runs_no_garbage_collection(rdf_format: str) -> None:
    # The export makes many objects and no cycles: collections over them (a third of the
    # export's time at 10,000 datasets) would free nothing.
    entries = [
        ({**dataset, "id": f"{dataset['id']}-{copy}"}, distributions, runs)
        for copy in range(20)
        for dataset, distributions, runs in corpus()
    ]
    started: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(info["generation"])

    gc.callbacks.append(count)
    try:
        text = serialize(catalog_statements(INFO, entries, BASE_URL, PAGE), rdf_format)
    finally:
        gc.callbacks.remove(count)
    # At most the one a block owed when it ended, against hundreds without the pause.
    assert text and len(started) <= 2, started
    assert gc.isenabled()


def test_a_paused_collector_is_left_as_it_was_found() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
