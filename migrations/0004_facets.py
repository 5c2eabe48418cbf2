"""Add facet counters and the formats of every dataset, and count the datasets stored."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any


def facet_fields(item: dict[str, Any], distributions: list[dict[str, Any]]) -> dict[str, Any]:
    """The dataset item with its formats, facet scope and facet values set."""
    from catalogue.domain.datasets import dataset_formats
    from catalogue.repositories.dataset_index import facet_scope, filter_values

    updated = dict(item)
    formats = dataset_formats(distributions)
    if formats:
        updated["formats"] = formats
    updated["facet_scope"] = facet_scope(updated)
    updated["facet_values"] = filter_values(updated)
    return updated


def sqlite(conn: sqlite3.Connection) -> None:
    """Create ``facet_counts``; give each dataset its formats and facets; count them."""
    from catalogue.repositories.dataset_index import filter_entries, filter_entry_keys
    from catalogue.store import operations
    from catalogue.store.sqlite_rows import count_facets

    conn.execute(
        "CREATE TABLE facet_counts (scope TEXT NOT NULL, name TEXT NOT NULL, "
        "value TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (scope, name, value)) "
        "WITHOUT ROWID"
    )
    rows = conn.execute(
        "SELECT id, rev, body FROM items WHERE sk = 'dataset' "
        "AND json_extract(body, '$.kind') = 'dataset'"
    ).fetchall()
    deltas: dict[tuple[str, str, str], int] = {}
    for row_id, rev, body in rows:
        item = json.loads(body)
        distributions = [
            json.loads(text)
            for (text,) in conn.execute(
                "SELECT body FROM items WHERE pk = ? AND sk >= 'distribution#' "
                "AND sk < 'distribution$'",
                (item["pk"],),
            )
        ]
        updated = facet_fields(item, distributions)
        conn.execute(
            "UPDATE items SET rev = ?, body = ? WHERE id = ?",
            (rev + 1, json.dumps(updated, ensure_ascii=False, separators=(",", ":")), row_id),
        )
        for pk, sk in filter_entry_keys(item) - filter_entry_keys(updated):
            conn.execute("DELETE FROM items WHERE pk = ? AND sk = ?", (pk, sk))
        for entry in filter_entries(updated):
            conn.execute(
                "INSERT INTO items (pk, sk, rev, body) VALUES (?, ?, 1, ?) "
                "ON CONFLICT (pk, sk) DO UPDATE SET rev = rev + 1, body = excluded.body",
                (entry["pk"], entry["sk"], json.dumps(entry, ensure_ascii=False)),
            )
        for facet in operations.facet_entries(updated):
            deltas[facet] = deltas.get(facet, 0) + 1
    count_facets(conn, deltas)


def dynamodb(client: Any, table_name: str) -> None:
    """Rewrite every dataset item with its formats and facets through the store.

    A one-off Scan when upgrading, never a request path. Each dataset is replaced in its own
    transaction, conditional on the revision read, with its filter entries: the store adds
    its counts to the counters in that transaction, so writers running meanwhile (which
    count their own datasets) and a second run (which finds facets set and skips) keep
    the counts exact.
    """
    from catalogue.domain.errors import NotFound, PreconditionFailed
    from catalogue.repositories.dataset_index import filter_entries, filter_entry_keys
    from catalogue.store.base import Delete, Op, Put, Query, Replace, query_all
    from catalogue.store.dynamodb import DynamoDbStore
    from catalogue.store.dynamodb_codec import from_dynamodb
    from catalogue.store.migrations import scan_datasets

    store = DynamoDbStore(table_name)
    for raw in scan_datasets(client, table_name, "facet_scope"):
        item = from_dynamodb(raw)
        distributions = list(query_all(store, Query(item["pk"], prefix="distribution#")))
        updated = facet_fields(item, distributions)
        ops: list[Op] = [Replace(updated, rev=item["rev"])]
        ops += [Delete(*key) for key in filter_entry_keys(item) - filter_entry_keys(updated)]
        ops += [Put(entry) for entry in filter_entries(updated)]
        # Changed or deleted meanwhile: the writer set its facets itself.
        with contextlib.suppress(NotFound, PreconditionFailed):
            store.transact(ops)
