"""DCAT-AP 3 descriptions of the catalogue and its datasets, meeting DCAT-AP-NO's stricter rules.

Input is plain data, the dicts the API returns (camelCase fields of design.md's data model);
output is ``Statements``, plain Python the serialisers write from directly. No rdflib here:
building its graph cost more than the rest of a feed request (``bench/catalog.py``);
``catalogue.dcat.graph`` loads statements into one for tests and tools.

Every node gets a stable IRI (hash IRIs instead of blank nodes) so the same input always
serialises to the same bytes: the publishing job relies on that to publish only what changed.
Literal lexical forms are canonical as rdflib writes them (``Z`` becomes ``+00:00``), so a
feed read back with any RDF library equals the statements made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from catalogue.collector import collector_paused
from catalogue.dcat import terms
from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.rdf import (
    ADMS,
    DCAT,
    DCT,
    FOAF,
    HYDRA,
    OWL,
    PROV,
    RDFS,
    SKOS,
    SPDX,
    TYPE,
    XSD,
    XSD_INTEGER,
    Facts,
    Literal,
    Statements,
)
from catalogue.domain import addresses

SHA256 = SPDX + "checksumAlgorithm_sha256"

Dataset = Mapping[str, Any]
Distribution = Mapping[str, Any]
Edition = Mapping[str, Any]
# One catalogue entry: (dataset, distributions) or (dataset, distributions, editions).
CatalogEntry = (
    tuple[Dataset, Sequence[Distribution]]
    | tuple[Dataset, Sequence[Distribution], Sequence[Edition]]
)


def dataset_uri(base_url: str, dataset_id: str) -> str:
    """The IRI of a dataset: its URL in the API."""
    return f"{base_url.rstrip('/')}/datasets/{dataset_id}"


def catalog_uri(base_url: str) -> str:
    """The IRI of the catalogue: the URL of its feed."""
    return f"{base_url.rstrip('/')}/catalog"


def dataset_statements(
    dataset: Dataset,
    distributions: Sequence[Distribution],
    base_url: str,
    editions: Sequence[Edition] = (),
    profile: str = vocab.DCAT_AP_3,
) -> Statements:
    """The DCAT description of one dataset with its distributions.

    A distribution's ``run`` (or the ``run`` of the edition it names, from ``editions``)
    becomes its ``prov:wasGeneratedBy``; the run of the latest edition is the dataset's.
    ``profile`` is one of ``vocabularies.PROFILES``.
    """
    statements = Statements()
    add_dataset(statements, dataset, distributions, base_url, editions, profile)
    link_sources(statements)
    return statements


@collector_paused()
def catalog_statements(
    catalog_info: Mapping[str, Any],
    entries: Iterable[CatalogEntry],
    base_url: str,
    page: Mapping[str, str | None] | None = None,
    profile: str = vocab.DCAT_AP_3,
) -> Statements:
    """The ``dcat:Catalog`` of the given datasets, with a Hydra view when ``page`` is given.

    ``catalog_info`` holds ``title``, ``description``, ``publisher {name, uri?}``,
    ``contactPoint {name, email}``, ``language``, ``homepage`` and optionally ``modified``
    (default: the latest change of the datasets, ``terms.latest_change``) and ``license``.
    ``page`` holds the URLs ``self``, ``first``, ``next``, ``previous``, ``last`` (any may be
    None) and optionally ``totalItems``. ``profile`` is one of ``vocabularies.PROFILES``.
    """
    out = Statements()
    catalog = catalog_uri(base_url)
    tag = terms.language_tag(catalog_info.get("language"))
    # DCAT-AP-NO 2 wants exactly one dct:identifier on the catalogue: its IRI, as a literal.
    facts: Facts = [(TYPE, DCAT + "Catalog"), (DCT + "identifier", Literal(catalog))]
    terms.add_text(facts, DCT + "title", catalog_info.get("title"), tag)
    terms.add_text(facts, DCT + "description", catalog_info.get("description"), tag)
    publisher = catalog_info.get("publisher") or {}
    if publisher.get("uri") or publisher.get("name"):
        agent = terms.add_agent(out, base_url, str(publisher.get("uri") or publisher["name"]))
        if publisher.get("name"):
            out.replace(agent, FOAF + "name", Literal(publisher["name"]))
        facts.append((DCT + "publisher", agent))
    terms.add_contact_point(out, facts, catalog, catalog_info.get("contactPoint"))
    terms.add_language(out, facts, catalog_info.get("language"))
    if addresses.is_iri(catalog_info.get("homepage")):
        homepage = addresses.iri(catalog_info["homepage"])
        facts.append((FOAF + "homepage", homepage))
        out.add(homepage, TYPE, FOAF + "Document")
    theme_scheme = vocab.DATA_THEME_SCHEME
    facts.append((DCAT + "themeTaxonomy", theme_scheme))
    # DCAT-AP 3 wants a title on every skos:ConceptScheme in the feed.
    title = Literal(vocab.DATA_THEME_SCHEME_TITLE, "en")
    out.state(theme_scheme, [(TYPE, SKOS + "ConceptScheme"), (DCT + "title", title)])
    terms.add_license(out, facts, catalog_info.get("license"))
    out.state(catalog, facts)

    latest = catalog_info.get("modified")
    datasets: Facts = []
    for entry in entries:
        dataset = entry[0]
        editions = entry[2] if len(entry) > 2 else ()  # type: ignore[misc]
        datasets.append(
            (DCAT + "dataset", add_dataset(out, dataset, entry[1], base_url, editions, profile))
        )
        if not catalog_info.get("modified"):
            latest = terms.latest_time([latest, terms.latest_change(dataset, entry[1], editions)])
    terms.add_time(datasets, DCT + "modified", latest)
    out.state(catalog, datasets)
    if page:
        add_page_view(out, catalog, page)
    link_sources(out)
    return out


def link_sources(out: Statements) -> None:
    """Add ``dct:source`` for each ``prov:wasDerivedFrom`` whose source is described in ``out``.

    DCAT-AP 3 ranges ``dct:source`` over ``dcat:Dataset`` (a violation otherwise), and a
    source outside these statements (another page, or not public) cannot be typed here
    without describing it; ``prov:wasDerivedFrom`` carries the lineage in every case.
    """
    derived = PROV + "wasDerivedFrom"
    for node, predicates in list(out.subjects.items()):
        for source in list(predicates.get(derived, ())):
            if out.has(source, TYPE, DCAT + "Dataset"):  # type: ignore[arg-type]
                out.add(node, DCT + "source", source)


def add_page_view(out: Statements, collection: str, page: Mapping[str, Any]) -> None:
    """Add a Hydra ``PartialCollectionView`` of ``collection`` with the given page links."""
    # The first page's URL is often the catalogue's own IRI; the view needs its own node.
    this_page = page.get("self")
    view = this_page if this_page and this_page != collection else f"{collection}#page"
    out.add(collection, HYDRA + "view", view)
    links: Facts = [(TYPE, HYDRA + "PartialCollectionView")]
    links.extend(
        (HYDRA + name, page[name])
        for name in ("first", "next", "previous", "last")
        if page.get(name)
    )
    out.state(view, links)
    if page.get("totalItems") is not None:
        total = Literal(str(int(page["totalItems"])), None, XSD_INTEGER)
        out.state(collection, [(TYPE, HYDRA + "Collection"), (HYDRA + "totalItems", total)])


def add_dataset(
    out: Statements,
    dataset: Dataset,
    distributions: Sequence[Distribution],
    base_url: str,
    editions: Sequence[Edition] = (),
    profile: str = vocab.DCAT_AP_3,
) -> str:
    """Add one ``dcat:Dataset`` with its distributions to ``out``; returns its node."""
    base_url = base_url.rstrip("/")
    node = dataset_uri(base_url, dataset["id"])
    tag = terms.language_tag(dataset.get("language"))
    facts: Facts = [(TYPE, DCAT + "Dataset"), (DCT + "identifier", Literal(dataset["id"]))]
    terms.add_text(facts, DCT + "title", dataset.get("title"), tag)
    terms.add_text(facts, DCT + "description", dataset.get("description"), tag)
    if dataset.get("publisher"):
        facts.append((DCT + "publisher", terms.add_agent(out, base_url, dataset["publisher"])))
    terms.add_contact_point(out, facts, node, dataset.get("contactPoint"))
    for theme in dataset.get("themes") or ():
        iri = terms.theme_iri(theme)
        if iri:
            terms.add_term(out, facts, DCAT + "theme", iri, SKOS + "Concept")
            label = terms.theme_label(iri)
            if label:
                # DCAT-AP 3: every skos:Concept needs a skos:prefLabel.
                out.add(iri, SKOS + "prefLabel", Literal(label, "en"))
    facts.extend((DCAT + "keyword", Literal(k, tag)) for k in dataset.get("keywords") or ())
    access = terms.access_right_iri(dataset.get("accessRights") or "")
    if access:
        terms.add_term(out, facts, DCT + "accessRights", access, DCT + "RightsStatement")
    terms.add_license(out, facts, dataset.get("license"))
    terms.add_temporal(out, facts, node, dataset.get("temporal"))
    if terms.is_place_iri(dataset.get("spatial")):
        # DCAT-AP-NO wants a place IRI from its vocabularies (EU places, GeoNames, Geonorge);
        # anything else has no faithful rendering, so it is left out rather than made up.
        spatial = addresses.iri(dataset["spatial"])
        terms.add_term(out, facts, DCT + "spatial", spatial, DCT + "Location")
    frequency = terms.frequency_iri(dataset.get("accrualPeriodicity") or "")
    if frequency:
        terms.add_term(out, facts, DCT + "accrualPeriodicity", frequency, DCT + "Frequency")
    terms.add_language(out, facts, dataset.get("language"))
    for standard in dataset.get("conformsTo") or ():
        if addresses.is_iri(standard):
            standard_iri = addresses.iri(standard)
            facts.append((DCT + "conformsTo", standard_iri))
            # DCAT-AP-NO 2 wants a title on every standard; its IRI is the only name known.
            title = Literal(standard)
            out.state(standard_iri, [(TYPE, DCT + "Standard"), (DCT + "title", title)])
    for source_id in dataset.get("wasDerivedFrom") or ():
        # dct:source follows in link_sources, once it is known whether the source is described.
        facts.append((PROV + "wasDerivedFrom", dataset_uri(base_url, source_id)))
    terms.add_time(facts, DCT + "issued", dataset.get("created"))
    deprecated = dataset.get("state") == "deprecated"
    if deprecated:
        _add_status(out, facts, vocab.DATASET_DEPRECATED)
    # The version the distributions described are of (one edition's, so one version): a
    # harvester sees a new version, an incompatible change, apart from a new edition.
    version = next((d["version"] for d in distributions if d.get("version")), None)
    if version:
        # DCAT-AP-NO 2.2 names a dataset's version with owl:versionInfo, DCAT 3 dcat:version.
        version_predicate = (
            OWL + "versionInfo" if profile == vocab.DCAT_AP_NO_2 else DCAT + "version"
        )
        facts.append((version_predicate, Literal(str(version))))
    # A new edition is a change to the dataset (its new data), not only to its record.
    modified = terms.latest_change(dataset, distributions, editions)
    terms.add_time(facts, DCT + "modified", modified)

    # The run behind each edition: named by the edition, or by a distribution it produced.
    runs = {e["edition"]: e["run"] for e in editions if e.get("run")}
    for distribution in distributions:
        if distribution.get("run") and distribution.get("edition"):
            runs.setdefault(distribution["edition"], distribution["run"])
    if runs:
        # The dataset as it now stands was generated by the run of its latest edition.
        facts.append((PROV + "wasGeneratedBy", _add_run(out, base_url, runs[max(runs)])))
    for distribution in distributions:
        run_id = distribution.get("run") or runs.get(distribution.get("edition") or "")
        run = _add_run(out, base_url, run_id) if run_id else None
        child = _add_distribution(out, node, dataset, distribution, profile, run, deprecated)
        facts.append((DCAT + "distribution", child))
    out.state(node, facts)
    return node


def _add_distribution(
    out: Statements,
    dataset_node: str,
    dataset: Dataset,
    distribution: Distribution,
    profile: str,
    run: str | None,
    deprecated: bool = False,
) -> str:
    """Add one ``dcat:Distribution`` (generated by ``run``, if known); returns its node."""
    if distribution.get("version") and distribution.get("edition"):
        path = (
            f"/versions/{distribution['version']}/editions/{distribution['edition']}"
            f"/distributions/{distribution['id']}"
        )
    else:
        path = f"/distributions/{distribution['id']}"
    node = f"{dataset_node}{path}"
    download = distribution.get("downloadURL")
    download = addresses.iri(download) if download else None
    # dcat:accessURL is mandatory; without one, the distribution's own page gives access.
    access = distribution.get("accessURL")
    access = addresses.iri(access) if access else download or node
    facts: Facts = [
        (TYPE, DCAT + "Distribution"),
        (DCT + "identifier", Literal(str(distribution["id"]))),
        (DCAT + "accessURL", access),
    ]
    # DCAT-AP 3.0.0 ranges both URLs over rdfs:Resource and its shapes run without inference.
    out.add(access, TYPE, RDFS + "Resource")
    if download:
        facts.append((DCAT + "downloadURL", download))
        out.add(download, TYPE, RDFS + "Resource")
    filenames = distribution.get("filenames") or ()
    if filenames:
        tag = terms.language_tag(dataset.get("language"))
        facts.append((DCT + "title", Literal(", ".join(filenames), tag)))
    media_type = distribution.get("mediaType")
    if not media_type and distribution.get("format"):
        media_type = vocab.MEDIA_TYPES_BY_FILE_TYPE.get(str(distribution["format"]).upper())
    file_type = terms.file_type_iri(distribution.get("format"), media_type)
    if file_type:
        terms.add_term(out, facts, DCT + "format", file_type, DCT + "MediaTypeOrExtent")
    media_iri = terms.media_type_iri(media_type, profile)
    if media_iri:
        facts.append((DCAT + "mediaType", media_iri))
        out.add(media_iri, TYPE, DCT + "MediaType")
    if distribution.get("byteSize") is not None:
        # DCAT-AP 3 types the size xsd:nonNegativeInteger; DCAT-AP-NO 2 wants xsd:decimal.
        size_type = XSD + ("decimal" if profile == vocab.DCAT_AP_NO_2 else "nonNegativeInteger")
        # The integer's digits: an int value under xsd:decimal reads as ill-typed to pyshacl.
        facts.append(
            (DCAT + "byteSize", Literal(str(int(distribution["byteSize"])), None, size_type))
        )
    # DCAT-AP-NO 2 admits only SHA-1 checksums; ours are SHA-256, so that profile has none.
    if distribution.get("checksum") and profile != vocab.DCAT_AP_NO_2:
        checksum = f"{node}#checksum"
        facts.append((SPDX + "checksum", checksum))
        value = Literal(str(distribution["checksum"]).lower(), None, XSD + "hexBinary")
        out.state(
            checksum,
            [
                (TYPE, SPDX + "Checksum"),
                (SPDX + "algorithm", SHA256),
                (SPDX + "checksumValue", value),
            ],
        )
        if (SHA256, TYPE) not in out.described:
            out.described.add((SHA256, TYPE))
            out.add(SHA256, TYPE, SPDX + "ChecksumAlgorithm")
    terms.add_license(out, facts, dataset.get("license"))
    modified = distribution.get("modified") or terms.edition_time(distribution.get("edition"))
    terms.add_time(facts, DCT + "modified", modified or dataset.get("modified"))
    if run:
        facts.append((PROV + "wasGeneratedBy", run))
    if deprecated:
        # DCAT-AP 3 and DCAT-AP-NO 3 take EU Distribution Status terms, DCAT-AP-NO 2 ADMS's.
        no2 = profile == vocab.DCAT_AP_NO_2
        _add_status(out, facts, vocab.ADMS_DEPRECATED if no2 else vocab.DISTRIBUTION_DEPRECATED)
    out.state(node, facts)
    return node


def _add_status(out: Statements, facts: Facts, status: str) -> None:
    """Add ``adms:status``, an EU status concept with its label (DCAT-AP 3 wants one)."""
    terms.add_term(out, facts, ADMS + "status", status, SKOS + "Concept")
    out.replace(status, SKOS + "prefLabel", Literal(vocab.DEPRECATED_LABEL, "en"))


def _add_run(out: Statements, base_url: str, run_id: str) -> str:
    """Add the ``prov:Activity`` of a pipeline run; returns its node."""
    run = f"{base_url}/runs/{quote(run_id, safe='')}"
    out.state(run, [(TYPE, PROV + "Activity"), (DCT + "identifier", Literal(run_id))])
    return run
