"""The failures the data plane names; the catalogue's own failures build on them.

A step, a key of the object layout or an object store refuses a value with ``InvalidValue``;
``catalogue.domain.errors`` adds the catalogue's failures on the same base, and
``catalogue/api/errors.py`` maps each to one HTTP status.
"""

from __future__ import annotations


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


class InvalidValue(DomainError):
    """A value breaks a rule the schema alone cannot express."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", field=field)
        self.reason = reason
