"""The AWS ItemStore: one DynamoDB table, single-table design, no Scan on any path.

Table (made by ``migrations/0001_initial.py``): ``pk`` (HASH) and ``sk`` (RANGE), strings;
global secondary index ``gsi1`` on ``gsi1pk``/``gsi1sk``, projecting all attributes;
on-demand billing. Numbers go to DynamoDB as their shortest decimal text, so a float comes
back as the same float; an integral float comes back as an int (equal to it).

Writes. Every operation is a conditional write: Create ``attribute_not_exists(pk)``,
Replace and a Delete or Check with ``rev`` ``rev = :rev``. A transaction that overwrites or
deletes items first reads them in one TransactGetItems, so it knows their revisions and
search terms, evaluates the caller's conditions in order on that snapshot (raising the first
failure), then writes with every condition pinned to the snapshot. If the write is cancelled,
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` shows the items as they were: when one of
them now fails the caller's condition, that error is raised (the first such operation in the
caller's order); when only the snapshot went stale (a racing Put or Delete), the
transaction is retried.

Search index (an inverted index in the same table):

- Term items: ``pk = "term#<search_scope>#<term>"``, ``sk = '["<item pk>","<item sk>"]'``
  (the item's key as compact JSON), with ``item_pk`` and ``item_sk``. One per indexed term
  of a searchable item; terms are ``base.search_terms(search_text)[:MAX_SEARCH_TERMS]``.
- The item keeps its indexed terms in ``_terms`` (never returned), so an overwrite or delete
  knows which term items to remove without recomputing anything.
- Term items are written and removed in the same TransactWriteItems as the item when they
  fit beside the transaction's own operations (at most MAX_TRANSACTION_OPS actions in all).
  When they do not (say, a patch that rewrites a long title and description beside many
  filter entries), the new term items are put before the transaction and the old ones
  deleted after it, each delete conditional on the term item's ``item_rev`` so that a later
  write's term is kept. The items stay atomic either way; the index may briefly hold extra
  term items, never miss one, and search ignores the extras (below).
- Prefix items: ``pk = "term#<search_scope>#<first two letters>*"``, ``sk = "<term> <item
  key as above>"``, with the same attributes: one per indexed term of two or more letters,
  written and removed with its term item. A prefix ``luft`` reads partition
  ``term#dataset#lu*`` with ``begins_with(sk, "luft")``.
- A search queries the partition of the longest whole query term (the rarest, as a rule),
  or the prefix range of the last term when it is the only one, strongly consistent,
  fetches the items it points at with BatchGetItem (consistent) and keeps those whose
  ``_terms`` hold every query term. ``catalogue.store.ranking`` ranks and pages them, as on
  SQLite; the cursor holds the sort key of the last item returned.
- Partitions starting with ``term#`` and the partition ``migration`` belong to the store.

Cursors are base64url JSON of a digest of the query and the key of the last item returned
(not DynamoDB's LastEvaluatedKey, which may lie beyond items a ``where`` filter or the limit
held back). A previous cursor holds the key of a page's first item and is read with
``ScanIndexForward`` flipped from that key; the last cursor reads flipped from the end. A
query on ``gsi1`` is eventually consistent, as every GSI read is.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.domain.errors import InvalidValue, PreconditionFailed, Unavailable
from catalogue.store import operations, ranking
from catalogue.store.base import (
    MAX_TRANSACTION_OPS,
    Check,
    Create,
    Delete,
    Item,
    Op,
    Page,
    Predicate,
    Put,
    Query,
    Replace,
)
from catalogue.store.operations import Entry, Key
from catalogue.store.ranking import SearchOrder

GSI1 = "gsi1"
TERM_PREFIX = "term#"
# Attempts of a transaction whose snapshot keeps going stale under racing writers.
MAX_ATTEMPTS = 8
_BATCH_GET_KEYS = 100
_BATCH_WRITE = 25  # BatchWriteItem's limit
_SNAPSHOT_KEYS = 25
# Index items read per round trip of a search.
_SEARCH_BATCH = 500
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
_RETRYABLE_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


def dynamodb_client() -> Any:
    """The process-wide DynamoDB client (made on first use; endpoints from AWS_ENDPOINT_URL*)."""
    from pipelines.aws import aws_client

    return aws_client("dynamodb")


class DynamoDbStore:
    """ItemStore over one DynamoDB table. Assumes the migrations have been applied."""

    backend = "dynamodb"

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    @property
    def _client(self) -> Any:
        return dynamodb_client()

    def close(self) -> None:
        """Nothing to release: the client is shared by the process."""

    # -- reads ---------------------------------------------------------------------------

    def get(self, pk: str, sk: str) -> Item | None:
        """Return the item (with ``rev``) or None. Strongly consistent."""
        operations.check_key(pk, sk)
        response = self._call(
            "get_item", TableName=self.table_name, Key=_key(pk, sk), ConsistentRead=True
        )
        return from_dynamodb(response["Item"]) if "Item" in response else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """Return the items that exist among ``keys``, in the order of ``keys``."""
        for pk, sk in keys:
            operations.check_key(pk, sk)
        found = self._batch_get(list(dict.fromkeys((pk, sk) for pk, sk in keys)))
        return [from_dynamodb(found[key]) for key in keys if key in found]

    def _batch_get(self, keys: list[Key]) -> dict[Key, dict[str, Any]]:
        found: dict[Key, dict[str, Any]] = {}
        for start in range(0, len(keys), _BATCH_GET_KEYS):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [_key(pk, sk) for pk, sk in keys[start : start + _BATCH_GET_KEYS]],
                    "ConsistentRead": True,
                }
            }
            attempt = 0
            while request:
                response = self._call("batch_get_item", RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table_name, []):
                    found[(raw["pk"]["S"], raw["sk"]["S"])] = raw
                request = response.get("UnprocessedKeys") or {}
                if request:
                    attempt += 1
                    time.sleep(min(0.05 * 2**attempt, 1.0))  # back off as AWS asks
        return found

    def query(self, query: Query, *, limit: int, cursor: str | None = None) -> Page:
        """Return up to ``limit`` items of one partition in sort-key order (see ItemStore)."""
        operations.check_query(query, limit)
        if query.index not in (None, GSI1):
            raise ValueError(f"no index named {query.index!r}")
        partition, sort = ("pk", "sk") if query.index is None else ("gsi1pk", "gsi1sk")
        key_names = ("pk", "sk") if query.index is None else ("pk", "sk", "gsi1pk", "gsi1sk")
        query_id = _query_id(query)
        start, before = None, False
        if cursor is not None:
            start, before = operations.decode_query_cursor(cursor, query_id)
            if start is not None:
                start = _position(start, key_names)
                if start[partition] != query.partition:
                    raise InvalidValue("cursor", "the cursor belongs to another query")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": partition},
            "ExpressionAttributeValues": {":p": {"S": query.partition}},
            "Limit": _batch_size(limit, query.where),
        }
        if query.index is None:
            arguments["ConsistentRead"] = True
        else:
            arguments["IndexName"] = query.index
        if query.prefix:
            arguments["KeyConditionExpression"] += " AND begins_with(#s, :s)"
            arguments["ExpressionAttributeNames"]["#s"] = sort
            arguments["ExpressionAttributeValues"][":s"] = {"S": query.prefix}

        def fetch(
            position: dict[str, str] | None, reverse: bool
        ) -> tuple[list[tuple[Item, Any]], Any]:
            # An ExclusiveStartKey is a position between items: it serves either direction.
            call = {**arguments, "ScanIndexForward": query.descending == reverse}
            if position is not None:
                call["ExclusiveStartKey"] = {name: {"S": value} for name, value in position.items()}
            response = self._call("query", **call)
            rows = [
                (from_dynamodb(raw), {name: raw[name]["S"] for name in key_names})
                for raw in response.get("Items", [])
            ]
            last = response.get("LastEvaluatedKey")
            return rows, None if last is None else {name: last[name]["S"] for name in last}

        return operations.query_page(fetch, query_id, start, before, limit, query.where)

    def last_cursor(self, query: Query) -> str:
        """A cursor reading the final items of ``query`` (see ItemStore)."""
        operations.check_query(query, 1)
        if query.index not in (None, GSI1):
            raise ValueError(f"no index named {query.index!r}")
        return operations.encode_cursor(_query_id(query), None, before=True)

    def search(
        self,
        scope: str,
        text: str,
        *,
        limit: int,
        cursor: str | None = None,
        where: Predicate | None = None,
        order: SearchOrder | None = None,
    ) -> Page:
        """Return items of ``scope`` matching ``text``, ranked (see the module notes)."""
        operations.check_search(scope, limit)
        order = order or ranking.RELEVANCE
        query = ranking.parse(text)
        query_id = operations.fingerprint("search", scope, query.key(), order.name)
        start = None if cursor is None else operations.decode_cursor(cursor, query_id)
        if query.empty:
            return Page([], None)
        return ranking.ranked_page(
            query,
            self._candidates(scope, query),
            order=order,
            query_id=query_id,
            start=start,
            limit=limit,
            where=where,
        )

    def _candidates(self, scope: str, query: ranking.SearchQuery) -> Iterator[Item]:
        """The items of ``scope`` matching ``query``, read lazily through one index partition."""
        call: dict[str, Any] = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "Limit": _SEARCH_BATCH,
        }
        if query.whole:
            # Sorted first, so the same terms in any order read the same partition.
            term = max(sorted(query.whole), key=len)
            call["KeyConditionExpression"] = "pk = :p"
            call["ExpressionAttributeValues"] = {":p": {"S": term_partition(scope, term)}}
        else:
            assert query.prefix is not None
            call["KeyConditionExpression"] = "pk = :p AND begins_with(sk, :s)"
            call["ExpressionAttributeValues"] = {
                ":p": {"S": prefix_partition(scope, query.prefix)},
                ":s": {"S": query.prefix},
            }
        while True:
            response = self._call("query", **call)
            entries = response.get("Items", [])
            found = self._batch_get(
                list(dict.fromkeys((raw["item_pk"]["S"], raw["item_sk"]["S"]) for raw in entries))
            )
            for raw in entries:
                item = found.get((raw["item_pk"]["S"], raw["item_sk"]["S"]))
                # An index item may be ahead of its item (written before a transaction that
                # then failed) or outlive its terms: the item itself has the final word.
                if item is None or item.get("search_scope", {}).get("S") != scope:
                    continue
                if query.matches(term["S"] for term in item.get("_terms", {}).get("L", [])):
                    yield from_dynamodb(item)
            last = response.get("LastEvaluatedKey")
            if last is None:
                return
            call["ExclusiveStartKey"] = last

    # -- writes --------------------------------------------------------------------------

    def write(self, op: Op) -> None:
        """Apply one operation; raises as the operation's docstring says."""
        self.transact([op])

    def transact(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none (see ItemStore.transact and the module notes)."""
        from botocore.exceptions import ClientError

        operations.check_ops(ops)
        keys = [operations.op_key(op) for op in ops]
        # Overwrites and deletes must know the items' terms and revisions first; Creates and
        # Checks alone carry their whole condition and learn the outcome from the write.
        needs_snapshot = any(isinstance(op, Replace | Put | Delete) for op in ops)
        for attempt in range(MAX_ATTEMPTS):
            state = self._snapshot(keys) if needs_snapshot else {}
            if needs_snapshot:
                error = operations.first_failure(
                    ops, {key: _plain(raw) for key, raw in state.items()}
                )
                if error is not None:
                    raise error
            entries_before = {key: stored_entries(raw) for key, raw in state.items()}
            plan = self._plan(ops, state, entries_before)
            # Term items added early may outlive a cancelled write: search checks every
            # hit against the item's own _terms, so they never show.
            self._write_terms(plan.early)
            try:
                self._client.transact_write_items(TransactItems=plan.actions)
                self._delete_terms_after(plan.late)
                return
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "ValidationException":
                    raise ValueError(exc.response["Error"].get("Message", str(exc))) from None
                if code != "TransactionCanceledException":
                    raise self.unavailable(exc) or exc from None
                reasons = exc.response.get("CancellationReasons") or []
            failed = False
            for index, op in enumerate(ops):
                reason = reasons[index] if index < len(reasons) else {}
                if reason.get("Code") == "ConditionalCheckFailed":
                    # The item as it was when the write was refused: if the caller's own
                    # condition fails on it, that is the answer; else only the snapshot
                    # went stale and the transaction is tried again.
                    failed = True
                    error = operations.failure(op, _plain(reason.get("Item")))
                    if error is not None:
                        raise error
                elif reason.get("Code") == "ValidationError":
                    raise ValueError(reason.get("Message", "invalid item"))
            if not failed and not any(
                reason.get("Code") in _RETRYABLE_REASONS for reason in reasons
            ):
                raise RuntimeError(f"transaction cancelled: {reasons}")
            time.sleep(0.01 * 2**attempt)  # racing writers: back off before reading again
        raise PreconditionFailed("the items kept changing while being written", key=keys[0])

    def _snapshot(self, keys: list[Key]) -> dict[Key, dict[str, Any] | None]:
        state: dict[Key, dict[str, Any] | None] = {}
        # Read in chunks: moto still caps TransactGetItems at 25 (AWS at 100). The write's
        # conditions are pinned to what was read, so a snapshot that spans two reads and
        # went stale in between only costs a retry.
        for start in range(0, len(keys), _SNAPSHOT_KEYS):
            chunk = keys[start : start + _SNAPSHOT_KEYS]
            response = self._call(
                "transact_get_items",
                TransactItems=[
                    {"Get": {"TableName": self.table_name, "Key": _key(pk, sk)}} for pk, sk in chunk
                ],
            )
            for key, answer in zip(chunk, response["Responses"], strict=True):
                state[key] = answer.get("Item")
        return state

    def _plan(
        self,
        ops: Sequence[Op],
        state: dict[Key, dict[str, Any] | None],
        entries_before: dict[Key, frozenset[Entry]],
    ) -> WritePlan:
        """The transaction of ``ops`` and the search-index writes around it.

        The index changes go into the transaction when they fit beside the items. When they
        do not (a searchable item whose every term changes, beside many other writes), new
        term items are written before the transaction and old ones deleted after it: the
        items stay atomic, and search, which checks each hit against the item's ``_terms``,
        is never wrong in between.
        """
        item_actions = []
        puts: list[dict[str, Any]] = []
        deletes: list[tuple[dict[str, Any], int]] = []
        for op in ops:
            key = operations.op_key(op)
            current = state.get(key)
            before = entries_before.get(key, frozenset())
            after = operations.entries_after(op, before)
            item_actions.append(self._item_action(op, current))
            rev = operations.new_rev(op, _plain(current))
            deletes.extend(
                (index_key, rev)
                for scope, term in sorted(before - after)
                for index_key in index_keys(scope, term, key)
            )
            puts.extend(
                index_item
                for scope, term in sorted(after - before)
                for index_item in index_items(scope, term, key, rev)
            )
        room = MAX_TRANSACTION_OPS - len(item_actions)
        if len(puts) + len(deletes) <= room:
            # Item actions first, so cancellation reasons line up with the caller's operations.
            actions = item_actions + [
                {"Delete": {"TableName": self.table_name, "Key": key}} for key, _ in deletes
            ]
            actions += [{"Put": {"TableName": self.table_name, "Item": item}} for item in puts]
            return WritePlan(actions, [], [])
        return WritePlan(item_actions, puts, deletes)

    def _write_terms(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [
                {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]
            ]
            self._batch_write(requests)

    def _delete_terms_after(self, deletes: Sequence[tuple[dict[str, Any], int]]) -> None:
        from botocore.exceptions import ClientError

        for key, rev in deletes:
            try:
                # A later write of the item may have put the term back: keep that one.
                self._client.delete_item(
                    TableName=self.table_name,
                    Key=key,
                    ConditionExpression="attribute_not_exists(item_rev) OR item_rev <= :rev",
                    ExpressionAttributeValues={":rev": {"N": str(rev)}},
                )
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table_name: requests}
        for attempt in range(MAX_ATTEMPTS):
            response = self._call("batch_write_item", RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.01 * 2**attempt)  # throttled: back off, then send what is left
        raise RuntimeError("DynamoDB kept refusing the search-index writes")

    def _item_action(self, op: Op, current: dict[str, Any] | None) -> dict[str, Any]:
        pk, sk = operations.op_key(op)
        common: dict[str, Any] = {
            "TableName": self.table_name,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        pinned_rev: int | None
        if isinstance(op, Create):
            condition, pinned_rev = "attribute_not_exists(pk)", None
        elif isinstance(op, Put | Delete):
            # Pinned to the snapshot, so the term items removed are those the item has.
            pinned_rev = None if current is None else int(current["rev"]["N"])
            condition = "attribute_not_exists(pk)" if current is None else "rev = :rev"
        elif op.rev is None:  # a Check without rev
            condition, pinned_rev = "attribute_exists(pk)", None
        else:
            condition, pinned_rev = "rev = :rev", op.rev
        values: dict[str, Any] = {}
        if pinned_rev is not None:
            values[":rev"] = {"N": str(pinned_rev)}
        expect = getattr(op, "expect", None)
        if expect:
            # In the write's own condition: the snapshot alone would miss an item deleted
            # and created again at the same revision.
            names = {}
            for index, (name, value) in enumerate(sorted(expect.items())):
                names[f"#e{index}"] = name
                if value is None:
                    condition += f" AND attribute_not_exists(#e{index})"
                else:
                    condition += f" AND #e{index} = :e{index}"
                    values[f":e{index}"] = _to_value(value)
            common["ExpressionAttributeNames"] = names
        common["ConditionExpression"] = condition
        if values:
            common["ExpressionAttributeValues"] = values
        if isinstance(op, Check):
            return {"ConditionCheck": {**common, "Key": _key(pk, sk)}}
        if isinstance(op, Delete):
            return {"Delete": {**common, "Key": _key(pk, sk)}}
        assert isinstance(op, Create | Replace | Put)
        item = operations.stored(op.item, operations.new_rev(op, _plain(current)))
        raw = to_dynamodb(item)
        if operations.index_entries(item):
            raw["_terms"] = {"L": [{"S": term} for term in _terms_of(item)]}
        return {"Put": {**common, "Item": raw}}

    def _call(self, method: str, **arguments: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client, method)(**arguments)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ValidationException":
                raise ValueError(exc.response["Error"].get("Message", str(exc))) from None
            raise self.unavailable(exc) or exc from None

    def unavailable(self, exc: Any) -> Unavailable | None:
        """The Unavailable a DynamoDB error means (missing table, throttling), or None."""
        code = exc.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            return Unavailable(f"the table {self.table_name} does not exist: run brygge migrate")
        if code in _THROTTLED:
            return Unavailable("DynamoDB is throttling requests; try again shortly")
        return None


def term_partition(scope: str, term: str) -> str:
    """Partition of the term items of one term in one search scope."""
    return f"{TERM_PREFIX}{scope}#{term}"


def term_key(scope: str, term: str, key: Key) -> dict[str, Any]:
    """DynamoDB key of the term item linking ``term`` to the item ``key``."""
    sort = json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))
    return {"pk": {"S": term_partition(scope, term)}, "sk": {"S": sort}}


def term_item(scope: str, term: str, key: Key, rev: int | None = None) -> dict[str, Any]:
    """DynamoDB term item linking ``term`` to the item ``key`` (at revision ``rev``)."""
    item = {**term_key(scope, term, key), "item_pk": {"S": key[0]}, "item_sk": {"S": key[1]}}
    if rev is not None:
        item["item_rev"] = {"N": str(rev)}
    return item


def prefix_partition(scope: str, term: str) -> str:
    """Partition of the prefix items of every term starting with ``term``'s first letters."""
    return f"{TERM_PREFIX}{scope}#{term[: ranking.MIN_PREFIX]}*"


def prefix_key(scope: str, term: str, key: Key) -> dict[str, Any]:
    """DynamoDB key of the prefix item linking ``term`` to the item ``key``."""
    sort = term + " " + json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))
    return {"pk": {"S": prefix_partition(scope, term)}, "sk": {"S": sort}}


