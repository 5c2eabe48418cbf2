"""The feed as Brygge made it before it wrote DCAT directly: rdflib graph, rdflib serialisers.

A verbatim copy of ``catalogue/dcat/graph.py`` and ``serialization.py`` as they stood when
the feed moved to ``catalogue.dcat.statements``, kept as the oracle the new output must
match (``test_direct_writing.py``). Not used by the application.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, PROV, SKOS

from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.terms import publisher_slug
from catalogue.domain import addresses
from catalogue.domain.text import xml_safe

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
OWL = Namespace("http://www.w3.org/2002/07/owl#")

# Prefixes bound on every graph: Turtle and the JSON-LD context use the same short names.
PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "vcard": VCARD,
    "spdx": SPDX,
    "prov": PROV,
    "skos": SKOS,
    "hydra": HYDRA,
    "xsd": XSD,
    "rdfs": RDFS,
    "dcatap": DCATAP,
    "adms": ADMS,
    "owl": OWL,
}

Dataset = Mapping[str, Any]
Distribution = Mapping[str, Any]
Edition = Mapping[str, Any]
# One catalogue entry: (dataset, distributions) or (dataset, distributions, editions).
CatalogEntry = (
    tuple[Dataset, Sequence[Distribution]]
    | tuple[Dataset, Sequence[Distribution], Sequence[Edition]]
)

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EDITION_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:-\d{6})?$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def new_graph() -> Graph:
    """An empty graph with the DCAT-AP prefixes bound."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def dataset_uri(base_url: str, dataset_id: str) -> str:
    """The IRI of a dataset: its URL in the API."""
    return f"{base_url.rstrip('/')}/datasets/{dataset_id}"


def catalog_uri(base_url: str) -> str:
    """The IRI of the catalogue: the URL of its feed."""
    return f"{base_url.rstrip('/')}/catalog"


def dataset_graph(
    dataset: Dataset,
    distributions: Sequence[Distribution],
    base_url: str,
    editions: Sequence[Edition] = (),
    profile: str = vocab.DCAT_AP_3,
) -> Graph:
    """The DCAT description of one dataset with its distributions.

    A distribution's ``run`` (or the ``run`` of the edition it names, from ``editions``)
    becomes its ``prov:wasGeneratedBy``; the run of the latest edition is the dataset's.
    ``profile`` is one of ``vocabularies.PROFILES``.
    """
    graph = new_graph()
    add_dataset(graph, dataset, distributions, base_url, editions, profile)
    link_sources(graph)
    return graph


