"""Rules that compile their URL builders late build the same URLs as werkzeug's own."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.routing import Map, Rule

from catalogue.api.routing import LazyBuilderRule
from catalogue.app import create_app

RULES = [
    ("/datasets/<dataset_id>", "dataset"),
    ("/datasets/<dataset_id>/versions/<int:version>", "version"),
    ("/files/<path:key>", "file"),
    ("/", "index"),
]
BUILDS: list[tuple[str, dict[str, Any]]] = [
    ("dataset", {"dataset_id": "trær og fjell"}),
    ("dataset", {"dataset_id": "a", "cursor": "x y", "limit": 5}),
    ("version", {"dataset_id": "a", "version": 3}),
    ("file", {"key": "raw/green/a b/c%d.csv"}),
    ("index", {"q": "luft"}),
]


def adapter(rule_class: type[Rule]) -> Any:
    rules = [rule_class(path, endpoint=endpoint) for path, endpoint in RULES]
    return Map(rules).bind("example.org", script_name="/dev")


@pytest.mark.parametrize(("endpoint", "values"), BUILDS)
def test_a_lazy_rule_builds_what_werkzeug_builds(endpoint: str, values: dict[str, Any]) -> None:
    lazy, eager = adapter(LazyBuilderRule), adapter(Rule)
    for absolute in (False, True):
        expected = eager.build(endpoint, values, force_external=absolute)
        assert lazy.build(endpoint, values, force_external=absolute) == expected
        assert lazy.build(endpoint, values, force_external=absolute) == expected  # compiled


def test_the_app_builds_a_url_for_every_rule() -> None:
    app = create_app()
    assert all(isinstance(rule, LazyBuilderRule) for rule in app.url_map.iter_rules())
    urls = app.url_map.bind("example.org")
    for rule in app.url_map.iter_rules():
        values = dict.fromkeys(rule.arguments, "7")
        # One URL may serve a form (GET) and its submission (POST) under two endpoints.
        method = sorted((rule.methods or {"GET"}) - {"HEAD", "OPTIONS"})[0]
        built = urls.build(rule.endpoint, values, method=method)
        assert urls.match(built, method=method)[0] == rule.endpoint
