"""Apply the numbered migrations of the ``migrations`` package to the configured backend.

A migration is a module ``migrations/NNNN_<name>.py`` whose docstring's first line says what
it does, with a function per backend: ``sqlite(conn)`` runs inside the runner's
``BEGIN IMMEDIATE`` transaction (so it must not commit, nor use ``executescript``), and
``dynamodb(client, table_name)`` talks to DynamoDB and must be safe to run again if it is
interrupted. A module without a function for a backend changes nothing there.

Applied migrations are recorded: SQLite in the table ``schema_migrations``; DynamoDB as
items ``pk="migration"``, ``sk=<id>`` in the table itself (so 0001, which creates the
table, is recorded right after it runs). Applying again is a no-op.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from catalogue.settings import Settings
from catalogue.store import dynamodb_answers

MIGRATION_PK = "migration"
_MIGRATION_NAME = re.compile(r"^\d{4}_\w+$")


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration module: ``id`` is its module name, e.g. ``0001_initial``."""

    id: str
    description: str
    module: ModuleType


def discover() -> list[Migration]:
    """Every migration of the ``migrations`` package, in order."""
    package = importlib.import_module("migrations")
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if _MIGRATION_NAME.match(info.name):
            module = importlib.import_module(f"migrations.{info.name}")
            description = (module.__doc__ or info.name).strip().splitlines()[0]
            found.append(Migration(info.name, description, module))
    return sorted(found, key=lambda migration: migration.id)


def pending(settings: Settings) -> list[Migration]:
    """The migrations not yet applied to the store ``settings`` name, in order."""
    applied = _applied(settings)
    return [migration for migration in discover() if migration.id not in applied]


def apply(settings: Settings, dry_run: bool = False, *, upto: str | None = None) -> list[str]:
    """Apply the pending migrations in order and return their ids.

    With ``dry_run`` nothing is written and the ids that would be applied are returned.
    ``upto`` stops after the migration with that id (tests build old stores with it).
    """
    todo = pending(settings)
    if upto is not None:
        todo = [migration for migration in todo if migration.id <= upto]
    if dry_run:
        return [migration.id for migration in todo]
    if settings.backend == "local":
        return _apply_sqlite(settings, todo)
    return _apply_dynamodb(settings, todo)


def _applied(settings: Settings) -> set[str]:
    if settings.backend == "local":
        path = settings.database_path
        if not path.exists():
            return set()
        conn = sqlite3.connect(path)
        try:
            if not _has_table(conn, "schema_migrations"):
                return set()
            return {row[0] for row in conn.execute("SELECT id FROM schema_migrations")}
        finally:
            conn.close()
    return _applied_dynamodb(_dynamodb_client(), settings.dynamodb_table)


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return row is not None


def _apply_sqlite(settings: Settings, todo: list[Migration]) -> list[str]:
    from catalogue.store.sqlite import connect

    settings.database_path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(settings.database_path)
    done = []
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(id TEXT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        for migration in todo:
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have applied it while this one waited for the lock.
                seen = conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE id = ?", (migration.id,)
                ).fetchone()
                if seen is None:
                    step = getattr(migration.module, "sqlite", None)
                    if step is not None:
                        step(conn)
                    conn.execute(
                        "INSERT INTO schema_migrations (id, description, applied_at) "
                        "VALUES (?, ?, ?)",
                        (migration.id, migration.description, _now()),
                    )
                    done.append(migration.id)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
    finally:
        conn.close()
    return done


def _dynamodb_client() -> Any:
    from catalogue.store.dynamodb import dynamodb_client

    return dynamodb_client()


def _applied_dynamodb(client: Any, table_name: str) -> set[str]:
    applied: set[str] = set()
    arguments: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": MIGRATION_PK}},
        "ConsistentRead": True,
    }
    while True:
        try:
            page = client.query(**arguments)
        except client.exceptions.ResourceNotFoundException:
            return set()  # no table yet: nothing applied
        applied.update(item["sk"]["S"] for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return applied
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _apply_dynamodb(settings: Settings, todo: list[Migration]) -> list[str]:
    client = _dynamodb_client()
    table_name = settings.dynamodb_table
    done = []
    for migration in todo:
        step = getattr(migration.module, "dynamodb", None)
        if step is not None:
            step(client, table_name)
        client.put_item(
            TableName=table_name,
            Item={
                "pk": {"S": MIGRATION_PK},
                "sk": {"S": migration.id},
                "description": {"S": migration.description},
                "applied_at": {"S": _now()},
            },
        )
        done.append(migration.id)
    if done:
        # A migration may rewrite what searches read: answers servers keep are stale.
        dynamodb_answers.advance(client, table_name)
    return done


def scan_datasets(client: Any, table_name: str, missing: str) -> Iterator[dict[str, Any]]:
    """Every dataset item (raw) lacking the attribute ``missing``: a one-off Scan, all pages.

    Only migrations scan, when upgrading; no request path does.
    """
    arguments: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "sk = :dataset AND kind = :dataset AND attribute_not_exists(#a)",
        "ExpressionAttributeNames": {"#a": missing},
        "ExpressionAttributeValues": {":dataset": {"S": "dataset"}},
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**arguments)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
