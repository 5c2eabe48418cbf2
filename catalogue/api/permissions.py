"""``/datasets/{id}/permissions``: who holds which scopes on a dataset (admins only)."""

from __future__ import annotations

from catalogue.api.etags import write_condition
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import ADMIN, require
from catalogue.auth.principal import current_principal
from catalogue.domain.access import is_principal
from catalogue.domain.errors import InvalidValue
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.permissions import GrantPageSchema, GrantSchema
from catalogue.services import repositories

blp = Blueprint(
    "permissions",
    __name__,
    url_prefix="/datasets/<dataset_id>/permissions",
    description="Grants of scopes on a dataset",
)


def checked_principal(principal: str) -> str:
    if not is_principal(principal):
        raise InvalidValue("principal", "must be user:<name>, team:<name> or client:<name>")
    return principal


@blp.route("")
class Permissions(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, GrantPageSchema)
    def get(self, query: dict, dataset_id: str) -> dict:
        """List the grants on a dataset."""
        require(dataset_id, ADMIN)
        page = repositories().permissions.list(dataset_id, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/<principal>")
class PermissionByPrincipal(MethodView):
    @blp.arguments(GrantSchema)
    @blp.response(200, GrantSchema)
    def put(self, data: dict, dataset_id: str, principal: str) -> dict:
        """Set the scopes of a principal on the dataset (replacing what it had).

        A grant has no ETag: ``If-None-Match: *`` makes it only where none is, ``If-Match:
        *`` changes it only where one is, and an If-Match tag is 412.
        """
        require(dataset_id, ADMIN)
        return repositories().permissions.put(
            dataset_id,
            checked_principal(principal),
            data["scopes"],
            principal=current_principal(),
            condition=write_condition(),
        )

    @blp.response(204)
    def delete(self, dataset_id: str, principal: str) -> None:
        """Remove a principal's grant; removing the last admin grant is 409."""
        require(dataset_id, ADMIN)
        repositories().permissions.delete(
            dataset_id,
            checked_principal(principal),
            principal=current_principal(),
            condition=write_condition(),
        )
