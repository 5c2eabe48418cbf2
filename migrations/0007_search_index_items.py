"""DynamoDB: one index item per term, the prefix partition's; the whole-term items go."""

from __future__ import annotations

import sqlite3
from typing import Any


def sqlite(conn: sqlite3.Connection) -> None:
    """Nothing: the SQLite search tables keep one row per term already."""


def dynamodb(client: Any, table_name: str) -> None:
    """Index one-letter terms in their prefix partition, then delete every whole-term item.

    Before, each term had an item in ``term#<scope>#<term>`` besides the one in its prefix
    partition ``term#<scope>#<first two letters>*`` (terms of one letter had only the
    former); search now reads whole terms from the prefix partition too (see
    ``catalogue.store.dynamodb_search``). A one-off Scan when upgrading, never a request
    path, page by page: the index items of an item's one-letter terms are written from its
    ``_terms`` and the whole-term items met are deleted (nothing reads them any more; a
    one-letter term finds the items the pass has not reached yet only once it has). If a
    writer changes an item meanwhile, an extra index item may stay, which search ignores
    (it checks each hit against ``_terms``). Re-runnable.
    """
    from catalogue.store.dynamodb_search import TERM_PREFIX, index_item
    from catalogue.store.ranking import MIN_PREFIX

    arguments: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "attribute_exists(#terms) OR begins_with(pk, :term)",
        "ExpressionAttributeNames": {"#terms": "_terms"},
        "ExpressionAttributeValues": {":term": {"S": TERM_PREFIX}},
        "ConsistentRead": True,
    }
    while True:
        page = client.scan(**arguments)
        writes = []
        for raw in page.get("Items", []):
            pk = raw["pk"]["S"]
            if pk.startswith(TERM_PREFIX):
                if not pk.endswith("*"):
                    writes.append({"DeleteRequest": {"Key": {"pk": raw["pk"], "sk": raw["sk"]}}})
                continue
            if "S" not in raw.get("search_scope", {}) or "N" not in raw.get("rev", {}):
                continue
            key = (pk, raw["sk"]["S"])
            writes += [
                {"PutRequest": {"Item": index_item(scope, term["S"], key, rev)}}
                for scope, rev in [(raw["search_scope"]["S"], int(raw["rev"]["N"]))]
                for term in raw["_terms"]["L"]
                if len(term["S"]) < MIN_PREFIX
            ]
        _batch_write(client, table_name, writes)
        if "LastEvaluatedKey" not in page:
            return
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _batch_write(client: Any, table_name: str, requests: list[dict[str, Any]]) -> None:
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table_name: requests[start : start + 25]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
