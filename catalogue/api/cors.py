"""Calls to the API from browser apps on other origins (the Fetch standard's CORS protocol).

Only the bearer-token API takes part: a browser app sends its token in ``Authorization``. No
answer carries ``Access-Control-Allow-Credentials``, so a browser shows the calling app no
answer to a call made with the pages' session cookie (which the API ignores anyway). The
pages (``web.*`` endpoints, and the HTML answers at the API's own URLs) and the documentation
answer no other origin. Installed only when BRYGGE_CORS_ORIGINS names origins: otherwise no
request pays for it.
"""

from __future__ import annotations

from flask import Flask, Response, request

from catalogue.api.negotiation import API_BLUEPRINTS

# The request headers the API reads beyond those every browser may send.
ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key"
# The answer headers an app needs beyond those every browser shows it.
EXPOSED_HEADERS = (
    "ETag, Location, Link, Retry-After, WWW-Authenticate, Allow, Accept-Encoding, "
    "Content-Location, Content-Disposition"
)
# How long a browser may keep a preflight's answer (Chromium keeps one 2 hours at most).
PREFLIGHT_MAX_AGE_S = 600


def init_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer the API's calls from ``origins`` (or any origin: ``("*",)``).

    Register before the other after-request hooks: Flask runs them last to first, and this
    one must see the final answer (a 304 made from a 200 included).
    """
    any_origin = origins == ("*",)
    allowed = frozenset(origins)

    def allow_origin(response: Response) -> Response:
        """After an API request: the CORS headers for an allowed ``Origin``."""
        current = request._get_current_object()  # type: ignore[attr-defined]
        endpoint = current.endpoint
        # No endpoint: a URL that names nothing, whose JSON 404 the app may read.
        if endpoint is not None and endpoint.partition(".")[0] not in API_BLUEPRINTS:
            return response
        if response.mimetype == "text/html":  # a page at an API URL
            return response
        headers = response.headers
        if any_origin:
            origin = "*"
        else:
            # The answer depends on Origin, whichever it was: a cache must tell them apart.
            response.vary.add("Origin")
            origin = current.environ.get("HTTP_ORIGIN")
            if origin not in allowed:
                return response
        headers["Access-Control-Allow-Origin"] = origin
        environ = current.environ
        if current.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            headers["Access-Control-Allow-Methods"] = headers.get("Allow", "")
            headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE_S)
        else:
            headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        return response

    app.after_request(allow_origin)
