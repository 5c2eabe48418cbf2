"""Liveness: ``GET /health``."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from catalogue.api.smorest import Blueprint
from catalogue.services import services

blp = Blueprint("health", __name__, url_prefix="/health", description="Service health")


class HealthSchema(ma.Schema):
    status = fields.String(required=True)
    backend = fields.String(required=True)


@blp.route("")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self) -> dict:
        """Report that the service is up and which backend it uses."""
        return {"status": "ok", "backend": services().settings.backend}
