"""The flask-smorest Api, with the OpenAPI document built on first request for it."""

from __future__ import annotations

import threading
from typing import Any

import flask_smorest
from flask import Flask


class Api(flask_smorest.Api):
    """flask-smorest's Api whose OpenAPI document is built when first asked for.

    Documenting every view is about a third of the app's start-up (bench/coldstart.py), and
    a Lambda cold start almost never serves ``/openapi.json``. Code that reads ``spec``
    directly calls ``document()`` first.
    """

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        self._undocumented: list[tuple[flask_smorest.Blueprint, str, Any]] = []
        self._documenting = threading.Lock()
        super().__init__(app, **kwargs)

    def register_blueprint(
        self, blp: flask_smorest.Blueprint, *, parameters: Any = None, **options: Any
    ) -> None:
        """Register ``blp`` with the app now and in the document on first request."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def document(self) -> None:
        """Add every registered blueprint's views to ``spec`` (once)."""
        with self._documenting:
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                blp.register_views_in_doc(
                    self, self._app, self.spec, name=name, parameters=parameters
                )
                self.spec.tag({"name": name, "description": blp.description})

    def _openapi_json(self) -> Any:
        self.document()
        return super()._openapi_json()