def catalog_graph(
    catalog_info: Mapping[str, Any],
    entries: Iterable[CatalogEntry],
    base_url: str,
    page: Mapping[str, str | None] | None = None,
    profile: str = vocab.DCAT_AP_3,
) -> Graph:
    """The ``dcat:Catalog`` of the given datasets, with a Hydra view when ``page`` is given.

    ``catalog_info`` holds ``title``, ``description``, ``publisher {name, uri?}``,
    ``contactPoint {name, email}``, ``language``, ``homepage`` and optionally ``modified``
    (default: the latest ``modified`` of the datasets) and ``license``.
    ``page`` holds the URLs ``self``, ``first``, ``next``, ``previous``, ``last`` (any may be
    None) and optionally ``totalItems``. ``profile`` is one of ``vocabularies.PROFILES``.
    """
    graph = new_graph()
    catalog = URIRef(catalog_uri(base_url))
    tag = vocab.language_tag(catalog_info.get("language"))
    graph.add((catalog, RDF.type, DCAT.Catalog))
    # DCAT-AP-NO 2 wants exactly one dct:identifier on the catalogue: its IRI, as a literal.
    graph.add((catalog, DCTERMS.identifier, Literal(str(catalog))))
    _add_text(graph, catalog, DCTERMS.title, catalog_info.get("title"), tag)
    _add_text(graph, catalog, DCTERMS.description, catalog_info.get("description"), tag)
    publisher = catalog_info.get("publisher") or {}
    if publisher.get("uri") or publisher.get("name"):
        agent = _add_agent(graph, base_url, str(publisher.get("uri") or publisher["name"]))
        if publisher.get("name"):
            graph.set((agent, FOAF.name, Literal(publisher["name"])))
        graph.add((catalog, DCTERMS.publisher, agent))
    _add_contact_point(graph, catalog, catalog_info.get("contactPoint"))
    _add_language(graph, catalog, catalog_info.get("language"))
    if addresses.is_iri(catalog_info.get("homepage")):
        homepage = URIRef(catalog_info["homepage"])
        graph.add((catalog, FOAF.homepage, homepage))
        graph.add((homepage, RDF.type, FOAF.Document))
    theme_scheme = URIRef(vocab.DATA_THEME_SCHEME)
    graph.add((catalog, DCAT.themeTaxonomy, theme_scheme))
    graph.add((theme_scheme, RDF.type, SKOS.ConceptScheme))
    # DCAT-AP 3 wants a title on every skos:ConceptScheme in the feed.
    graph.add((theme_scheme, DCTERMS.title, Literal(vocab.DATA_THEME_SCHEME_TITLE, lang="en")))
    _add_license(graph, catalog, catalog_info.get("license"))

    latest = catalog_info.get("modified")
    for entry in entries:
        dataset = entry[0]
        editions = entry[2] if len(entry) > 2 else ()  # type: ignore[misc]
        node = add_dataset(graph, dataset, entry[1], base_url, editions, profile)
        graph.add((catalog, DCAT.dataset, node))
        if not catalog_info.get("modified") and dataset.get("modified"):
            latest = max(latest or "", dataset["modified"])
    _add_time(graph, catalog, DCTERMS.modified, latest)
    if page:
        add_page_view(graph, catalog, page)
    link_sources(graph)
    return graph


def link_sources(graph: Graph) -> None:
    """Add ``dct:source`` for each ``prov:wasDerivedFrom`` whose source is described in ``graph``.

    DCAT-AP 3 ranges ``dct:source`` over ``dcat:Dataset`` (a violation otherwise), and a
    source outside this graph (another page, or not public) cannot be typed here without
    describing it; ``prov:wasDerivedFrom`` carries the lineage in every case.
    """
    for node, source in list(graph.subject_objects(PROV.wasDerivedFrom)):
        if (source, RDF.type, DCAT.Dataset) in graph:
            graph.add((node, DCTERMS.source, source))


def add_page_view(graph: Graph, collection: URIRef, page: Mapping[str, Any]) -> None:
    """Add a Hydra ``PartialCollectionView`` of ``collection`` with the given page links."""
    # The first page's URL is often the catalogue's own IRI; the view needs its own node.
    this_page = page.get("self")
    view = URIRef(this_page if this_page and this_page != str(collection) else f"{collection}#page")
    graph.add((collection, HYDRA.view, view))
    graph.add((view, RDF.type, HYDRA.PartialCollectionView))
    for name in ("first", "next", "previous", "last"):
        if page.get(name):
            graph.add((view, HYDRA[name], URIRef(page[name])))
    if page.get("totalItems") is not None:
        graph.add((collection, RDF.type, HYDRA.Collection))
        graph.add((collection, HYDRA.totalItems, Literal(page["totalItems"], datatype=XSD.integer)))


