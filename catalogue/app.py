"""The application factory: all wiring happens inside ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Flask

from catalogue import __version__, web
from catalogue.api import canonical_paths, cors, docs, errors, negotiation
from catalogue.api.bodies import JsonProvider
from catalogue.api.etags import answer_conditional_read, refuse_unchecked_conditions
from catalogue.api.lazy_routes import RESOURCES, Route, add_routes
from catalogue.api.route_table import ROUTES
from catalogue.api.routing import LazyRoutingFlask
from catalogue.api.smorest import Api
from catalogue.auth.principal import authenticate_request
from catalogue.links import request_base_url
from catalogue.repositories.change_events import configure_request_source, configure_source
from catalogue.services import Services, utc_now
from catalogue.settings import Settings
from catalogue.store.base import ItemStore

MAX_JSON_BYTES = 1024 * 1024
API_DESCRIPTION = (
    "Brygge's catalogue of datasets, their versions, editions and distributions, and the "
    "pipelines their uploads run. GET /steps lists the steps a pipeline template's Task "
    "states can name, with the JSON Schema of each step's options (taskConfig)."
)


def create_app(
    settings: Settings | None = None,
    *,
    store: ItemStore | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Flask:
    """Build the API. ``store`` and ``clock`` replace the configured ones (tests, tools)."""
    settings = settings or Settings.from_env()
    app = LazyRoutingFlask("catalogue")
    # request.get_json() gets the nesting limit and surrogate check the API's bodies get.
    app.json = JsonProvider(app)
    app.config.update(
        API_TITLE="Brygge",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.1.0",
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Served from the package (api/docs.py): the page loads nothing from another host.
        OPENAPI_SWAGGER_UI_URL="docs/assets/",
        # validatorUrl: Swagger UI would otherwise fetch a badge from validator.swagger.io.
        OPENAPI_SWAGGER_UI_CONFIG={"persistAuthorization": True, "validatorUrl": None},
        MAX_CONTENT_LENGTH=MAX_JSON_BYTES,
        JSON_SORT_KEYS=False,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["brygge"] = Services(settings, store=store, clock=clock)
    api = Api(app)
    # Each resource module is imported by the first request it answers (a cold start on
    # Lambda answers one): its rules come from the route table.
    routes = [Route(*row) for row in ROUTES]
    add_routes(app, routes)
    blueprint_of = {route.module: route.endpoint.partition(".")[0] for route in routes}
    for module, documented in RESOURCES:
        if documented:
            api.register_lazily(module, blueprint_of[module])
    app.register_blueprint(docs.assets)
    # First: a path that names no resource is answered before any other check reads it.
    app.before_request(canonical_paths.check_path)
    errors.register(app)
    if settings.cors_origins:
        # Before the other after-request hooks, so it runs after them, on the final answer.
        cors.init_cors(app, settings.cors_origins)
    # Pages first: they read the session cookie before the bearer-token check runs.
    web.init_app(app)
    app.before_request(negotiation.refuse_unacceptable)
    app.before_request(authenticate_request)
    app.before_request(refuse_unchecked_conditions)
    app.after_request(answer_conditional_read)
    configure_source(settings.base_url)
    # Events written while answering a request take its base URL: asked for when one is
    # written, rather than set and reset by hooks on every request.
    configure_request_source(request_base_url)
    if settings.trust_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # One proxy in front: its X-Forwarded-* headers decide the links' scheme, host and
        # prefix. Off by default, since any client could send these headers.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1
        )
    return app
