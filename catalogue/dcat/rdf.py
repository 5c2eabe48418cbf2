"""The RDF model the DCAT descriptions are made of: namespaces, literals and ``Statements``.

Plain Python, no rdflib: ``catalogue.dcat.statements`` fills ``Statements``,
``catalogue.dcat.serialization`` writes them and ``catalogue.dcat.graph`` loads them into an
rdflib graph for tests and tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

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
ADMS = "http://www.w3.org/ns/adms#"
OWL = "http://www.w3.org/2002/07/owl#"

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
    "adms": ADMS,
    "owl": OWL,
}

TYPE = RDF + "type"
XSD_DATE, XSD_DATETIME, XSD_INTEGER = XSD + "date", XSD + "dateTime", XSD + "integer"


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