def add_dataset(
    graph: Graph,
    dataset: Dataset,
    distributions: Sequence[Distribution],
    base_url: str,
    editions: Sequence[Edition] = (),
    profile: str = vocab.DCAT_AP_3,
) -> URIRef:
    """Add one ``dcat:Dataset`` with its distributions to ``graph``; returns its node."""
    base_url = base_url.rstrip("/")
    node = URIRef(dataset_uri(base_url, dataset["id"]))
    tag = vocab.language_tag(dataset.get("language"))
    graph.add((node, RDF.type, DCAT.Dataset))
    graph.add((node, DCTERMS.identifier, Literal(dataset["id"])))
    _add_text(graph, node, DCTERMS.title, dataset.get("title"), tag)
    _add_text(graph, node, DCTERMS.description, dataset.get("description"), tag)
    if dataset.get("publisher"):
        graph.add((node, DCTERMS.publisher, _add_agent(graph, base_url, dataset["publisher"])))
    _add_contact_point(graph, node, dataset.get("contactPoint"))
    for theme in dataset.get("themes") or ():
        iri = vocab.theme_iri(theme)
        if iri:
            _add_term(graph, node, DCAT.theme, iri, SKOS.Concept)
            label = vocab.theme_label(iri)
            if label:
                # DCAT-AP 3: every skos:Concept needs a skos:prefLabel.
                graph.add((URIRef(iri), SKOS.prefLabel, Literal(label, lang="en")))
    for keyword in dataset.get("keywords") or ():
        graph.add((node, DCAT.keyword, Literal(keyword, lang=tag)))
    access = vocab.access_right_iri(dataset.get("accessRights") or "")
    if access:
        _add_term(graph, node, DCTERMS.accessRights, access, DCTERMS.RightsStatement)
    _add_license(graph, node, dataset.get("license"))
    _add_temporal(graph, node, dataset.get("temporal"))
    if vocab.is_place_iri(dataset.get("spatial")):
        # DCAT-AP-NO wants a place IRI from its vocabularies (EU places, GeoNames, Geonorge);
        # anything else has no faithful rendering, so it is left out rather than made up.
        _add_term(graph, node, DCTERMS.spatial, dataset["spatial"], DCTERMS.Location)
    frequency = vocab.frequency_iri(dataset.get("accrualPeriodicity") or "")
    if frequency:
        _add_term(graph, node, DCTERMS.accrualPeriodicity, frequency, DCTERMS.Frequency)
    _add_language(graph, node, dataset.get("language"))
    for standard in dataset.get("conformsTo") or ():
        if addresses.is_iri(standard):
            graph.add((node, DCTERMS.conformsTo, URIRef(standard)))
            graph.add((URIRef(standard), RDF.type, DCTERMS.Standard))
            # DCAT-AP-NO 2 wants a title on every standard; its IRI is the only name known.
            graph.add((URIRef(standard), DCTERMS.title, Literal(standard)))
    for source_id in dataset.get("wasDerivedFrom") or ():
        # dct:source follows in link_sources, once it is known whether the source is described.
        graph.add((node, PROV.wasDerivedFrom, URIRef(dataset_uri(base_url, source_id))))
    _add_time(graph, node, DCTERMS.issued, dataset.get("created"))
    _add_time(graph, node, DCTERMS.modified, dataset.get("modified"))
    if dataset.get("state") == "deprecated":
        _add_status(graph, node, vocab.DATASET_DEPRECATED)
    version = next((d["version"] for d in distributions if d.get("version")), None)
    if version:
        no2 = profile == vocab.DCAT_AP_NO_2
        predicate = OWL.versionInfo if no2 else URIRef(str(DCAT) + "version")
        graph.add((node, predicate, Literal(str(version))))

    # The run behind each edition: named by the edition, or by a distribution it produced.
    runs = {e["edition"]: e["run"] for e in editions if e.get("run")}
    for distribution in distributions:
        if distribution.get("run") and distribution.get("edition"):
            runs.setdefault(distribution["edition"], distribution["run"])
    if runs:
        # The dataset as it now stands was generated by the run of its latest edition.
        graph.add((node, PROV.wasGeneratedBy, _add_run(graph, base_url, runs[max(runs)])))
    for distribution in distributions:
        child = _add_distribution(graph, node, dataset, distribution, profile)
        graph.add((node, DCAT.distribution, child))
        run_id = distribution.get("run") or runs.get(distribution.get("edition") or "")
        if run_id:
            graph.add((child, PROV.wasGeneratedBy, _add_run(graph, base_url, run_id)))
    return node


