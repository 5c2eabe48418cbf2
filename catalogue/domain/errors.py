"""The failures the catalogue can name; ``api/errors.py`` maps each to one HTTP status.

``DomainError`` and ``InvalidValue`` are the data plane's (``pipelines.errors``): a step and
the object key layout raise them too.
"""

from __future__ import annotations

from typing import Any

from pipelines.errors import DomainError, InvalidValue

__all__ = [
    "AlreadyExists",
    "Conflict",
    "DomainError",
    "Forbidden",
    "HasChildren",
    "ImmutableField",
    "InvalidValue",
    "InvalidValues",
    "NotFound",
    "PreconditionFailed",
    "TooManyAttempts",
    "Unauthenticated",
    "Unavailable",
    "UpstreamFailed",
]


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


class TooManyAttempts(DomainError):
    """Too many failed authentications from the client: it may try again after a wait."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Forbidden(DomainError):
    """The caller is known but lacks the scope the action needs."""


class UpstreamFailed(DomainError):
    """A service the request depends on (SNS, to confirm or to fetch a certificate) failed."""
