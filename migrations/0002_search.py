"""Add the search index and index the items that already carry search_scope and search_text."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any


def sqlite(conn: sqlite3.Connection) -> None:
    """Create the FTS5 table ``search`` (rowid = items.id) and fill it from the items."""
    # The ascii tokenizer keeps every non-ASCII character inside a token and a search term
    # holds no ASCII separator, so each stored term is one token (see store/sqlite.py).
    conn.execute("CREATE VIRTUAL TABLE search USING fts5(terms, scope UNINDEXED, tokenize='ascii')")
    # Filled by 0005, which replaces this table by the search tables.


def dynamodb(client: Any, table_name: str) -> None:
    """Write the index items (today's layout) of every searchable item that has none yet.

    The only Scan in Brygge: a one-off pass over the table when upgrading, never a request
    path. Each item is indexed in its own transaction, conditional on its revision, so a
    concurrent writer (which indexes its own items) wins and the pass stays re-runnable.
    """
    from catalogue.store.dynamodb_search import index_item
    from catalogue.store.operations import indexed_terms

    arguments: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "attribute_exists(search_text) AND attribute_exists(search_scope)"
        " AND attribute_not_exists(#terms)",
        "ExpressionAttributeNames": {"#terms": "_terms"},
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**arguments)
        for raw in page.get("Items", []):
            if "S" not in raw["search_text"] or "S" not in raw["search_scope"]:
                continue
            scope = raw["search_scope"]["S"]
            terms = indexed_terms(raw["search_text"]["S"])
            key = (raw["pk"]["S"], raw["sk"]["S"])
            update = {
                "Update": {
                    "TableName": table_name,
                    "Key": {"pk": raw["pk"], "sk": raw["sk"]},
                    "UpdateExpression": "SET #terms = :terms",
                    "ConditionExpression": "rev = :rev AND attribute_not_exists(#terms)",
                    "ExpressionAttributeNames": {"#terms": "_terms"},
                    "ExpressionAttributeValues": {
                        ":terms": {"L": [{"S": term} for term in terms]},
                        ":rev": raw["rev"],
                    },
                }
            }
            puts = [
                {"Put": {"TableName": table_name, "Item": index_item(scope, term, key)}}
                for term in terms
            ]
            # Cancelled when the store rewrote the item meanwhile, and so indexed it.
            with contextlib.suppress(client.exceptions.TransactionCanceledException):
                client.transact_write_items(TransactItems=[update, *puts])
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
