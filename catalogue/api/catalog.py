"""``/catalog``: the DCAT-AP feed of the public datasets; DCAT of one dataset; the publish gate.

Descriptions are written straight from the records (``catalogue.dcat.statements`` and
``serialization``): no RDF library is imported on this path, per request or at start-up.

The Hydra view names ``first``, ``next``, ``previous`` and ``last`` (catalogue.dcat.feed
says what each holds). No ``totalItems``: counting would read every page. Harvesters follow
``next`` until it is absent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, request

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import READ, require, visible
from catalogue.dcat.catalog_info import configured_catalog_info
from catalogue.dcat.feed import (
    PUBLIC,
    FeedPage,
    feed_page,
    latest_item,
    parse_time,
    publication_problems,
    visible_sources,
)
from catalogue.dcat.negotiation import negotiate
from catalogue.dcat.vocabularies import DCAT_AP_3
from catalogue.links import base_url
from catalogue.schemas.catalog import CatalogQuerySchema, PublishabilitySchema
from catalogue.services import repositories, services

if TYPE_CHECKING:
    from catalogue.dcat.rdf import Statements
    from catalogue.dcat.selection import PublishItem

blp = Blueprint("catalog", __name__, description="DCAT-AP catalogue feed and publish gate")

RDF_MEDIA_TYPES = ("application/ld+json", "text/turtle", "application/rdf+xml")
# Query values links leave out because a request without them means the same.
DEFAULTS = {"profile": DCAT_AP_3}
# The RDF representations of a 200 answer, for the OpenAPI document: Turtle and RDF/XML
# are text, JSON-LD is a JSON object (a client generated from the document parses it).
RDF_TEXT = {"type": "string"}
JSON_LD = {"type": "object", "description": "A JSON-LD document: @context and @graph."}


@blp.route("/catalog")
class Catalog(MethodView):
    @blp.arguments(CatalogQuerySchema, location="query")
    @blp.response(200, JSON_LD, content_type=RDF_MEDIA_TYPES[0], description="DCAT-AP feed")
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[1], success=True)
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[2], success=True)
    def get(self, query: dict) -> Response:
        """The DCAT-AP catalogue of the public, publishable datasets, one page of it.

        JSON-LD unless ``Accept`` or ``?format=`` asks for Turtle or RDF/XML (406 for
        anything else). Datasets failing the publish gate are left out.
        """
        rdf_format, media_type = negotiate_feed(request.headers.get("Accept"), query.get("format"))
        return rdf_response(catalog_page_statements(query), rdf_format, media_type)


@blp.route("/datasets/<dataset_id>/publishability")
class Publishability(MethodView):
    @blp.response(200, PublishabilitySchema)
    def get(self, dataset_id: str) -> dict:
        """What the dataset lacks before it can be published as DCAT-AP-NO open data."""
        require(dataset_id, READ)
        missing = publication_problems(repositories(), dataset_id)
        return {"publishable": not missing, "missing": missing}


def negotiate_feed(accept: str | None, format_param: str | None) -> tuple[str, str]:
    """The ``(rdflib format, media type)`` of the feed; raises NotAcceptable."""
    choice = negotiate(accept, format_param, refuse_unmatched=True)
    assert choice is not None  # the default (JSON-LD) answers every request it does not refuse
    return choice


def negotiate_dataset(format_param: str | None) -> tuple[str, str] | None:
    """The RDF representation a ``GET /datasets/{id}`` asks for, or None for plain JSON.

    Raises NotAcceptable (406) when ``Accept`` matches neither JSON nor an RDF syntax.
    """
    # The environ's own entry: what request.headers.get("Accept") looks up.
    accept = request._get_current_object().environ.get("HTTP_ACCEPT")  # type: ignore[attr-defined]
    return negotiate(accept, format_param, default=None, refuse_unmatched=True)


def rdf_response(statements: Statements, rdf_format: str, media_type: str) -> Response:
    """The statements written as ``rdf_format``; caches must key on ``Accept``.

    The ETag is a digest of the bytes (the same statements are always written the same), so
    a harvester revalidating with ``If-None-Match`` gets 304 (``etags.answer_conditional_read``)
    until the description changes.
    """
    from catalogue.dcat.serialization import serialize

    response = Response(serialize(statements, rdf_format), mimetype=media_type)
    response.headers["Vary"] = "Accept"
    response.add_etag()
    return response


def dataset_response(
    dataset_id: str, rdf_format: str, media_type: str, profile: str = DCAT_AP_3
) -> Response:
    """The DCAT description of one dataset the caller may read.

    ``wasDerivedFrom`` keeps only datasets the caller may see, so lineage reveals nothing.
    """
    from catalogue.dcat.statements import dataset_statements

    item = latest_item(repositories(), repositories().datasets.get(dataset_id))
    dataset = dict(item.dataset)
    dataset["wasDerivedFrom"] = visible_sources(
        repositories(), dataset.get("wasDerivedFrom") or (), visible()
    )
    statements = dataset_statements(
        dataset, api_distributions(item), base_url(), item.editions, profile
    )
    return rdf_response(statements, rdf_format, media_type)


def catalog_page_statements(query: Mapping[str, Any]) -> Statements:
    """The catalogue description of one feed page, with its Hydra view."""
    from catalogue.dcat.statements import catalog_statements

    since = parse_time(query["modifiedSince"]) if query.get("modifiedSince") else None
    page = feed_page(repositories(), query["limit"], query["cursor"], since)

    def public_source(item: Mapping[str, Any]) -> bool:
        return item.get("accessRights") == "public"

    entries = []
    for item in page.items:
        # The feed is public: lineage names only public datasets, whoever asks.
        sources = visible_sources(
            repositories(), item.dataset.get("wasDerivedFrom") or (), public_source
        )
        dataset = {**item.dataset, "wasDerivedFrom": sources}
        entries.append((dataset, api_distributions(item), item.editions))
    base = base_url()
    links = page_links(base, query, page, repositories().datasets.last_cursor(PUBLIC))
    info = configured_catalog_info(services().settings, base)
    return catalog_statements(info, entries, base, links, query.get("profile") or DCAT_AP_3)


def api_distributions(item: PublishItem) -> list[dict[str, Any]]:
    """The item's distributions as the API shows them (with access and download URLs)."""
    from catalogue.schemas.distributions import DistributionSchema

    shown = DistributionSchema(many=True).dump(item.distributions)
    # The stored version and edition place each distribution's IRI under its edition.
    return [{**stored, **dumped} for stored, dumped in zip(item.distributions, shown, strict=True)]


def page_links(
    base: str, query: Mapping[str, Any], page: FeedPage, last_cursor: str | None
) -> dict[str, Any]:
    """The Hydra links of a feed page; they keep the request's limit, filter and format."""
    params = {"limit": query["limit"]}
    for name in ("modifiedSince", "format", "profile"):
        # The default profile stays implicit, so its links read as before.
        if query.get(name) and query[name] != DEFAULTS.get(name):
            params[name] = query[name]

    def link(cursor: str | None) -> str:
        return f"{base}/catalog?{urlencode({**params, **({'cursor': cursor} if cursor else {})})}"

    return {
        "self": link(query.get("cursor")),
        "first": link(None),
        "next": link(page.next_cursor) if page.next_cursor else None,
        "previous": link(page.previous_cursor) if page.previous_cursor else None,
        "last": link(last_cursor) if last_cursor else None,
    }
