"""The api function's Lambda entry point: API Gateway requests into the WSGI app.

Zappa's own handler (``handler.lambda_handler``) routes every kind of event Zappa supports,
and importing it loads asyncio, Zappa's ASGI and WebSocket support and werkzeug's server:
about 0.35x of a bare Flask + boto3 cold start before the app itself loads. The api
function receives only API Gateway requests (REST payload 1.0, HTTP API 2.0) and Zappa's
keep-warm schedule, so ``zappa_settings.json`` points its ``lambda_handler`` here. Request
translation stays Zappa's (``zappa.wsgi``), with the same stage-path rule as Zappa's
handler, so links are the same through either handler. The app is not wrapped in
``ZappaWSGIMiddleware``: it adds a lower-case copy of every ``Set-Cookie`` header instead of
renaming it, so each cookie would reach the browser twice (four times over payload 1.0's
two header maps); payload 1.0's ``multiValueHeaders`` and 2.0's ``cookies`` carry several
cookies without it.
"""

from __future__ import annotations

import base64
import gc
import importlib
import logging
import os
from types import ModuleType
from typing import Any

from catalogue.collector import collector_paused

log = logging.getLogger(__name__)

# The module ``zappa package`` writes beside the handler with the stage's settings.
SETTINGS_MODULE = "zappa_settings"


class _Function:
    """What one Lambda container keeps between invocations: settings and the app."""

    settings: ModuleType | None = None
    app: Any = None
    text_mimetypes: tuple[str, ...] = ()


_loaded = _Function()


def load(settings_module: str = SETTINGS_MODULE) -> _Function:
    """Load the stage's settings into the environment and build the app, once per container."""
    if _loaded.app is not None:
        return _loaded
    # What a cold start allocates (modules, classes, the app) lives as long as the container:
    # collecting garbage meanwhile finds none, yet a full collection over it cost ~30 ms of
    # each cold start (bench/coldstart.py). So the collector pauses while the app loads, and
    # ``gc.freeze`` then moves it all out of the collector's view for the container's life.
    with collector_paused():
        try:
            return _load(settings_module)
        finally:
            gc.freeze()


def _load(settings_module: str) -> _Function:
    from zappa.utilities import DEFAULT_TEXT_MIMETYPES

    settings = importlib.import_module(settings_module)
    if settings.LOG_LEVEL:
        logging.getLogger().setLevel(logging.getLevelName(settings.LOG_LEVEL))
    # Zappa keeps the stage's environment_variables in its settings module, not in the
    # function's configuration: they must be in os.environ before the app reads them.
    os.environ.update({"SERVERTYPE": "AWS Lambda", "FRAMEWORK": "Zappa"})
    os.environ.update({"PROJECT": settings.PROJECT_NAME, "STAGE": settings.API_STAGE})
    os.environ.update(settings.ENVIRONMENT_VARIABLES)
    application = importlib.import_module(settings.APP_MODULE)
    extra_text = tuple(getattr(settings, "ADDITIONAL_TEXT_MIMETYPES", None) or ())
    _loaded.settings = settings
    _loaded.text_mimetypes = tuple(DEFAULT_TEXT_MIMETYPES) + extra_text
    _loaded.app = getattr(application, settings.APP_FUNCTION)
    return _loaded


def forget() -> None:
    """Drop the loaded settings and app (a new container, for tests)."""
    _loaded.settings = None
    _loaded.app = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """Answer one API Gateway request; a keep-warm schedule only makes sure the app is loaded.

    Any other event is refused with an error result: the api function takes no commands.
    """
    function = load()
    if event.get("version") == "2.0":
        return _respond(function, event, context, _v2_script_name(event), version=2)
    if event.get("httpMethod"):
        return _respond(function, event, context, _v1_script_name(function, event), version=1)
    if event.get("detail-type") == "Scheduled Event":
        return None
    kind = sorted(event)[:5]
    log.error("the api function only answers API Gateway requests; got an event with %s", kind)
    return {"error": "the api function only answers API Gateway requests"}


