"""The API's URL rules added from a table, each resource module imported on its first request.

A Lambda cold start builds the whole app, yet its first request needs one resource module:
importing all of them (their schemas, their flask-smorest decorators) and the web pages was
most of what Brygge added to a bare Flask + flask-smorest + boto3 start (bench/coldstart.py).
So ``create_app`` adds every rule from ``route_table.ROUTES`` with a stand-in view; the first
request to an endpoint imports its module and puts the module's real views in place.
The OpenAPI document imports them all (``Api.document``).

``ROUTES`` is written by ``python -m catalogue.api.lazy_routes`` from the modules themselves,
and a test fails, naming that command, when it no longer matches them.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from flask import Blueprint, Flask
from flask.templating import _default_template_ctx_processor

# Resource modules in registration order, and whether the OpenAPI document covers them. Each
# has a ``blp`` with URL rules only: hooks and error handlers of a blueprint would not run
# before its module is imported, so blueprints that need them are registered eagerly.
RESOURCES: tuple[tuple[str, bool], ...] = (
    ("catalogue.api.index", True),
    ("catalogue.api.health", True),
    ("catalogue.api.datasets", True),
    ("catalogue.api.versions", True),
    ("catalogue.api.distributions", True),
    ("catalogue.api.uploads", True),
    ("catalogue.api.permissions", True),
    ("catalogue.api.me", True),
    ("catalogue.api.audit", True),
    ("catalogue.api.events", True),
    ("catalogue.api.steps", True),
    ("catalogue.api.pipeline_templates", True),
    ("catalogue.api.runs", True),
    ("catalogue.api.catalog", True),
    ("catalogue.api.changes", True),
    ("catalogue.api.subscriptions", True),
    # The pages' own URLs (sign-in, forms); catalogue.web registers their hooks.
    ("catalogue.web.forms", False),
)
TABLE_MODULE = Path(__file__).with_name("route_table.py")


class Route(NamedTuple):
    """One URL rule as Flask registered it from a resource module's blueprint."""

    module: str
    rule: str
    endpoint: str
    methods: tuple[str, ...]
    automatic_options: bool
    strict_slashes: bool | None
    defaults: dict[str, Any] | None


def build_route_table(resources: Iterable[tuple[str, bool]] = RESOURCES) -> list[Route]:
    """Import the resource modules and list the rules their blueprints register."""
    app = Flask("route-table")
    module_of: dict[str, str] = {}
    for module_name, _ in resources:
        blueprint = importlib.import_module(module_name).blp
        app.register_blueprint(blueprint)
        module_of[blueprint.name] = module_name
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint_name = rule.endpoint.rpartition(".")[0]
        if blueprint_name not in module_of:
            continue  # the app's own static route
        routes.append(
            Route(
                module=module_of[blueprint_name],
                rule=rule.rule,
                endpoint=rule.endpoint,
                methods=tuple(sorted(rule.methods or ())),
                automatic_options=bool(getattr(rule, "provide_automatic_options", False)),
                strict_slashes=rule.strict_slashes,
                defaults=None if rule.defaults is None else dict(rule.defaults),
            )
        )
    return sorted(routes, key=lambda route: (route.module, route.endpoint, route.rule))


def table_source(routes: Iterable[Route]) -> str:
    """The text of ``route_table.py`` for ``routes``."""
    rows = "".join(f"    {tuple(route)!r},\n" for route in routes)
    return (
        '"""URL rules of the resource modules, written by ``python -m catalogue.api.lazy_routes``.'
        '\n\nDo not edit: run that command after changing a route.\n"""\n\n'
        "# module, rule, endpoint, methods, automatic OPTIONS, strict slashes, defaults\n"
        f"ROUTES = (\n{rows})\n"
    )


class LazyView:
    """Stands in for an endpoint's view until the first request imports its module."""

    def __init__(self, app: Flask, module: str, endpoint: str) -> None:
        self.app = app
        self.module = module
        self.endpoint = endpoint
        self.__name__ = endpoint

    def __call__(self, **view_args: Any) -> Any:
        return load_views(self.app, self.module)[self.endpoint](**view_args)


