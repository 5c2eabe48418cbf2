"""API tokens over any ItemStore: only the sha256 of a token is ever stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from catalogue.domain import tokens
from catalogue.domain.errors import NotFound
from catalogue.store import keys
from catalogue.store.base import Create, ItemStore, Page, Query, Replace
from pipelines.timestamps import timestamp

from .records import resource

# Fields of a token record a listing shows; the hash stays in the store.
PUBLIC_FIELDS = ("id", "principal", "teams", "created", "expires", "revoked")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in PUBLIC_FIELDS}


class TokenRepository:
    """Create, find, list and revoke API tokens."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def create(
        self, principal: str, *, teams: Sequence[str] = (), expires_in: timedelta | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Store a new token for ``principal``; returns the token (shown once) and its record."""
        now = self.clock()
        new = tokens.new_token()
        item = {
            "pk": keys.TOKENS_PK,
            "sk": new.token_id,
            "kind": "token",
            "id": new.token_id,
            "principal": principal,
            "teams": sorted(set(teams)),
            "hash": tokens.token_hash(new.token),
            "created": timestamp(now),
            "expires": timestamp(now + expires_in) if expires_in else None,
            "revoked": None,
        }
        self.store.write(Create(item))
        return new.token, _public(item)

    def verify(self, token: str) -> dict[str, Any] | None:
        """The record of a valid token (known, hash matches, not revoked or expired), else None."""
        token_id = tokens.token_id(token)
        if token_id is None:
            return None
        return self.verify_read(token, self.store.get(*self.record_key(token_id)))

    @staticmethod
    def record_key(token_id: str) -> tuple[str, str]:
        """The store key of the record of the token ``token_id``, for a caller reading it
        along with other items."""
        return keys.TOKENS_PK, token_id

    def verify_read(self, token: str, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """``verify`` with the record at ``record_key(token_id(token))`` read already (None:
        there was none)."""
        if item is None or not tokens.hash_matches(token, item["hash"]):
            return None
        return self._standing(item)

    def standing(self, token_id: str) -> dict[str, Any] | None:
        """The record of the token ``token_id`` while it is valid (neither revoked nor
        expired), else None: whether what was done with it may still act."""
        item = self.store.get(keys.TOKENS_PK, token_id)
        return None if item is None else self._standing(item)

    def _standing(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if item.get("revoked"):
            return None
        if item.get("expires") and item["expires"] <= timestamp(self.clock()):
            return None
        return _public(item)

    def list(self, *, limit: int, cursor: str | None) -> Page:
        page = self.store.query(Query(keys.TOKENS_PK), limit=limit, cursor=cursor)
        return Page([_public(item) for item in page.items], page.next_cursor)

    def revoke(self, token_id: str) -> dict[str, Any]:
        """Mark a token revoked (the record stays, for the audit); raises NotFound."""
        item = self.store.get(keys.TOKENS_PK, token_id)
        if item is None:
            raise NotFound(f"token {token_id!r} not found")
        if not item.get("revoked"):
            body = {name: value for name, value in item.items() if name != "rev"}
            body["revoked"] = timestamp(self.clock())
            self.store.write(Replace(body, rev=item["rev"]))
            item = body
        return _public(resource(item))
