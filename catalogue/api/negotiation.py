"""406 Not Acceptable for a request to a JSON-only resource whose Accept refuses JSON.

RFC 9110 12.5.1 lets a server either honour Accept with a 406 or disregard it; the
resources with several representations (a dataset, the catalogue) refuse an Accept none of
them meets, so the JSON-only ones do too, before a write acts: a client asking for XML
must not get JSON it cannot read, nor have its POST done and its answer refused.
"""

from __future__ import annotations

from flask import Response, request

from catalogue.api.errors import error_response
from catalogue.api.route_table import ROUTES
from catalogue.dcat.negotiation import DEFAULT_ACCEPTS

# Endpoints that answer more than JSON and negotiate it themselves (RDF, Atom, files and
# the redirects to them), or whose callers are not API clients (SNS, the upload form).
OWN_NEGOTIATION = frozenset(
    {
        "datasets.DatasetById",
        "catalog.Catalog",
        "changes.DatasetEventsAtom",
        "runs.RunOutputDownload",
        "uploads.Download",
        "uploads.DownloadFile",
        "uploads.UploadForm",
        "events.SnsDeliveries",
    }
)
# The blueprints of the API's resource modules (pages and documentation are not).
API_BLUEPRINTS = frozenset(
    endpoint.partition(".")[0]
    for module, _, endpoint, *_ in ROUTES
    if module.startswith("catalogue.api.")
)


def refuse_unacceptable() -> Response | None:
    """Before each request: 406 naming application/json for a JSON-only API endpoint whose
    request's Accept gives JSON no weight. After the pages' hook, which answers a request
    that prefers a page."""
    current = request._get_current_object()  # type: ignore[attr-defined]
    accept = current.environ.get("HTTP_ACCEPT")
    if accept in DEFAULT_ACCEPTS:
        return None
    endpoint = current.endpoint
    # OPTIONS answers with no content: there is no representation for Accept to refuse.
    if endpoint is None or endpoint in OWN_NEGOTIATION or current.method == "OPTIONS":
        return None
    if endpoint.partition(".")[0] not in API_BLUEPRINTS:
        return None
    if current.accept_mimetypes["application/json"] > 0:
        return None
    return error_response(
        406, f"nothing here matches Accept: {accept}; supported: application/json"
    )
