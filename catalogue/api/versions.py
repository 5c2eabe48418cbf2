"""``/datasets/{id}/versions`` and their editions."""

from __future__ import annotations

from catalogue.api.etags import conditional_create, with_etag, write_condition
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import READ, UPDATE, WRITE, require
from catalogue.auth.principal import current_principal
from catalogue.cascade import delete_resource
from catalogue.links import link_to
from catalogue.schemas.common import DeleteQuerySchema, ListQuerySchema
from catalogue.schemas.versions import (
    EditionPageSchema,
    EditionPatchSchema,
    EditionSchema,
    VersionPageSchema,
    VersionPatchSchema,
    VersionSchema,
)
from catalogue.services import repositories, services

blp = Blueprint(
    "versions",
    __name__,
    url_prefix="/datasets/<dataset_id>/versions",
    description="Versions and editions",
)


@blp.route("")
class Versions(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, VersionPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """List the versions of a dataset."""
        require(dataset_id, READ)
        page = repositories().versions.list([dataset_id], **query)
        return {"items": page.items, "next": page.next_cursor}

    @blp.arguments(VersionSchema, required=False)  # every field is optional
    @blp.response(201, VersionSchema)
    @conditional_create
    def post(self, data: dict, dataset_id: str) -> tuple:
        """Create a version; its id is the next number unless given."""
        require(dataset_id, UPDATE)
        version = repositories().versions.create([dataset_id], data, principal=current_principal())
        location = link_to(
            "versions.VersionById", dataset_id=dataset_id, version=version["version"]
        )
        return with_etag(version, 201, Location=location)


@blp.route("/<version>")
class VersionById(MethodView):
    @blp.response(200, VersionSchema)
    def get(self, dataset_id: str, version: str) -> tuple:
        """Read one version."""
        require(dataset_id, READ)
        return with_etag(repositories().versions.get([dataset_id, version]))

    @blp.arguments(VersionPatchSchema, required=False)  # every field is optional
    @blp.response(200, VersionSchema)
    def patch(self, changes: dict, dataset_id: str, version: str) -> tuple:
        """Change a version with a JSON merge patch."""
        require(dataset_id, UPDATE)
        return with_etag(
            repositories().versions.patch(
                [dataset_id, version],
                changes,
                if_match=write_condition(),
                principal=current_principal(),
            )
        )

    @blp.arguments(DeleteQuerySchema, location="query")
    @blp.response(204)
    def delete(self, query: dict, dataset_id: str, version: str) -> None:
        """Delete a version; one with editions needs ``?cascade=true`` (files go too)."""
        require(dataset_id, UPDATE)
        delete_resource(
            services(),
            [dataset_id, version],
            if_match=write_condition(),
            cascade=query["cascade"],
            principal=current_principal(),
        )


@blp.route("/<version>/editions")
class Editions(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, EditionPageSchema)
    def get(self, query: dict, dataset_id: str, version: str) -> dict:
        """List the editions of a version, newest first."""
        require(dataset_id, READ)
        page = repositories().editions.list([dataset_id, version], **query)
        return {"items": page.items, "next": page.next_cursor}

    @blp.arguments(EditionSchema, required=False)  # every field is optional
    @blp.response(201, EditionSchema)
    @conditional_create
    def post(self, data: dict, dataset_id: str, version: str) -> tuple:
        """Create an edition; its id is the current UTC time unless given."""
        require(dataset_id, WRITE)
        edition = repositories().editions.create(
            [dataset_id, version], data, principal=current_principal()
        )
        location = link_to(
            "versions.EditionById",
            dataset_id=dataset_id,
            version=version,
            edition=edition["edition"],
        )
        return with_etag(edition, 201, Location=location)


@blp.route("/<version>/editions/<edition>")
class EditionById(MethodView):
    @blp.response(200, EditionSchema)
    def get(self, dataset_id: str, version: str, edition: str) -> tuple:
        """Read one edition; ``latest`` names the newest."""
        require(dataset_id, READ)
        return with_etag(repositories().editions.get([dataset_id, version, edition]))

    @blp.arguments(EditionPatchSchema, required=False)  # every field is optional
    @blp.response(200, EditionSchema)
    def patch(self, changes: dict, dataset_id: str, version: str, edition: str) -> tuple:
        """Change an edition with a JSON merge patch."""
        require(dataset_id, WRITE)
        return with_etag(
            repositories().editions.patch(
                [dataset_id, version, edition],
                changes,
                if_match=write_condition(),
                principal=current_principal(),
            )
        )

    @blp.arguments(DeleteQuerySchema, location="query")
    @blp.response(204)
    def delete(self, query: dict, dataset_id: str, version: str, edition: str) -> None:
        """Delete an edition; one with distributions needs ``?cascade=true`` (files go too)."""
        require(dataset_id, WRITE)
        delete_resource(
            services(),
            [dataset_id, version, edition],
            if_match=write_condition(),
            cascade=query["cascade"],
            principal=current_principal(),
        )
