"""``/catalog``: the DCAT-AP feed of the public datasets; DCAT of one dataset; the publish gate.

rdflib is imported only when a graph is built (``catalogue.dcat.graph``), never when the
application is created: the API's start-up stays free of it.

Paging of the feed is forward-only: the cursor is the store's opaque cursor over the public
datasets, which cannot be walked backwards or jumped to its end without reading every page,
so the Hydra view names ``first`` and ``next`` only (no ``previous``, ``last`` or
``totalItems``). Harvesters follow ``next`` until it is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import fields

from catalogue.auth.permissions import READ, require, visible
from catalogue.dcat.negotiation import FORMAT_NAMES, NotAcceptable, negotiate
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.selection import PAGE_SIZE
from catalogue.dcat.selection import _item as publish_item
from catalogue.schemas.common import ListQuerySchema, iso_datetime
from catalogue.services import repositories, services
from catalogue.store import keys
from catalogue.store.base import Predicate

if TYPE_CHECKING:
    from rdflib import Graph

    from catalogue.dcat.publishing import PublishItem
    from catalogue.settings import Settings

blp = Blueprint("catalog", __name__, description="DCAT-AP catalogue feed and publish gate")

# Datasets examined per feed request at most (each costs about four store reads): with
# ``modifiedSince`` or many datasets failing the gate, a page may come out short (with a
# ``next``) rather than read the whole partition.
MAX_EXAMINED = 200
RDF_MEDIA_TYPES = ("application/ld+json", "text/turtle", "application/rdf+xml")
# The RDF representations of a 200 answer, for the OpenAPI document.
RDF_TEXT = {"type": "string"}
FORMAT_DESCRIPTION = (
    f"RDF syntax, overriding Accept: {', '.join(sorted(FORMAT_NAMES))} or a media type."
)


class FormatQuerySchema(ma.Schema):
    format = fields.String(metadata={"description": FORMAT_DESCRIPTION})


class CatalogQuerySchema(ListQuerySchema):
    format = fields.String(metadata={"description": FORMAT_DESCRIPTION})
    modifiedSince = fields.String(
        validate=iso_datetime,
        metadata={
            "description": "Only datasets whose metadata or latest edition changed at or after "
            "this ISO 8601 date-time."
        },
    )


class ProblemSchema(ma.Schema):
    field = fields.String(required=True)
    reason = fields.String(required=True)


class PublishabilitySchema(ma.Schema):
    publishable = fields.Boolean(required=True)
    missing = fields.List(fields.Nested(ProblemSchema), required=True)


@blp.route("/catalog")
class Catalog(MethodView):
    @blp.arguments(CatalogQuerySchema, location="query")
    @blp.response(200, RDF_TEXT, content_type=RDF_MEDIA_TYPES[0], description="DCAT-AP feed")
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[1], success=True)
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[2], success=True)
    def get(self, query: dict) -> Response:
        """The DCAT-AP catalogue of the public, publishable datasets, one page of it.

        JSON-LD unless ``Accept`` or ``?format=`` asks for Turtle or RDF/XML (406 for
        anything else). Datasets failing the publish gate are left out.
        """
        rdf_format, media_type = negotiate_feed(request.headers.get("Accept"), query.get("format"))
        return rdf_response(catalog_page_graph(query), rdf_format, media_type)


@blp.route("/datasets/<dataset_id>/publishability")
class Publishability(MethodView):
    @blp.response(200, PublishabilitySchema)
    def get(self, dataset_id: str) -> dict:
        """What the dataset lacks before it can be published as DCAT-AP-NO open data."""
        require(dataset_id, READ)
        missing = publication_problems(dataset_id)
        return {"publishable": not missing, "missing": missing}


def negotiate_feed(accept: str | None, format_param: str | None) -> tuple[str, str]:
    """The ``(rdflib format, media type)`` of the feed; raises NotAcceptable."""
    choice = negotiate(accept, format_param)
    if choice is None:
        raise NotAcceptable(f"the feed cannot be served as {accept!r}")
    return choice


def negotiate_dataset(format_param: str | None) -> tuple[str, str] | None:
    """The RDF representation a ``GET /datasets/{id}`` asks for, or None for plain JSON."""
    return negotiate(request.headers.get("Accept"), format_param, default=None)


def rdf_response(graph: Graph, rdf_format: str, media_type: str) -> Response:
    """The graph serialised as ``rdf_format``; caches must key on ``Accept``."""
    from catalogue.dcat.serialization import serialize

    response = Response(serialize(graph, rdf_format), mimetype=media_type)
    response.headers["Vary"] = "Accept"
    return response


def dataset_response(dataset_id: str, rdf_format: str, media_type: str) -> Response:
    """The DCAT description of one dataset the caller may read.

    ``wasDerivedFrom`` keeps only datasets the caller may see, so lineage reveals nothing.
    """
    from catalogue.dcat.graph import dataset_graph

    item = latest_item(repositories().datasets.get(dataset_id))
    dataset = dict(item.dataset)
    dataset["wasDerivedFrom"] = visible_sources(dataset.get("wasDerivedFrom") or (), visible())
    graph = dataset_graph(dataset, api_distributions(item), base_url(), item.editions)
    return rdf_response(graph, rdf_format, media_type)


def publication_problems(dataset_id: str) -> list[dict[str, str]]:
    """The publish gate's ``{field, reason}`` list for a dataset, distributions included."""
    item = latest_item(repositories().datasets.get(dataset_id))
    return missing_for_publication(item.dataset, item.distributions)


