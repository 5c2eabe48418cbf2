"""The DynamoDB store's facet counters: how many items hold each facet value, per scope.

- Counter items: ``pk = "facet#<facet_scope>"``, ``sk = "<facet name>#<shard>"``, one
  number attribute ``v:<value>`` per value of that facet whose ``facet_shard`` is
  ``<shard>`` (0 .. FACET_SHARDS - 1). The shards keep each item below DynamoDB's 400 KB: a
  facet holds about 8 x 400 KB / 30 bytes, some 100,000 distinct values.
- A transaction changes each counter item it touches with one ``Update`` (``ADD v:<value>
  :delta`` for every value of that item's shard), inside the same TransactWriteItems as the
  items, so the counts never drift from the items, and they count against its 100 actions.
  A dataset create touches at most one item per facet and shard that it has values in.
- Values fall to 0 and stay as zero attributes (an ``ADD`` cannot remove them in the same
  action); reads leave zeros out.
- ``facet_counts(scope)`` is one strongly consistent Query of the scope's partition (all
  facets and shards, paginated past 1 MB).
- Partitions starting with ``facet#`` belong to the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from catalogue.store.base import facet_shard
from catalogue.store.operations import Facet

FACET_PREFIX = "facet#"
VALUE_PREFIX = "v:"


def counter_key(scope: str, name: str, shard: int) -> dict[str, Any]:
    """DynamoDB key of the counter item of one facet's values in one shard."""
    return {"pk": {"S": f"{FACET_PREFIX}{scope}"}, "sk": {"S": f"{name}#{shard}"}}


def counter_actions(table_name: str, deltas: Mapping[Facet, int]) -> list[dict[str, Any]]:
    """One ``Update`` per counter item ``deltas`` touch, adding each value's change."""
    grouped: dict[tuple[str, str, int], list[tuple[str, int]]] = {}
    for (scope, name, value), delta in sorted(deltas.items()):
        grouped.setdefault((scope, name, facet_shard(value)), []).append((value, delta))
    actions = []
    for (scope, name, shard), changes in sorted(grouped.items()):
        names = {f"#v{index}": VALUE_PREFIX + value for index, (value, _) in enumerate(changes)}
        values = {f":d{index}": {"N": str(delta)} for index, (_, delta) in enumerate(changes)}
        additions = ", ".join(f"#v{index} :d{index}" for index in range(len(changes)))
        actions.append(
            {
                "Update": {
                    "TableName": table_name,
                    "Key": counter_key(scope, name, shard),
                    "UpdateExpression": f"ADD {additions}",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        )
    return actions


def counts_query(table_name: str, scope: str) -> dict[str, Any]:
    """The Query arguments reading every counter item of ``scope``."""
    return {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": f"{FACET_PREFIX}{scope}"}},
        "ConsistentRead": True,
    }


def add_counts(counts: dict[str, dict[str, int]], raw: Mapping[str, Any]) -> None:
    """Add the non-zero values of one counter item to ``counts`` (facet name -> value -> n)."""
    name = raw["sk"]["S"].rsplit("#", 1)[0]
    for attribute, value in raw.items():
        if attribute.startswith(VALUE_PREFIX):
            count = int(value["N"])
            if count > 0:
                counts.setdefault(name, {})[attribute[len(VALUE_PREFIX) :]] = count
