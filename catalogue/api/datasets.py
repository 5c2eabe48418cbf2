"""``/datasets``: create, list, read, patch and delete datasets."""

from __future__ import annotations

from typing import Any

from flask import Response

from catalogue.api.answers import answer
from catalogue.api.catalog import (
    JSON_LD,
    RDF_MEDIA_TYPES,
    RDF_TEXT,
    dataset_response,
    negotiate_dataset,
)
from catalogue.api.etags import conditional_create, with_etag, write_condition
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import (
    ADMIN,
    READ,
    UPDATE,
    audience,
    check,
    require,
    require_owner_team,
)
from catalogue.auth.principal import current_principal
from catalogue.links import link_to
from catalogue.ownership import change_dataset, create_dataset, delete_dataset
from catalogue.repositories.dataset_search import Shape
from catalogue.repositories.records import projection
from catalogue.schemas.catalog import FormatQuerySchema
from catalogue.schemas.common import DeleteQuerySchema, picked_names, with_dumped
from catalogue.schemas.datasets import (
    DatasetPageSchema,
    DatasetPatchSchema,
    DatasetQuerySchema,
    DatasetSchema,
)
from catalogue.services import repositories, services

blp = Blueprint("datasets", __name__, url_prefix="/datasets", description="Datasets")
# The read views dump through these themselves, to have orjson write the answer (answers.py).
# A dataset is picked from its store item (DatasetSchema's dump of its resource, in one
# pass); a page's datasets as they are read, and its facets come as the schema writes them
# (repositories/facets.top): the page writes both as they are.
DUMP_ITEM = projection(picked_names(DatasetSchema()))
PAGE = with_dumped(DatasetPageSchema, "items", "facets")


def floatless(datasets: list[dict]) -> bool:
    """Whether these datasets' JSON holds no float: only a source (its constraints) may."""
    return not any("source" in dataset for dataset in datasets)


def dataset_page(query: dict, shape: Shape) -> dict[str, Any]:
    """The page of datasets ``query`` (DatasetQuerySchema's) asks for, each made by ``shape``."""
    limit, cursor, sort = query.pop("limit"), query.pop("cursor"), query.pop("sort", None)
    datasets = repositories().datasets
    if not query.pop("facets"):
        page = datasets.list(
            query, limit=limit, cursor=cursor, visible=audience(), sort=sort, shape=shape
        )
        return {"items": page.items, "next": page.next_cursor}
    # Written out and never changed: the answer the store keeps, uncopied.
    page, facets = datasets.list_with_facets(
        query, limit=limit, cursor=cursor, audience=audience(), sort=sort, shape=shape, copy=False
    )
    return {
        "items": page.items,
        "next": page.next_cursor,
        "facets": facets.values,
        "total": facets.total,
        "approximate": facets.approximate,
    }


@blp.route("")
class Datasets(MethodView):
    # Schema instances, made once: webargs would build a new one per request from a class.
    @blp.arguments(DatasetQuerySchema(), location="query")
    @blp.response(200, DatasetPageSchema)
    def get(self, query: dict) -> Response:
        """List datasets, filtered, with facet counts; every page is reachable through ``next``."""
        result = dataset_page(query, DUMP_ITEM)
        return answer(PAGE, result, floatless=floatless(result["items"]))

    @blp.arguments(DatasetSchema)
    @blp.response(201, DatasetSchema)
    @conditional_create
    def post(self, data: dict) -> tuple:
        """Create a dataset (and its version 1)."""
        require_owner_team(data["owner"])
        dataset = create_dataset(repositories(), data, principal=current_principal())
        location = link_to("datasets.DatasetById", dataset_id=dataset["id"])
        return with_etag(dataset, 201, Location=location)


@blp.route("/<dataset_id>")
class DatasetById(MethodView):
    @blp.arguments(FormatQuerySchema(), location="query")
    @blp.response(200, DatasetSchema)
    @blp.alt_response(200, schema=JSON_LD, content_type=RDF_MEDIA_TYPES[0], success=True)
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[1], success=True)
    @blp.alt_response(200, schema=RDF_TEXT, content_type=RDF_MEDIA_TYPES[2], success=True)
    def get(self, query: dict, dataset_id: str) -> tuple | Response:
        """Read one dataset; ``Accept: text/turtle`` or ``?format=`` gives its DCAT instead."""
        item = check(dataset_id, READ).item
        rdf = negotiate_dataset(query.get("format"))
        if rdf is not None:
            return dataset_response(dataset_id, *rdf, query["profile"])
        _, status, headers = with_etag(item, Vary="Accept")
        return answer(None, DUMP_ITEM(item), status, headers, floatless=floatless([item]))

    @blp.arguments(DatasetPatchSchema, required=False)  # every field is optional
    @blp.response(200, DatasetSchema)
    def patch(self, changes: dict, dataset_id: str) -> tuple:
        """Change a dataset with a JSON merge patch; ``If-Match`` guards against lost updates."""
        # Handing a dataset to another team is an owner's decision, not an editor's.
        require(dataset_id, ADMIN if "owner" in changes else UPDATE)
        return with_etag(
            change_dataset(
                repositories(),
                dataset_id,
                changes,
                if_match=write_condition(),
                principal=current_principal(),
            )
        )

    @blp.arguments(DeleteQuerySchema, location="query")
    @blp.response(204)
    def delete(self, query: dict, dataset_id: str) -> None:
        """Delete a dataset; one with editions needs ``?cascade=true``, which also deletes
        its raw, intermediate and processed files."""
        require(dataset_id, ADMIN)
        delete_dataset(
            services(),
            [dataset_id],
            if_match=write_condition(),
            cascade=query["cascade"],
            principal=current_principal(),
        )