def _add_distribution(
    graph: Graph,
    dataset_node: URIRef,
    dataset: Dataset,
    distribution: Distribution,
    profile: str = vocab.DCAT_AP_3,
) -> URIRef:
    """Add one ``dcat:Distribution``; returns its node."""
    if distribution.get("version") and distribution.get("edition"):
        path = (
            f"/versions/{distribution['version']}/editions/{distribution['edition']}"
            f"/distributions/{distribution['id']}"
        )
    else:
        path = f"/distributions/{distribution['id']}"
    node = URIRef(f"{dataset_node}{path}")
    graph.add((node, RDF.type, DCAT.Distribution))
    graph.add((node, DCTERMS.identifier, Literal(str(distribution["id"]))))
    download = distribution.get("downloadURL")
    # dcat:accessURL is mandatory; without one, the distribution's own page gives access.
    access = distribution.get("accessURL") or download or str(node)
    graph.add((node, DCAT.accessURL, URIRef(access)))
    # DCAT-AP 3.0.0 ranges both URLs over rdfs:Resource and its shapes run without inference.
    graph.add((URIRef(access), RDF.type, RDFS.Resource))
    if download:
        graph.add((node, DCAT.downloadURL, URIRef(download)))
        graph.add((URIRef(download), RDF.type, RDFS.Resource))
    filenames = distribution.get("filenames") or ()
    if filenames:
        tag = vocab.language_tag(dataset.get("language"))
        graph.add((node, DCTERMS.title, Literal(", ".join(filenames), lang=tag)))
    media_type = distribution.get("mediaType")
    if not media_type and distribution.get("format"):
        media_type = vocab.MEDIA_TYPES_BY_FILE_TYPE.get(str(distribution["format"]).upper())
    file_type = vocab.file_type_iri(distribution.get("format"), media_type)
    if file_type:
        _add_term(graph, node, DCTERMS.format, file_type, DCTERMS.MediaTypeOrExtent)
    media_iri = vocab.media_type_iri(media_type, profile)
    if media_iri:
        graph.add((node, DCAT.mediaType, URIRef(media_iri)))
        graph.add((URIRef(media_iri), RDF.type, DCTERMS.MediaType))
    if distribution.get("byteSize") is not None:
        # DCAT-AP 3 types the size xsd:nonNegativeInteger; DCAT-AP-NO 2 wants xsd:decimal.
        size_type = XSD.decimal if profile == vocab.DCAT_AP_NO_2 else XSD.nonNegativeInteger
        # From the lexical form: an int value under xsd:decimal reads as ill-typed to pyshacl.
        size = Literal(str(int(distribution["byteSize"])), datatype=size_type)
        graph.add((node, DCAT.byteSize, size))
    # DCAT-AP-NO 2 admits only SHA-1 checksums; ours are SHA-256, so that profile has none.
    if distribution.get("checksum") and profile != vocab.DCAT_AP_NO_2:
        checksum = URIRef(f"{node}#checksum")
        graph.add((node, SPDX.checksum, checksum))
        graph.add((checksum, RDF.type, SPDX.Checksum))
        graph.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        graph.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))
        value = Literal(str(distribution["checksum"]).lower(), datatype=XSD.hexBinary)
        graph.add((checksum, SPDX.checksumValue, value))
    _add_license(graph, node, dataset.get("license"))
    modified = distribution.get("modified") or _edition_time(distribution.get("edition"))
    _add_time(graph, node, DCTERMS.modified, modified or dataset.get("modified"))
    if dataset.get("state") == "deprecated":
        no2 = profile == vocab.DCAT_AP_NO_2
        _add_status(graph, node, vocab.ADMS_DEPRECATED if no2 else vocab.DISTRIBUTION_DEPRECATED)
    return node


def _add_status(graph: Graph, subject: URIRef, status: str) -> None:
    """Add ``adms:status``, a status concept with its label."""
    _add_term(graph, subject, ADMS.status, status, SKOS.Concept)
    graph.add((URIRef(status), SKOS.prefLabel, Literal(vocab.DEPRECATED_LABEL, lang="en")))


def _add_run(graph: Graph, base_url: str, run_id: str) -> URIRef:
    """Add the ``prov:Activity`` of a pipeline run; returns its node."""
    run = URIRef(f"{base_url}/runs/{quote(run_id, safe='')}")
    graph.add((run, RDF.type, PROV.Activity))
    graph.add((run, DCTERMS.identifier, Literal(run_id)))
    return run


