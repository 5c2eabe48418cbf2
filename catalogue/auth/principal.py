"""Who is acting: the identity behind the request's ``Authorization: Bearer`` header."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from flask import current_app, g, request

from catalogue.auth.throttle import FailureLimiter, failure_keys
from catalogue.domain import tokens
from catalogue.domain.access import ANONYMOUS, AUTH_OFF, OIDC, Identity, token_credential
from catalogue.domain.errors import TooManyAttempts, Unauthenticated
from catalogue.services import repositories, services
from catalogue.store.base import Item

if TYPE_CHECKING:
    from catalogue.auth.oidc import JwksCache

log = logging.getLogger(__name__)

JWKS_EXTENSION = "brygge.jwks"
FAILURES_EXTENSION = "brygge.auth_failures"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Writes that carry their own proof instead of a bearer token: a signed upload form, and
# the pages' sign-in and sign-out forms (the token pasted, a CSRF token). The owner forms too
# (edit, pipeline, grants): saved after the sign-in ended, each keeps what was typed and takes
# a token to sign in again (its view requires its scope itself, before reading anything).
SIGNED_ENDPOINTS = frozenset(
    {
        "uploads.UploadForm",
        "web.sign_in",
        "web.sign_out",
        "web.edit_dataset",
        "web.edit_pipeline",
        "web.grants",
    }
)


def authenticate_request() -> None:
    """Before every request: refuse a bad token, and a write without one, with 401.

    Runs before the body is parsed, so an unauthenticated caller learns nothing from
    validation errors either.
    """
    identity = current_identity()
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method in READ_METHODS or req.endpoint in SIGNED_ENDPOINTS:
        return
    if req.endpoint is not None and not identity.is_authenticated:
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")


def current_identity() -> Identity:
    """The caller of the current request, authenticated once per request.

    Raises Unauthenticated for a malformed, unknown, revoked or expired token; no header
    at all is the anonymous caller. With ``BRYGGE_AUTH=off`` every request acts as
    ``BRYGGE_PRINCIPAL`` with every scope.
    """
    # The proxies resolved once: each attribute read through one looks the context up again.
    globals_ = g._get_current_object()  # type: ignore[attr-defined]
    identity: Identity | None = globals_.get("brygge_identity")
    if identity is None:
        try:
            identity = globals_.brygge_identity = _authenticate()
        except Unauthenticated as refused:
            # The reason only: the token itself never goes to a log.
            log.warning("refused credentials on %s %s: %s", request.method, request.path, refused)
            raise
        if log.isEnabledFor(logging.DEBUG):  # its arguments cost more than the check
            log.debug("%s %s by %s", request.method, request.path, identity.principal)
    return identity


def current_principal() -> str:
    """The principal of the current request; raises Unauthenticated for anonymous callers."""
    principal = current_identity().principal
    if principal is None:
        raise Unauthenticated("this action needs a token (Authorization: Bearer <token>)")
    return principal


def _authenticate() -> Identity:
    settings = services().settings
    if settings.auth == "off":
        return Identity(settings.principal, (), is_site_admin=True, credential=AUTH_OFF)
    # The environ's own entry: what request.headers.get("Authorization") looks up.
    header = request._get_current_object().environ.get("HTTP_AUTHORIZATION")  # type: ignore[attr-defined]
    if header is None:
        return ANONYMOUS
    scheme, _, credential = header.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        return _attempt(None, _malformed_header)
    return identity_of(credential)


def _malformed_header(_record: Item | None) -> Identity:
    raise Unauthenticated("the Authorization header must be 'Bearer <token>'")


def identity_of(credential: str) -> Identity:
    """The identity an API token or OIDC bearer token stands for.

    Raises Unauthenticated for a token that is unknown, revoked, expired or malformed, and
    TooManyAttempts when the client, or guesses at the token's id, failed too often of late (see
    ``catalogue.auth.throttle``). The pages' sign-in is checked here too.
    """
    return _attempt(tokens.token_id(credential), lambda record: _verify(credential, record))


def _attempt(token_id: str | None, verify: Callable[[Item | None], Identity]) -> Identity:
    """``verify(record)``, unless the client failed too often of late; a failure
    (Unauthenticated) is counted against the client and ``token_id``.

    ``record`` is the stored record of the API token ``token_id`` (None without one), read
    with the client's failures in one round trip. A client past the limit is refused
    unchecked. A token id past it (guesses at one token from many addresses) refuses every
    wrong secret for it, but not the right one: anyone who knows a token's id could
    otherwise lock its owner out.
    """
    limiter = failure_limiter()
    address = request._get_current_object().remote_addr  # type: ignore[attr-defined]
    client_key, *token_keys = failure_keys(address, token_id)
    record: Item | None = None
    if token_id is None:
        _refuse_while_limited(limiter.retry_after_s([client_key]))
    else:
        record_key = repositories().tokens.record_key(token_id)
        wait_s, record = limiter.retry_after_reading(client_key, record_key)
        _refuse_while_limited(wait_s)
    try:
        return verify(record)
    except Unauthenticated:
        # Read before this failure is counted, as the client's count was: only failures
        # pay for the token id's count.
        token_wait_s = limiter.retry_after_s(token_keys) if token_keys else None
        limiter.record_failure([client_key, *token_keys])
        _refuse_while_limited(token_wait_s)
        raise


def _refuse_while_limited(wait_s: int | None) -> None:
    if wait_s is not None:
        raise TooManyAttempts(
            f"too many failed attempts to authenticate: try again in {wait_s} s",
            retry_after_s=wait_s,
        )


def failure_limiter() -> FailureLimiter:
    """The application's count of failed authentications, kept in its store."""
    limiter = current_app.extensions.get(FAILURES_EXTENSION)
    if limiter is None:
        limiter = current_app.extensions.setdefault(
            FAILURES_EXTENSION, FailureLimiter(services().store)
        )
    return limiter  # type: ignore[no-any-return]


def _verify(credential: str, stored: Item | None) -> Identity:
    settings = services().settings
    if tokens.looks_like_api_token(credential):
        # ``stored``: the record of the token's id, read with the client's failures.
        record = repositories().tokens.verify_read(credential, stored)
        if record is None:
            raise Unauthenticated("the token is unknown, revoked or expired")
        identity = Identity(
            record["principal"], tuple(record["teams"]), credential=token_credential(record["id"])
        )
    elif settings.oidc_jwks_url:
        # Imported here: PyJWT and cryptography cost start-up time a token-only API never needs.
        from catalogue.auth import oidc

        identity = oidc.verify(
            credential,
            _jwks(settings.oidc_jwks_url),
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            teams_claim=settings.oidc_teams_claim,
        )
        identity = replace(identity, credential=OIDC)
    else:
        raise Unauthenticated("the token is unknown, revoked or expired")
    return with_site_admin(identity)


def with_site_admin(identity: Identity) -> Identity:
    """``identity`` a site admin when the settings' admins name it or one of its teams now."""
    admins = services().settings.admins
    is_admin = any(name in admins for name in identity.grantees)
    return replace(identity, is_site_admin=is_admin)


def _jwks(url: str) -> JwksCache:
    # One cache per application: keys survive across requests, not across apps.
    cache = current_app.extensions.get(JWKS_EXTENSION)
    if cache is None or cache.url != url:
        from catalogue.auth.oidc import JwksCache

        # setdefault: requests racing on the first token share one cache and one fetch.
        cache = current_app.extensions.setdefault(JWKS_EXTENSION, JwksCache(url))
        if cache.url != url:
            cache = current_app.extensions[JWKS_EXTENSION] = JwksCache(url)
    return cache
