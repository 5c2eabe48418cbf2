"""Who an SNS delivery comes from: its signature checked against SNS's own certificate.

SNS cannot send a bearer token. A delivery is taken as coming from its ``TopicArn`` when
its signature verifies with the certificate at its ``SigningCertURL``, which must be on
``https://sns.<region of the topic>.amazonaws.com/`` and end in ``.pem``; the certificate
is fetched over https (no redirects) once per process and must be valid now. Whether that
topic may deliver to a dataset is the dataset's ``source.sns.topics``.

``Settings.sns_fetch_url`` (tests only) sends the fetches of those URLs to another base
URL, after the URL checks: a request can never name where certificates come from.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from catalogue.domain.errors import Forbidden, UpstreamFailed
from catalogue.domain.sns import HASHES, sns_url_problem, string_to_sign, topic_region

FETCH_TIMEOUT_S = 5.0
MAX_CERTIFICATE_BYTES = 16_384
# SNS signs with a handful of certificates; a process keeps those it has seen.
MAX_CERTIFICATES = 16

_certificates: dict[str, Any] = {}
_lock = threading.Lock()


def verify_message(message: Mapping[str, str], fetch_url: str = "") -> None:
    """Check the message's signature; raises Forbidden naming what does not check out.

    Raises UpstreamFailed when the certificate cannot be fetched.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    region = topic_region(message["TopicArn"])
    assert region is not None  # parse_message checked the ARN
    url = message["SigningCertURL"]
    problem = sns_url_problem(url, region, suffix=".pem")
    if problem:
        raise Forbidden(f"SigningCertURL {problem}")
    try:
        signature = base64.b64decode(message["Signature"], validate=True)
    except (binascii.Error, ValueError):
        raise Forbidden("the message's Signature is not base64") from None
    public_key = _certificate_key(url, fetch_url)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise Forbidden("the signing certificate does not hold an RSA key")
    algorithm = hashes.SHA1() if HASHES[message["SignatureVersion"]] == "sha1" else hashes.SHA256()
    try:
        public_key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise Forbidden("the message's signature does not verify") from None


def _certificate_key(url: str, fetch_url: str) -> Any:
    """The public key of the certificate at ``url``, fetched once per process."""
    from cryptography import x509

    with _lock:
        cached = _certificates.get(url)
    if cached is None:
        body = fetch(url, fetch_url, limit=MAX_CERTIFICATE_BYTES)
        try:
            certificate = x509.load_pem_x509_certificate(body)
        except ValueError:
            raise Forbidden("SigningCertURL does not hold a PEM certificate") from None
        cached = certificate
        with _lock:
            if len(_certificates) >= MAX_CERTIFICATES:
                _certificates.pop(next(iter(_certificates)))
            _certificates[url] = certificate
    now = datetime.now(UTC)
    if not cached.not_valid_before_utc <= now <= cached.not_valid_after_utc:
        raise Forbidden("the signing certificate is not valid now")
    return cached.public_key()


def clear_certificates() -> None:
    """Forget the fetched certificates (tests)."""
    with _lock:
        _certificates.clear()


def fetch(url: str, fetch_url: str = "", *, limit: int = 1_048_576) -> bytes:
    """GET an SNS URL (already checked) and return its body; raises UpstreamFailed.

    With ``fetch_url`` (tests only) the request goes to that base URL with the same path
    and query. Redirects are not followed: SNS serves these URLs itself.
    """
    import httpx

    target = url
    if fetch_url:
        parts = urlsplit(url)
        target = fetch_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT_S, follow_redirects=False) as client:
            response = client.get(target)
    except httpx.HTTPError as error:
        raise UpstreamFailed(f"SNS could not be reached at {url}: {error}") from None
    if response.status_code != 200:
        raise UpstreamFailed(f"SNS answered {response.status_code} at {url}")
    if len(response.content) > limit:
        raise UpstreamFailed(f"SNS answered more than {limit} bytes at {url}")
    return response.content