_loading = threading.Lock()


def load_views(app: Flask, module_name: str) -> dict[str, Callable[..., Any]]:
    """Import ``module_name`` and put its blueprint's views in place of the stand-ins."""
    blueprint = importlib.import_module(module_name).blp
    views = blueprint_views(blueprint)
    with _loading:
        for endpoint, view in views.items():
            if isinstance(app.view_functions.get(endpoint), LazyView):
                app.view_functions[endpoint] = view
    return views


class _Recorder:
    """A stand-in for Flask's blueprint set-up state that keeps the views it is given."""

    def __init__(self, blueprint: Blueprint) -> None:
        self.blueprint = blueprint
        self.views: dict[str, Callable[..., Any]] = {}

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        **options: Any,
    ) -> None:
        if view_func is not None:
            # As Flask's set-up state does: without an endpoint, the view's name is one.
            self.views[f"{self.blueprint.name}.{endpoint or view_func.__name__}"] = view_func

    def __getattr__(self, name: str) -> Any:
        raise TypeError(
            f"blueprint {self.blueprint.name!r} does more than add URL rules ({name}): "
            "register it eagerly instead of through the route table"
        )


def blueprint_extras(blueprint: Blueprint) -> list[str]:
    """What ``blueprint`` brings to an app besides its rules (hooks, handlers, files...)."""
    hooks = (
        "before_request_funcs",
        "after_request_funcs",
        "teardown_request_funcs",
        "error_handler_spec",
        "url_value_preprocessors",
        "url_default_functions",
    )
    extras = [name for name in hooks if any(getattr(blueprint, name).values())]
    # Every blueprint has Flask's own (g, request, session in templates): the app has it too.
    processors = blueprint.template_context_processors.values()
    if any(f is not _default_template_ctx_processor for group in processors for f in group):
        extras.append("template_context_processors")
    extras += [name for name in ("static_folder", "template_folder") if getattr(blueprint, name)]
    if blueprint._blueprints:  # Flask keeps nested blueprints there (flask<4)
        extras.append("nested blueprints")
    if blueprint.cli.commands:
        extras.append("commands")
    return extras


def blueprint_views(blueprint: Blueprint) -> dict[str, Callable[..., Any]]:
    """Endpoint -> view of every URL rule ``blueprint`` records (Flask's deferred set-up).

    Raises TypeError for a blueprint that brings more than rules (hooks, error handlers,
    templates, static files): those would be missing until its module was imported.
    """
    extras = blueprint_extras(blueprint)
    if extras:
        raise TypeError(
            f"blueprint {blueprint.name!r} does more than add URL rules ({', '.join(extras)}): "
            "register it eagerly instead of through the route table"
        )
    recorder = _Recorder(blueprint)
    for deferred in blueprint.deferred_functions:
        deferred(recorder)  # type: ignore[arg-type]
    return recorder.views


def add_routes(app: Flask, routes: Iterable[tuple[Any, ...]]) -> None:
    """Add each rule of ``routes`` (rows of ``ROUTES``) to ``app`` with a stand-in view."""
    for row in routes:
        route = Route(*row)
        options: dict[str, Any] = {}
        if route.strict_slashes is not None:
            options["strict_slashes"] = route.strict_slashes
        if route.defaults is not None:  # a blueprint's rule has a dict, even an empty one
            options["defaults"] = route.defaults
        endpoint = route.endpoint
        view = app.view_functions.get(endpoint) or LazyView(app, route.module, endpoint)
        app.add_url_rule(
            route.rule,
            endpoint,
            view,
            # OPTIONS is in ``methods`` when Flask answers it: passing both keeps the rule as is.
            methods=list(route.methods),
            provide_automatic_options=route.automatic_options,
            **options,
        )


def main() -> int:
    """Write ``route_table.py`` from the resource modules."""
    TABLE_MODULE.write_text(table_source(build_route_table()), encoding="utf-8")
    print(f"wrote {TABLE_MODULE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
