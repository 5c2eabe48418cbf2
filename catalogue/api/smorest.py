"""flask-smorest as Brygge uses it: the document built on demand, one error shape, bodies
parsed with limits."""

from __future__ import annotations

import functools
import importlib
import json
import threading
from inspect import iscoroutinefunction
from typing import Any, ClassVar

import flask
import flask_smorest
import marshmallow as ma
import werkzeug
from flask import Flask, request
from flask.views import MethodView as FlaskMethodView
from flask_smorest.utils import (
    get_appcontext,
    resolve_schema_instance,
    set_status_and_headers_in_response,
    unpack_tuple_response,
)
from marshmallow import RAISE
from webargs.flaskparser import FlaskParser, abort
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from catalogue.api.bodies import BodyError, parse_json, text_problems, unreadable_reason
from catalogue.api.errors import error_body
from catalogue.api.etags import document_conditions
from catalogue.schemas.common import Timestamp

# How callers authenticate, as OpenAPI says it: Swagger UI's "Authorize" sends it.
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (`brygge token create`) or an OIDC access token (a JWT).",
}
ANONYMOUS_OR_TOKEN: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
TOKEN: list[dict[str, list[str]]] = [{"bearerAuth": []}]
# Paths that need no token: liveness, and the signed URLs that carry their own proof.
NO_TOKEN_PREFIXES = ("/health", "/uploads/", "/downloads/")
READ_METHODS = ("get", "head", "options")
QUERY_LOCATIONS = ("query", "querystring")
# Argument values a view cannot change in place, so one parse serves many requests.
FLAT_ARGUMENTS = (str, int, float, bool, type(None))
# ``arguments``' keyword arguments that only document (flask-smorest keeps them from use_args).
DOC_ONLY = frozenset({"required", "description", "example", "examples", "content_type"})
# Field types documented otherwise than apispec does.
FIELD_FORMATS = {ma.fields.Url: ("string", "uri"), Timestamp: ("string", "date-time")}
# Distinct query strings remembered per parser; past it, the memory starts over.
MAX_PARSED_QUERIES = 1024


