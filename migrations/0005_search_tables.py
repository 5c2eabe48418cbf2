"""Search tables for ranking in SQL (SQLite), and search_meta on every dataset (both stores)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any


def sqlite(conn: sqlite3.Connection) -> None:
    """Replace the FTS5 table by the search tables; give datasets search_meta; index all."""
    from catalogue.repositories.dataset_index import search_meta
    from catalogue.store.sqlite_search import index_all

    conn.execute("DROP TABLE IF EXISTS search")
    conn.execute(
        "CREATE TABLE search_postings (scope TEXT NOT NULL, term TEXT NOT NULL, "
        "doc INTEGER NOT NULL, tf0 INTEGER NOT NULL, tf1 INTEGER NOT NULL, "
        "tf2 INTEGER NOT NULL, indexed INTEGER NOT NULL, PRIMARY KEY (scope, term, doc)) "
        "WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX search_postings_doc ON search_postings (doc, term)")
    conn.execute(
        "CREATE TABLE search_docs (doc INTEGER PRIMARY KEY, len0 INTEGER NOT NULL, "
        "len1 INTEGER NOT NULL, len2 INTEGER NOT NULL, access TEXT, grantee TEXT, "
        "recency REAL NOT NULL)"
    )
    conn.execute(
        "CREATE TABLE search_keys (doc INTEGER PRIMARY KEY, pk TEXT NOT NULL, "
        "sk TEXT NOT NULL, title TEXT NOT NULL, vals TEXT NOT NULL)"
    )
    rows = conn.execute(
        "SELECT id, body FROM items WHERE sk = 'dataset' "
        "AND json_extract(body, '$.kind') = 'dataset'"
    ).fetchall()
    for row_id, body in rows:
        item = json.loads(body)
        item["search_meta"] = search_meta(item)
        # The revision stays: search_meta is the store's, not part of the dataset a client
        # sees, so its ETag does not change.
        conn.execute(
            "UPDATE items SET body = ? WHERE id = ?",
            (json.dumps(item, ensure_ascii=False, separators=(",", ":")), row_id),
        )
    index_all(conn)


def dynamodb(client: Any, table_name: str) -> None:
    """Give every dataset item its search_meta.

    A one-off Scan when upgrading, never a request path. Each item is updated conditional
    on the revision read, which stays (search_meta is not part of the dataset a client
    sees); one changed meanwhile was written with its search_meta by its writer.
    Re-runnable: datasets that have it are skipped.
    """
    from catalogue.repositories.dataset_index import search_meta
    from catalogue.store.dynamodb_codec import from_dynamodb, to_value
    from catalogue.store.migrations import scan_datasets

    for raw in scan_datasets(client, table_name, "search_meta"):
        with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
            client.update_item(
                TableName=table_name,
                Key={"pk": raw["pk"], "sk": raw["sk"]},
                UpdateExpression="SET search_meta = :meta",
                ConditionExpression="rev = :rev",
                ExpressionAttributeValues={
                    ":meta": to_value(search_meta(from_dynamodb(raw))),
                    ":rev": raw["rev"],
                },
            )
