"""Who is acting. Until tokens are checked, the principal comes from settings."""

from __future__ import annotations

from flask import current_app


def current_principal() -> str:
    """The principal of the current request."""
    return current_app.extensions["brygge"].settings.principal
