"""Uploads and downloads: upload URLs, receiving local uploads, download URLs.

Local mode stands in for S3: the API itself takes the presigned-POST form
(``POST /uploads/{token}``) and serves signed downloads (``GET /downloads/{token}``).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Mapping
from typing import IO, Any, cast
from urllib.parse import quote

from flask import Response, request
from werkzeug.exceptions import BadRequest
from werkzeug.http import parse_options_header

from catalogue.api.multipart import MAX_FIELDS_BYTES, FormStream
from catalogue.auth.permissions import READ, WRITE, require
from catalogue.domain.errors import Conflict, Forbidden, InvalidValue, NotFound
from catalogue.domain.events import is_event_source
from catalogue.links import base_url
from catalogue.object_stores import object_store
from catalogue.runs.arrival import local_hook
from catalogue.runs.service import run_outputs
from catalogue.services import Services
from pipelines import presign, signing
from pipelines.object_keys import clean_filename, object_key, parse_object_key
from pipelines.objects import (
    CHUNK_BYTES,
    LocalObjectStore,
    ObjectExists,
    ObjectNotFound,
    ObjectStore,
)
from pipelines.runs import run_id_for
from pipelines.timestamps import timestamp


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
    if is_event_source(dataset):
        raise Conflict(
            f"dataset {dataset_id} takes events (POST .../events), not uploaded files",
            field="source",
        )
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
    target = upload_target(svc, key, size, data.get("content_type"), dataset.get("incarnation"))
    run = svc.runs.create_waiting(
        dataset_id,
        version,
        edition,
        key,
        principal=principal,
        upload_expires=timestamp(target.expires_at),
        made_edition=not data.get("edition"),
    )
    if run.get("status") != "WAITING":
        # The run of this key has started: a second upload would start nothing.
        raise Conflict(
            f"{filename} was already uploaded to edition {edition} (run {run['id']} is "
            f"{run.get('status')}); upload it to a new edition",
            field="filename",
        )
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
    svc: Services,
    key: str,
    size: int | None,
    content_type: str | None,
    incarnation: str | None = None,
) -> presign.UploadTarget:
    """A presigned POST (or multipart, over 5 GB) on aws; a signed API URL locally.

    Either carries the dataset's ``incarnation``: an upload URL fills nothing of a dataset
    deleted and made again under the same id (``check_upload_unused``, and the
    object-created trigger on aws).
    """
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
                incarnation=incarnation,
            )
        limit = min(settings.upload_max_bytes, presign.MAX_SINGLE_UPLOAD_BYTES)
        return presign.s3_presigned_post(
            settings.data_bucket,
            key,
            max_bytes=limit if size is None else size,
            content_type=content_type,
            ttl_s=settings.upload_url_ttl_s,
            now=now,
            incarnation=incarnation,
        )
    return presign.local_upload(
        base_url(),
        key,
        max_bytes=settings.upload_max_bytes if size is None else size,
        content_type=content_type,
        ttl_s=settings.upload_url_ttl_s,
        now=now,
        signing_key=settings.signing_key,
        incarnation=incarnation,
    )


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
    check_upload_unused(svc, objects, policy.key, policy.incarnation)
    # FileBody has the read() the store uses, which is all of IO[bytes] put() touches.
    body = cast(IO[bytes], form.file_body(policy.max_bytes))
    try:
        cast(LocalObjectStore, objects).put(
            policy.key, body, content_type=policy.content_type, exclusive=True
        )
    except ObjectExists:
        raise Conflict(USED_UPLOAD.format(key=policy.key, state="has landed")) from None


USED_UPLOAD = "this upload URL has been used: the object {key} {state}; ask for a new upload URL"


def check_upload_unused(
    svc: Services, objects: ObjectStore, key: str, incarnation: str | None
) -> None:
    """Raise Conflict unless the run of ``key`` still waits and no object has landed there.

    Upload URLs are single-use: a second POST must not replace the raw file of a run. A URL
    whose run is gone (its dataset, version or edition was deleted) stores nothing: its file
    would outlive the delete under an id that a later dataset may take. Nor does a URL made
    for an earlier dataset of the id (``incarnation``, signed into it) fill the run of the
    dataset made again under that id, whose key may be the very same.
    """
    parsed = parse_object_key(key)
    run = svc.runs.repository.find_run(
        run_id_for(parsed.dataset, parsed.version, parsed.edition, key)
    )
    if run is None:
        raise Conflict(
            f"this upload URL no longer waits for a file: the run of {key} is gone (its "
            "dataset, version or edition was deleted); ask for a new upload URL"
        )
    if run.get("incarnation") != incarnation:
        raise Conflict(
            f"this upload URL was made for an earlier dataset {parsed.dataset}, deleted "
            f"since; the dataset of that id now is another one. Nothing was stored at {key}; "
            "ask for a new upload URL"
        )
    if run["status"] != "WAITING":
        raise Conflict(
            USED_UPLOAD.format(key=key, state=f"went to run {run['id']} ({run['status']})")
        )
    if objects.exists(key):
        raise Conflict(USED_UPLOAD.format(key=key, state="has landed"))


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
    return signed_download_url(svc, key, filenames[0])


def output_location(svc: Services, run_id: str, n: int) -> str:
    """A short-lived URL of a run's ``n``-th output (1-based, as ``GET /runs/{id}`` lists).

    Intermediate files and the validate step's rejects: read permission on the dataset.
    Raises NotFound for an unknown run or output.
    """
    require(svc.runs.dataset_of(run_id), READ, hidden=f"run {run_id!r} not found")
    outputs = run_outputs(svc.runs.get(run_id))
    if not 1 <= n <= len(outputs):
        raise NotFound(f"run {run_id!r} has no output {n} (it has {len(outputs)})")
    key = outputs[n - 1]["key"]
    return signed_download_url(svc, key, key.rpartition("/")[2])


def signed_download_url(svc: Services, key: str, filename: str) -> str:
    """A presigned S3 GET (aws) or a signed API URL (local) of ``key``, saved as ``filename``."""
    settings = svc.settings
    if settings.backend == "aws":
        return presign.s3_presigned_get(
            settings.data_bucket, key, filename=filename, ttl_s=settings.download_url_ttl_s
        )
    return presign.local_download_url(
        base_url(),
        key,
        filename=filename,
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
