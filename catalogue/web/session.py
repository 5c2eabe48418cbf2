"""Sign-in for pages: a pasted token kept in a signed session cookie, and CSRF tokens.

The cookie is Flask's signed session (itsdangerous), keyed by the same secret as signed
URLs. It is HttpOnly, SameSite=Lax, and Secure unless the page is served on a loopback host
(``brygge serve`` on a laptop speaks plain HTTP). Only page requests read it: the JSON API
still wants ``Authorization: Bearer``, so a cookie never authorises a cross-site API call.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response
from itsdangerous import URLSafeTimedSerializer

from catalogue.auth.principal import identity_of
from catalogue.domain.access import Identity
from catalogue.domain.errors import Forbidden, Unauthenticated
from catalogue.services import services

COOKIE_NAME = "brygge_session"
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
    )


def sign_in_from_cookie() -> None:
    """Make the session's token the identity of this page request.

    A request with its own ``Authorization`` header keeps it; with ``BRYGGE_AUTH=off`` the
    configured principal acts. A token revoked or expired since sign-in signs the visitor
    out, who then sees what anonymous visitors see.
    """
    if services().settings.auth == "off" or "Authorization" in request.headers:
        return
    token = session.get("token")
    if not token:
        return
    try:
        g.brygge_identity = identity_of(token)
    except Unauthenticated:
        session.pop("token", None)
        g.signed_out_reason = "your sign-in has expired or was revoked: sign in again"


def sign_in(token: str) -> Identity:
    """Check ``token`` and keep it in the session; raises Unauthenticated for a bad one.

    The identity is also this request's, for a form that signs in and saves at once.
    """
    identity = identity_of(token.strip())
    session.clear()
    session["token"] = token.strip()
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.brygge_identity = identity
    g.pop("signed_out_reason", None)
    return identity


def sign_out() -> None:
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
    if request.endpoint == "web.sign_out" and "token" not in session:
        # Nothing to sign out of (done in another tab): no forced sign-out to guard against.
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(CSRF_FIELD)
    if not expected or not hmac.compare_digest(str(expected), sent):
        # Reloading the answer would post the same form again: it must be opened again.
        raise Forbidden(
            "the form has expired or did not come from this site: go back and open the form again"
        )
