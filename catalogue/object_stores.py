"""The data lake's object store for the settings: a local directory or an S3 bucket."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipelines.objects import LocalObjectStore, ObjectStore, S3ObjectStore

if TYPE_CHECKING:
    from catalogue.settings import Settings


def object_store(
    settings: Settings, on_created: Callable[[str], None] | None = None
) -> ObjectStore:
    """The data lake's object store; ``on_created`` (local only) stands in for S3 events.

    On S3 the store knows the role steps assume (``scoped_store``); elsewhere that changes
    nothing. No client is made until the first request.
    """
    if settings.backend == "aws":
        return S3ObjectStore(settings.data_bucket, scope_role_arn=settings.step_scope_role_arn)
    return LocalObjectStore(settings.objects_dir, on_created=on_created)
