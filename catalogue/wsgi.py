"""The module-level ``app`` that gunicorn and Zappa import; the only module that works on import."""

from __future__ import annotations

from catalogue.app import create_app

app = create_app()
