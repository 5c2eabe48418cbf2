"""The only table from failures to HTTP statuses; every error answer has one shape."""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import UnsupportedMediaType

from catalogue.dcat.negotiation import NotAcceptable
from catalogue.domain import errors

log = logging.getLogger(__name__)

STATUS = {
    errors.NotFound: 404,
    errors.AlreadyExists: 409,
    errors.HasChildren: 409,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.ImmutableField: 422,
    errors.InvalidValue: 422,
    errors.InvalidValues: 422,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.TooManyAttempts: 429,
    NotAcceptable: 406,
    errors.Unavailable: 503,
    errors.UpstreamFailed: 502,
}
# Fields that arrive in the query string rather than the body.
QUERY_FIELDS = {"cursor", "limit", "cascade", "format", "modifiedSince", "after"}
# Fields checked by the domain that arrive in the path (``/permissions/{principal}``).
PATH_FIELDS = {"principal"}
JSON_METHODS = {"POST", "PUT", "PATCH"}
# Amazon SNS posts its JSON messages as text/plain.
TEXT_JSON_ENDPOINTS = {"events.SnsDeliveries"}
# The signed upload form takes the file as multipart/form-data, as an S3 presigned POST does
# (the request for an upload URL, in the same blueprint, takes JSON like every other call).
FORM_ENDPOINTS = {"uploads.UploadForm"}
# What a client is told of a store failure that reached the API as the store said it.
STORE_FAILURE_MESSAGES = {
    404: "the resource no longer exists",
    409: "the resource already exists",
    412: "the resource changed while this request was writing it: read it again and retry",
}


def error_body(status: int, message: str | None = None, field_errors: dict | None = None) -> dict:
    phrase = HTTPStatus(status).phrase
    body: dict = {"code": status, "status": phrase, "message": message or phrase}
    if field_errors:
        body["errors"] = field_errors
    return body


def error_response(
    status: int,
    message: str | None = None,
    field_errors: dict | None = None,
    headers: dict | None = None,
) -> Response:
    response = jsonify(error_body(status, message, field_errors))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_domain_error(error: errors.DomainError) -> Response:
    status = next(code for kind, code in STATUS.items() if isinstance(error, kind))
    field_errors = None
    if isinstance(error, errors.InvalidValues):
        field_errors = {"json": error.errors}
    elif error.field and (status == 422 or (status == 409 and request_gave(error.field))):
        location = field_location(error.field)
        reason = getattr(error, "reason", error.message)
        field_errors = {location: {error.field: [reason]}}
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="brygge"'
    headers.update(error_headers(error))
    message = error.message
    if error.key is not None:
        # A store's own failure no repository put in a resource's words: its text names
        # store keys, which are no business of a client.
        log.warning("store error reached the API untranslated: %s", error.message)
        message = STORE_FAILURE_MESSAGES.get(status, HTTPStatus(status).phrase)
    return error_response(status, message, field_errors, headers)


def field_location(field: str) -> str:
    """Where a field a domain error names came from, as webargs names it: the query string,
    the path or else the JSON body."""
    if field in QUERY_FIELDS:
        return "query"
    return "path" if field in PATH_FIELDS else "json"


def request_gave(field: str) -> bool:
    """True when the request itself carries ``field`` where field_location says it came from.

    A conflict names the field it is about (an id already taken, a file already uploaded)
    only when the client sent it: one about the stored resource's own state (a dataset's
    sourceType) would send the client looking for it in its request.
    """
    location = field_location(field)
    if location == "query":
        return field in request.args
    if location == "path":
        return field in (request.view_args or {})
    body = request.get_json(silent=True)
    return isinstance(body, dict) and field in body


def error_headers(error: errors.DomainError) -> dict[str, str]:
    """Headers a failure's answer carries whatever its form (JSON or a page)."""
    if isinstance(error, errors.TooManyAttempts):
        return {"Retry-After": str(error.retry_after_s)}
    return {}


def unavailable_reason(error: BaseException) -> str | None:
    """What to tell a client of an AWS service that did not answer; None for other errors.

    botocore's connection failures and timeouts (after its own retries) mean the service
    may answer a retry: 503, as throttling is. botocore is loaded by then if it raised.
    """
    botocore_errors = sys.modules.get("botocore.exceptions")
    if botocore_errors is None:
        return None
    if isinstance(error, botocore_errors.ConnectTimeoutError | botocore_errors.ReadTimeoutError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "an AWS endpoint")
        return f"{endpoint} did not answer in time; try again shortly"
    if isinstance(error, botocore_errors.ConnectionError | botocore_errors.HTTPClientError):
        endpoint = getattr(error, "kwargs", {}).get("endpoint_url", "an AWS endpoint")
        return f"{endpoint} could not be reached; try again shortly"
    return None


def handle_unexpected(error: Exception) -> Response:
    reason = unavailable_reason(error)
    if reason is not None:
        log.warning("AWS unreachable on %s %s: %s", request.method, request.path, error)
        return error_response(503, reason)
    # The traceback goes to the log, never to the client.
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500)


def require_json_body() -> Response | None:
    """Answer 415 for a body that is not JSON, or compressed, on an endpoint that takes JSON."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.method not in JSON_METHODS:
        return None
    # Pages post HTML forms.
    if req.url_rule is None or req.url_rule.endpoint.startswith("web."):
        return None
    if req.url_rule.endpoint in FORM_ENDPOINTS:
        return None
    has_body = bool(req.content_length) or req.headers.get("Transfer-Encoding")
    if not has_body:
        return None
    encoding = req.headers.get("Content-Encoding", "").strip()
    if encoding and encoding.lower() != "identity":
        # RFC 9110 15.5.16: a content coding the server does not take is 415, and
        # Accept-Encoding says which it takes; read as it came, the body was not JSON.
        return error_response(
            415,
            f"The body is sent with Content-Encoding {encoding}; send it uncompressed.",
            headers={"Accept-Encoding": "identity"},
        )
    if req.url_rule.endpoint in TEXT_JSON_ENDPOINTS:
        return None
    mimetype = req.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return None
    raise UnsupportedMediaType("The body must be JSON (Content-Type: application/json).")


def register(app: Flask) -> None:
    """Install the handlers; flask-smorest already renders HTTPException in this shape."""
    for kind in STATUS:
        app.register_error_handler(kind, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
    app.before_request(require_json_body)
