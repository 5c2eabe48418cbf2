"""``/datasets/{id}/history``: the audit trail of a dataset, newest first."""

from __future__ import annotations

from flask.views import MethodView

from catalogue.api.smorest import Blueprint
from catalogue.auth.permissions import UPDATE, require
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.permissions import HistoryPageSchema
from catalogue.services import repositories

blp = Blueprint(
    "history", __name__, url_prefix="/datasets/<dataset_id>/history", description="Audit trail"
)


@blp.route("")
class History(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """Every change to the dataset and its grants, newest first (``update`` scope)."""
        require(dataset_id, UPDATE)
        page = repositories().history.list(dataset_id, **query)
        return {"items": page.items, "next": page.next_cursor}