def catalog_page_graph(query: Mapping[str, Any]) -> Graph:
    """The catalogue graph of one feed page, with its Hydra view."""
    from catalogue.dcat.graph import catalog_graph

    since = parse_time(query["modifiedSince"]) if query.get("modifiedSince") else None
    items, next_cursor = feed_page(query["limit"], query["cursor"], since)

    def public_source(item: Mapping[str, Any]) -> bool:
        return item.get("accessRights") == "public"

    entries = []
    for item in items:
        # The feed is public: lineage names only public datasets, whoever asks.
        sources = visible_sources(item.dataset.get("wasDerivedFrom") or (), public_source)
        dataset = {**item.dataset, "wasDerivedFrom": sources}
        entries.append((dataset, api_distributions(item), item.editions))
    base = base_url()
    page = page_links(base, query, next_cursor)
    return catalog_graph(catalog_info(services().settings, base), entries, base, page)


def feed_page(
    limit: int, cursor: str | None, since: datetime | None
) -> tuple[list[PublishItem], str | None]:
    """Up to ``limit`` publishable public datasets from ``cursor``, and the next cursor.

    Each store read asks for no more than the page still lacks, so the cursor after it is
    exactly where the next page starts. Stops early after MAX_EXAMINED datasets.
    """
    items: list[PublishItem] = []
    examined = 0
    while True:
        wanted = limit - len(items)
        page = repositories().datasets.list({"accessRights": "public"}, limit=wanted, cursor=cursor)
        cursor = page.next_cursor
        examined += len(page.items)
        for dataset in page.items:
            item = latest_item(dataset)
            if since is not None and last_change(item) < since:
                continue
            if not missing_for_publication(item.dataset, item.distributions):
                items.append(item)
        if cursor is None or len(items) >= limit or examined >= MAX_EXAMINED:
            return items, cursor


def last_change(item: PublishItem) -> datetime:
    """When the dataset's entry in the feed last changed: its metadata or its latest edition.

    A new edition does not touch the dataset's ``modified``, yet brings new distributions
    that an incremental harvest must not miss.
    """
    times = [item.dataset["modified"]]
    times.extend(edition["created"] for edition in item.editions if edition.get("created"))
    times.extend(d["created"] for d in item.distributions if d.get("created"))
    return max(parse_time(value) for value in times)


def latest_item(dataset: Mapping[str, Any]) -> PublishItem:
    """The dataset with the distributions and edition of its latest edition."""
    return publish_item(repositories(), dataset, PAGE_SIZE)


def api_distributions(item: PublishItem) -> list[dict[str, Any]]:
    """The item's distributions as the API shows them (with access and download URLs)."""
    from catalogue.schemas.distributions import DistributionSchema

    shown = DistributionSchema(many=True).dump(item.distributions)
    # The stored version and edition place each distribution's IRI under its edition.
    return [{**stored, **dumped} for stored, dumped in zip(item.distributions, shown, strict=True)]


def visible_sources(source_ids: Sequence[str], check: Predicate | None) -> list[str]:
    """The ids among ``source_ids`` of existing datasets passing ``check`` (None: all)."""
    if not source_ids:
        return []
    found = repositories().store.get_many(
        [(keys.dataset_pk(source_id), keys.DATASET_SK) for source_id in source_ids]
    )
    return [item["id"] for item in found if check is None or check(item)]


def page_links(base: str, query: Mapping[str, Any], next_cursor: str | None) -> dict[str, Any]:
    """The Hydra links of a feed page; they keep the request's limit, filter and format."""
    params = {"limit": query["limit"]}
    for name in ("modifiedSince", "format"):
        if query.get(name):
            params[name] = query[name]

    def link(cursor: str | None) -> str:
        return f"{base}/catalog?{urlencode({**params, **({'cursor': cursor} if cursor else {})})}"

    return {
        "self": link(query.get("cursor")),
        "first": link(None),
        "next": link(next_cursor) if next_cursor else None,
    }


def base_url() -> str:
    """The public base URL of the API: the configured one, else the request's."""
    return services().settings.base_url or request.url_root.rstrip("/")


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time (validated, with a time zone) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def catalog_info(settings: Settings, base: str) -> dict[str, Any]:
    """The catalogue's own metadata: ``BRYGGE_CATALOG_*`` settings over the defaults."""
    from catalogue.dcat.publishing import default_catalog_info

    info = default_catalog_info(base)
    if settings.catalog_title:
        info["title"] = settings.catalog_title
    if settings.catalog_description:
        info["description"] = settings.catalog_description
    if settings.catalog_publisher_name or settings.catalog_publisher_uri:
        info["publisher"] = {
            "name": settings.catalog_publisher_name or info["publisher"]["name"],
            "uri": settings.catalog_publisher_uri or None,
        }
    if settings.catalog_contact_name or settings.catalog_contact_email:
        info["contactPoint"] = {
            "name": settings.catalog_contact_name,
            "email": settings.catalog_contact_email,
        }
    if settings.catalog_homepage:
        info["homepage"] = settings.catalog_homepage
    return info
