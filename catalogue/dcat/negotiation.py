"""Choose the RDF format of a response from ``?format=`` and the ``Accept`` header.

Free of rdflib: the API can negotiate before it decides to build a graph.
"""

from __future__ import annotations

from catalogue.dcat.formats import JSON_LD, MEDIA_TYPES, RDF_XML, TURTLE
from catalogue.domain.errors import DomainError

# ``?format=`` values, by the names people use for each syntax.
FORMAT_NAMES = {
    "jsonld": JSON_LD,
    "json-ld": JSON_LD,
    "ttl": TURTLE,
    "turtle": TURTLE,
    "rdf": RDF_XML,
    "xml": RDF_XML,
    "rdfxml": RDF_XML,
    "rdf-xml": RDF_XML,
    "rdf+xml": RDF_XML,
}
FORMATS_BY_MEDIA_TYPE = {media_type: rdf_format for rdf_format, media_type in MEDIA_TYPES.items()}
# Server preference among equally acceptable types: JSON-LD is the default.
PREFERENCE = (JSON_LD, TURTLE, RDF_XML)
# Accept headers that ask for nothing but the default (none, curl's */*, JSON): what most
# clients send, answered without parsing them; they never prefer a page to JSON either.
DEFAULT_ACCEPTS = frozenset({None, "", "*/*", "application/json"})


class NotAcceptable(DomainError):
    """The client asked for a representation Brygge cannot produce (HTTP 406)."""

    def __init__(self, message: str, *, extra: tuple[str, ...] = ()) -> None:
        supported = ", ".join((*extra, *MEDIA_TYPES.values()))
        super().__init__(f"{message}; supported: {supported}", field="format")


def negotiate(
    accept_header: str | None,
    format_param: str | None = None,
    *,
    default: str | None = JSON_LD,
    refuse_unmatched: bool = False,
) -> tuple[str, str] | None:
    """Return ``(rdflib format, media type)`` for a request, or None if it wants no RDF.

    ``?format=`` wins over ``Accept``; it takes a name (``jsonld``, ``ttl``, ``rdf``) or a
    media type. A missing ``Accept`` or ``*/*`` gives ``default`` (None: the caller's own
    representation, such as plain JSON); ``application/json`` matches ``default`` as well.
    None is also returned when ``Accept`` names only types that are neither RDF nor JSON
    (``image/png``), unless ``refuse_unmatched``.

    Raises NotAcceptable for an unknown ``?format=``, and with ``refuse_unmatched`` for an
    ``Accept`` that no representation matches.
    """
    if format_param:
        # A "+" typed into a query string arrives as a space (application/rdf xml); no
        # name or media type holds a space, so it can only have been a "+".
        name = format_param.strip().lower().replace(" ", "+")
        rdf_format = FORMAT_NAMES.get(name) or FORMATS_BY_MEDIA_TYPE.get(name)
        if rdf_format is None:
            raise NotAcceptable(f"format {format_param!r} is not supported")
        return rdf_format, MEDIA_TYPES[rdf_format]
    if accept_header in DEFAULT_ACCEPTS:
        return _choice(default)
    ranges = _media_ranges(accept_header or "")
    if not ranges:
        return _choice(default)
    candidates = (default, *(rdf_format for rdf_format in PREFERENCE if rdf_format != default))
    best: tuple[float, int, int, int] | None = None
    chosen: str | None = None
    for preference, candidate in enumerate(candidates):
        ranked = _quality(candidate, ranges, default)
        if ranked is None or ranked[0] <= 0:
            continue
        # Highest q first, then the most specific range, then the client's own order, then ours.
        rank = (*ranked, -preference)
        if best is None or rank > best:
            best, chosen = rank, candidate
    if best is None:
        if refuse_unmatched:
            raise NotAcceptable(
                f"nothing here matches Accept: {accept_header}",
                extra=() if default else ("application/json",),
            )
        return None
    return _choice(chosen)


def _choice(rdf_format: str | None) -> tuple[str, str] | None:
    return (rdf_format, MEDIA_TYPES[rdf_format]) if rdf_format else None


def _quality(
    candidate: str | None, ranges: list[tuple[str, float]], default: str | None
) -> tuple[float, int, int] | None:
    """``(q, specificity, -position)`` of the most specific range matching ``candidate``.

    RFC 9110 section 12.5.1: the most specific range that matches a type gives its quality,
    so ``application/ld+json;q=0, */*`` refuses JSON-LD and accepts the other syntaxes.
    None when no range matches it.
    """
    found: tuple[float, int, int] | None = None
    for position, (media_range, quality) in enumerate(ranges):
        if not _matches(media_range, candidate, default):
            continue
        specificity = _specificity(media_range)
        if found is None or specificity > found[1]:
            found = (quality, specificity, -position)
    return found


def _matches(media_range: str, candidate: str | None, default: str | None) -> bool:
    """Whether a media range accepts ``candidate`` (a format, or None: the caller's JSON)."""
    if media_range == "*/*":
        return True
    if media_range == "application/json":
        # JSON-LD is JSON; where the default is the caller's own JSON, that is what it wants.
        return candidate == default
    if candidate is None:
        return False
    if media_range.endswith("/*"):
        return MEDIA_TYPES[candidate].startswith(media_range.removesuffix("*"))
    return FORMATS_BY_MEDIA_TYPE.get(media_range) == candidate


def _specificity(media_range: str) -> int:
    if media_range == "*/*":
        return 0
    return 1 if media_range.endswith("/*") else 2


def _media_ranges(header: str) -> list[tuple[str, float]]:
    """Parse an ``Accept`` header into ``(media range, q)`` pairs; bad q counts as 0."""
    ranges = []
    for part in header.split(","):
        fields = [field.strip() for field in part.split(";")]
        media_range = fields[0].lower()
        if "/" not in media_range:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append((media_range, quality))
    return ranges
