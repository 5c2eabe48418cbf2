"""``GET /``: what this service is and where to start."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields

from catalogue import __version__
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.links import link_to
from catalogue.services import services

blp = Blueprint("index", __name__, url_prefix="/", description="Where to start")

# The documents a newcomer (or a client) looks for first, by the endpoint that serves each.
LINKS = {
    "docs": "api-docs.openapi_swagger_ui",
    "openapi": "api-docs.openapi_json",
    "catalog": "catalog.Catalog",
    "steps": "steps.Steps",
    "datasets": "datasets.Datasets",
    "health": "health.Health",
}


class IndexSchema(ma.Schema):
    name = fields.String(required=True)
    version = fields.String(required=True)
    mode = fields.String(required=True, metadata={"description": "local or aws"})
    links = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "URLs of the documentation, the OpenAPI document and more."},
    )


@blp.route("")
class Index(MethodView):
    @blp.response(200, IndexSchema)
    def get(self) -> dict:
        """Name, version and mode of the service, with links to its documents."""
        return {
            "name": "Brygge",
            "version": __version__,
            "mode": services().settings.backend,
            "links": {name: link_to(endpoint) for name, endpoint in LINKS.items()},
        }
