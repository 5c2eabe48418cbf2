"""Server-rendered pages: Jinja templates and vendored htmx, same permission checks as the API.

``init_app`` installs the web blueprint (templates, static files, the CSRF check and error
pages), the session cookie, the page negotiation at the API's URLs and the template filters.
The pages themselves (``pages``, ``forms``) are imported by the first request for one: their
URL rules come from the route table like the API's. Nothing here imports polars, pyarrow or
rdflib.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, send_from_directory
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from catalogue.api.errors import STATUS
from catalogue.web import filters, session
from catalogue.web.negotiation import init_negotiation
from catalogue.web.rendering import error_page

STATIC = Path(__file__).with_name("static")
ICON_MAX_AGE_S = 24 * 3600


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
    # Browsers ask every site for /favicon.ico, whatever a page links: the project's own.
    blp.add_url_rule("/favicon.ico", "favicon", favicon)
    # Every failure the API has a status for, and any other, becomes the error page here: Flask
    # looks handlers up class by class, so each class the app handles is named again.
    for kind in (*STATUS, HTTPException, ValidationError, Exception):
        blp.register_error_handler(kind, error_page)
    return blp


def favicon() -> Response:
    """The site's icon (16 and 32 px), kept a day by browsers."""
    return send_from_directory(
        STATIC, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=ICON_MAX_AGE_S
    )


def init_app(app: Flask) -> None:
    """Register the pages; call before the API's authentication hook."""
    session.init_session(app)
    app.register_blueprint(web_blueprint())
    init_negotiation(app)
    filters.register(app)
