"""The publishing job run for a catalogue: its sources, open-data target and URLs from settings.

``brygge publish`` and the scheduled Lambda handler (``catalogue.lambdas.publish_open_data``)
call ``run_publishing``; the job itself is ``catalogue.dcat.publishing.publish``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from catalogue.dcat.catalog_info import configured_catalog_info
from catalogue.dcat.publishing import PublishReport, publish
from catalogue.dcat.selection import publish_items
from catalogue.object_stores import object_store, open_data_store
from pipelines.objects import ObjectStore

if TYPE_CHECKING:
    from catalogue.settings import Settings


def run_publishing(
    settings: Settings,
    *,
    repositories: Any = None,
    objects: ObjectStore | None = None,
    target: ObjectStore | None = None,
    catalog_info: Mapping[str, Any] | None = None,
) -> PublishReport:
    """Publish the public datasets of ``settings``' catalogue to its open-data location.

    What ``brygge publish`` and the scheduled ``catalogue.lambdas.publish_open_data`` run.
    The store, object store, target and catalogue metadata follow ``settings`` unless given
    (``BRYGGE_OPEN_DATA_BUCKET``, else ``BRYGGE_OPEN_DATA_DIR``, else ``<home>/open-data``;
    ``BRYGGE_CATALOG_*``).
    Raises SettingsError when BRYGGE_BASE_URL or BRYGGE_OPEN_DATA_BASE_URL is not set.
    """

    base_url, open_data_url = publication_urls(settings)
    store = None
    if repositories is None:
        from datetime import UTC, datetime

        from catalogue.repositories import Repositories
        from catalogue.store.factory import open_store

        store = open_store(settings)
        repositories = Repositories(store, lambda: datetime.now(UTC))
    if objects is None:
        objects = object_store(settings)
    target = target or open_data_store(settings)
    try:
        return publish(
            publish_items(repositories),
            objects,
            target,
            catalog_info=catalog_info or configured_catalog_info(settings, base_url),
            base_url=base_url,
            open_data_url=open_data_url,
            why_absent=partial(_why_absent, repositories),
        )
    finally:
        if store is not None:
            store.close()


def publication_urls(settings: Settings) -> tuple[str, str]:
    """The catalogue's base URL and the open-data location's public URL.

    Raises SettingsError naming the variable to set: a feed whose IRIs or download URLs
    point at a guessed host would send harvesters nowhere.
    """
    from catalogue.settings import SettingsError

    if not settings.base_url:
        raise SettingsError(
            "BRYGGE_BASE_URL is not set: publishing needs the API's public URL "
            "(https://data.example.org/api), which the catalogue's IRIs start with"
        )
    if not settings.open_data_base_url:
        raise SettingsError(
            "BRYGGE_OPEN_DATA_BASE_URL is not set: publishing needs the public https URL "
            "of the open-data bucket or web folder, which download URLs start with"
        )
    return settings.base_url, settings.open_data_base_url


def _why_absent(repositories: Any, dataset_id: str) -> str:
    """Why a dataset that published files is no longer among the public ones."""
    from catalogue.domain.errors import NotFound

    try:
        dataset = repositories.datasets.get(dataset_id)
    except NotFound:
        return f"dataset {dataset_id} was deleted"
    return f"dataset {dataset_id} is no longer public ({dataset.get('accessRights')})"
