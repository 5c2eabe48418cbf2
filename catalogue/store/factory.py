"""Open the ItemStore the settings name."""

from __future__ import annotations

from catalogue.settings import Settings
from catalogue.store.base import ItemStore


def open_store(settings: Settings) -> ItemStore:
    """The SQLite store of ``settings.home`` (local) or the DynamoDB table (aws).

    Assumes the migrations have been applied (``brygge migrate``).
    """
    if settings.backend == "aws":
        from catalogue.store.dynamodb import DynamoDbStore

        return DynamoDbStore(settings.dynamodb_table)
    from catalogue.store.sqlite import SqliteStore

    return SqliteStore(settings.database_path)