def _add_agent(graph: Graph, base_url: str, publisher: str) -> URIRef:
    """Add a ``foaf:Agent`` for a publisher given as an IRI or a name; returns its node."""
    if addresses.is_iri(publisher):
        agent = URIRef(publisher)
        name = publisher.rstrip("/").rsplit("/", 1)[-1]
    else:
        # The feed's own rule since names beyond ASCII stopped sharing one agent.
        agent = URIRef(f"{base_url.rstrip('/')}/publishers/{publisher_slug(publisher)}")
        name = publisher
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, RDF.type, FOAF.Organization))
    if (agent, FOAF.name, None) not in graph:
        graph.add((agent, FOAF.name, Literal(name)))
    return agent


def _add_contact_point(graph: Graph, subject: URIRef, contact: Mapping[str, Any] | None) -> None:
    """Add a ``vcard:Kind`` contact point (an Organization, as DCAT-AP-NO asks)."""
    if not contact or not (contact.get("name") or contact.get("email")):
        return
    node = URIRef(f"{subject}#contactPoint")
    graph.add((subject, DCAT.contactPoint, node))
    graph.add((node, RDF.type, VCARD.Kind))
    graph.add((node, RDF.type, VCARD.Organization))
    if contact.get("name"):
        graph.add((node, VCARD.fn, Literal(contact["name"])))
    if contact.get("email"):
        graph.add((node, VCARD.hasEmail, URIRef(f"mailto:{contact['email']}")))
    if addresses.is_iri(contact.get("url")):
        graph.add((node, VCARD.hasURL, URIRef(contact["url"])))


def _add_text(graph: Graph, subject: URIRef, predicate: URIRef, text: Any, tag: str) -> None:
    """Add a language-tagged literal (DCAT-AP-NO wants rdf:langString) if there is text."""
    if isinstance(text, str) and text.strip():
        graph.add((subject, predicate, Literal(text, lang=tag)))


def _add_language(graph: Graph, subject: URIRef, language: str | None) -> None:
    """Add ``dct:language`` as an EU Language IRI typed ``dct:LinguisticSystem``."""
    iri = vocab.language_iri(language) if language else None
    if iri:
        _add_term(graph, subject, DCTERMS.language, iri, DCTERMS.LinguisticSystem)


def _add_term(graph: Graph, subject: URIRef, predicate: URIRef, iri: str, rdf_type: URIRef) -> None:
    """Add a controlled-vocabulary term with its ``rdf:type`` and ``skos:inScheme``.

    DCAT-AP 3 checks the type (pyshacl runs without inference); DCAT-AP-NO 2 checks that
    the term is in its vocabulary (``skos:inScheme``), as the vocabulary itself states.
    """
    term = URIRef(iri)
    graph.add((subject, predicate, term))
    graph.add((term, RDF.type, rdf_type))
    scheme = vocab.concept_scheme(iri)
    if scheme:
        graph.add((term, SKOS.inScheme, URIRef(scheme)))


def _add_license(graph: Graph, subject: URIRef, licence: str | None) -> None:
    """Add ``dct:license`` as an EU Licence IRI typed ``dct:LicenseDocument``, if it maps to one."""
    iri = vocab.licence_iri(licence)
    if iri:
        _add_term(graph, subject, DCTERMS.license, iri, DCTERMS.LicenseDocument)


def _add_temporal(graph: Graph, subject: URIRef, temporal: Mapping[str, Any] | None) -> None:
    """Add ``dct:temporal`` as a ``dct:PeriodOfTime`` with ``dcat:startDate``/``endDate``."""
    if not temporal or not (temporal.get("start") or temporal.get("end")):
        return
    period = URIRef(f"{subject}#temporal")
    graph.add((subject, DCTERMS.temporal, period))
    graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
    _add_time(graph, period, DCAT.startDate, temporal.get("start"))
    _add_time(graph, period, DCAT.endDate, temporal.get("end"))


def _add_time(graph: Graph, subject: URIRef, predicate: URIRef, value: str | None) -> None:
    """Add an ISO 8601 value as an ``xsd:date`` or ``xsd:dateTime`` literal."""
    if not value:
        return
    datatype = XSD.date if _DATE.match(value) else XSD.dateTime
    # rdflib normalises the lexical form (``Z`` becomes ``+00:00``), as its parsers do, so
    # a graph read back from any syntax equals the one built here.
    graph.add((subject, predicate, Literal(value, datatype=datatype)))


