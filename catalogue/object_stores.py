"""The object stores of the settings: the data lake and the open-data location.

Each is a local directory or an S3 bucket; no client is made until the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.objects import (
    LocalObjectStore,
    ObjectStore,
    S3ObjectStore,
    check_delivered_key,
    check_name,
)

if TYPE_CHECKING:
    from catalogue.settings import Settings

# World-readable: the open-data folder is served as it is.
PUBLIC_FILE_MODE = 0o644


def object_store(
    settings: Settings, on_created: Callable[[str], None] | None = None
) -> ObjectStore:
    """The data lake's object store; ``on_created`` (local only) stands in for S3 events.

    On S3 the store knows the role steps assume (``scoped_store``); elsewhere that changes
    nothing.
    """
    if settings.backend == "aws":
        return S3ObjectStore(settings.data_bucket, scope_role_arn=settings.step_scope_role_arn)
    return LocalObjectStore(settings.objects_dir, on_created=on_created)


def delivered_events_store(settings: Settings) -> ObjectStore:
    """The data lake, for the objects of events Firehose delivers (``raw/.../events/...``)."""
    if settings.backend == "aws":
        return S3ObjectStore(settings.data_bucket, check=check_delivered_key)
    return LocalObjectStore(settings.objects_dir, check=check_delivered_key)


def open_data_store(settings: Settings) -> ObjectStore:
    """The open-data location: ``BRYGGE_OPEN_DATA_BUCKET`` if set, else a directory.

    Its keys are plain relative names (``catalog.ttl``, ``datasets/air/air.csv``), not the
    lake's layout. The directory is ``BRYGGE_OPEN_DATA_DIR``, else ``<home>/open-data``;
    its files are world-readable, and folders a withdrawal empties go.
    """
    if settings.open_data_bucket:
        return S3ObjectStore(settings.open_data_bucket, check=check_name)
    return LocalObjectStore(
        settings.open_data_dir or settings.home / "open-data",
        check=check_name,
        file_mode=PUBLIC_FILE_MODE,
        prune_folders=True,
    )
