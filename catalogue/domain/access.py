"""Who may do what: principals, scopes and visibility as plain functions (no Flask, no store)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

SCOPES = ("read", "update", "write", "admin")
ALL_SCOPES = frozenset(SCOPES)
PRINCIPAL = re.compile(r"^(user|team|client):[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
TEAM = re.compile(r"^team:[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Identity:
    """The caller of one request. ``principal`` is None for an anonymous caller."""

    principal: str | None
    teams: tuple[str, ...] = ()
    is_site_admin: bool = False

    @property
    def is_authenticated(self) -> bool:
        return self.principal is not None

    @property
    def grantees(self) -> tuple[str, ...]:
        """The principals whose grants apply to this caller: itself and its teams."""
        if self.principal is None:
            return ()
        return (self.principal, *self.teams)


ANONYMOUS = Identity(None)


def is_principal(value: str) -> bool:
    return bool(PRINCIPAL.match(value))


def effective_scopes(granted: Iterable[str]) -> frozenset[str]:
    """The scopes a set of grants confers: ``admin`` implies all; every scope implies ``read``.

    A principal that may change a dataset must be able to see it, so ``update`` and
    ``write`` alone still let it read.
    """
    scopes = frozenset(granted)
    if "admin" in scopes:
        return ALL_SCOPES
    if scopes:
        return scopes | {"read"}
    return scopes


def can_see(access_rights: str, identity: Identity, scopes: frozenset[str]) -> bool:
    """Whether the caller may know the dataset exists (and read its metadata)."""
    if identity.is_site_admin or access_rights == "public":
        return True
    if access_rights == "restricted":
        return identity.is_authenticated
    return "read" in scopes


def may(scope: str, identity: Identity, scopes: frozenset[str]) -> bool:
    """Whether the caller holds ``scope`` (site admins hold every scope)."""
    return identity.is_site_admin or scope in scopes
