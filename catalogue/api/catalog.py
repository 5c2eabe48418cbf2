"""``/catalog``: the DCAT-AP feed of the public datasets; DCAT of one dataset; the publish gate.

rdflib is imported only when a graph is built (``catalogue.dcat.graph``), never when the
application is created: the API's start-up stays free of it.

The feed pages with the store's opaque cursors over the public datasets, in id order. The
Hydra view names ``first``, ``next``, ``previous`` and ``last``: ``previous`` of a page
reached through ``next`` is the page before it, and ``last`` holds the final ``limit``
datasets (it need not line up with the pages ``next`` walks through). No ``totalItems``:
counting would read every page. Harvesters follow ``next`` until it is absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from catalogue.auth.permissions import READ, require, visible
from catalogue.dcat.negotiation import NotAcceptable, negotiate
from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.publishing import configured_catalog_info
from catalogue.dcat.selection import publish_item
from catalogue.schemas.catalog import CatalogQuerySchema, PublishabilitySchema

# Re-exported: catalogue.api.datasets imports it from here.
from catalogue.services import repositories, services
from catalogue.store import keys
from catalogue.store.base import Predicate

if TYPE_CHECKING:
    from rdflib import Graph

    from catalogue.dcat.publishing import PublishItem

blp = Blueprint("catalog", __name__, description="DCAT-AP catalogue feed and publish gate")

# Datasets examined per feed request at most (each costs about four store reads): with
# ``modifiedSince`` or many datasets failing the gate, a page may come out short (with a
# ``next``) rather than read the whole partition.
MAX_EXAMINED = 200
RDF_MEDIA_TYPES = ("application/ld+json", "text/turtle", "application/rdf+xml")
# The RDF representations of a 200 answer, for the OpenAPI document.
RDF_TEXT = {"type": "string"}
# The datasets the feed holds, before the publish gate.
PUBLIC = {"accessRights": "public"}


@dataclass(frozen=True, slots=True)
class FeedPage:
    """One page of the feed: its datasets in id order and the cursors around it."""

    items: list[PublishItem]
    next_cursor: str | None
    previous_cursor: str | None


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
    page = feed_page(query["limit"], query["cursor"], since)

    def public_source(item: Mapping[str, Any]) -> bool:
        return item.get("accessRights") == "public"

    entries = []
    for item in page.items:
        # The feed is public: lineage names only public datasets, whoever asks.
        sources = visible_sources(item.dataset.get("wasDerivedFrom") or (), public_source)
        dataset = {**item.dataset, "wasDerivedFrom": sources}
        entries.append((dataset, api_distributions(item), item.editions))
    base = base_url()
    links = page_links(base, query, page, repositories().datasets.last_cursor(PUBLIC))
    return catalog_graph(configured_catalog_info(services().settings, base), entries, base, links)


def feed_page(limit: int, cursor: str | None, since: datetime | None) -> FeedPage:
    """Up to ``limit`` publishable public datasets from ``cursor``, with the cursors around them.

    A ``next`` cursor (or none) reads forwards; a ``previous`` or ``last`` cursor reads the
    datasets before its position, going further back until the page is full. Each store read
    asks for no more than the page still lacks, so the cursor after it is exactly where the
    adjoining page starts. Stops early after MAX_EXAMINED datasets.
    """
    datasets = repositories().datasets
    items: list[PublishItem] = []
    examined = 0
    first = page = datasets.list(PUBLIC, limit=limit, cursor=cursor)
    while True:
        examined += len(page.items)
        chosen = [
            item
            for item in map(latest_item, page.items)
            if (since is None or last_change(item) >= since)
            and not missing_for_publication(item.dataset, item.distributions)
        ]
        if page.backwards:
            items[:0] = chosen
            cursor = page.previous_cursor
        else:
            items.extend(chosen)
            cursor = page.next_cursor
        if cursor is None or len(items) >= limit or examined >= MAX_EXAMINED:
            break
        page = datasets.list(PUBLIC, limit=limit - len(items), cursor=cursor)
    if first.backwards:
        return FeedPage(items, first.next_cursor, cursor)
    return FeedPage(items, cursor, first.previous_cursor)


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
    return publish_item(repositories(), dataset)


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


def page_links(
    base: str, query: Mapping[str, Any], page: FeedPage, last_cursor: str | None
) -> dict[str, Any]:
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
        "next": link(page.next_cursor) if page.next_cursor else None,
        "previous": link(page.previous_cursor) if page.previous_cursor else None,
        "last": link(last_cursor) if last_cursor else None,
    }


def base_url() -> str:
    """The public base URL of the API: the configured one, else the request's."""
    return services().settings.base_url or request.url_root.rstrip("/")


def parse_time(value: str) -> datetime:
    """An ISO 8601 date-time (validated, with a time zone) as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
