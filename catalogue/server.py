"""The HTTP server of ``brygge serve``: werkzeug's, with request limits and JSON errors."""

from __future__ import annotations

import json
from http import HTTPStatus

from werkzeug.serving import WSGIRequestHandler

from catalogue.api.errors import error_body

# API Gateway, in front of the same app on AWS, allows about 8 KB of URL and 10 KB of
# headers; the local server refuses a little more than that rather than much more (the
# standard library alone reads lines of 64 KiB and 100 header lines).
MAX_REQUEST_LINE_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
DESCRIPTIONS = {
    HTTPStatus.REQUEST_URI_TOO_LONG: (
        f"The request line (method, URL and version) is longer than {MAX_REQUEST_LINE_BYTES} bytes."
    ),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        f"The request headers are larger than {MAX_HEADER_BYTES} bytes in all, or more than "
        "100 lines."
    ),
}


class RequestHandler(WSGIRequestHandler):
    """werkzeug's request handler with Brygge's limits; its own errors in the API's shape.

    Errors found before the request reaches the app (414, 431, a malformed request line)
    are answered here, so they get ``{code, status, message}`` as well.
    """

    def parse_request(self) -> bool:
        if len(self.raw_requestline) > MAX_REQUEST_LINE_BYTES:
            self.requestline = self.request_version = self.command = ""
            self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
            return False
        if not super().parse_request():
            return False
        size = sum(len(name) + len(value) + 4 for name, value in self.headers.items())
        if size > MAX_HEADER_BYTES:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer ``code`` with the API's JSON error body and close the connection."""
        status = HTTPStatus(code)
        text = DESCRIPTIONS.get(status) or explain or message or status.phrase
        self.log_error("code %d, message %s", code, text)
        body = json.dumps(error_body(code, text)).encode()
        self.send_response(code, status.phrase)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