def index_keys(scope: str, term: str, key: Key) -> list[dict[str, Any]]:
    """Keys of the index items of one term of the item ``key``: term item, prefix item."""
    found = [term_key(scope, term, key)]
    if len(term) >= ranking.MIN_PREFIX:
        found.append(prefix_key(scope, term, key))
    return found


def index_items(scope: str, term: str, key: Key, rev: int | None = None) -> list[dict[str, Any]]:
    """The index items of one term of the item ``key`` (at revision ``rev``)."""
    link = term_item(scope, term, key, rev)
    del link["pk"], link["sk"]
    return [{**index_key, **link} for index_key in index_keys(scope, term, key)]


@dataclass(frozen=True, slots=True)
class WritePlan:
    """A transaction and the search-index writes that go before and after it."""

    actions: list[dict[str, Any]]
    early: list[dict[str, Any]]
    late: list[tuple[dict[str, Any], int]]


def stored_entries(raw: dict[str, Any] | None) -> frozenset[Entry]:
    """The index entries a stored DynamoDB item has term items for."""
    if raw is None or "_terms" not in raw or "S" not in raw.get("search_scope", {}):
        return frozenset()
    scope = raw["search_scope"]["S"]
    return frozenset((scope, term["S"]) for term in raw["_terms"]["L"])


