"""The RDF syntaxes the catalogue speaks and their media types.

Apart from the writers (``serialization``), so negotiating a format loads no writer.
"""

from __future__ import annotations

JSON_LD = "json-ld"
TURTLE = "turtle"
RDF_XML = "xml"

MEDIA_TYPES = {
    JSON_LD: "application/ld+json",
    TURTLE: "text/turtle",
    RDF_XML: "application/rdf+xml",
}
