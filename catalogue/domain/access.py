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
    """The caller of one request. ``principal`` is None for an anonymous caller.

    ``credential`` names what the caller proved itself with, for what must check later
    that it still stands (a webhook subscription): ``token:<id>`` for an API token,
    ``oidc`` for an OIDC bearer token (no record to look at again), ``auth:off`` when
    authentication is off, None for an anonymous caller.
    """

    principal: str | None
    teams: tuple[str, ...] = ()
    is_site_admin: bool = False
    credential: str | None = None

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
# An Identity's ``credential`` besides ``token:<id>``.
OIDC = "oidc"
AUTH_OFF = "auth:off"
TOKEN_CREDENTIAL = "token:"


def token_credential(token_id: str) -> str:
    """The ``credential`` of a caller that used the API token ``token_id``."""
    return TOKEN_CREDENTIAL + token_id


def credential_token_id(credential: str | None) -> str | None:
    """The API token id a ``credential`` names, or None when it names none."""
    if credential is None or not credential.startswith(TOKEN_CREDENTIAL):
        return None
    return credential.removeprefix(TOKEN_CREDENTIAL)


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
