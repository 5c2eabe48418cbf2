"""DCAT descriptions as rdflib graphs, for tests and tools (SHACL validation, queries).

The API and the publishing job never build one: they write ``catalogue.dcat.statements``
directly (``catalogue.dcat.serialization``). This module loads the same statements into an
rdflib ``Graph``, so what is validated is exactly what is served.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rdflib import Graph, Namespace, URIRef
from rdflib import Literal as RdfLiteral

from catalogue.dcat import rdf
from catalogue.dcat import statements as dcat
from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.rdf import Statements
from catalogue.dcat.statements import CatalogEntry, Dataset, Distribution, Edition

VCARD = Namespace(rdf.VCARD)
SPDX = Namespace(rdf.SPDX)
HYDRA = Namespace(rdf.HYDRA)
DCATAP = Namespace(rdf.DCATAP)
PREFIXES = {prefix: Namespace(namespace) for prefix, namespace in rdf.PREFIXES.items()}


def new_graph() -> Graph:
    """An empty graph with the DCAT-AP prefixes bound."""
    graph = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def to_graph(statements: Statements) -> Graph:
    """The statements as an rdflib graph with the DCAT-AP prefixes bound."""
    graph = new_graph()
    for subject, predicate, value in statements.triples():
        if isinstance(value, str):
            term: URIRef | RdfLiteral = URIRef(value)
        else:
            datatype = URIRef(value.datatype) if value.datatype else None
            term = RdfLiteral(value.lexical, lang=value.language, datatype=datatype)
        graph.add((URIRef(subject), URIRef(predicate), term))
    return graph


def dataset_graph(
    dataset: Dataset,
    distributions: Sequence[Distribution],
    base_url: str,
    editions: Sequence[Edition] = (),
    profile: str = vocab.DCAT_AP_3,
) -> Graph:
    """``statements.dataset_statements`` as a graph."""
    return to_graph(dcat.dataset_statements(dataset, distributions, base_url, editions, profile))


def catalog_graph(
    catalog_info: Mapping[str, Any],
    entries: Iterable[CatalogEntry],
    base_url: str,
    page: Mapping[str, str | None] | None = None,
    profile: str = vocab.DCAT_AP_3,
) -> Graph:
    """``statements.catalog_statements`` as a graph."""
    return to_graph(dcat.catalog_statements(catalog_info, entries, base_url, page, profile))
