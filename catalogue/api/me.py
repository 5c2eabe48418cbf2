"""``/me``: who the caller is and which datasets it holds grants on."""

from __future__ import annotations

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import require_authenticated
from catalogue.schemas.permissions import MeQuerySchema, MeSchema
from catalogue.services import repositories

blp = Blueprint("me", __name__, url_prefix="/me", description="The calling principal")


@blp.route("")
class Me(MethodView):
    @blp.arguments(MeQuerySchema, location="query")
    @blp.response(200, MeSchema)
    def get(self, query: dict) -> dict:
        """The caller's principal, teams and grants (its own, then each team's), paginated."""
        identity = require_authenticated()
        page = repositories().permissions.for_principals(identity.grantees, **query)
        return {
            "principal": identity.principal,
            "teams": list(identity.teams),
            "site_admin": identity.is_site_admin,
            "datasets": {"items": page.items, "next": page.next_cursor},
        }
