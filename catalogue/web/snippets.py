"""Parts of the search page kept as HTML, each under everything it is drawn from.

A result of the search page (its links carry the search's parameters) and the facet lists
cost most of the page's rendering: fifty results draw some 350 links. Each part is a pure
function of its key (the fields it shows, the search's parameters, the script root its
links start with), so the HTML once rendered is reused for as long as the key is the same:
a changed title or count is a new key, never a stale part. Kept per application (its URL
map), emptied when full.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any
from weakref import WeakKeyDictionary

from flask import Flask, current_app, request
from markupsafe import Markup

_KEPT: WeakKeyDictionary[Flask, dict[Hashable, Markup]] = WeakKeyDictionary()
_KEPT_PARTS = 20_000
# The fields of a dataset a result shows (search_result.html).
RESULT_FIELDS = ("id", "title", "description", "accessRights", "owner", "modified")
RESULT_KEYWORDS = 5


def result_key(dataset: Mapping[str, Any], params: Mapping[str, str]) -> Hashable:
    """What one result of search_result.html is drawn from."""
    keywords = dataset.get("keywords") or []
    return (
        *(dataset.get(name) for name in RESULT_FIELDS),
        tuple(keywords[:RESULT_KEYWORDS]),
        tuple(params.items()),
    )


def facets_key(
    facets: Mapping[str, list[Mapping[str, Any]]], params: Mapping[str, str]
) -> Hashable:
    """What the facet lists of search_facets.html are drawn from."""
    return (
        tuple(
            (name, tuple((entry["value"], entry["count"]) for entry in entries))
            for name, entries in facets.items()
        ),
        tuple(params.items()),
    )


def kept_html(template: str, key: Hashable, **context: Any) -> Markup:
    """``template`` rendered with ``context``, kept under ``key`` and the script root."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    full_key: Hashable | None = (template, request.script_root, key)
    kept = _KEPT.get(app)
    if kept is None:
        kept = _KEPT[app] = {}
    try:
        html = kept.get(full_key)
    except TypeError:  # a value that cannot be a key (a list where text was expected)
        full_key = None
        html = None
    if html is None:
        html = Markup(app.jinja_env.get_template(template).render(**context))
        if full_key is not None:
            if len(kept) >= _KEPT_PARTS:
                kept.clear()
            kept[full_key] = html
    return html
