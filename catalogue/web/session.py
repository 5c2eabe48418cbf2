"""Sign-in for pages: a session kept on the server, its id in a signed cookie; CSRF tokens.

Signing in with a pasted API token (or OIDC bearer token) opens a session in the store
(``catalogue.repositories.sessions``); the cookie holds only its id and the CSRF token, so a
leaked cookie is no token usable against the API, it expires with the session, and signing
out, or revoking the token, ends it. The cookie is Flask's signed session (itsdangerous),
keyed by the same secret as signed URLs. It is HttpOnly, SameSite=Lax, and Secure unless the
page is served on a loopback host (``brygge serve`` on a laptop speaks plain HTTP). Only page
requests read it: the JSON API still wants ``Authorization: Bearer``, so a cookie never
authorises a cross-site API call.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response
from itsdangerous import URLSafeTimedSerializer

from catalogue.auth.principal import identity_of, with_site_admin
from catalogue.domain.access import OIDC, Identity
from catalogue.domain.errors import Forbidden
from catalogue.services import repositories, services

COOKIE_NAME = "brygge_session"
# The cookie's field naming the session in the store, and the one that held a token before.
SESSION_FIELD = "sid"
LEGACY_TOKEN_FIELD = "token"
# A sign-in lasts this long at most (its cookie too).
SESSION_LIFETIME = timedelta(hours=12)
SIGNED_OUT = "your sign-in has expired or was revoked: sign in again"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
CSRF_FIELD = "csrf"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, keyed by the settings' signing key on first use."""

    salt = "brygge-web-session"

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # Read lazily: making the app touches no file (the key may live in BRYGGE_HOME).
        key = app.extensions.get("brygge.session_key")
        if key is None:
            key = app.extensions.setdefault("brygge.session_key", services().settings.signing_key)
        return URLSafeTimedSerializer(
            key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={
                "key_derivation": self.key_derivation,
                "digest_method": self.digest_method,
            },
        )

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # No cookie, no key to read: API requests never pay for the pages' session (nor,
        # without a Cookie header, for parsing one).
        if (
            "HTTP_COOKIE" not in request.environ
            or app.config["SESSION_COOKIE_NAME"] not in request.cookies
        ):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        # A session nobody read or changed, and empty, leaves the response as it is: Flask's
        # own method would work out every cookie attribute before finding that out.
        if not session and not session.accessed and not session.modified:
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or urlsplit(f"//{request.host}").hostname not in LOOPBACK_HOSTS


def init_session(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )


def sign_in_from_cookie() -> None:
    """Make the session's identity that of this page request.

    A request with its own ``Authorization`` header keeps it; with ``BRYGGE_AUTH=off`` the
    configured principal acts. A session ended, expired, or whose token was revoked or
    expired since sign-in signs the visitor out, who then sees what anonymous visitors see.
    """
    if services().settings.auth == "off" or "Authorization" in request.headers:
        return
    if LEGACY_TOKEN_FIELD in session:
        # A cookie from before sessions were kept on the server held the token itself.
        session.pop(LEGACY_TOKEN_FIELD)
        g.signed_out_reason = SIGNED_OUT
    session_id = session.get(SESSION_FIELD)
    if not session_id:
        return
    identity = repositories().sessions.identity(str(session_id))
    if identity is None:
        session.pop(SESSION_FIELD, None)
        g.signed_out_reason = SIGNED_OUT
        return
    g.brygge_identity = with_site_admin(identity)


def sign_in(token: str) -> Identity:
    """Check ``token`` and open a session for it; raises Unauthenticated for a bad one.

    The identity is also this request's, for a form that signs in and saves at once.
    """
    token = token.strip()
    identity = identity_of(token)
    now = services().clock()
    expires = now + SESSION_LIFETIME
    if identity.credential == OIDC:
        # The session ends when the OIDC token would have: it is not looked at again.
        expires = min(expires, _oidc_expiry(token))
    sign_out()
    session[SESSION_FIELD] = repositories().sessions.create(identity, expires)
    session[CSRF_FIELD] = secrets.token_urlsafe(32)
    session.permanent = True
    g.brygge_identity = identity
    g.pop("signed_out_reason", None)
    return identity


def _oidc_expiry(token: str) -> datetime:
    import jwt

    # Verified by identity_of already: only its exp is read here.
    claims = jwt.decode(token, options={"verify_signature": False})
    return datetime.fromtimestamp(int(claims["exp"]), UTC)


def sign_out() -> None:
    """End the session (in the store too) and forget the cookie's contents."""
    session_id = session.get(SESSION_FIELD)
    if session_id:
        repositories().sessions.end(str(session_id))
    session.clear()


def csrf_token() -> str:
    """This session's CSRF token, made on first use (forms embed it)."""
    token = session.get(CSRF_FIELD)
    if token is None:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf() -> None:
    """Refuse a form post without this session's CSRF token (Forbidden)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.endpoint == "web.sign_out" and SESSION_FIELD not in session:
        # Nothing to sign out of (done in another tab): no forced sign-out to guard against.
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(str(expected), sent):
        # Reloading the answer would post the same form again: it must be opened again.
        raise Forbidden(
            "the form has expired or did not come from this site: go back and open the form again"
        )
