"""The failures the catalogue can name; ``api/errors.py`` maps each to one HTTP status."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every failure a client can be told about."""

    def __init__(
        self, message: str, *, field: str | None = None, key: tuple[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        # The store item (pk, sk) involved, so a repository can tell which write of a
        # transaction failed; never shown to clients.
        self.key = key


class NotFound(DomainError):
    """The resource does not exist (or the caller may not know that it does)."""


class AlreadyExists(DomainError):
    """A create found an item with the same key."""


class HasChildren(DomainError):
    """A delete without cascade found resources below the one to delete."""


class Conflict(DomainError):
    """The request conflicts with the current state (other than existence or children)."""


class PreconditionFailed(DomainError):
    """The item changed since the caller read it (``If-Match`` or a racing writer)."""


class ImmutableField(DomainError):
    """A change touches a field that may never change after create."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} cannot be changed after the resource is created", field=field)


class InvalidValue(DomainError):
    """A value breaks a rule the schema alone cannot express."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason


class InvalidValues(DomainError):
    """Several values break rules at once; ``errors`` nests them under the body's fields.

    ``{"taskConfig": {"ToParquet": {"delimeter": ["unknown option; ..."]}}}``: the answer
    carries it as ``errors.json``.
    """

    def __init__(self, message: str, errors: dict[str, Any]) -> None:
        super().__init__(message)
        self.errors = errors


class Unavailable(DomainError):
    """The store cannot serve the request now (not migrated, overloaded); a retry may work."""


class Unauthenticated(DomainError):
    """No credentials, or credentials that do not check out."""


class Forbidden(DomainError):
    """The caller is known but lacks the scope the action needs."""
