"""What the DCAT graphs say about datasets, distributions, lineage, runs and paging."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from rdflib import Literal, URIRef
from rdflib import namespace as ns

from catalogue.dcat import graph as dcat_graph
from catalogue.dcat.graph import catalog_graph, dataset_graph
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    CSV_BODY,
    CSV_SHA256,
    LATEST_EDITION,
    OLD_EDITION,
    distribution_id,
    edition_run,
    editions,
    make_dataset,
    make_distribution,
)

# rdflib's closed namespaces stay behind ``ns.``: pytest would probe them as module names.
SPDX, VCARD, HYDRA = dcat_graph.SPDX, dcat_graph.VCARD, dcat_graph.HYDRA
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
DATASET = URIRef(f"{BASE_URL}/datasets/air-quality")
EDITION = f"{DATASET}/versions/1/editions/{LATEST_EDITION}"
DISTRIBUTION = URIRef(f"{EDITION}/distributions/{distribution_id()}")


def test_dataset_fields_map_to_dcat_properties() -> None:
    graph = dataset_graph(make_dataset(), [make_distribution()], BASE_URL, editions())
    value = graph.value
    assert (DATASET, ns.RDF.type, ns.DCAT.Dataset) in graph
    assert value(DATASET, ns.DCTERMS.title) == Literal("Dataset air-quality", lang="nb")
    assert value(DATASET, ns.DCTERMS.description) == Literal(
        "Measurements of air-quality", lang="nb"
    )
    assert set(graph.objects(DATASET, ns.DCAT.keyword)) == {
        Literal("air", lang="nb"),
        Literal("pollution", lang="nb"),
    }
    assert set(graph.objects(DATASET, ns.DCAT.theme)) == {
        URIRef(EU + "data-theme/ENVI"),
        URIRef(EU + "data-theme/HEAL"),
    }
    assert value(DATASET, ns.DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    assert value(DATASET, ns.DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/DAILY")
    assert value(DATASET, ns.DCTERMS.language) == URIRef(EU + "language/NOB")
    assert value(DATASET, ns.DCTERMS.issued) == Literal(
        "2024-01-02T03:04:05Z", datatype=ns.XSD.dateTime
    )
    contact = value(DATASET, ns.DCAT.contactPoint)
    assert (contact, ns.RDF.type, VCARD.Kind) in graph
    assert value(contact, VCARD.hasEmail) == URIRef("mailto:miljo@example.no")
    period = value(DATASET, ns.DCTERMS.temporal)
    assert (period, ns.RDF.type, ns.DCTERMS.PeriodOfTime) in graph
    assert value(period, ns.DCAT.startDate) == Literal("2020-01-01", datatype=ns.XSD.date)
    assert value(period, ns.DCAT.endDate) == Literal("2024-12-31", datatype=ns.XSD.date)
    publisher = value(DATASET, ns.DCTERMS.publisher)
    assert value(publisher, ns.FOAF.name) == Literal("Example municipality")


def test_controlled_vocabulary_values_state_their_type() -> None:
    parquet = make_distribution(id="d2", mediaType="application/vnd.apache.parquet")
    graph = dataset_graph(make_dataset(), [make_distribution(), parquet], BASE_URL)
    expected = {
        EU + "file-type/CSV": ns.DCTERMS.MediaTypeOrExtent,
        IANA + "application/vnd.apache.parquet": ns.DCTERMS.MediaType,
        EU + "data-theme/ENVI": ns.SKOS.Concept,
        EU + "licence/CC_BY_4_0": ns.DCTERMS.LicenseDocument,
        EU + "language/NOB": ns.DCTERMS.LinguisticSystem,
        EU + "frequency/DAILY": ns.DCTERMS.Frequency,
        EU + "access-right/PUBLIC": ns.DCTERMS.RightsStatement,
    }
    for iri, rdf_type in expected.items():
        assert (URIRef(iri), ns.RDF.type, rdf_type) in graph, iri


def test_distribution_carries_size_checksum_and_urls() -> None:
    graph = dataset_graph(make_dataset(), [make_distribution()], BASE_URL)
    value = graph.value
    assert value(DATASET, ns.DCAT.distribution) == DISTRIBUTION
    assert value(DISTRIBUTION, ns.DCAT.byteSize) == Literal(
        len(CSV_BODY), datatype=ns.XSD.nonNegativeInteger
    )
    # The API's own download URL; the publishing job swaps in the open-data copy.
    download = URIRef(f"{DISTRIBUTION}/download")
    assert value(DISTRIBUTION, ns.DCAT.downloadURL) == download
    assert value(DISTRIBUTION, ns.DCAT.accessURL) == download
    checksum = value(DISTRIBUTION, SPDX.checksum)
    assert value(checksum, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
    assert value(checksum, SPDX.checksumValue) == Literal(CSV_SHA256, datatype=ns.XSD.hexBinary)
    assert value(DISTRIBUTION, ns.DCTERMS.license) == URIRef(EU + "licence/CC_BY_4_0")
    # The edition id is the distribution's modification time when none is given.
    assert value(DISTRIBUTION, ns.DCTERMS.modified) == Literal(
        "2024-06-07T08:09:10Z", datatype=ns.XSD.dateTime
    )


def test_distribution_without_urls_gets_its_own_iri_as_access_url() -> None:
    distribution = {"id": "d9", "format": "parquet"}
    graph = dataset_graph(make_dataset(), [distribution], BASE_URL)
    node = URIRef(f"{DATASET}/distributions/d9")
    assert graph.value(node, ns.DCAT.accessURL) == node
    assert graph.value(node, ns.DCTERMS.format) == URIRef(EU + "file-type/PARQUET")
    assert graph.value(node, ns.DCAT.mediaType) == URIRef(IANA + "application/vnd.apache.parquet")


def test_text_media_type_is_stated_but_left_to_the_file_type_in_dcat_ap_no_3() -> None:
    graph = dataset_graph(make_dataset(), [make_distribution()], BASE_URL)
    assert graph.value(DISTRIBUTION, ns.DCAT.mediaType) == URIRef(IANA + "text/csv")
    # DCAT-AP-NO 3's range shape admits only application/* media types; CSV stays named by
    # its EU file type.
    no3 = dataset_graph(make_dataset(), [make_distribution()], BASE_URL, profile="dcat-ap-no-3")
    assert no3.value(DISTRIBUTION, ns.DCAT.mediaType) is None
    assert no3.value(DISTRIBUTION, ns.DCTERMS.format) == URIRef(EU + "file-type/CSV")


def test_access_and_download_urls_are_typed_resources() -> None:
    graph = dataset_graph(make_dataset(), [make_distribution()], BASE_URL)
    for predicate in (ns.DCAT.accessURL, ns.DCAT.downloadURL):
        url = graph.value(DISTRIBUTION, predicate)
        assert (url, ns.RDF.type, ns.RDFS.Resource) in graph


def test_themes_carry_labels_and_the_scheme_a_title() -> None:
    graph = catalog_graph(CATALOG_INFO, [(make_dataset(), [])], BASE_URL)
    envi = URIRef(EU + "data-theme/ENVI")
    assert graph.value(envi, ns.SKOS.prefLabel) == Literal("Environment", lang="en")
    assert graph.value(URIRef(EU + "data-theme"), ns.DCTERMS.title) == Literal(
        "Data Theme", lang="en"
    )


def test_known_licence_urls_become_eu_licence_iris() -> None:
    for licence, code in [
        ("https://creativecommons.org/licenses/by/4.0/", "CC_BY_4_0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "CC0"),
        ("https://data.norge.no/nlod/no/2.0", "NLOD_2_0"),
        ("nlod_2_0", "NLOD_2_0"),
    ]:
        graph = dataset_graph(make_dataset(license=licence), [make_distribution()], BASE_URL)
        assert graph.value(DISTRIBUTION, ns.DCTERMS.license) == URIRef(EU + "licence/" + code)
    unknown = make_dataset(license="https://example.no/our-terms")
    graph = dataset_graph(unknown, [make_distribution()], BASE_URL)
    assert graph.value(DISTRIBUTION, ns.DCTERMS.license) is None


def test_lineage_links_source_datasets() -> None:
    dataset = make_dataset(wasDerivedFrom=["sensor-readings", "stations"])
    graph = dataset_graph(dataset, [], BASE_URL)
    sources = {URIRef(f"{BASE_URL}/datasets/{name}") for name in ("sensor-readings", "stations")}
    assert set(graph.objects(DATASET, ns.PROV.wasDerivedFrom)) == sources
    # dct:source ranges over dcat:Dataset: only sources described in the same graph.
    assert set(graph.objects(DATASET, ns.DCTERMS.source)) == set()


def test_source_described_in_the_same_catalog_is_a_dct_source() -> None:
    entries = [
        (make_dataset(wasDerivedFrom=["sensor-readings", "stations"]), []),
        (make_dataset("sensor-readings", wasDerivedFrom=[]), []),
    ]
    graph = catalog_graph(CATALOG_INFO, entries, BASE_URL)
    assert set(graph.objects(DATASET, ns.DCTERMS.source)) == {
        URIRef(f"{BASE_URL}/datasets/sensor-readings")
    }
    assert len(set(graph.objects(DATASET, ns.PROV.wasDerivedFrom))) == 2


def test_run_of_latest_edition_generated_dataset_and_its_distribution() -> None:
    # Distributions registered by hand name no run: the runs come from the editions the
    # API made, under the field name the app stores.
    old = make_distribution(id="d0", edition=OLD_EDITION, run=None)
    latest = make_distribution(run=None)
    graph = dataset_graph(make_dataset(), [old, latest], BASE_URL, editions())
    run = URIRef(f"{BASE_URL}/runs/{edition_run(LATEST_EDITION)}")
    assert graph.value(DATASET, ns.PROV.wasGeneratedBy) == run
    assert (run, ns.RDF.type, ns.PROV.Activity) in graph
    assert graph.value(DISTRIBUTION, ns.PROV.wasGeneratedBy) == run
    old_node = URIRef(f"{DATASET}/versions/1/editions/{OLD_EDITION}/distributions/d0")
    old_run = URIRef(f"{BASE_URL}/runs/{edition_run(OLD_EDITION)}")
    assert graph.value(old_node, ns.PROV.wasGeneratedBy) == old_run


def test_values_outside_the_vocabularies_are_left_out() -> None:
    dataset = make_dataset(
        themes=["NOPE"], accrualPeriodicity="sometimes", spatial="Oslo", language="xx"
    )
    graph = dataset_graph(dataset, [], BASE_URL)
    for predicate in (
        ns.DCAT.theme,
        ns.DCTERMS.accrualPeriodicity,
        ns.DCTERMS.spatial,
        ns.DCTERMS.language,
    ):
        assert graph.value(DATASET, predicate) is None, predicate


def test_catalog_lists_datasets_and_takes_latest_modified() -> None:
    entries = [
        (make_dataset("a", modified="2024-01-01T00:00:00Z"), []),
        (make_dataset("b", modified="2025-03-04T05:06:07Z"), [make_distribution("b")]),
    ]
    graph = catalog_graph(CATALOG_INFO, entries, BASE_URL)
    catalog = URIRef(f"{BASE_URL}/catalog")
    assert set(graph.objects(catalog, ns.DCAT.dataset)) == {
        URIRef(f"{BASE_URL}/datasets/a"),
        URIRef(f"{BASE_URL}/datasets/b"),
    }
    assert graph.value(catalog, ns.DCTERMS.modified) == Literal(
        "2025-03-04T05:06:07Z", datatype=ns.XSD.dateTime
    )
    assert graph.value(catalog, ns.DCAT.themeTaxonomy) == URIRef(EU + "data-theme")
    assert graph.value(catalog, ns.FOAF.homepage) == URIRef("https://data.example.no/")
    publisher = graph.value(catalog, ns.DCTERMS.publisher)
    assert publisher == URIRef("https://data.example.no/org/example")
    assert graph.value(publisher, ns.FOAF.name) == Literal("Example municipality")
    assert graph.value(catalog, HYDRA.view) is None


def test_catalog_page_is_a_hydra_partial_collection_view() -> None:
    page = {
        "self": f"{BASE_URL}/catalog?cursor=p2",
        "first": f"{BASE_URL}/catalog",
        "previous": f"{BASE_URL}/catalog?cursor=p1",
        "next": f"{BASE_URL}/catalog?cursor=p3",
        "last": None,
        "totalItems": 40,
    }
    graph = catalog_graph(CATALOG_INFO, [(make_dataset(), [])], BASE_URL, page)
    view = graph.value(URIRef(f"{BASE_URL}/catalog"), HYDRA.view)
    assert view == URIRef(page["self"])
    assert (view, ns.RDF.type, HYDRA.PartialCollectionView) in graph
    for name in ("first", "previous", "next"):
        assert graph.value(view, HYDRA[name]) == URIRef(page[name])
    assert graph.value(view, HYDRA.last) is None
    assert graph.value(URIRef(f"{BASE_URL}/catalog"), HYDRA.totalItems).toPython() == 40


def test_first_page_view_gets_its_own_node() -> None:
    catalog = f"{BASE_URL}/catalog"
    page = {"self": catalog, "next": f"{catalog}?cursor=p2"}
    graph = catalog_graph(CATALOG_INFO, [(make_dataset(), [])], BASE_URL, page)
    view = graph.value(URIRef(catalog), HYDRA.view)
    assert view == URIRef(f"{catalog}#page")
    assert (URIRef(catalog), ns.RDF.type, HYDRA.PartialCollectionView) not in graph
    assert graph.value(view, HYDRA.next) == URIRef(page["next"])


def test_run_recorded_on_the_distribution_is_its_provenance() -> None:
    distribution = make_distribution(run="run-7")
    graph = dataset_graph(make_dataset(), [distribution], BASE_URL)
    run = URIRef(f"{BASE_URL}/runs/run-7")
    assert graph.value(DISTRIBUTION, ns.PROV.wasGeneratedBy) == run
    assert graph.value(DATASET, ns.PROV.wasGeneratedBy) == run


def test_publishers_whose_names_differ_only_in_letters_beyond_ascii_stay_apart() -> None:
    names = ["Київська міська рада", "Львівська міська рада", "Bø kommune", "Bå kommune"]
    entries = [
        (make_dataset(f"set-{number}", publisher=name), []) for number, name in enumerate(names)
    ]
    graph = catalog_graph(CATALOG_INFO, entries, BASE_URL)

    agents = [
        graph.value(URIRef(f"{BASE_URL}/datasets/set-{number}"), ns.DCTERMS.publisher)
        for number in range(len(names))
    ]
    assert len(set(agents)) == len(names)
    for agent, name in zip(agents, names, strict=True):
        assert list(graph.objects(agent, ns.FOAF.name)) == [Literal(name)]
        assert str(agent).startswith(f"{BASE_URL}/publishers/")
    # Norwegian letters are spelt out, as in dataset ids; an ASCII name keeps its slug.
    assert "/publishers/bo-kommune-" in str(agents[2])
    plain = catalog_graph(CATALOG_INFO, [(make_dataset(publisher="Oslo kommune"), [])], BASE_URL)
    assert plain.value(DATASET, ns.DCTERMS.publisher) == URIRef(
        f"{BASE_URL}/publishers/oslo-kommune"
    )


def test_publisher_iri_ignores_case_spacing_and_composition() -> None:
    # The same name typed differently: case, spaces, and Å as one character or A + ring.
    names = ["Åsnes kommune", "ÅSNES  KOMMUNE", "A\u030asnes kommune"]
    agents = {
        catalog_graph(CATALOG_INFO, [(make_dataset(publisher=name), [])], BASE_URL).value(
            DATASET, ns.DCTERMS.publisher
        )
        for name in names
    }
    assert len(agents) == 1


def test_contact_email_is_a_mailto_iri_that_gives_back_the_address() -> None:
    # "#", "?", "%" and "&" are allowed in an address but mean something else in a mailto IRI.
    for email in ["data#team@example.no", "who?@example.no", "a%20b@example.no", "x&y=z@e.no"]:
        dataset = make_dataset(contactPoint={"name": "Team", "email": email})
        graph = dataset_graph(dataset, [], BASE_URL)

        iri = str(graph.value(graph.value(DATASET, ns.DCAT.contactPoint), VCARD.hasEmail))
        parts = urlsplit(iri)
        assert (parts.scheme, parts.query, parts.fragment) == ("mailto", "", ""), iri
        assert unquote(parts.path) == email
    plain = dataset_graph(make_dataset(), [], BASE_URL)
    contact = plain.value(DATASET, ns.DCAT.contactPoint)
    assert plain.value(contact, VCARD.hasEmail) == URIRef("mailto:miljo@example.no")


# Media types of common open-data files and the EU File Type each is (the EU table's own
# media type mappings where it has one).
COMMON_FILE_TYPES = {
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/ld+json": "JSON_LD",
    "application/vnd.apache.parquet": "PARQUET",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/xml": "XML",
    "application/zip": "ZIP",
    "application/gzip": "GZIP",
    "application/pdf": "PDF",
    "application/vnd.shp": "SHP",
    "application/geopackage+sqlite3": "GPKG",
    "application/x-netcdf": "NETCDF",
    "application/netcdf": "NETCDF",
    "text/turtle": "RDF_TURTLE",
    "application/rdf+xml": "RDF_XML",
    "application/n-triples": "RDF_N_TRIPLES",
    "application/vnd.google-earth.kml+xml": "KML",
    "application/gml+xml": "GML",
    "image/tiff": "TIFF",
    "text/html": "HTML",
    "application/yaml": "YAML",
}


def test_common_media_types_name_their_eu_file_type() -> None:
    distributions = [
        {"id": f"d{number}", "mediaType": media_type}
        for number, media_type in enumerate(COMMON_FILE_TYPES)
    ]
    graph = dataset_graph(make_dataset(), distributions, BASE_URL)
    found = {
        media_type: graph.value(URIRef(f"{DATASET}/distributions/d{number}"), ns.DCTERMS.format)
        for number, media_type in enumerate(COMMON_FILE_TYPES)
    }
    assert found == {
        media_type: URIRef(f"{EU}file-type/{code}")
        for media_type, code in COMMON_FILE_TYPES.items()
    }


def test_a_format_given_as_its_eu_code_or_a_common_name_names_its_file_type() -> None:
    given = {"GPKG": "GPKG", "shp": "SHP", "TSV": "TSV", "NetCDF": "NETCDF", "JSON-LD": "JSON_LD"}
    distributions = [{"id": f"d{number}", "format": name} for number, name in enumerate(given)]
    graph = dataset_graph(make_dataset(), distributions, BASE_URL)
    found = [
        graph.value(URIRef(f"{DATASET}/distributions/d{number}"), ns.DCTERMS.format)
        for number in range(len(given))
    ]
    assert found == [URIRef(f"{EU}file-type/{code}") for code in given.values()]


def test_a_format_outside_the_eu_file_types_is_left_out() -> None:
    graph = dataset_graph(make_dataset(), [{"id": "d1", "format": "SAS7BDAT"}], BASE_URL)
    assert graph.value(URIRef(f"{DATASET}/distributions/d1"), ns.DCTERMS.format) is None


ADMS_STATUS = URIRef("http://www.w3.org/ns/adms#status")


def test_a_deprecated_dataset_and_its_distributions_carry_the_eu_deprecated_status() -> None:
    deprecated = make_dataset(state="deprecated")
    graph = dataset_graph(deprecated, [make_distribution()], BASE_URL, editions())
    dataset_status = URIRef(EU + "dataset-status/DEPRECATED")
    distribution_status = URIRef(EU + "distribution-status/DEPRECATED")
    assert graph.value(DATASET, ADMS_STATUS) == dataset_status
    # DCAT-AP 3 states a distribution's status from the EU Distribution Status vocabulary.
    assert graph.value(DISTRIBUTION, ADMS_STATUS) == distribution_status
    for status, scheme in (
        (dataset_status, "dataset-status"),
        (distribution_status, "distribution-status"),
    ):
        assert (status, ns.RDF.type, ns.SKOS.Concept) in graph
        assert graph.value(status, ns.SKOS.inScheme) == URIRef(EU + scheme)
        assert graph.value(status, ns.SKOS.prefLabel) == Literal("Deprecated", lang="en")


def test_an_active_dataset_carries_no_status() -> None:
    graph = dataset_graph(make_dataset(state="active"), [make_distribution()], BASE_URL)
    assert graph.value(DATASET, ADMS_STATUS) is None
    assert graph.value(DISTRIBUTION, ADMS_STATUS) is None


# rdflib's DCAT namespace predates DCAT 3, so dcat:version is spelt out.
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")


def test_the_dataset_states_the_version_its_distributions_are_of() -> None:
    second = make_distribution(version="2", edition="20250101T000000")
    graph = dataset_graph(make_dataset(), [second], BASE_URL)
    assert graph.value(DATASET, DCAT_VERSION) == Literal("2")
    # DCAT-AP-NO 2.2 names a dataset's version with owl:versionInfo.
    no2 = dataset_graph(make_dataset(), [second], BASE_URL, profile="dcat-ap-no-2")
    assert no2.value(DATASET, ns.OWL.versionInfo) == Literal("2")


def test_a_dataset_without_distributions_states_no_version() -> None:
    graph = dataset_graph(make_dataset(), [], BASE_URL)
    assert graph.value(DATASET, DCAT_VERSION) is None
