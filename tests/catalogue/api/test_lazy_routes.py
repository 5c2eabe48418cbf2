"""The route table: the app's URL rules are the resource modules', each module imported late."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from catalogue.api.lazy_routes import (
    RESOURCES,
    Route,
    blueprint_views,
    build_route_table,
    table_source,
)
from catalogue.api.route_table import ROUTES

REPO_ROOT = Path(__file__).resolve().parents[3]


def rule_shapes(app: Flask) -> set[tuple]:
    """Every rule of ``app`` as matching and building see it."""
    return {
        (
            rule.rule,
            rule.endpoint,
            tuple(sorted(rule.methods or ())),
            getattr(rule, "provide_automatic_options", False),
            rule.strict_slashes,
            tuple(sorted((rule.defaults or {}).items())),
        )
        for rule in app.url_map.iter_rules()
    }


def test_the_route_table_matches_the_resource_modules() -> None:
    written = [Route(*row) for row in ROUTES]
    assert written == build_route_table(), (
        "catalogue/api/route_table.py is out of date: run `python -m catalogue.api.lazy_routes`"
    )
    assert table_source(written).count("\n    (") == len(written)


def test_the_app_has_the_rules_the_blueprints_would_register(app: Flask) -> None:
    eager = Flask("eager")
    for module, _ in RESOURCES:
        eager.register_blueprint(importlib.import_module(module).blp)
    eager_rules = rule_shapes(eager) - {rule for rule in rule_shapes(eager) if rule[1] == "static"}
    assert eager_rules <= rule_shapes(app)
    assert len(eager_rules) == len(ROUTES) > 40


def test_every_endpoint_of_the_table_answers_with_its_real_view(app: Flask) -> None:
    client = app.test_client()
    # One request per resource module: each puts its module's views in place.
    assert client.get("/health").status_code == 200
    assert client.get("/steps").status_code == 200
    assert client.get("/sign-in", headers={"Accept": "text/html"}).status_code == 200
    real = {}
    for module, _ in RESOURCES:
        real.update(blueprint_views(importlib.import_module(module).blp))
    health = [endpoint for endpoint in real if endpoint.startswith("health.")]
    assert health and all(app.view_functions[endpoint] is real[endpoint] for endpoint in health)
    assert app.view_functions["web.sign_in"] is real["web.sign_in"]


def test_a_blueprint_with_hooks_cannot_be_loaded_late() -> None:
    blueprint = Blueprint("hooked", __name__)
    blueprint.add_url_rule("/hooked", "hooked", lambda: "")
    blueprint.before_request(lambda: None)
    with pytest.raises(TypeError, match="register it eagerly"):
        blueprint_views(blueprint)


COLD_PROBE = """
import json, sys
from catalogue.app import create_app
app = create_app()
client = app.test_client()
def loaded():
    return sorted(m for m in sys.modules if m.startswith(("catalogue.api.", "catalogue.web.")))
report = {"created": loaded()}
report["health"] = client.get("/health").status_code
report["after_health"] = loaded()
report["subscriptions"] = client.get("/subscriptions").status_code
report["after_subscriptions"] = loaded()
report["page"] = client.get("/sign-in", headers={"Accept": "text/html"}).status_code
report["after_page"] = loaded()
report["spec_paths"] = len(client.get("/openapi.json").json["paths"])
print(json.dumps(report))
"""


def test_a_cold_app_imports_a_resource_module_on_its_first_request(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", COLD_PROBE],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "BRYGGE_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    resources = {module for module, _ in RESOURCES}
    assert not resources & set(report["created"])
    assert report["health"] == 200
    assert resources & set(report["after_health"]) == {"catalogue.api.health"}
    assert report["subscriptions"] == 401  # anonymous: the real view's permission check ran
    assert "catalogue.api.subscriptions" in report["after_subscriptions"]
    assert "catalogue.web.pages" not in report["after_subscriptions"]  # JSON never loads pages
    assert report["page"] == 200
    assert "catalogue.web.pages" in report["after_page"]
    # The document covers every path, the modules no request has loaded yet included.
    documented = {module for module, in_document in RESOURCES if in_document}
    rules = {Route(*row).rule for row in ROUTES if Route(*row).module in documented}
    assert report["spec_paths"] == len(rules)
