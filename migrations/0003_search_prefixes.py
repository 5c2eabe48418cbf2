"""Reindex search terms with ø and æ folded, and add the prefix items of every term."""

from __future__ import annotations

import contextlib
import sqlite3
from typing import Any


def sqlite(conn: sqlite3.Connection) -> None:
    """Rewrite every row of ``search`` from its item: terms now fold ø and æ."""
    conn.execute("DELETE FROM search")
    # Filled by 0005, which replaces this table by the search tables.


def dynamodb(client: Any, table_name: str) -> None:
    """Write the term and prefix items of every indexed item's terms, folded anew.

    A one-off Scan when upgrading, never a request path. Index items are written first
    (search ignores those its item does not list), then ``_terms`` is replaced, conditional
    on the revision read, so a concurrent writer, which indexes its own items, wins. Term
    items of terms that folding changed stay behind; search ignores them. Re-runnable.
    """
    from catalogue.store.dynamodb_search import index_item
    from catalogue.store.operations import indexed_terms

    arguments: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "attribute_exists(#terms)",
        "ExpressionAttributeNames": {"#terms": "_terms"},
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**arguments)
        for raw in page.get("Items", []):
            if "S" not in raw.get("search_text", {}) or "S" not in raw.get("search_scope", {}):
                continue
            scope = raw["search_scope"]["S"]
            terms = indexed_terms(raw["search_text"]["S"])
            key = (raw["pk"]["S"], raw["sk"]["S"])
            rev = int(raw["rev"]["N"])
            items = [index_item(scope, term, key, rev) for term in terms]
            for start in range(0, len(items), 25):
                pending: dict[str, Any] = {
                    table_name: [
                        {"PutRequest": {"Item": item}} for item in items[start : start + 25]
                    ]
                }
                while pending:
                    pending = (
                        client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                    )
            # Refused when the store rewrote the item meanwhile, and so indexed it.
            with contextlib.suppress(client.exceptions.ConditionalCheckFailedException):
                client.update_item(
                    TableName=table_name,
                    Key={"pk": raw["pk"], "sk": raw["sk"]},
                    UpdateExpression="SET #terms = :terms",
                    ConditionExpression="rev = :rev",
                    ExpressionAttributeNames={"#terms": "_terms"},
                    ExpressionAttributeValues={
                        ":terms": {"L": [{"S": term} for term in terms]},
                        ":rev": raw["rev"],
                    },
                )
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]