class BodyParser(FlaskParser):
    """webargs' parser with parse_json's limits and forbidden characters refused in text.

    An unknown query parameter is a 422 naming it: a misspelt filter (``?keywrd=``) must not
    quietly answer an unfiltered list.
    """

    DEFAULT_UNKNOWN_BY_LOCATION: ClassVar[dict[str, str | None]] = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (schema, unknown, query string) -> the arguments parsed from it.
        self._parsed_queries: dict[tuple[Any, Any, bytes], dict[str, Any]] = {}

    def parse(self, argmap: Any, req: flask.Request | None = None, **kwargs: Any) -> Any:
        """webargs' ``parse``; a query string parsed before gives the same arguments again.

        A schema's load is a function of the query string alone, and a client repeating one
        (a list's first page, a read with no parameters) pays for the load once. Only flat
        arguments are kept (each view takes its own copy), and only a query that passed.
        """
        location = kwargs.get("location")
        if location not in QUERY_LOCATIONS or kwargs.get("validate") is not None:
            return super().parse(argmap, req, **kwargs)
        if not isinstance(argmap, ma.Schema) and not (
            isinstance(argmap, type) and issubclass(argmap, ma.Schema)
        ):
            return super().parse(argmap, req, **kwargs)
        current = req if req is not None else request._get_current_object()  # type: ignore[attr-defined]
        key = (argmap, kwargs.get("unknown"), current.query_string)
        parsed = self._parsed_queries.get(key)
        if parsed is None:
            parsed = super().parse(argmap, req, **kwargs)
            if not isinstance(parsed, dict) or not all(
                isinstance(value, FLAT_ARGUMENTS) for value in parsed.values()
            ):
                return parsed
            if len(self._parsed_queries) >= MAX_PARSED_QUERIES:
                self._parsed_queries.clear()
            self._parsed_queries[key] = parsed
        return dict(parsed)

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not req.is_json:
            return ma.missing
        try:
            return parse_json(req.get_data(cache=True))
        except BodyError as error:
            abort(400, exc=error, message=str(error), errors={"json": [str(error)]})

    def _handle_invalid_json_error(
        self,
        error: json.JSONDecodeError | UnicodeDecodeError,
        req: flask.Request,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        # webargs says "Invalid JSON body." alone: neither where nor why.
        reason = unreadable_reason(error)
        abort(400, exc=error, errors={"json": [reason]})

    def pre_load(
        self, location_data: Any, *, schema: ma.Schema, req: flask.Request, location: str
    ) -> Any:
        # Before the schema: its own validators may pass such text on (Length, Email...).
        if location == "json" and (problems := text_problems(schema, location_data)):
            raise ma.ValidationError(problems)
        if location in QUERY_LOCATIONS and (repeated := repeated_arguments(schema, location_data)):
            raise ma.ValidationError(
                {name: ["given more than once; it takes one value"] for name in repeated}
            )
        return location_data


def repeated_arguments(schema: ma.Schema, arguments: Any) -> list[str]:
    """The query parameters of ``schema`` that take one value and came more than once.

    webargs would keep the first value and drop the others without a word: ``?limit=1&limit=
    500`` or ``?owner=a&owner=b`` would answer a list the client did not ask for.
    """
    values = getattr(arguments, "data", None)
    if not isinstance(values, MultiDict):
        return []
    multiple = getattr(arguments, "multiple_keys", set())
    known = {field.data_key or name for name, field in schema.load_fields.items()}
    return [
        name
        for name, given in values.lists()
        if len(given) > 1 and name in known and name not in multiple
    ]


class MethodView(FlaskMethodView):
    """Flask's MethodView, its view calling the method's handler directly.

    Flask makes an instance per request, looks the handler up by name and asks the app to
    ``ensure_sync`` it, twice: ~5 us of a ~140 us read. Here one instance serves every
    request (the API's views keep nothing on ``self``) and a table made once maps each
    HTTP method to its bound handler. A class with async handlers or ``decorators`` keeps
    Flask's view.
    """

    init_every_request = False

    @classmethod
    def as_view(cls, name: str, *class_args: Any, **class_kwargs: Any) -> Any:
        flask_view = super().as_view(name, *class_args, **class_kwargs)
        instance = cls(*class_args, **class_kwargs)
        handlers = {method: getattr(instance, method.lower()) for method in cls.methods or ()}
        if "GET" in handlers:
            handlers.setdefault("HEAD", handlers["GET"])
        if cls.decorators or any(iscoroutinefunction(h) for h in handlers.values()):
            return flask_view

        def view(**kwargs: Any) -> Any:
            handler = handlers.get(request._get_current_object().method)  # type: ignore[attr-defined]
            if handler is None:  # OPTIONS where the rule provides none itself
                raise MethodNotAllowed(valid_methods=sorted(handlers))
            return handler(**kwargs)

        # Flask's view's name, documentation and attributes (view_class, methods...).
        return functools.update_wrapper(view, flask_view)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint whose ``arguments`` parse with BodyParser.

    ``alt_response`` documents without wrapping: flask-smorest's wrapper only calls the
    view, one more call per alternative on every request. ``arguments`` and ``response``
    keep flask-smorest's document and behaviour but call a plain (not async) view
    directly, where flask-smorest asks the app to ``ensure_sync`` it on every request.
    """

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Any:
        """flask-smorest's ``arguments``: webargs' ``use_args`` straight over a plain view."""
        document = super().arguments(schema, location=location, **kwargs)
        # flask-smorest passes use_args what ``arguments`` takes beyond its documentation.
        use_args = {name: value for name, value in kwargs.items() if name not in DOC_ONLY}

        def decorator(func: Any) -> Any:
            documented = document(func)
            if iscoroutinefunction(func):
                return documented
            wrapper = self.ARGUMENTS_PARSER.use_args(schema, location=location, **use_args)(func)
            wrapper._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return wrapper

        return decorator

    def response(self, status_code: Any, schema: Any = None, **kwargs: Any) -> Any:
        """flask-smorest's ``response``, its wrapper calling a plain view directly."""
        document = super().response(status_code, schema, **kwargs)
        dump_schema = resolve_schema_instance(schema)

        def decorator(func: Any) -> Any:
            documented = document(func)
            if iscoroutinefunction(func):
                return documented

            # flask-smorest's response wrapper (0.47), without its ensure_sync.
            @functools.wraps(func)
            def wrapper(*args: Any, **kw: Any) -> Any:
                result, status, headers = unpack_tuple_response(func(*args, **kw))
                if isinstance(result, werkzeug.Response):
                    set_status_and_headers_in_response(result, status, headers)
                    return result
                dumped = result if dump_schema is None else dump_schema.dump(result)
                get_appcontext()["result_dump"] = dumped
                response = flask.jsonify(self._prepare_response_content(dumped))
                set_status_and_headers_in_response(response, status, headers)
                if status is None:
                    response.status_code = status_code
                return response

            wrapper._apidoc = documented._apidoc  # type: ignore[attr-defined]
            return wrapper

        return decorator

    def alt_response(self, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's ``alt_response``: the same document, the view itself kept."""
        document = super().alt_response(*args, **kwargs)

        def decorator(func: Any) -> Any:
            # The view takes the _apidoc flask-smorest's wrapper would carry (a copy: the
            # view's own is not changed in place).
            func._apidoc = document(func)._apidoc
            return func

        return decorator


class Api(flask_smorest.Api):
    """flask-smorest's Api: OpenAPI document built when first asked for; errors with messages.

    Documenting every view is about a third of the app's start-up (bench/coldstart.py), and
    a Lambda cold start almost never serves ``/openapi.json``. Code that reads ``spec``
    directly calls ``document()`` first.
    """

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        # Blueprints, or the names of resource modules (catalogue/api/lazy_routes.py) whose
        # ``blp`` is imported when the document is built.
        self._undocumented: list[tuple[flask_smorest.Blueprint | str, str, Any]] = []
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

    def register_lazily(self, module: str, name: str) -> None:
        """Document ``module``'s blueprint ``name``, whose rules the route table adds."""
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._undocumented.append((module, name, None))

    def document(self) -> None:
        """Add every registered blueprint's views to ``spec`` (once), each with its security."""
        with self._documenting:
            if self._undocumented and "bearerAuth" not in self.spec.components.security_schemes:
                self.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
                # apispec writes format "url", which JSON Schema does not define: validators
                # and client generators skip it; "uri" is an absolute URL's. The converter's
                # own copy: apispec's mapping is shared by every spec of the process.
                converter = self.ma_plugin.converter
                converter.field_mapping = {**converter.field_mapping, **FIELD_FORMATS}
            while self._undocumented:
                blp, name, parameters = self._undocumented.pop(0)
                if isinstance(blp, str):
                    blp = importlib.import_module(blp).blp
                blp.register_views_in_doc(
                    self, self._app, self.spec, name=name, parameters=parameters
                )
                self.spec.tag({"name": name, "description": blp.description})
            # apispec keeps operations in ``_paths`` (flask-smorest is capped below 0.48).
            document_conditions(self.spec._paths)
            for path, operations in self.spec._paths.items():
                for method, operation in operations.items():
                    if method != "parameters":  # path-level parameters, not an operation
                        operation.setdefault("security", operation_security(path, method))

    def _openapi_swagger_ui(self) -> Any:
        # Brygge's own page: Swagger UI from the package's static files, no other host.
        return flask.render_template(
            "docs/swagger_ui.html",
            title=self.spec.title,
            spec_url=flask.url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            swagger_ui_config=self._app.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}),
        )

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


def operation_security(path: str, method: str) -> list[dict[str, list[str]]]:
    """The OpenAPI ``security`` of one operation: none, anonymous-or-token, or a token."""
    if path.startswith(NO_TOKEN_PREFIXES):
        return []
    # Reads of public data need no token; a token shows the caller's non-public data too.
    return ANONYMOUS_OR_TOKEN if method in READ_METHODS else TOKEN


def error_message(status: int, error: HTTPException, *, has_errors: bool) -> str:
    """A one-line message for an HTTP error that came without one."""
    if has_errors and status == 422:
        return "The request is not valid; errors names each field and why."
    if has_errors:
        return "The request could not be read; errors says where."
    if status == 413 and error.description == RequestEntityTooLarge.description:
        # Werkzeug's own words ("The data value transmitted exceeds the capacity limit.")
        # name neither the limit nor the way files are sent.
        limit = flask.current_app.config["MAX_CONTENT_LENGTH"]
        return (
            f"The body is over {limit} bytes ({limit / 1024 / 1024:g} MiB), the most a request "
            "takes; files go to an upload URL (POST /datasets/{id}/versions/{v}/uploads)."
        )
    return error.description or error.name
