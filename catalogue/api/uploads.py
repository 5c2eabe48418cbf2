"""Uploads and downloads: upload URLs, the local upload form, download redirects.

``POST /uploads/{token}`` and ``GET /downloads/{token}`` exist for the local mode, where the
API itself stands in for S3's presigned POST and GET; the rules live in catalogue.transfers.
"""

from __future__ import annotations

from flask import Response, redirect
from werkzeug.wrappers import Response as WerkzeugResponse

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.api.transfers import (
    create_upload,
    download_location,
    receive_upload,
    stream_download,
)
from catalogue.auth.principal import current_principal
from catalogue.schemas.uploads import UploadRequestSchema, UploadSchema
from catalogue.services import services

blp = Blueprint("uploads", __name__, description="Uploads and downloads of files")


@blp.route("/datasets/<dataset_id>/versions/<version>/uploads")
class Uploads(MethodView):
    @blp.arguments(UploadRequestSchema)
    @blp.response(201, UploadSchema)
    def post(self, data: dict, dataset_id: str, version: str) -> dict:
        """Hand out an upload URL; makes the edition (unless given) and a WAITING run."""
        return create_upload(services(), dataset_id, version, data, principal=current_principal())


@blp.route("/uploads/<token>")
class UploadForm(MethodView):
    @blp.response(204)
    @blp.doc(
        requestBody={
            "content": {"multipart/form-data": {"schema": {"type": "object"}}},
            "description": "The upload's fields in order, then the part named file.",
        }
    )
    def post(self, token: str) -> None:
        """Receive a file for a local upload URL (the fields of an S3 presigned POST)."""
        receive_upload(services(), token)


@blp.route(
    "/datasets/<dataset_id>/versions/<version>/editions/<edition>"
    "/distributions/<distribution>/download"
)
class Download(MethodView):
    @blp.doc(responses={"302": {"description": "Redirect to a short-lived download URL."}})
    def get(
        self, dataset_id: str, version: str, edition: str, distribution: str
    ) -> WerkzeugResponse:
        """Redirect to a short-lived URL of the distribution's file."""
        location = download_location(services(), [dataset_id, version, edition, distribution])
        return redirect(location, 302)


@blp.route("/downloads/<token>")
class DownloadFile(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "The file.",
                "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            }
        }
    )
    def get(self, token: str) -> Response:
        """Stream the file of a signed local download URL."""
        return stream_download(services(), token)