def _edition_time(edition: str | None) -> str | None:
    """The UTC timestamp (ISO 8601) an edition id ``YYYYMMDDTHHMMSS`` stands for."""
    match = _EDITION_ID.match(edition or "")
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}Z"


def json_ld_context() -> dict[str, str]:
    """The compact JSON-LD context: the prefixes bound on every DCAT graph."""
    return {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}


def serialize(graph: Graph, rdf_format: str) -> str:
    """Serialise ``graph`` in ``rdf_format`` (``json-ld``, ``turtle`` or ``xml``).

    JSON-LD and Turtle come out byte-identical for the same graph in every process (the
    publishing job compares checksums); RDF/XML keeps rdflib's order, which varies with
    the process's hash seed. Characters XML 1.0 cannot carry are dropped in every format
    (the API refuses them, but values stored before it did stay readable and one bad title
    must not break the feed for everyone). Raises ValueError for any other format.
    """
    if rdf_format == "json-ld":
        from rdflib.plugins.serializers.jsonld import from_rdf

        # rdflib's own JSON-LD document, before its (indenting, pure-Python) encoding.
        document = from_rdf(graph, json_ld_context(), auto_compact=True)
        # Compact separators keep json on its C encoder; indenting is 3x slower.
        return json.dumps(_canonical(document), sort_keys=True, ensure_ascii=False)
    # One pass of a regular expression over the whole text: the markup itself is ASCII.
    if rdf_format == "turtle":
        return xml_safe(_serialize_turtle(graph))
    if rdf_format == "xml":
        return xml_safe(graph.serialize(format=rdf_format))
    raise ValueError(f"unsupported RDF format {rdf_format!r}")


def _canonical(value: Any) -> Any:
    """Sort JSON-LD node and value arrays, whose order rdflib leaves to the hash seed.

    Array order carries no meaning in JSON-LD unless it is an ``@list``, kept as it is.
    Strings lose the characters XML 1.0 cannot carry, as in the other formats.
    """
    if isinstance(value, dict):
        return {key: item if key == "@list" else _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(item) for item in value), key=_sort_key)
    if isinstance(value, str):
        return xml_safe(value)
    return value


def _sort_key(item: Any) -> tuple[int, str]:
    """Order plain values, then nodes by their (unique) ``@id``, then other objects."""
    if isinstance(item, str):
        return (0, item)
    if isinstance(item, dict) and isinstance(item.get("@id"), str):
        return (1, item["@id"])
    return (2, json.dumps(item, sort_keys=True))


# A local name safe in a Turtle prefixed name without escapes.
_LOCAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _serialize_turtle(graph: Graph) -> str:
    """Turtle through rdflib's serializer, with prefixed names only for the bound prefixes.

    rdflib's own prefix lookup keeps every namespace it meets in a trie that it scans
    linearly; with one namespace per dataset IRI that made a 10,000-dataset catalogue
    quadratic (9 s per 1,000 datasets, measured). Only our few prefixes are worth a lookup.
    """
    from rdflib import URIRef
    from rdflib.plugins.serializers.turtle import TurtleSerializer

    namespaces = sorted(
        ((prefix, str(namespace)) for prefix, namespace in graph.namespaces()),
        key=lambda pair: -len(pair[1]),
    )

    names: dict[str, str | None] = {}

    class BoundPrefixTurtleSerializer(TurtleSerializer):
        def get_pname(self, uri: Any, gen_prefix: bool = True) -> str | None:
            if not isinstance(uri, URIRef):
                return None
            if uri in names:
                return names[uri]
            name = None
            for prefix, namespace in namespaces:
                # str.startswith: URIRef overrides startswith with a much slower one.
                if str.startswith(uri, namespace):
                    local = uri[len(namespace) :]
                    if _LOCAL_NAME.match(local):
                        name = f"{self.addNamespace(prefix, URIRef(namespace))}:{local}"
                    break
            names[uri] = name
            return name

    stream = io.BytesIO()
    BoundPrefixTurtleSerializer(graph).serialize(stream, encoding="utf-8")
    return stream.getvalue().decode()
