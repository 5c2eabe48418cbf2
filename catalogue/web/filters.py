"""Formatting helpers of the templates, registered as Jinja filters in one place."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from catalogue.auth.principal import current_identity
from catalogue.dcat.vocabularies import DATA_THEME_LABELS, FREQUENCY_WORDS, LANGUAGE_NAMES
from catalogue.links import path_for
from catalogue.web import snippets
from catalogue.web.rendering import is_fragment_request
from catalogue.web.session import csrf_token

BYTE_UNITS = ("B", "kB", "MB", "GB", "TB")
# An en dash for "no value", as tables print it.
NO_VALUE = "\N{EN DASH}"


def byte_size(value: Any) -> str:
    """``1234567`` as ``1.2 MB`` (powers of 1000, as file managers show them)."""
    if not isinstance(value, int | float):
        return NO_VALUE
    size = float(value)
    for unit in BYTE_UNITS:
        if size < 1000 or unit == BYTE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def when(value: Any) -> str:
    """An ISO timestamp as ``2026-12-06 05:50:49`` (UTC), or the edition id unchanged."""
    if not isinstance(value, str):
        return NO_VALUE
    return value.replace("T", " ").removesuffix("Z").split(".")[0].split("+")[0]


def seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return NO_VALUE
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def cause_message(cause: Any) -> str:
    """A step's cause as people read it: Lambda's error payload shows its message alone."""
    if not isinstance(cause, str):
        return ""
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and isinstance(payload.get("errorMessage"), str):
        return payload["errorMessage"]
    return cause


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


# The search's filters as its title names them, in the form's order.
SEARCH_TITLE_FILTERS = (
    ("accessRights", "access"),
    ("state", "state"),
    ("owner", "owner"),
    ("keyword", "keyword"),
    ("theme", "theme"),
    ("format", "format"),
)


def theme_name(code: Any) -> Any:
    """An EU data theme as people read it (``ECON`` as ``Economy and finance``).

    The names are the edit form's; a value that is no theme code is shown as it is.
    """
    return DATA_THEME_LABELS.get(code, code) if isinstance(code, str) else code


def frequency_name(code: Any) -> Any:
    """An update frequency as the edit form names it (``ANNUAL_2`` as ``semiannual``)."""
    return FREQUENCY_WORDS.get(code, code) if isinstance(code, str) else code


def language_name(code: Any) -> Any:
    """A language as the edit form names it (``nb`` as ``Norwegian Bokmål``)."""
    return LANGUAGE_NAMES.get(code, code) if isinstance(code, str) else code


def filter_value(value: Any, name: str) -> Any:
    """A value of the search filter ``name`` as visitors read it: a theme by its name."""
    return theme_name(value) if name == "theme" else value


def facet_order(entries: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """A facet's values as the page lists them: most datasets first, ties by the name shown.

    The counts come ordered by value, the API's order: a theme's code is not what is shown.
    """
    return sorted(entries, key=lambda entry: (-entry["count"], filter_value(entry["value"], name)))


def facet_name(name: str) -> str:
    """A facet's heading: ``accessRights`` as ``Access``, as the search form names it."""
    return dict(SEARCH_TITLE_FILTERS).get(name, name).capitalize()


def search_title(query: Any) -> str:
    """A search's page title: ``“air quality”, access public — Search``, or ``Datasets``.

    Tabs, bookmarks and the history's Back menu show it, so each search reads apart.
    """
    if not isinstance(query, dict):
        return "Datasets"
    named = [f"“{query['q']}”"] if query.get("q") else []
    named += [
        f"{label} {filter_value(query[name], name)}"
        for name, label in SEARCH_TITLE_FILTERS
        if query.get(name)
    ]
    return f"{', '.join(named)} — Search" if named else "Datasets"


def query_with(params: dict[str, str], name: str, value: str) -> dict[str, str]:
    """The search's parameters with ``name`` set, back on the first page (unless paging)."""
    changed = {key: item for key, item in params.items() if key != "cursor"}
    changed[name] = value
    return changed


def query_without(params: dict[str, str], name: str) -> dict[str, str]:
    return {key: item for key, item in params.items() if key not in (name, "cursor")}


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        byte_size=byte_size,
        when=when,
        seconds=seconds,
        pretty_json=pretty_json,
        cause_message=cause_message,
        search_title=search_title,
        facet_name=facet_name,
        facet_order=facet_order,
        theme_name=theme_name,
        frequency_name=frequency_name,
        language_name=language_name,
        filter_value=filter_value,
    )
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        is_fragment_request=is_fragment_request,
        visitor=current_identity,
        query_with=query_with,
        query_without=query_without,
        # The search page's results and facet lists, rendered once per what they show.
        kept_html=snippets.kept_html,
        result_key=snippets.result_key,
        facets_key=snippets.facets_key,
        # Pages draw many links to the same views: built once per distinct arguments.
        url_for=path_for,
    )
