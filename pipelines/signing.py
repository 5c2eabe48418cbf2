"""HMAC-signed tokens for the local upload and download URLs.

A token is ``<payload>.<signature>``: the payload is base64url JSON (the "policy" of the
upload, as in an S3 presigned POST), the signature an HMAC-SHA256 of the payload text with
the home's signing key. Tokens carry their own expiry; nothing is stored server-side.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ALGORITHM = "BRYGGE-HMAC-SHA256"


class SignatureError(Exception):
    """A token or form whose signature, shape or expiry does not check out."""


class SignatureMismatch(SignatureError):
    """The signature is not the one the key makes for this payload (tampered or foreign)."""


class TokenExpired(SignatureError):
    """The token was valid but its expiry has passed."""


@dataclass(frozen=True, slots=True)
class UploadPolicy:
    """What an upload URL allows: one key, at most ``max_bytes``, until ``expires``.

    ``incarnation`` is that of the dataset the URL was made for: a URL outliving its
    dataset must not fill a key of a dataset made again under the same id.
    """

    key: str
    max_bytes: int
    expires: datetime
    content_type: str | None = None
    incarnation: str | None = None


@dataclass(frozen=True, slots=True)
class DownloadGrant:
    """What a download URL allows: reading one key until ``expires``."""

    key: str
    filename: str
    expires: datetime


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise SignatureError("the token is not base64url") from None


def signature(payload: str, key: bytes) -> str:
    """The base64url HMAC-SHA256 of ``payload`` under ``key``."""
    return _b64encode(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign(claims: Mapping[str, Any], key: bytes) -> str:
    """Return the token ``<payload>.<signature>`` carrying ``claims``."""
    payload = _b64encode(json.dumps(dict(claims), separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{signature(payload, key)}"


def verify(token: str, key: bytes, now: datetime) -> dict[str, Any]:
    """Return the claims of ``token``.

    Raises SignatureMismatch when the signature is not ours, TokenExpired when the ``exp``
    claim (epoch seconds) is not after ``now``, SignatureError for a malformed token.
    """
    payload, dot, given = token.partition(".")
    if not dot or not payload or not given or not token.isascii():
        raise SignatureError("the token is not <payload>.<signature> in base64url")
    # compare_digest: the time taken must not reveal how much of a forged signature matched.
    if not hmac.compare_digest(signature(payload, key), given):
        raise SignatureMismatch("the signature does not match")
    try:
        claims = json.loads(_b64decode(payload))
    except ValueError:
        raise SignatureError("the token payload is not JSON") from None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise SignatureError("the token payload has no expiry")
    if claims["exp"] <= int(now.timestamp()):
        raise TokenExpired("the token has expired")
    return claims


def upload_token(policy: UploadPolicy, key: bytes) -> str:
    """The token of a local upload URL for ``policy``."""
    claims: dict[str, Any] = {
        "use": "upload",
        "key": policy.key,
        "max": policy.max_bytes,
        "exp": int(policy.expires.timestamp()),
    }
    if policy.content_type:
        claims["type"] = policy.content_type
    if policy.incarnation:
        claims["inc"] = policy.incarnation
    return sign(claims, key)


def read_upload_token(token: str, key: bytes, now: datetime) -> UploadPolicy:
    """The policy a local upload token grants; raises SignatureError (or a subclass)."""
    claims = verify(token, key, now)
    if claims.get("use") != "upload" or not isinstance(claims.get("key"), str):
        raise SignatureError("not an upload token")
    if not isinstance(claims.get("max"), int):
        raise SignatureError("the upload token has no size limit")
    return UploadPolicy(
        key=claims["key"],
        max_bytes=claims["max"],
        expires=datetime.fromtimestamp(claims["exp"], UTC),
        content_type=claims.get("type"),
        incarnation=claims.get("inc"),
    )


def download_token(grant: DownloadGrant, key: bytes) -> str:
    """The token of a local download URL for ``grant``."""
    claims = {
        "use": "download",
        "key": grant.key,
        "name": grant.filename,
        "exp": int(grant.expires.timestamp()),
    }
    return sign(claims, key)


def read_download_token(token: str, key: bytes, now: datetime) -> DownloadGrant:
    """The grant of a local download token; raises SignatureError (or a subclass)."""
    claims = verify(token, key, now)
    if claims.get("use") != "download" or not isinstance(claims.get("key"), str):
        raise SignatureError("not a download token")
    return DownloadGrant(
        key=claims["key"],
        filename=str(claims.get("name") or claims["key"].rpartition("/")[2]),
        expires=datetime.fromtimestamp(claims["exp"], UTC),
    )


def upload_form_fields(token: str, policy: UploadPolicy) -> dict[str, str]:
    """The form fields of a local upload, named as in an S3 presigned POST (s3v4)."""
    payload, _, signed = token.partition(".")
    fields = {
        "key": policy.key,
        "policy": payload,
        "x-amz-algorithm": ALGORITHM,
        "x-amz-signature": signed,
    }
    if policy.content_type:
        fields["Content-Type"] = policy.content_type
    return fields


def check_upload_form(
    token: str, form: Mapping[str, str], key: bytes, now: datetime
) -> UploadPolicy:
    """Check the fields of a local upload form against the URL's token; return its policy.

    The form's ``policy`` and ``x-amz-signature`` must be the token's own parts, and its
    ``key`` the signed key. Raises SignatureError (or a subclass) naming what does not match.
    """
    policy = read_upload_token(token, key, now)
    payload, _, signed = token.partition(".")
    if form.get("x-amz-algorithm") != ALGORITHM:
        raise SignatureError(f"x-amz-algorithm must be {ALGORITHM}")
    if form.get("policy") != payload:
        raise SignatureMismatch("the policy field is not the signed one")
    if not hmac.compare_digest(form.get("x-amz-signature", ""), signed):
        raise SignatureMismatch("the x-amz-signature field does not match")
    if form.get("key") != policy.key:
        raise SignatureMismatch("the key field is not the signed key")
    if policy.content_type and form.get("Content-Type") != policy.content_type:
        raise SignatureMismatch(f"the Content-Type field must be {policy.content_type}")
    return policy
