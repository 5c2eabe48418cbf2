"""Request and response shapes of uploads."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from pipelines import media_types


class UploadRequestSchema(ma.Schema):
    """What a client says about the file it is about to upload."""

    filename = fields.String(
        required=True,
        metadata={"description": "File name, no path; at most 255 bytes in UTF-8."},
    )
    contentType = fields.String(
        validate=validate.Regexp(media_types.PATTERN, error="Not a media type."),
        attribute="content_type",
        load_default=None,
    )
    size = fields.Integer(
        validate=validate.Range(min=0),
        load_default=None,
        metadata={"description": "Bytes; the upload may not exceed it. Required over 5 GB."},
    )
    edition = fields.String(
        load_default=None,
        metadata={"description": "An existing edition (or latest); a new one when absent."},
    )


class PresignedPartSchema(ma.Schema):
    partNumber = fields.Integer(attribute="part_number")
    url = fields.String()
    firstByte = fields.Integer(attribute="first_byte")
    bytes = fields.Integer()


class MultipartSchema(ma.Schema):
    """Presigned S3 multipart upload: PUT each part, then POST the ETags to ``completeUrl``."""

    uploadId = fields.String(attribute="upload_id")
    partBytes = fields.Integer(attribute="part_bytes")
    parts = fields.List(fields.Nested(PresignedPartSchema))
    completeUrl = fields.String(attribute="complete_url")
    abortUrl = fields.String(attribute="abort_url")


class UploadTargetSchema(ma.Schema):
    """Where to send the file: a multipart/form-data POST of ``fields`` then ``file``."""

    url = fields.String()
    method = fields.String(metadata={"description": "POST, or MULTIPART over 5 GB (aws)."})
    fields_ = fields.Dict(
        keys=fields.String(), values=fields.String(), data_key="fields", attribute="fields"
    )
    expiresAt = fields.DateTime(attribute="expires_at")
    multipart = fields.Nested(MultipartSchema, allow_none=True)


class UploadRunSchema(ma.Schema):
    id = fields.String()
    status = fields.String()


class UploadSchema(ma.Schema):
    """An upload handed out: its edition, object key, waiting run and where to send it."""

    edition = fields.String()
    key = fields.String()
    run = fields.Nested(UploadRunSchema)
    upload = fields.Nested(UploadTargetSchema)
