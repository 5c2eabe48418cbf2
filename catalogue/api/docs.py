"""``/docs``: Swagger UI served from the package, so the documentation works offline.

The assets are ``swagger-ui-dist`` as pinned in package.json, copied verbatim with their
licence (``static/swagger-ui/``); ``tests/catalogue/api/test_docs.py`` checks the copies
against the installed npm package.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint

SWAGGER_UI_FOLDER = Path(__file__).parent / "static" / "swagger-ui"

# A plain Flask blueprint: static files are no API operations to document.
assets = Blueprint(
    "docs_assets",
    __name__,
    static_folder=str(SWAGGER_UI_FOLDER),
    static_url_path="/docs/assets",
    template_folder="templates",
)