def _terms_of(item: Item) -> list[str]:
    return operations.indexed_terms(item["search_text"])


def _query_id(query: Query) -> str:
    return operations.fingerprint(
        "dynamodb", query.partition, query.index, query.prefix, query.descending
    )


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _position(position: Any, names: Sequence[str]) -> dict[str, str]:
    if (
        not isinstance(position, dict)
        or set(position) != set(names)
        or not all(isinstance(value, str) and value for value in position.values())
    ):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return position


def _batch_size(limit: int, where: Predicate | None) -> int:
    # One item of look-ahead tells whether a next page exists; with a filter, read more per
    # round trip since some items will be rejected.
    return limit + 1 if where is None else max(limit + 1, 200)


def _plain(raw: dict[str, Any] | None) -> Item | None:
    return None if raw is None else from_dynamodb(raw)


# -- attribute values --------------------------------------------------------------------


def to_dynamodb(item: Item) -> dict[str, Any]:
    """An item as DynamoDB attribute values."""
    return {name: _to_value(value) for name, value in item.items()}


def from_dynamodb(raw: dict[str, Any]) -> Item:
    """An item from DynamoDB attribute values, without the store's hidden attributes."""
    return {name: _from_value(value) for name, value in raw.items() if name != "_terms"}


def _to_value(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be stored")
        # repr is the shortest text that reads back as the same float.
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, list | tuple):
        return {"L": [_to_value(element) for element in value]}
    if isinstance(value, dict):
        for name in value:
            if not isinstance(name, str):
                raise ValueError(f"object keys must be strings, not {name!r}")
        return {"M": {name: _to_value(element) for name, element in value.items()}}
    raise ValueError(f"cannot store a {type(value).__name__}")


def _from_value(raw: dict[str, Any]) -> Any:
    (kind, value), *_ = raw.items()
    if kind == "S" or kind == "BOOL":
        return value
    if kind == "N":
        return _number(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_from_value(element) for element in value]
    if kind == "M":
        return {name: _from_value(element) for name, element in value.items()}
    raise ValueError(f"unexpected DynamoDB type {kind}")


def _number(text: str) -> int | float:
    # DynamoDB keeps numbers as decimals and drops a float's ".0", so an integral float
    # comes back as an int (equal to it); every other float comes back exactly.
    if any(char in text for char in ".eE"):
        return float(text)
    return int(text)
