"""Uploads and downloads: upload URLs, the local upload form, download redirects.

``POST /uploads/{token}`` and ``GET /downloads/{token}`` exist for the local mode, where the
API itself stands in for S3's presigned POST and GET.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast
from urllib.parse import quote

from flask import Response, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from werkzeug.wrappers import Response as WerkzeugResponse

from catalogue.auth.permissions import READ, WRITE, require
from catalogue.auth.principal import current_principal
from catalogue.domain import signing
from catalogue.domain.errors import Conflict, Forbidden, InvalidValue, NotFound
from catalogue.domain.object_keys import clean_filename, object_key
from catalogue.schemas.uploads import UploadRequestSchema, UploadSchema
from catalogue.services import Services, services
from pipelines import presign
from pipelines.objects import CHUNK_BYTES, ObjectNotFound
from pipelines.trigger import local_hook, object_store

log = logging.getLogger(__name__)

# The form fields before the file are small (key, policy, signature): bound what they may use.
MAX_FIELDS_BYTES = 64 * 1024
MAX_FORM_PARTS = 32

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


def authorize(dataset_id: str, scope: str, *, access_rights: str | None = None) -> None:
    """Check the caller may act on the dataset with ``scope`` (``read`` or ``write``).

    The one seam for the permission checks of this module: reading a public dataset needs
    no token; everything else goes to ``catalogue.auth.permissions.require`` (401, 403, or
    404 for a dataset the caller may not see).
    """
    if scope == READ and access_rights == "public":
        return
    require(dataset_id, scope)


def create_upload(
    svc: Services, dataset_id: str, version: str, data: Mapping[str, Any], *, principal: str
) -> dict[str, Any]:
    """Make the edition (unless given), the WAITING run and the upload URL of one file.

    Raises NotFound for an unknown dataset, version or edition; Conflict when the dataset's
    sourceType is not ``file``; InvalidValue for a bad filename or size.
    """
    authorize(dataset_id, WRITE)
    filename = clean_filename(data["filename"])
    dataset = svc.repositories.datasets.get(dataset_id)
    source_type = dataset.get("sourceType", "file")
    if source_type != "file":
        raise Conflict(
            f"dataset {dataset_id} has sourceType {source_type}; "
            "uploads need sourceType file (change it with PATCH first)",
            field="sourceType",
        )
    size = data.get("size")
    check_size(svc, size)
    repositories = svc.repositories
    if data.get("edition"):
        edition = repositories.editions.get([dataset_id, version, data["edition"]])["edition"]
    else:
        edition = repositories.editions.create([dataset_id, version], {}, principal=principal)[
            "edition"
        ]
    key = str(object_key("raw", dataset["accessRights"], dataset_id, version, edition, filename))
    run = svc.runs.create_waiting(dataset_id, version, edition, key, principal=principal)
    if run.get("status") != "WAITING":
        # The run of this key has started: a second upload would start nothing.
        raise Conflict(
            f"{filename} was already uploaded to edition {edition} (run {run['id']} is "
            f"{run.get('status')}); upload it to a new edition",
            field="filename",
        )
    target = upload_target(svc, key, size, data.get("content_type"))
    return {
        "edition": edition,
        "key": key,
        "run": {"id": run["id"], "status": run.get("status")},
        "upload": target,
    }


def check_size(svc: Services, size: int | None) -> None:
    """Raise InvalidValue(size) for a size this mode cannot take in one upload."""
    if size is None:
        return
    if svc.settings.backend == "aws":
        if size > presign.MAX_OBJECT_BYTES:
            raise InvalidValue("size", f"must be at most {presign.MAX_OBJECT_BYTES} bytes")
    elif size > svc.settings.upload_max_bytes:
        raise InvalidValue("size", f"must be at most {svc.settings.upload_max_bytes} bytes")


def upload_target(
    svc: Services, key: str, size: int | None, content_type: str | None
) -> presign.UploadTarget:
    """A presigned POST (or multipart, over 5 GB) on aws; a signed API URL locally."""
    settings = svc.settings
    now = svc.clock()
    if settings.backend == "aws":
        if size is not None and size > presign.MAX_SINGLE_UPLOAD_BYTES:
            return presign.s3_multipart_upload(
                settings.data_bucket,
                key,
                size=size,
                content_type=content_type,
                ttl_s=settings.upload_url_ttl_s,
                now=now,
            )
        limit = min(settings.upload_max_bytes, presign.MAX_SINGLE_UPLOAD_BYTES)
        return presign.s3_presigned_post(
            settings.data_bucket,
            key,
            max_bytes=limit if size is None else size,
            content_type=content_type,
            ttl_s=settings.upload_url_ttl_s,
            now=now,
        )
    return presign.local_upload(
        base_url(svc),
        key,
        max_bytes=settings.upload_max_bytes if size is None else size,
        content_type=content_type,
        ttl_s=settings.upload_url_ttl_s,
        now=now,
        signing_key=settings.signing_key,
    )


def base_url(svc: Services) -> str:
    return svc.settings.base_url or request.host_url.rstrip("/")


def require_local_mode(svc: Services) -> None:
    """Raise NotFound on aws, where S3 itself takes uploads and serves downloads."""
    if svc.settings.backend != "local":
        raise NotFound("signed API URLs exist in local mode only; on aws, S3 serves them")


def receive_upload(svc: Services, token: str) -> None:
    """Check a local upload form against its token and stream its file into the store.

    Raises Forbidden (403) for a bad, tampered or expired token or fields, RequestEntityTooLarge
    (413) past the signed size, BadRequest (400) for a body that is not a complete form.
    """
    require_local_mode(svc)
    now = svc.clock()
    signing_key = svc.settings.signing_key
    try:
        # Checked before the body is read: a refused upload costs no bandwidth to store.
        policy = signing.read_upload_token(token, signing_key, now)
    except signing.SignatureError as error:
        raise Forbidden(f"upload refused: {error}") from None
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    if mimetype != "multipart/form-data" or not options.get("boundary"):
        raise BadRequest("the upload must be multipart/form-data")
    # Flask caps bodies at 1 MB for JSON; this endpoint takes up to the signed size.
    request.max_content_length = policy.max_bytes + MAX_FIELDS_BYTES
    form = FormStream(request.stream, options["boundary"].encode())
    fields = form.fields_before_file()
    try:
        policy = signing.check_upload_form(token, fields, signing_key, now)
    except signing.SignatureError as error:
        raise Forbidden(f"upload refused: {error}") from None
    objects = object_store(svc.settings, on_created=local_hook(svc))
    # FileBody has the read() the store uses, which is all of IO[bytes] put() touches.
    body = cast(IO[bytes], form.file_body(policy.max_bytes))
    objects.put(policy.key, body, content_type=policy.content_type)


class FormStream:
    """A multipart/form-data body read as a stream: the fields, then the file part's bytes.

    Only the fields are held in memory (bounded by MAX_FIELDS_BYTES); the file is read in
    chunks as the store asks for them.
    """

    def __init__(self, stream: IO[bytes], boundary: bytes) -> None:
        self.stream = stream
        # No max_form_memory_size: the decoder's buffer also holds file data; the fields are
        # bounded in fields_before_file instead.
        self.decoder = MultipartDecoder(boundary, max_parts=MAX_FORM_PARTS)
        self.events = self._events()

    def _events(self) -> Iterator[Any]:
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError as error:
                raise BadRequest(f"the form is incomplete: {error}") from None
            if isinstance(event, NeedData):
                self.decoder.receive_data(self.stream.read(CHUNK_BYTES) or None)
                continue
            yield event
            if isinstance(event, Epilogue):
                return

    def fields_before_file(self) -> dict[str, str]:
        """Read the fields up to the file part (which must come last, as S3 requires)."""
        fields: dict[str, str] = {}
        used = 0
        name = None
        value = bytearray()
        for event in self.events:
            if isinstance(event, File):
                return fields
            if isinstance(event, Field):
                name, value = event.name, bytearray()
            elif isinstance(event, Data) and name is not None:
                value += event.data
                used += len(event.data)
                if used > MAX_FIELDS_BYTES:
                    raise RequestEntityTooLarge("the form fields are too large")
                if not event.more_data:
                    fields[name] = value.decode("utf-8", "replace")
                    name = None
        raise BadRequest("the form has no file part (it must come after the fields)")

    def file_body(self, max_bytes: int) -> FileBody:
        return FileBody(self, max_bytes)


class FileBody:
    """The file part as a read-only binary stream; raises 413 once past ``max_bytes``.

    A read returns at most one decoded piece of the form (short reads, as a raw stream may),
    so the bytes are not copied again on their way to the store.
    """

    def __init__(self, form: FormStream, max_bytes: int) -> None:
        self.form = form
        self.max_bytes = max_bytes
        self.received = 0
        self.done = False
        self.pending = b""
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK_BYTES), b""))
        while self.offset >= len(self.pending) and not self.done:
            self.pending, self.offset = self._pull(), 0
        start = self.offset
        self.offset = min(len(self.pending), start + size)
        if start == 0 and self.offset == len(self.pending):
            return self.pending
        return self.pending[start : self.offset]

    def _pull(self) -> bytes:
        event = next(self.form.events, None)
        if not isinstance(event, Data):
            raise BadRequest("the file part ended without its closing boundary")
        self.received += len(event.data)
        if self.received > self.max_bytes:
            raise RequestEntityTooLarge(
                f"the file is larger than the {self.max_bytes} bytes this upload allows"
            )
        if not event.more_data:
            self.done = True
            # Whatever follows the file is ignored, as S3 does; read it so the body is consumed.
            for _ in self.form.events:
                pass
        return event.data

    def seekable(self) -> bool:
        return False


def download_location(svc: Services, path: list[str]) -> str:
    """A short-lived URL of the file of the distribution at ``path``.

    Raises NotFound for an unknown distribution or one without a file.
    """
    try:
        access_rights = svc.repositories.datasets.get(path[0])["accessRights"]
    except NotFound:
        access_rights = None  # require() answers with the same 404 as for a hidden dataset
    authorize(path[0], READ, access_rights=access_rights)
    distribution = svc.repositories.distributions.get(path)
    key = distribution.get("key")
    if not key:
        raise NotFound(f"distribution {path[3]} has no file to download")
    filenames = distribution.get("filenames") or [key.rpartition("/")[2]]
    settings = svc.settings
    if settings.backend == "aws":
        return presign.s3_presigned_get(
            settings.data_bucket, key, filename=filenames[0], ttl_s=settings.download_url_ttl_s
        )
    return presign.local_download_url(
        base_url(svc),
        key,
        filename=filenames[0],
        ttl_s=settings.download_url_ttl_s,
        now=svc.clock(),
        signing_key=settings.signing_key,
    )


def stream_download(svc: Services, token: str) -> Response:
    """The response streaming a signed local download; 403 for a bad token, 404 if gone."""
    require_local_mode(svc)
    try:
        grant = signing.read_download_token(token, svc.settings.signing_key, svc.clock())
    except signing.SignatureError as error:
        raise Forbidden(f"download refused: {error}") from None
    objects = object_store(svc.settings)
    try:
        info = objects.head(grant.key)
    except ObjectNotFound:
        raise NotFound("the file of this download no longer exists") from None

    def chunks() -> Iterator[bytes]:
        with objects.open(grant.key) as body:
            while chunk := body.read(CHUNK_BYTES):
                yield chunk

    media_type = mimetypes.guess_type(grant.filename)[0] or "application/octet-stream"
    response = Response(chunks(), mimetype=media_type, direct_passthrough=True)
    response.content_length = info.bytes
    response.headers["Content-Disposition"] = (
        f"attachment; filename*=UTF-8''{quote(grant.filename)}"
    )
    return response
