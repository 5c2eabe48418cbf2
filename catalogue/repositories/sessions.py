"""The pages' sign-in sessions over any ItemStore: the cookie holds only a session's id.

A session names who signed in and with what (``Identity.credential``): an API token's id,
whose standing is looked at again on every use, so revoking the token ends the session; or
an OIDC token's principal and teams, until that token's ``exp``. It expires, and signing
out deletes it. Only the sha256 of a session's id is stored, as for API tokens: the store's
contents sign nobody in.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from catalogue.domain.access import Identity, credential_token_id
from catalogue.domain.errors import NotFound
from catalogue.store import keys
from catalogue.store.base import Create, Delete, ItemStore, Query
from pipelines.timestamps import timestamp

from .tokens import TokenRepository

# 32 random bytes, as for API tokens: guessing one is hopeless.
SESSION_ID_BYTES = 32
# Expired sessions removed by each sign-in: more than one, so they never pile up.
EXPIRED_REMOVED = 10


def _session_sk(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionRepository:
    """Create, resolve and end sign-in sessions."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock
        self.tokens = TokenRepository(store, clock)

    def create(self, identity: Identity, expires: datetime) -> str:
        """Store a session of ``identity`` until ``expires``; returns its id (for the cookie).

        A few sessions that expired without being used again are removed on the way.
        """
        assert identity.principal is not None
        self._remove_expired()
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        sk = _session_sk(session_id)
        self.store.write(
            Create(
                {
                    "pk": keys.SESSIONS_PK,
                    "sk": sk,
                    "gsi1pk": keys.SESSIONS_BY_EXPIRY,
                    "gsi1sk": f"{timestamp(expires)}#{sk}",
                    "kind": "session",
                    "principal": identity.principal,
                    "teams": list(identity.teams),
                    "credential": identity.credential,
                    "created": timestamp(self.clock()),
                    "expires": timestamp(expires),
                }
            )
        )
        return session_id

    def identity(self, session_id: str) -> Identity | None:
        """Who the session ``session_id`` signs in now, or None when it is unknown, ended or
        expired, or the API token it was opened with no longer stands.

        Its site-admin standing is not kept: the caller works it out now.
        """
        item = self.store.get(keys.SESSIONS_PK, _session_sk(session_id))
        if item is None:
            return None
        if item["expires"] <= timestamp(self.clock()):
            self._end(item)
            return None
        credential = item.get("credential")
        token_id = credential_token_id(credential)
        if token_id is None:
            return Identity(item["principal"], tuple(item["teams"]), credential=credential)
        record = self.tokens.standing(token_id)
        if record is None or record["principal"] != item["principal"]:
            self._end(item)
            return None
        return Identity(record["principal"], tuple(record["teams"]), credential=credential)

    def end(self, session_id: str) -> None:
        """Delete the session (sign-out); one already gone is no error."""
        item = self.store.get(keys.SESSIONS_PK, _session_sk(session_id))
        if item is not None:
            self._end(item)

    def _remove_expired(self) -> None:
        """Delete up to EXPIRED_REMOVED sessions that have expired, oldest first."""
        query = Query(keys.SESSIONS_BY_EXPIRY, index=keys.GSI1)
        now = timestamp(self.clock())
        for item in self.store.query(query, limit=EXPIRED_REMOVED).items:
            if item["expires"] > now:
                return
            self._end(item)

    def _end(self, item: dict[str, Any]) -> None:
        # Ended meanwhile by another request: as good.
        with contextlib.suppress(NotFound):
            self.store.write(Delete(item["pk"], item["sk"]))
