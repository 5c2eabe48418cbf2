"""The checks every view makes: ``require(dataset_id, scope)`` and list visibility.

A dataset the caller may not see is NotFound with the very message of a dataset that does
not exist, so status, body and ETag tell nothing about it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from catalogue.auth.principal import current_identity
from catalogue.domain.access import Identity, can_see, effective_scopes, may
from catalogue.domain.datasets import ACCESS_RIGHTS
from catalogue.domain.errors import Forbidden, InvalidValue, NotFound, Unauthenticated
from catalogue.repositories.facets import Audience
from catalogue.services import repositories
from catalogue.store.base import Item, Predicate

READ, UPDATE, WRITE, ADMIN = "read", "update", "write", "admin"


def audience() -> Audience:
    """Which datasets the caller sees, for lists and their facet counts.

    The same answers as ``visible()``, but the non-public datasets granted to the caller
    are read once (from its grants) instead of per dataset, as facets look at thousands.
    """
    identity = current_identity()
    if identity.is_site_admin:
        return Audience(ACCESS_RIGHTS)
    if not identity.is_authenticated:
        return Audience(("public",))
    grantees = identity.grantees
    return Audience(
        ("public", "restricted"),
        lambda: repositories().permissions.readable(grantees),
    )


class Checked(NamedTuple):
    """What a passed check read: the caller, the dataset's item and the caller's scopes."""

    identity: Identity
    item: Item
    scopes: frozenset[str]

    def may(self, scope: str) -> bool:
        """Whether the caller holds ``scope`` on the dataset (site admins hold all)."""
        return may(scope, self.identity, self.scopes)


def require(dataset_id: str, scope: str, *, hidden: str | None = None) -> Identity:
    """Check that the caller may act on the dataset with ``scope``; return the caller.

    Raises Unauthenticated (401) for an anonymous caller on anything but ``read``,
    NotFound (404) when the dataset is missing or hidden from the caller, and Forbidden
    (403) when the caller sees it but lacks ``scope``. ``hidden`` is the NotFound message
    for resources found by their own id (a run): that of the resource not existing, so the
    answer names no dataset.
    """
    return _check(dataset_id, scope, hidden)[0]


def check(dataset_id: str, scope: str, *, hidden: str | None = None) -> Checked:
    """``require``, keeping what the check read (the dataset and the caller's grants).

    A page that shows what the caller may do then reads neither again.
    """
    identity, item, scopes = _check(dataset_id, scope, hidden)
    if item is None:  # a site admin's check reads nothing
        item = repositories().datasets.get_item(dataset_id)
    return Checked(identity, item, scopes)


def _check(
    dataset_id: str, scope: str, hidden: str | None
) -> tuple[Identity, Item | None, frozenset[str]]:
    """``require``'s check; the dataset's item (when the check read it) and the scopes."""
    identity = current_identity()
    if scope != READ and not identity.is_authenticated:
        # Before any lookup: anonymous writes learn nothing about which datasets exist.
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")
    if identity.is_site_admin:
        return identity, None, frozenset()
    permissions = repositories().permissions
    dataset, granted = permissions.dataset_with_scopes(dataset_id, identity.grantees)
    if dataset is None:
        raise NotFound(hidden or f"dataset {dataset_id!r} not found")
    scopes = effective_scopes(granted)
    if not can_see(dataset["accessRights"], identity, scopes):
        raise NotFound(hidden or f"dataset {dataset_id!r} not found")
    if scope != READ and not may(scope, identity, scopes):
        raise Forbidden(f"this action needs the {scope!r} scope on dataset {dataset_id!r}")
    return identity, dataset, scopes


def require_data_read(dataset_id: str) -> Item:
    """Check that the caller may read the dataset's data; return the dataset's item.

    A public dataset's data needs no token. Any other's needs the ``read`` scope (a grant
    to the caller or its teams): seeing a restricted dataset's metadata is not enough.
    NotFound for a dataset missing or hidden from the caller, Forbidden for one it sees.
    """
    dataset = repositories().datasets.find_item(dataset_id)
    if dataset is not None and dataset.get("accessRights") == "public":
        return dataset
    identity = require(dataset_id, READ)
    if dataset is None:  # a site admin asking for a dataset that does not exist
        raise NotFound(f"dataset {dataset_id!r} not found")
    if not identity.is_site_admin and not may(READ, identity, scopes_on(dataset, identity)):
        raise Forbidden(f"reading the data of dataset {dataset_id!r} needs the 'read' scope")
    return dataset


def require_owner_team(owner: str) -> Identity:
    """Check that the caller may create a dataset owned by ``owner`` (one of its teams)."""
    identity = current_identity()
    if not identity.is_authenticated:
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")
    if not identity.is_site_admin and owner not in identity.teams:
        raise Forbidden(f"the owner must be one of your teams ({', '.join(identity.teams)})")
    return identity


def template_owner(owner: str | None) -> str | None:
    """The owner team of a template the caller creates; checks the caller may name it.

    Absent, it is the caller's team when it has exactly one, or none for a site admin
    without teams (then only site admins change the template). Raises Unauthenticated,
    Forbidden (a team not the caller's) and InvalidValue(owner) when it must be named.
    """
    if owner is not None:
        require_owner_team(owner)
        return owner
    identity = require_authenticated()
    if len(identity.teams) == 1:
        return identity.teams[0]
    if identity.is_site_admin:
        return None
    raise InvalidValue("owner", "name the team that owns the template (one of your teams)")


def subscription_owner(owner: str | None) -> tuple[Identity, str]:
    """The caller, and the owner of a subscription it makes; checks it may name ``owner``.

    The owner is the caller's own principal or one of its teams (site admins may name any);
    absent, it is the caller's team when it has exactly one, else the caller itself.
    Raises Unauthenticated, Forbidden (an owner not the caller nor one of its teams).
    """
    identity = require_authenticated()
    assert identity.principal is not None
    if owner is None:
        return identity, identity.teams[0] if len(identity.teams) == 1 else identity.principal
    if owner not in identity.grantees and not identity.is_site_admin:
        raise Forbidden(
            f"the owner must be you or one of your teams ({', '.join(identity.grantees)})"
        )
    return identity, owner


def subscription_grantees(owner: str | None = None) -> tuple[str, ...] | None:
    """The owners whose subscriptions the caller manages (None: any, for site admins).

    With ``owner``, checks the caller manages that owner's: Forbidden otherwise.
    """
    identity = require_authenticated()
    if identity.is_site_admin:
        return None
    if owner is not None and owner not in identity.grantees:
        raise Forbidden(
            f"you manage the subscriptions of {', '.join(identity.grantees)} only, not {owner}"
        )
    return identity.grantees


def require_template_admin(template: Mapping[str, Any], new_owner: str | None = None) -> Identity:
    """Check that the caller may change or delete ``template`` (and hand it to ``new_owner``).

    Members of its owner team and site admins may; a template without an owner is the site
    admins'. Raises Unauthenticated, Forbidden.
    """
    identity = require_authenticated()
    if new_owner is not None and new_owner != template.get("owner"):
        require_owner_team(new_owner)
    if identity.is_site_admin:
        return identity
    owner = template.get("owner")
    if owner is None or owner not in identity.teams:
        raise Forbidden(
            f"changing pipeline template {template['id']!r} needs membership of its owner "
            f"team ({owner or 'site admins only'})"
        )
    return identity


def require_authenticated() -> Identity:
    identity = current_identity()
    if not identity.is_authenticated:
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")
    return identity


def require_site_admin(action: str) -> Identity:
    """Check that the caller is a site admin; Forbidden (the same for every id) otherwise."""
    identity = current_identity()
    if not identity.is_authenticated:
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")
    if not identity.is_site_admin:
        raise Forbidden(f"only site admins may {action}")
    return identity


def require_audit_read(dataset_id: str, incarnation: str | None) -> Identity:
    """Check that the caller may read the audit trail asked for.

    A dataset's current audit trail needs ``update`` on it; that of a given incarnation (a
    deleted dataset's, say) is for site admins alone.
    """
    if incarnation is not None:
        return require_site_admin("read the audit trail of a given incarnation")
    return require(dataset_id, UPDATE)


def scopes_on(dataset: Mapping[str, Any], identity: Identity) -> frozenset[str]:
    """The effective scopes of the caller on a dataset, from its own and its teams' grants.

    ``dataset`` is its item or a filter entry: its id and incarnation.
    """
    if not identity.is_authenticated:
        return frozenset()
    granted = repositories().permissions.scopes_of(dataset, identity.grantees)
    return effective_scopes(granted)


def visible() -> Predicate | None:
    """A predicate over dataset items (or filter entries) true for those the caller may see.

    None for site admins, who see everything. Grants are read only for non-public datasets
    the caller might see, once per dataset.
    """
    identity = current_identity()
    if identity.is_site_admin:
        return None
    held: dict[tuple[str, str | None], set[str]] | None = None

    def check(item: Item) -> bool:
        nonlocal held
        access_rights = item.get("accessRights", "non-public")
        if access_rights != "non-public":
            return can_see(access_rights, identity, frozenset())
        if not identity.is_authenticated:
            return False
        if held is None:
            # The caller's grants, read once on the first dataset that needs them.
            held = repositories().permissions.scopes_by_dataset(identity.grantees)
        granted = held.get((item["id"], item.get("incarnation")), set())
        return can_see(access_rights, identity, effective_scopes(granted))

    return check
