"""Upload and download URLs: S3 presigned POST/GET and multipart, or signed local URLs.

Both modes answer the same shape, so a client uploads with one piece of code:
``requests.post(upload.url, data=upload.fields, files={"file": ...})``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from pipelines.aws import aws_client
from pipelines.signing import (
    DownloadGrant,
    UploadPolicy,
    download_token,
    upload_form_fields,
    upload_token,
)

# A presigned POST (like a single PutObject) takes at most 5 GB; larger files go multipart.
MAX_SINGLE_UPLOAD_BYTES = 5 * 1024**3
MAX_OBJECT_BYTES = 5 * 1024**4
# S3 parts are 5 MB to 5 GB each; 100 MB parts keep a 6 GB upload at 62 URLs, and capping
# the count at 1000 keeps a 5 TB answer small (part size then rises to the 5 GB maximum).
MIN_PART_BYTES = 5 * 1024**2
DEFAULT_PART_BYTES = 100 * 1024**2
MAX_PARTS_ANSWERED = 1000
# The object metadata naming the dataset incarnation an upload URL was made for, and the
# presigned POST's form field that sets it.
INCARNATION_METADATA = "incarnation"
INCARNATION_FIELD = f"x-amz-meta-{INCARNATION_METADATA}"


@dataclass(frozen=True, slots=True)
class PresignedPart:
    """One part of a multipart upload: PUT its bytes to ``url``, keep the ETag answered."""

    part_number: int
    url: str
    first_byte: int
    bytes: int


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    """An S3 multipart upload whose every request is presigned."""

    upload_id: str
    part_bytes: int
    parts: list[PresignedPart]
    complete_url: str
    abort_url: str


@dataclass(frozen=True, slots=True)
class UploadTarget:
    """Where and how a client sends a file: a form POST, or presigned multipart requests."""

    url: str
    fields: dict[str, str]
    expires_at: datetime
    method: str = "POST"
    multipart: MultipartUpload | None = None
    headers: dict[str, str] = field(default_factory=dict)


def presign_client() -> Any:
    """The S3 client for presigning: always s3v4 (boto3 still signs POSTs with v2 in us-east-1).

    Made on first use, once per process (``aws_client``); endpoints follow
    ``AWS_ENDPOINT_URL_S3``.
    """
    return aws_client("s3", signature_version="s3v4")


def s3_presigned_post(
    bucket: str,
    key: str,
    *,
    max_bytes: int,
    content_type: str | None,
    ttl_s: int,
    now: datetime,
    incarnation: str | None = None,
) -> UploadTarget:
    """A presigned POST for exactly ``key`` of at most ``max_bytes``.

    ``incarnation`` (the dataset's) becomes the object's metadata, fixed by the policy, so
    the object-created trigger can tell an upload made for an earlier dataset of the id.
    """
    fields: dict[str, str] = {}
    conditions: list[Any] = [["content-length-range", 0, max_bytes]]
    if content_type:
        fields["Content-Type"] = content_type
        conditions.append({"Content-Type": content_type})
    if incarnation:
        fields[INCARNATION_FIELD] = incarnation
        conditions.append({INCARNATION_FIELD: incarnation})
    post = presign_client().generate_presigned_post(
        bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=ttl_s
    )
    return UploadTarget(post["url"], post["fields"], now + timedelta(seconds=ttl_s))


def part_size(size: int, preferred: int = DEFAULT_PART_BYTES) -> int:
    """Part size for a multipart upload of ``size`` bytes, within S3's part limits."""
    return max(preferred, MIN_PART_BYTES, math.ceil(size / MAX_PARTS_ANSWERED))


def s3_multipart_upload(
    bucket: str,
    key: str,
    *,
    size: int,
    content_type: str | None,
    ttl_s: int,
    now: datetime,
    part_bytes: int | None = None,
    incarnation: str | None = None,
) -> UploadTarget:
    """Start a multipart upload of ``size`` bytes and presign its part, complete and abort URLs.

    ``part_bytes`` overrides the computed part size (tests use small parts); ``incarnation``
    becomes the object's metadata, as for ``s3_presigned_post``.
    """
    client = presign_client()
    extra: dict[str, Any] = {"ContentType": content_type} if content_type else {}
    if incarnation:
        extra["Metadata"] = {INCARNATION_METADATA: incarnation}
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key, **extra)["UploadId"]
    each = part_bytes or part_size(size)
    count = max(1, math.ceil(size / each))
    common = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
    parts = [
        PresignedPart(
            part_number=number,
            url=client.generate_presigned_url(
                "upload_part",
                Params={**common, "PartNumber": number},
                ExpiresIn=ttl_s,
                HttpMethod="PUT",
            ),
            first_byte=(number - 1) * each,
            bytes=min(each, size - (number - 1) * each),
        )
        for number in range(1, count + 1)
    ]
    multipart = MultipartUpload(
        upload_id=upload_id,
        part_bytes=each,
        parts=parts,
        complete_url=client.generate_presigned_url(
            "complete_multipart_upload", Params=common, ExpiresIn=ttl_s, HttpMethod="POST"
        ),
        abort_url=client.generate_presigned_url(
            "abort_multipart_upload", Params=common, ExpiresIn=ttl_s, HttpMethod="DELETE"
        ),
    )
    return UploadTarget(
        url=multipart.complete_url,
        fields={"key": key},
        expires_at=now + timedelta(seconds=ttl_s),
        method="MULTIPART",
        multipart=multipart,
    )


def complete_multipart_body(etags: list[str]) -> bytes:
    """The XML body that completes a multipart upload, given each part's ETag in order."""
    parts = "".join(
        f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
        for number, etag in enumerate(etags, start=1)
    )
    return f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()


def s3_presigned_get(bucket: str, key: str, *, filename: str, ttl_s: int) -> str:
    """A presigned GET of ``key`` that downloads as ``filename``."""
    disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
    return str(
        presign_client().generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=ttl_s,
        )
    )


def local_upload(
    base_url: str,
    key: str,
    *,
    max_bytes: int,
    content_type: str | None,
    ttl_s: int,
    now: datetime,
    signing_key: bytes,
    incarnation: str | None = None,
) -> UploadTarget:
    """A signed upload URL on the API itself (``POST /uploads/{token}``), S3-like fields.

    ``incarnation`` (the dataset's) is signed into the token, so the URL fills nothing of
    a dataset made again under the same id."""
    policy = UploadPolicy(key, max_bytes, now + timedelta(seconds=ttl_s), content_type, incarnation)
    token = upload_token(policy, signing_key)
    return UploadTarget(
        f"{base_url}/uploads/{token}", upload_form_fields(token, policy), policy.expires
    )


def local_download_url(
    base_url: str, key: str, *, filename: str, ttl_s: int, now: datetime, signing_key: bytes
) -> str:
    """A signed download URL on the API itself (``GET /downloads/{token}``)."""
    grant = DownloadGrant(key, filename, now + timedelta(seconds=ttl_s))
    return f"{base_url}/downloads/{download_token(grant, signing_key)}"
