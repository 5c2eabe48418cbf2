"""flask-smorest's Api as Brygge uses it: the document built on demand, one error shape."""

from __future__ import annotations

import threading
from typing import Any

import flask_smorest
from flask import Flask
from werkzeug.exceptions import HTTPException

from catalogue.api.errors import error_body


class Api(flask_smorest.Api):
    """flask-smorest's Api: OpenAPI document built when first asked for; errors with messages.

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

    def handle_http_exception(self, error: HTTPException) -> Any:
        """Every error answer carries a ``message``, webargs' validation errors included."""
        payload, status, headers = super().handle_http_exception(error)
        message = payload.get("message") or error_message(
            status, error, has_errors="errors" in payload
        )
        return error_body(status, message, payload.get("errors")), status, headers


def error_message(status: int, error: HTTPException, *, has_errors: bool) -> str:
    """A one-line message for an HTTP error that came without one."""
    if has_errors and status == 422:
        return "The request is not valid; errors names each field and why."
    if has_errors:
        return "The request could not be read; errors says where."
    return error.description or error.name
