"""The DynamoDB store's search index: an inverted index in the same table.

- Index items: ``pk = "term#<search_scope>#<first two letters>*"``, ``sk = "<term> <item
  key>"`` (the item's key as compact JSON, ``["<item pk>","<item sk>"]``, or ``#`` and
  that JSON's sha256 where the sort key would pass MAX_SK_BYTES), with ``item_pk``,
  ``item_sk`` and ``item_rev``. One per indexed term of a searchable item (a term of one
  letter has a partition of its own, ``term#<scope>#i*``); terms are
  ``base.search_terms(search_text)[:MAX_SEARCH_TERMS]``. A whole term ``luft`` reads
  partition ``term#dataset#lu*`` with ``begins_with(sk, "luft ")`` (the space ends the
  term), a prefix ``luft`` the same partition with ``begins_with(sk, "luft")``: one item
  serves both, so a dataset of 40 distinct terms writes 40 index items. (Until migration
  0007 a term also had an item in a partition of its own, ``term#<scope>#<term>``.)
- The item keeps its indexed terms in ``_terms`` (never returned), so an overwrite or delete
  knows which index items to remove without recomputing anything.
- Index items are written and removed in the same TransactWriteItems as the item when they
  fit beside the transaction's own operations (at most MAX_TRANSACTION_OPS actions in all).
  When they do not (say, a patch that rewrites a long title and description beside many
  filter entries), the new index items are put before the transaction and the old ones
  deleted after it, each delete conditional on the index item's ``item_rev`` so that a
  later write's term is kept. The items stay atomic either way; the index may briefly hold
  extra index items, never miss one, and search ignores the extras (below).
- A search queries the partition of the longest whole query term (the rarest, as a rule),
  or the prefix range of the last term when it is the only one, strongly consistent,
  fetches the items it points at with BatchGetItem (consistent) and keeps those whose
  ``_terms`` hold every query term. ``find`` first reads the keys under the query's other
  terms (their index items, whole or the prefix range), unless there are many more of
  them than candidates, and fetches only the candidates found under every term: an index
  item costs ~1/30 of a read unit, an item fetched at least one. ``catalogue.store.ranking`` ranks
  and pages them, as on SQLite; the cursor holds the sort key of the last item returned.
- Partitions starting with ``term#`` and the partition ``migration`` belong to the store.

This module lays the index out and plans its writes; ``catalogue.store.dynamodb`` makes the
calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.store import operations, ranking
from catalogue.store.base import MAX_SK_BYTES, MAX_TRANSACTION_OPS, Item
from catalogue.store.dynamodb_codec import from_dynamodb
from catalogue.store.operations import Entry, Key

TERM_PREFIX = "term#"
# Index items read per round trip of a search.
SEARCH_BATCH = 500


def index_partition(scope: str, term: str) -> str:
    """Partition of the index items of every term starting with ``term``'s first letters."""
    return f"{TERM_PREFIX}{scope}#{term[: ranking.MIN_PREFIX]}*"


def index_key(scope: str, term: str, key: Key) -> dict[str, Any]:
    """DynamoDB key of the index item linking ``term`` to the item ``key``."""
    linked = json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))
    sort = term + " " + linked
    if len(sort) * 4 > MAX_SK_BYTES and len(sort.encode("utf-8", "surrogatepass")) > MAX_SK_BYTES:
        # An item's key of up to DynamoDB's limits, beside a term, may not fit in a sort
        # key: a digest stands for it ("#" starts no JSON), the item's key being in the
        # index item's own attributes.
        digest = hashlib.sha256(linked.encode("utf-8", "surrogatepass")).hexdigest()
        sort = f"{term} #{digest}"
    return {"pk": {"S": index_partition(scope, term)}, "sk": {"S": sort}}


def index_item(scope: str, term: str, key: Key, rev: int | None = None) -> dict[str, Any]:
    """The index item linking ``term`` to the item ``key`` (at revision ``rev``)."""
    item = {**index_key(scope, term, key), "item_pk": {"S": key[0]}, "item_sk": {"S": key[1]}}
    if rev is not None:
        item["item_rev"] = {"N": str(rev)}
    return item


def stored_entries(raw: dict[str, Any] | None) -> frozenset[Entry]:
    """The index entries a stored DynamoDB item has index items for."""
    if raw is None or "_terms" not in raw or "S" not in raw.get("search_scope", {}):
        return frozenset()
    scope = raw["search_scope"]["S"]
    return frozenset((scope, term["S"]) for term in raw["_terms"]["L"])


def terms_attribute(item: Item) -> dict[str, Any]:
    """The ``_terms`` attribute value of a searchable item: the terms it is indexed under."""
    return {"L": [{"S": term} for term in operations.indexed_terms(item["search_text"])]}


# -- writes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WritePlan:
    """A transaction and the search-index writes that go before and after it."""

    actions: list[dict[str, Any]]
    early: list[dict[str, Any]]
    late: list[tuple[dict[str, Any], int]]
    # The search generation is advanced after the transaction (no room left in it).
    advance_after: bool = False


