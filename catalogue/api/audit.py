"""``/datasets/{id}/history``: the audit trail of a dataset, newest first; its incarnations."""

from __future__ import annotations

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import require_audit_read, require_site_admin
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.permissions import (
    HistoryPageSchema,
    HistoryQuerySchema,
    IncarnationPageSchema,
)
from catalogue.services import repositories

blp = Blueprint("history", __name__, url_prefix="/datasets/<dataset_id>", description="Audit trail")


@blp.route("/history")
class History(MethodView):
    @blp.arguments(HistoryQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """Every change to the dataset and its grants, newest first (``update`` scope).

        A dataset made again with the id of a deleted one has an audit trail of its own; site
        admins read a deleted dataset's with ``?incarnation=``.
        """
        require_audit_read(dataset_id, query["incarnation"])
        page = repositories().audit.for_dataset(dataset_id, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/incarnations")
class Incarnations(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, IncarnationPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """Every dataset this id has named, deleted ones included, newest first (site admins)."""
        require_site_admin("list the incarnations of a dataset id")
        page = repositories().audit.incarnations(dataset_id, **query)
        return {"items": page.items, "next": page.next_cursor}