def _v2_script_name(event: dict[str, Any]) -> str:
    # An HTTP API's execute-api URL keeps the stage in rawPath; a custom domain mapping or a
    # function URL does not. Matched on a segment boundary, as Zappa's handler does.
    stage = (event.get("requestContext") or {}).get("stage")
    raw_path = event.get("rawPath", "")
    if stage and (raw_path == f"/{stage}" or raw_path.startswith(f"/{stage}/")):
        return f"/{stage}"
    return ""


def _v1_script_name(function: _Function, event: dict[str, Any]) -> str:
    # A REST API's execute-api host serves under /<stage>, which the event's path leaves out;
    # a custom domain serves at its root. A console test has no Host header.
    host = _v1_host(event)
    settings = function.settings
    assert settings is not None
    if host:
        return f"/{settings.API_STAGE}" if "amazonaws.com" in host else ""
    return "" if settings.DOMAIN else f"/{settings.API_STAGE}"


def _v1_host(event: dict[str, Any]) -> str | None:
    """The Host header of a payload 1.0 event, whatever the case of its name.

    API Gateway passes header names as the client sent them: an HTTP/2 client sends
    ``host`` (HTTP/2 field names are lowercase). ``multiValueHeaders`` may carry it alone.
    """
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "host" and value:
            return str(value)
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if name.lower() == "host" and values:
            return str(values[0])
    return None


def _respond(
    function: _Function, event: dict[str, Any], context: Any, script_name: str, *, version: int
) -> dict[str, Any]:
    from werkzeug.wrappers import Response
    from zappa.wsgi import create_wsgi_request

    settings = function.settings
    assert settings is not None
    environ = create_wsgi_request(
        event,
        script_name=script_name,
        base_path=getattr(settings, "BASE_PATH", None),
        trailing_slash=False,
        binary_support=settings.BINARY_SUPPORT,
        context_header_mappings=settings.CONTEXT_HEADER_MAPPINGS,
    )
    environ.update({"HTTPS": "on", "wsgi.url_scheme": "https"})
    # Zappa decodes the path it routes by; the path as sent, %2F and all, lets the app
    # refuse an encoded slash in an id (catalogue.api.canonical_paths) as it does locally.
    environ["RAW_URI"] = event.get("rawPath" if version == 2 else "path") or ""
    environ.update({"lambda.context": context, "lambda.event": event})
    with Response.from_app(function.app, environ) as response:
        body, is_base64 = _body(function, response)
        if version == 2:
            cookies = [value for key, value in response.headers if key.lower() == "set-cookie"]
            headers: dict[str, str] = {}
            for key, value in response.headers:
                if key.lower() != "set-cookie":
                    headers[key] = f"{headers[key]},{value}" if key in headers else value
            return {
                "cookies": cookies,
                "isBase64Encoded": is_base64,
                "statusCode": response.status_code,
                "headers": headers,
                "body": body,
            }
        answer: dict[str, Any] = {"statusCode": response.status_code}
        if body is not None:
            answer["body"] = body
            if is_base64:
                answer["isBase64Encoded"] = True
        if "headers" in event:
            answer["headers"] = dict(response.headers.items())
        if "multiValueHeaders" in event:
            answer["multiValueHeaders"] = {
                key: response.headers.getlist(key) for key, _ in response.headers
            }
        return answer


def _body(function: _Function, response: Any) -> tuple[str | None, bool]:
    # API Gateway carries binary bodies base64-encoded: compressed ones, and every type that
    # is not text, when the stage has binary_support (Zappa's rule).
    if not response.data:
        return None, False
    settings = function.settings
    assert settings is not None
    binary = settings.BINARY_SUPPORT and (
        bool(response.headers.get("Content-Encoding"))
        or not response.mimetype.startswith(function.text_mimetypes)
    )
    if binary:
        return base64.b64encode(response.data).decode("ascii"), True
    return response.get_data(as_text=True), False