def index_changes(
    key: Key, before: frozenset[Entry], after: frozenset[Entry], rev: int
) -> tuple[list[tuple[dict[str, Any], int]], list[dict[str, Any]]]:
    """The index keys to delete (each with the item's new ``rev``) and the index items to put
    when the item ``key`` goes from the entries ``before`` to those ``after``."""
    deletes = [(index_key(scope, term, key), rev) for scope, term in sorted(before - after)]
    puts = [index_item(scope, term, key, rev) for scope, term in sorted(after - before)]
    return deletes, puts


def write_plan(
    table_name: str,
    item_actions: list[dict[str, Any]],
    puts: list[dict[str, Any]],
    deletes: list[tuple[dict[str, Any], int]],
) -> WritePlan:
    """The transaction of ``item_actions`` and the search-index writes around it.

    The index changes go into the transaction when they fit beside the items. When they
    do not (a searchable item whose every term changes, beside many other writes), new
    index items are written before the transaction and old ones deleted after it: the
    items stay atomic, and search, which checks each hit against the item's ``_terms``,
    is never wrong in between.
    """
    room = MAX_TRANSACTION_OPS - len(item_actions)
    if len(puts) + len(deletes) <= room:
        # Item actions first, so cancellation reasons line up with the caller's operations.
        actions = item_actions + [
            {"Delete": {"TableName": table_name, "Key": key}} for key, _ in deletes
        ]
        actions += [{"Put": {"TableName": table_name, "Item": item}} for item in puts]
        return WritePlan(actions, [], [])
    return WritePlan(item_actions, puts, deletes)


def delete_stale_terms(
    client: Any, table_name: str, deletes: Sequence[tuple[dict[str, Any], int]]
) -> None:
    """Delete the index items ``deletes`` names, each unless a later write put it back."""
    from botocore.exceptions import ClientError

    for key, rev in deletes:
        try:
            # A later write of the item may have put the term back: keep that one.
            client.delete_item(
                TableName=table_name,
                Key=key,
                ConditionExpression="attribute_not_exists(item_rev) OR item_rev <= :rev",
                ExpressionAttributeValues={":rev": {"N": str(rev)}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


# -- reads -------------------------------------------------------------------------------


def candidates_query(table_name: str, scope: str, query: ranking.SearchQuery) -> dict[str, Any]:
    """The Query arguments reading the index partition that ``query``'s candidates are in."""
    if query.whole:
        return term_query(table_name, scope, driver(query))
    assert query.prefix is not None
    return prefix_query(table_name, scope, query.prefix)


def driver(query: ranking.SearchQuery) -> str:
    """The whole term whose partition a search reads: the longest (the rarest, as a rule)."""
    # Sorted first, so the same terms in any order read the same partition.
    return max(sorted(query.whole), key=len)


def term_query(table_name: str, scope: str, term: str) -> dict[str, Any]:
    """The Query arguments reading the index items of the whole term ``term``."""
    # The space ends the term in the sort key: "luft " leaves out "luftkvalitet".
    return _index_query(table_name, index_partition(scope, term), term + " ")


def prefix_query(table_name: str, scope: str, prefix: str) -> dict[str, Any]:
    """The Query arguments reading the index items of the terms starting with ``prefix``."""
    return _index_query(table_name, index_partition(scope, prefix), prefix)


def _index_query(table_name: str, partition: str, start: str) -> dict[str, Any]:
    """A consistent Query of an index partition's sort keys starting with ``start``."""
    return {
        "TableName": table_name,
        "ConsistentRead": True,
        "Limit": SEARCH_BATCH,
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": partition}, ":s": {"S": start}},
    }


def holder_queries(table_name: str, scope: str, query: ranking.SearchQuery) -> list[dict[str, Any]]:
    """Query arguments reading, for each query term but the driver, the keys of the items
    indexed under it (none for a query of one term)."""
    if not query.whole:
        return []
    first = driver(query)
    calls = [term_query(table_name, scope, term) for term in sorted(query.whole) if term != first]
    if query.prefix is not None:
        calls.append(prefix_query(table_name, scope, query.prefix))
    for call in calls:
        # The keys only: fewer bytes to send and decode (the read costs the same).
        call["ProjectionExpression"] = "item_pk, item_sk"
    return calls


def linked_keys(entries: Sequence[dict[str, Any]]) -> list[Key]:
    """The keys of the items that index items point at, each once, in order."""
    return list(dict.fromkeys((raw["item_pk"]["S"], raw["item_sk"]["S"]) for raw in entries))


def hits(
    entries: Sequence[dict[str, Any]],
    found: dict[Key, dict[str, Any]],
    scope: str,
    query: ranking.SearchQuery,
) -> Iterator[Item]:
    """The items (``found`` by key) that index items point at and that match ``query``."""
    for raw in entries:
        item = found.get((raw["item_pk"]["S"], raw["item_sk"]["S"]))
        # An index item may be ahead of its item (written before a transaction that
        # then failed) or outlive its terms: the item itself has the final word.
        if item is None or item.get("search_scope", {}).get("S") != scope:
            continue
        if query.matches(term["S"] for term in item.get("_terms", {}).get("L", [])):
            yield from_dynamodb(item)
