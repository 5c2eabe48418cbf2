"""Serialise DCAT graphs as JSON-LD (compact, prefixed), Turtle or RDF/XML."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rdflib import Graph

JSON_LD = "json-ld"
TURTLE = "turtle"
RDF_XML = "xml"

MEDIA_TYPES = {
    JSON_LD: "application/ld+json",
    TURTLE: "text/turtle",
    RDF_XML: "application/rdf+xml",
}


def json_ld_context() -> dict[str, str]:
    """The compact JSON-LD context: the prefixes bound on every DCAT graph."""
    from catalogue.dcat.graph import PREFIXES

    return {prefix: str(namespace) for prefix, namespace in PREFIXES.items()}


def serialize(graph: Graph, rdf_format: str = JSON_LD) -> str:
    """Serialise ``graph`` in ``rdf_format`` (``json-ld``, ``turtle`` or ``xml``).

    JSON-LD and Turtle come out byte-identical for the same graph in every process (the
    publishing job compares checksums); RDF/XML keeps rdflib's order, which varies with
    the process's hash seed. Raises ValueError for any other format.
    """
    if rdf_format == JSON_LD:
        document = json.loads(
            graph.serialize(format="json-ld", context=json_ld_context(), auto_compact=True)
        )
        return json.dumps(_canonical(document), indent=2, sort_keys=True, ensure_ascii=False)
    if rdf_format in (TURTLE, RDF_XML):
        return graph.serialize(format=rdf_format)
    raise ValueError(f"unsupported RDF format {rdf_format!r}; use one of {', '.join(MEDIA_TYPES)}")


def _canonical(value: Any) -> Any:
    """Sort JSON-LD node and value arrays, whose order rdflib leaves to the hash seed.

    Array order carries no meaning in JSON-LD unless it is an ``@list``, kept as it is.
    """
    if isinstance(value, dict):
        return {key: item if key == "@list" else _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value
