"""flask-smorest as Brygge uses it: the document built on demand, one error shape, bodies
parsed with limits."""

from __future__ import annotations

import threading
from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from flask import Flask
from webargs.flaskparser import FlaskParser, abort
from werkzeug.exceptions import HTTPException

from catalogue.api.bodies import BodyError, parse_json, text_problems
from catalogue.api.errors import error_body


class BodyParser(FlaskParser):
    """webargs' parser with parse_json's limits and forbidden characters refused in text."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not req.is_json:
            return ma.missing
        try:
            return parse_json(req.get_data(cache=True))
        except BodyError as error:
            abort(400, exc=error, message=str(error), errors={"json": [str(error)]})

    def pre_load(
        self, location_data: Any, *, schema: ma.Schema, req: flask.Request, location: str
    ) -> Any:
        # Before the schema: its own validators may pass such text on (Length, Email...).
        if location == "json" and (problems := text_problems(schema, location_data)):
            raise ma.ValidationError(problems)
        return location_data


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``arguments`` parse with BodyParser."""

    ARGUMENTS_PARSER = BodyParser()


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
        """Every error answer carries a ``message``, webargs' validation errors included.

        Headers the exception carries (``Allow`` of a 405) are kept; flask-smorest drops them.
        """
        payload, status, headers = super().handle_http_exception(error)
        message = payload.get("message") or error_message(
            status, error, has_errors="errors" in payload
        )
        kept = {name: value for name, value in error.get_headers() if name != "Content-Type"}
        kept.update(headers or {})
        return error_body(status, message, payload.get("errors")), status, kept


def error_message(status: int, error: HTTPException, *, has_errors: bool) -> str:
    """A one-line message for an HTTP error that came without one."""
    if has_errors and status == 422:
        return "The request is not valid; errors names each field and why."
    if has_errors:
        return "The request could not be read; errors says where."
    return error.description or error.name
