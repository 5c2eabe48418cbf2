"""The catalogue's own metadata (title, publisher, contact point), from settings or defaults.

The API's feed and the open-data publishing job both describe the catalogue with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalogue.settings import Settings


def configured_catalog_info(settings: Settings, base_url: str) -> dict[str, Any]:
    """The catalogue's own metadata: ``BRYGGE_CATALOG_*`` settings over the defaults.

    The feed of the API and the publishing job both describe the catalogue with it.
    """
    info = default_catalog_info(base_url)
    if settings.catalog_title:
        info["title"] = settings.catalog_title
    if settings.catalog_description:
        info["description"] = settings.catalog_description
    if settings.catalog_publisher_name or settings.catalog_publisher_uri:
        info["publisher"] = {
            "name": settings.catalog_publisher_name or info["publisher"]["name"],
            "uri": settings.catalog_publisher_uri or None,
        }
    if settings.catalog_contact_name or settings.catalog_contact_email:
        info["contactPoint"] = {
            # DCAT-AP-NO wants a name on every contact point: the publisher's, unless given.
            "name": settings.catalog_contact_name or info["publisher"]["name"],
            "email": settings.catalog_contact_email,
        }
    if settings.catalog_homepage:
        info["homepage"] = settings.catalog_homepage
    return info


def default_catalog_info(base_url: str) -> dict[str, Any]:
    """Catalogue metadata when none is configured.

    DCAT-AP-NO also wants the catalogue's contact point and a publisher IRI, which only
    the operator can give (``BRYGGE_CATALOG_*``, see ``configured_catalog_info``).
    """
    return {
        "title": "Brygge open data",
        "description": "Public datasets published by the Brygge data platform",
        "publisher": {"name": "Brygge"},
        "language": "nb",
        "homepage": base_url,
    }
