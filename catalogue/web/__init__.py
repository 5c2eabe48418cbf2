"""Server-rendered pages: Jinja templates and vendored htmx, same permission checks as the API.

``init_app`` installs the blueprint, the session cookie, the page negotiation at the API's
URLs and the template filters. Nothing here imports polars, pyarrow or rdflib.
"""

from __future__ import annotations

from flask import Flask

from catalogue.web import filters, forms  # noqa: F401 - forms registers its routes on blp
from catalogue.web.negotiation import init_negotiation
from catalogue.web.pages import blp
from catalogue.web.session import init_session


def init_app(app: Flask) -> None:
    """Register the pages; call before the API's authentication hook."""
    init_session(app)
    app.register_blueprint(blp)
    init_negotiation(app)
    filters.register(app)
