"""Absolute links of the API: every URL a response carries is built here.

The api and web packages and the response schemas share it; it is the one module besides
them that reads the request (its root URL).

One public base: ``BRYGGE_BASE_URL`` when set, else the request's own root. The request's
root includes its script root, which is where a prefix reaches the app: API Gateway's stage
path (Zappa puts ``/<stage>`` in ``SCRIPT_NAME``) or, with ``BRYGGE_TRUST_PROXY`` on, the
``X-Forwarded-Prefix`` of a proxy (``create_app`` adds werkzeug's ProxyFix only then, so a
client cannot forge the host of the links others receive).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from weakref import WeakKeyDictionary

from flask import current_app, has_request_context, request, url_for
from werkzeug.routing import Map

from catalogue.services import services

# Built paths per URL map; emptied when full (a page's links repeat across requests).
_PATHS: WeakKeyDictionary[Map, dict[tuple[Any, ...], str]] = WeakKeyDictionary()
_PATHS_KEPT = 20_000


def path_for(endpoint: str, **values: Any) -> str:
    """``url_for(endpoint, **values)`` while answering a request, built once per arguments.

    werkzeug's URL builder takes about as long as the rest of a link's rendering, and a
    page draws twenty links; the path depends only on the URL map, the script root (the
    stage or proxy prefix) and the arguments, so a path once built is kept.
    """
    if any(name.startswith("_") for name in values):
        return url_for(endpoint, **values)  # _external, _anchor, ...: not kept
    key = (request.script_root, endpoint, *values.items())
    paths = _PATHS.get(current_app.url_map)
    if paths is None:
        paths = _PATHS[current_app.url_map] = {}
    try:
        return paths[key]
    except KeyError:
        path = paths[key] = url_for(endpoint, **values)
    except TypeError:  # an argument that cannot be a key (a list): built each time
        return url_for(endpoint, **values)
    if len(paths) > _PATHS_KEPT:
        paths.clear()
    return path


def base_url() -> str:
    """The public base URL of the API, without a trailing slash."""
    return services().settings.base_url or request.url_root.rstrip("/")


def request_base_url() -> str | None:
    """``base_url()`` while a Brygge app answers a request; None outside one."""
    if not has_request_context() or "brygge" not in current_app.extensions:
        return None
    return base_url()


def absolute_url(path: str) -> str:
    """The public URL of ``path``, a path of the API (``/datasets/air``), percent-encoded."""
    return base_url() + quote(path, safe="/%:@!$&'()*+,;=-._~")


def absolute_url_in_request(path: str) -> str:
    """``absolute_url(path)`` while answering a request; ``path`` itself outside one."""
    return absolute_url(path) if has_request_context() else path


def link_to(endpoint: str, **values: Any) -> str:
    """The public URL of a view, as ``url_for`` names it."""
    # url_for puts the script root in front; the base URL stands in for it.
    path = path_for(endpoint, **values)
    return base_url() + path.removeprefix(request.script_root)
