"""Server-rendered pages: Jinja templates and vendored htmx, same permission checks as the API.

``init_app`` installs the web blueprint (templates, static files, the CSRF check and error
pages), the session cookie, the page negotiation at the API's URLs and the template filters.
The pages themselves (``pages``, ``forms``) are imported by the first request for one: their
URL rules come from the route table like the API's. Nothing here imports polars, pyarrow or
rdflib.
"""

from __future__ import annotations

from flask import Blueprint, Flask
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from catalogue.api.errors import STATUS
from catalogue.web import filters, session
from catalogue.web.negotiation import init_negotiation
from catalogue.web.rendering import error_page


def web_blueprint() -> Blueprint:
    """The blueprint every page's endpoint (``web.*``) belongs to, without the pages' rules."""
    blp = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/web/static",
    )
    blp.before_request(session.check_csrf)
    # Every failure the API has a status for, and any other, becomes the error page here: Flask
    # looks handlers up class by class, so each class the app handles is named again.
    for kind in (*STATUS, HTTPException, ValidationError, Exception):
        blp.register_error_handler(kind, error_page)
    return blp


def init_app(app: Flask) -> None:
    """Register the pages; call before the API's authentication hook."""
    session.init_session(app)
    app.register_blueprint(web_blueprint())
    init_negotiation(app)
    filters.register(app)
