"""Absolute links of the API: every URL a response carries is built here.

One public base: ``BRYGGE_BASE_URL`` when set, else the request's own root. The request's
root includes its script root, which is where a prefix reaches the app: API Gateway's stage
path (Zappa puts ``/<stage>`` in ``SCRIPT_NAME``) or, with ``BRYGGE_TRUST_PROXY`` on, the
``X-Forwarded-Prefix`` of a proxy (``create_app`` adds werkzeug's ProxyFix only then, so a
client cannot forge the host of the links others receive).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import request, url_for

from catalogue.services import services


def base_url() -> str:
    """The public base URL of the API, without a trailing slash."""
    return services().settings.base_url or request.url_root.rstrip("/")


def absolute_url(path: str) -> str:
    """The public URL of ``path``, a path of the API (``/datasets/air``), percent-encoded."""
    return base_url() + quote(path, safe="/%:@!$&'()*+,;=-._~")


def link_to(endpoint: str, **values: Any) -> str:
    """The public URL of a view, as ``url_for`` names it."""
    # url_for puts the script root in front; the base URL stands in for it.
    path = url_for(endpoint, **values)
    return base_url() + path.removeprefix(request.script_root)
