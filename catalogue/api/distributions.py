"""``.../editions/{edition}/distributions``."""

from __future__ import annotations

from catalogue.api.etags import conditional_create, with_etag, write_condition
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import READ, WRITE, require
from catalogue.auth.principal import current_principal
from catalogue.cascade import delete_resource
from catalogue.links import link_to
from catalogue.schemas.common import DeleteQuerySchema, ListQuerySchema
from catalogue.schemas.distributions import (
    DistributionPageSchema,
    DistributionSchema,
    PreviewSchema,
)
from catalogue.services import repositories, services

blp = Blueprint(
    "distributions",
    __name__,
    url_prefix="/datasets/<dataset_id>/versions/<version>/editions/<edition>/distributions",
    description="Distributions",
)


@blp.route("")
class Distributions(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, DistributionPageSchema)
    def get(self, query: dict, dataset_id: str, version: str, edition: str) -> dict:
        """List the distributions of an edition."""
        require(dataset_id, READ)
        page = repositories().distributions.list([dataset_id, version, edition], **query)
        return {"items": page.items, "next": page.next_cursor}

    @blp.arguments(DistributionSchema, required=False)  # every field is optional
    @blp.response(201, DistributionSchema)
    @conditional_create
    def post(self, data: dict, dataset_id: str, version: str, edition: str) -> tuple:
        """Register a distribution of an edition."""
        require(dataset_id, WRITE)
        distribution = repositories().distributions.create(
            [dataset_id, version, edition], data, principal=current_principal()
        )
        location = link_to(
            "distributions.DistributionById",
            dataset_id=dataset_id,
            version=version,
            edition=distribution["edition"],
            distribution=distribution["id"],
        )
        return with_etag(distribution, 201, Location=location)


@blp.route("/<distribution>")
class DistributionById(MethodView):
    @blp.response(200, DistributionSchema)
    def get(self, dataset_id: str, version: str, edition: str, distribution: str) -> tuple:
        """Read one distribution."""
        require(dataset_id, READ)
        return with_etag(
            repositories().distributions.get([dataset_id, version, edition, distribution])
        )

    @blp.arguments(DeleteQuerySchema, location="query")
    @blp.response(204)
    def delete(
        self, query: dict, dataset_id: str, version: str, edition: str, distribution: str
    ) -> None:
        """Delete a distribution; ``?cascade=true`` also deletes its file and the upload and
        intermediate files of the run that made it."""
        require(dataset_id, WRITE)
        delete_resource(
            services(),
            [dataset_id, version, edition, distribution],
            if_match=write_condition(),
            cascade=query["cascade"],
            principal=current_principal(),
        )


@blp.route("/<distribution>/preview")
class DistributionPreview(MethodView):
    @blp.response(200, PreviewSchema)
    def get(self, dataset_id: str, version: str, edition: str, distribution: str) -> dict:
        """The Table Schema, first 50 rows and column statistics of a CSV or Parquet
        distribution, computed once when it was published; 404 for other files."""
        require(dataset_id, READ)
        return repositories().distributions.preview([dataset_id, version, edition, distribution])
