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

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar
from urllib.parse import quote

from catalogue.dcat import vocabularies as vocab

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
PROV = "http://www.w3.org/ns/prov#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
SPDX = "http://spdx.org/rdf/terms#"
HYDRA = "http://www.w3.org/ns/hydra/core#"
DCATAP = "http://data.europa.eu/r5r/"

# Prefixes of every description: Turtle, RDF/XML and the JSON-LD context use these names.
PREFIXES = {
    "dcat": DCAT,
    "dct": DCT,
    "foaf": FOAF,
    "vcard": VCARD,
    "spdx": SPDX,
    "prov": PROV,
    "skos": SKOS,
    "hydra": HYDRA,
    "xsd": XSD,
    "rdfs": RDFS,
    "dcatap": DCATAP,
}

TYPE = RDF + "type"
XSD_DATE, XSD_DATETIME, XSD_INTEGER = XSD + "date", XSD + "dateTime", XSD + "integer"
SHA256 = SPDX + "checksumAlgorithm_sha256"

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


T = TypeVar("T")


def _remembered(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` (a pure vocabulary lookup) remembering its answers.

    Every dataset of a feed asks the same few questions (its licence, themes, language);
    an unhashable argument, which no record should hold, is answered without memory.
    """
    cached = functools.lru_cache(maxsize=1024)(function)

    def lookup(*args: Any) -> T:
        try:
            return cached(*args)
        except TypeError:
            return function(*args)

    return lookup


_theme_iri = _remembered(vocab.theme_iri)
_theme_label = _remembered(vocab.theme_label)
_licence_iri = _remembered(vocab.licence_iri)
_language_tag = _remembered(vocab.language_tag)
_language_iri = _remembered(vocab.language_iri)
_frequency_iri = _remembered(vocab.frequency_iri)
_file_type_iri = _remembered(vocab.file_type_iri)
_media_type_iri = _remembered(vocab.media_type_iri)
_concept_scheme = _remembered(vocab.concept_scheme)
_access_right_iri = _remembered(vocab.access_right_iri)
_is_place_iri = _remembered(vocab.is_place_iri)


class Literal(NamedTuple):
    """An RDF literal: its lexical form with a language tag, a datatype IRI, or neither."""

    lexical: str
    language: str | None = None
    datatype: str | None = None


# An object: an IRI (a str) or a Literal. Subjects and predicates are IRIs.
Term = str | Literal


# What is said about one subject: (predicate, object) pairs, stated together.
Facts = list[tuple[str, Term]]


class Statements:
    """RDF statements by subject, then predicate; each object once, in the order stated."""

    __slots__ = ("described", "subjects")

    def __init__(self) -> None:
        self.subjects: dict[str, dict[str, dict[Term, None]]] = {}
        # Vocabulary terms whose type and scheme are stated: every dataset names the same few.
        self.described: set[tuple[str, str]] = set()

    def state(self, subject: str, facts: Iterable[tuple[str, Term]]) -> None:
        """State every ``(predicate, object)`` of ``facts`` about ``subject`` (each once)."""
        predicates = self.subjects.get(subject)
        if predicates is None:
            predicates = self.subjects[subject] = {}
        for predicate, value in facts:
            values = predicates.get(predicate)
            if values is None:
                predicates[predicate] = {value: None}
            else:
                values[value] = None

    def add(self, subject: str, predicate: str, value: Term) -> None:
        """State ``subject predicate value``."""
        self.state(subject, ((predicate, value),))

    def replace(self, subject: str, predicate: str, value: Term) -> None:
        """State ``value`` as the only object of ``subject predicate``."""
        self.subjects.setdefault(subject, {})[predicate] = {value: None}

    def objects(self, subject: str, predicate: str) -> list[Term]:
        """The objects of ``subject predicate``, in the order stated."""
        return list(self.subjects.get(subject, {}).get(predicate, ()))

    def has(self, subject: str, predicate: str, value: Term) -> bool:
        return value in self.subjects.get(subject, {}).get(predicate, ())

    def triples(self) -> Iterator[tuple[str, str, Term]]:
        """Every statement as ``(subject, predicate, object)``."""
        for subject, predicates in self.subjects.items():
            for predicate, values in predicates.items():
                for value in values:
                    yield subject, predicate, value

    def __len__(self) -> int:
        return sum(len(values) for p in self.subjects.values() for values in p.values())


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
    (default: the latest ``modified`` of the datasets) and ``license``.
    ``page`` holds the URLs ``self``, ``first``, ``next``, ``previous``, ``last`` (any may be
    None) and optionally ``totalItems``. ``profile`` is one of ``vocabularies.PROFILES``.
    """
    out = Statements()
    catalog = catalog_uri(base_url)
    tag = _language_tag(catalog_info.get("language"))
    # DCAT-AP-NO 2 wants exactly one dct:identifier on the catalogue: its IRI, as a literal.
    facts: Facts = [(TYPE, DCAT + "Catalog"), (DCT + "identifier", Literal(catalog))]
    _add_text(facts, DCT + "title", catalog_info.get("title"), tag)
    _add_text(facts, DCT + "description", catalog_info.get("description"), tag)
    publisher = catalog_info.get("publisher") or {}
    if publisher.get("uri") or publisher.get("name"):
        agent = _add_agent(out, base_url, str(publisher.get("uri") or publisher["name"]))
        if publisher.get("name"):
            out.replace(agent, FOAF + "name", Literal(publisher["name"]))
        facts.append((DCT + "publisher", agent))
    _add_contact_point(out, facts, catalog, catalog_info.get("contactPoint"))
    _add_language(out, facts, catalog_info.get("language"))
    if vocab.is_iri(catalog_info.get("homepage")):
        homepage = catalog_info["homepage"]
        facts.append((FOAF + "homepage", homepage))
        out.add(homepage, TYPE, FOAF + "Document")
    theme_scheme = vocab.DATA_THEME_SCHEME
    facts.append((DCAT + "themeTaxonomy", theme_scheme))
    # DCAT-AP 3 wants a title on every skos:ConceptScheme in the feed.
    title = Literal(vocab.DATA_THEME_SCHEME_TITLE, "en")
    out.state(theme_scheme, [(TYPE, SKOS + "ConceptScheme"), (DCT + "title", title)])
    _add_license(out, facts, catalog_info.get("license"))
    out.state(catalog, facts)

    latest = catalog_info.get("modified")
    datasets: Facts = []
    for entry in entries:
        dataset = entry[0]
        editions = entry[2] if len(entry) > 2 else ()  # type: ignore[misc]
        datasets.append(
            (DCAT + "dataset", add_dataset(out, dataset, entry[1], base_url, editions, profile))
        )
        if not catalog_info.get("modified") and dataset.get("modified"):
            latest = max(latest or "", dataset["modified"])
    _add_time(datasets, DCT + "modified", latest)
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
    tag = _language_tag(dataset.get("language"))
    facts: Facts = [(TYPE, DCAT + "Dataset"), (DCT + "identifier", Literal(dataset["id"]))]
    _add_text(facts, DCT + "title", dataset.get("title"), tag)
    _add_text(facts, DCT + "description", dataset.get("description"), tag)
    if dataset.get("publisher"):
        facts.append((DCT + "publisher", _add_agent(out, base_url, dataset["publisher"])))
    _add_contact_point(out, facts, node, dataset.get("contactPoint"))
    for theme in dataset.get("themes") or ():
        iri = _theme_iri(theme)
        if iri:
            _add_term(out, facts, DCAT + "theme", iri, SKOS + "Concept")
            label = _theme_label(iri)
            if label:
                # DCAT-AP 3: every skos:Concept needs a skos:prefLabel.
                out.add(iri, SKOS + "prefLabel", Literal(label, "en"))
    facts.extend((DCAT + "keyword", Literal(k, tag)) for k in dataset.get("keywords") or ())
    access = _access_right_iri(dataset.get("accessRights") or "")
    if access:
        _add_term(out, facts, DCT + "accessRights", access, DCT + "RightsStatement")
    _add_license(out, facts, dataset.get("license"))
    _add_temporal(out, facts, node, dataset.get("temporal"))
    if _is_place_iri(dataset.get("spatial")):
        # DCAT-AP-NO wants a place IRI from its vocabularies (EU places, GeoNames, Geonorge);
        # anything else has no faithful rendering, so it is left out rather than made up.
        _add_term(out, facts, DCT + "spatial", dataset["spatial"], DCT + "Location")
    frequency = _frequency_iri(dataset.get("accrualPeriodicity") or "")
    if frequency:
        _add_term(out, facts, DCT + "accrualPeriodicity", frequency, DCT + "Frequency")
    _add_language(out, facts, dataset.get("language"))
    for standard in dataset.get("conformsTo") or ():
        if vocab.is_iri(standard):
            facts.append((DCT + "conformsTo", standard))
            # DCAT-AP-NO 2 wants a title on every standard; its IRI is the only name known.
            out.state(standard, [(TYPE, DCT + "Standard"), (DCT + "title", Literal(standard))])
    for source_id in dataset.get("wasDerivedFrom") or ():
        # dct:source follows in link_sources, once it is known whether the source is described.
        facts.append((PROV + "wasDerivedFrom", dataset_uri(base_url, source_id)))
    _add_time(facts, DCT + "issued", dataset.get("created"))
    _add_time(facts, DCT + "modified", dataset.get("modified"))

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
        child = _add_distribution(out, node, dataset, distribution, profile, run)
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
    # dcat:accessURL is mandatory; without one, the distribution's own page gives access.
    access = distribution.get("accessURL") or download or node
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
        tag = _language_tag(dataset.get("language"))
        facts.append((DCT + "title", Literal(", ".join(filenames), tag)))
    media_type = distribution.get("mediaType")
    if not media_type and distribution.get("format"):
        media_type = vocab.MEDIA_TYPES_BY_FILE_TYPE.get(str(distribution["format"]).upper())
    file_type = _file_type_iri(distribution.get("format"), media_type)
    if file_type:
        _add_term(out, facts, DCT + "format", file_type, DCT + "MediaTypeOrExtent")
    media_iri = _media_type_iri(media_type)
    if media_iri and media_iri.startswith(vocab.NO_MEDIA_TYPES):
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
    _add_license(out, facts, dataset.get("license"))
    modified = distribution.get("modified") or _edition_time(distribution.get("edition"))
    _add_time(facts, DCT + "modified", modified or dataset.get("modified"))
    if run:
        facts.append((PROV + "wasGeneratedBy", run))
    out.state(node, facts)
    return node


def _add_run(out: Statements, base_url: str, run_id: str) -> str:
    """Add the ``prov:Activity`` of a pipeline run; returns its node."""
    run = f"{base_url}/runs/{quote(run_id, safe='')}"
    out.state(run, [(TYPE, PROV + "Activity"), (DCT + "identifier", Literal(run_id))])
    return run


def _add_agent(out: Statements, base_url: str, publisher: str) -> str:
    """Add a ``foaf:Agent`` for a publisher given as an IRI or a name; returns its node."""
    if vocab.is_iri(publisher):
        agent = publisher
        name = publisher.rstrip("/").rsplit("/", 1)[-1]
    else:
        slug = _NOT_SLUG.sub("-", publisher.lower()).strip("-") or "publisher"
        agent = f"{base_url.rstrip('/')}/publishers/{slug}"
        name = publisher
    facts: Facts = [(TYPE, FOAF + "Agent"), (TYPE, FOAF + "Organization")]
    # The first name given to an agent stays (several datasets may name the same one).
    if not out.objects(agent, FOAF + "name"):
        facts.append((FOAF + "name", Literal(name)))
    out.state(agent, facts)
    return agent


def _add_contact_point(
    out: Statements, facts: Facts, subject: str, contact: Mapping[str, Any] | None
) -> None:
    """Add a ``vcard:Kind`` contact point (an Organization, as DCAT-AP-NO asks)."""
    if not contact or not (contact.get("name") or contact.get("email")):
        return
    node = f"{subject}#contactPoint"
    facts.append((DCAT + "contactPoint", node))
    card: Facts = [(TYPE, VCARD + "Kind"), (TYPE, VCARD + "Organization")]
    if contact.get("name"):
        card.append((VCARD + "fn", Literal(contact["name"])))
    if contact.get("email"):
        card.append((VCARD + "hasEmail", f"mailto:{contact['email']}"))
    if vocab.is_iri(contact.get("url")):
        card.append((VCARD + "hasURL", contact["url"]))
    out.state(node, card)


def _add_text(facts: Facts, predicate: str, text: Any, tag: str) -> None:
    """Add a language-tagged literal (DCAT-AP-NO wants rdf:langString) if there is text."""
    if isinstance(text, str) and text.strip():
        facts.append((predicate, Literal(text, tag)))


def _add_language(out: Statements, facts: Facts, language: str | None) -> None:
    """Add ``dct:language`` as an EU Language IRI typed ``dct:LinguisticSystem``."""
    iri = _language_iri(language) if language else None
    if iri:
        _add_term(out, facts, DCT + "language", iri, DCT + "LinguisticSystem")


def _add_term(out: Statements, facts: Facts, predicate: str, iri: str, rdf_type: str) -> None:
    """Add a controlled-vocabulary term with its ``rdf:type`` and ``skos:inScheme``.

    DCAT-AP 3 checks the type (pyshacl runs without inference); DCAT-AP-NO 2 checks that
    the term is in its vocabulary (``skos:inScheme``), as the vocabulary itself states.
    """
    facts.append((predicate, iri))
    if (iri, rdf_type) in out.described:
        return
    out.described.add((iri, rdf_type))
    scheme = _concept_scheme(iri)
    out.state(
        iri, [(TYPE, rdf_type), (SKOS + "inScheme", scheme)] if scheme else [(TYPE, rdf_type)]
    )


def _add_license(out: Statements, facts: Facts, licence: str | None) -> None:
    """Add ``dct:license`` as an EU Licence IRI typed ``dct:LicenseDocument``, if it maps to one."""
    iri = _licence_iri(licence)
    if iri:
        _add_term(out, facts, DCT + "license", iri, DCT + "LicenseDocument")


def _add_temporal(
    out: Statements, facts: Facts, subject: str, temporal: Mapping[str, Any] | None
) -> None:
    """Add ``dct:temporal`` as a ``dct:PeriodOfTime`` with ``dcat:startDate``/``endDate``."""
    if not temporal or not (temporal.get("start") or temporal.get("end")):
        return
    period = f"{subject}#temporal"
    facts.append((DCT + "temporal", period))
    times: Facts = [(TYPE, DCT + "PeriodOfTime")]
    _add_time(times, DCAT + "startDate", temporal.get("start"))
    _add_time(times, DCAT + "endDate", temporal.get("end"))
    out.state(period, times)


def _add_time(facts: Facts, predicate: str, value: str | None) -> None:
    """Add an ISO 8601 value as an ``xsd:date`` or ``xsd:dateTime`` literal."""
    if not value:
        return
    if _DATE.match(value):
        facts.append((predicate, Literal(value, None, XSD_DATE)))
    else:
        facts.append((predicate, Literal(canonical_datetime(value), None, XSD_DATETIME)))


def canonical_datetime(value: str) -> str:
    """The lexical form rdflib (and so every earlier feed) gives an ``xsd:dateTime`` value.

    rdflib reads the value with ``datetime.fromisoformat`` and writes ``isoformat()`` back
    (``Z`` becomes ``+00:00``); a value that does not parse keeps its form.
    """
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return value


def _edition_time(edition: str | None) -> str | None:
    """The UTC timestamp (ISO 8601) an edition id ``YYYYMMDDTHHMMSS`` stands for."""
    match = _EDITION_ID.match(edition or "")
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}Z"
