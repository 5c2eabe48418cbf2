"""The AWS ItemStore: one DynamoDB table, single-table design, no Scan on any path.

Table (made by ``migrations/0001_initial.py``): ``pk`` (HASH) and ``sk`` (RANGE), strings;
global secondary index ``gsi1`` on ``gsi1pk``/``gsi1sk``, projecting all attributes;
on-demand billing.

Writes. Every operation is a conditional write: Create ``attribute_not_exists(pk)``,
Replace and a Delete or Check with ``rev`` ``rev = :rev``. A transaction that overwrites or
deletes items first reads them in one TransactGetItems, so it knows their revisions and
search terms, evaluates the caller's conditions in order on that snapshot (raising the first
failure), then writes with every condition pinned to the snapshot. If the write is cancelled,
``ReturnValuesOnConditionCheckFailure=ALL_OLD`` shows the items as they were: when one of
them now fails the caller's condition, that error is raised (the first such operation in the
caller's order); when only the snapshot went stale (a racing Put or Delete), the
transaction is retried. The write's actions are built by ``catalogue.store.dynamodb_actions``.

The search index (index items in the same table) is laid out by
``catalogue.store.dynamodb_search`` and read by ``catalogue.store.dynamodb_index_reads``, the
facet counters by ``catalogue.store.dynamodb_facets`` (changed inside the transaction, from
the same snapshot); attribute values are converted by ``catalogue.store.dynamodb_codec``.

Cursors are base64url JSON of a digest of the query and the key of the last item returned
(not DynamoDB's LastEvaluatedKey, which may lie beyond items a ``where`` filter or the limit
held back). A previous cursor holds the key of a page's first item and is read with
``ScanIndexForward`` flipped from that key; the last cursor reads flipped from the end. A
query on ``gsi1`` is eventually consistent, as every GSI read is.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from catalogue.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    Unavailable,
)
from catalogue.store import dynamodb_actions as actions
from catalogue.store import dynamodb_answers, dynamodb_bulk, operations, paging
from catalogue.store.base import Delete, Item, Op, Page, Put, PutNewer, Query, Replace
from catalogue.store.dynamodb_codec import from_dynamodb, plain, raw_key
from catalogue.store.dynamodb_index_reads import IndexReads
from catalogue.store.dynamodb_search import delete_stale_terms, stored_entries
from catalogue.store.operations import Key

GSI1 = "gsi1"
# Attempts of a transaction whose snapshot keeps going stale under racing writers.
MAX_ATTEMPTS = 8
_BATCH_GET_KEYS = 100
_BATCH_WRITE = 25  # BatchWriteItem's limit
_SNAPSHOT_KEYS = 25
_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
}
THROTTLED_MESSAGE = "DynamoDB is throttling requests; try again shortly"
_THROTTLED_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded"}
_RETRYABLE_REASONS = {"TransactionConflict", *_THROTTLED_REASONS}


def dynamodb_client() -> Any:
    """The process-wide DynamoDB client (made on first use; endpoints from AWS_ENDPOINT_URL*)."""
    from pipelines.aws import aws_client

    return aws_client("dynamodb")


def bulk_client() -> Any:
    """The process-wide DynamoDB client of bulk loads: no botocore parameter validation.

    The requests of ``load`` are built by the store, never from a caller's input, and
    DynamoDB checks them anyway; botocore's check was half the CPU time of seeding.
    """
    from pipelines.aws import aws_client

    return aws_client("dynamodb", validate=False)


class DynamoDbStore(IndexReads):
    """ItemStore over one DynamoDB table. Assumes the migrations have been applied."""

    backend = "dynamodb"

    def __init__(self, table_name: str) -> None:
        self.table_name = table_name
        # Answers of find, count_listed, facet_counts and kept, per process (dynamodb_answers).
        self._answers = dynamodb_answers.answers()
        # Per thread: how many queries read gsi1 (answers that did are kept only once settled).
        self._local = threading.local()

    def _index_reads(self) -> int:
        return getattr(self._local, "index_reads", 0)

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
            "get_item", TableName=self.table_name, Key=raw_key(pk, sk), ConsistentRead=True
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
                    "Keys": [raw_key(pk, sk) for pk, sk in keys[start : start + _BATCH_GET_KEYS]],
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
        paging.check_query(query, limit)
        if query.index not in (None, GSI1):
            raise ValueError(f"no index named {query.index!r}")
        partition, sort = ("pk", "sk") if query.index is None else ("gsi1pk", "gsi1sk")
        key_names = ("pk", "sk") if query.index is None else ("pk", "sk", "gsi1pk", "gsi1sk")
        query_id = _query_id(query)
        start, before = None, False
        if cursor is not None:
            start, before = paging.decode_query_cursor(cursor, query_id)
            if start is not None:
                start = _position(start, key_names)
                if start[partition] != query.partition:
                    raise InvalidValue("cursor", "the cursor belongs to another query")
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#p = :p",
            "ExpressionAttributeNames": {"#p": partition},
            "ExpressionAttributeValues": {":p": {"S": query.partition}},
        }
        # A round trip costs more than decoding a few dozen items more (botocore's parse is
        # skipped for item reads: pipelines/aws_parsing.py); most items pass a caller's
        # visibility, so twice the page is read first.
        sizes = paging.batch_sizes(limit, query.where, first=2, growth=4)
        if query.index is None:
            arguments["ConsistentRead"] = True
        else:
            arguments["IndexName"] = query.index
            self._local.index_reads = self._index_reads() + 1
        if query.prefix:
            arguments["KeyConditionExpression"] += " AND begins_with(#s, :s)"
            arguments["ExpressionAttributeNames"]["#s"] = sort
            arguments["ExpressionAttributeValues"][":s"] = {"S": query.prefix}
        elif query.after is not None:
            comparison = "<" if query.descending else ">"
            arguments["KeyConditionExpression"] += f" AND #s {comparison} :a"
            arguments["ExpressionAttributeNames"]["#s"] = sort
            arguments["ExpressionAttributeValues"][":a"] = {"S": query.after}

        def fetch(
            position: dict[str, str] | None, reverse: bool
        ) -> tuple[list[tuple[Item, Any]], Any]:
            # An ExclusiveStartKey is a position between items: it serves either direction.
            call = {**arguments, "ScanIndexForward": query.descending == reverse}
            call["Limit"] = next(sizes)
            if position is not None:
                call["ExclusiveStartKey"] = {name: {"S": value} for name, value in position.items()}
            response = self._call("query", **call)
            rows = [
                (from_dynamodb(raw), {name: raw[name]["S"] for name in key_names})
                for raw in response.get("Items", [])
            ]
            last = response.get("LastEvaluatedKey")
            return rows, None if last is None else {name: last[name]["S"] for name in last}

        return paging.query_page(fetch, query_id, start, before, limit, query.where)

    def last_cursor(self, query: Query) -> str:
        """A cursor reading the final items of ``query`` (see ItemStore)."""
        paging.check_query(query, 1)
        if query.index not in (None, GSI1):
            raise ValueError(f"no index named {query.index!r}")
        return paging.encode_cursor(_query_id(query), None, before=True)

    # -- writes --------------------------------------------------------------------------

    def write(self, op: Op) -> None:
        """Apply one operation; raises as the operation's docstring says."""
        self.transact([op])

    def write_each(self, ops: Sequence[Op]) -> list[DomainError | None]:
        """Apply each operation on its own condition, one write each (see ItemStore.write_each).

        DynamoDB has no batch write with conditions: a transaction would fail whole.
        """
        operations.check_ops(ops)
        results: list[DomainError | None] = []
        for op in ops:
            try:
                self.transact([op])
                results.append(None)
            except (AlreadyExists, NotFound, PreconditionFailed) as error:
                results.append(error)
        return results

    def load(self, transactions: Iterable[Sequence[Op]]) -> int:
        """Write each transaction's items in batches, for seeding (see ``dynamodb_bulk``).

        The search generation advances once all are written, or as many as were.
        """
        try:
            return dynamodb_bulk.load(self, transactions, bulk_client())
        finally:
            dynamodb_answers.advance(self._client, self.table_name)

    def transact(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none (see ItemStore.transact and the module notes)."""
        from botocore.exceptions import ClientError

        operations.check_ops(ops)
        keys = [operations.op_key(op) for op in ops]
        # Overwrites and deletes must know the items' terms and revisions first; Creates and
        # Checks alone carry their whole condition and learn the outcome from the write.
        needs_snapshot = any(isinstance(op, (Replace, Put, PutNewer, Delete)) for op in ops)
        throttled = False
        for attempt in range(MAX_ATTEMPTS):
            state = self._snapshot(keys) if needs_snapshot else {}
            if needs_snapshot:
                error = operations.first_failure(
                    ops, {key: plain(raw) for key, raw in state.items()}
                )
                if error is not None:
                    raise error
            deltas = operations.facet_deltas(ops, {key: plain(raw) for key, raw in state.items()})
            operations.check_counted_size(ops, deltas)
            entries_before = {key: stored_entries(raw) for key, raw in state.items()}
            plan = actions.plan(self.table_name, ops, state, entries_before, deltas)
            # Term items added early may outlive a cancelled write: search checks every
            # hit against the item's own _terms, so they never show.
            self._write_terms(plan.early)
            try:
                self._client.transact_write_items(TransactItems=plan.actions)
                if plan.advance_after:
                    dynamodb_answers.advance(self._client, self.table_name)
                delete_stale_terms(self._client, self.table_name, plan.late)
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
                    error = operations.failure(op, plain(reason.get("Item")))
                    if error is not None:
                        raise error
                elif reason.get("Code") == "ValidationError":
                    raise ValueError(reason.get("Message", "invalid item"))
            refused = next((r for r in reasons if r.get("Code") == "ValidationError"), None)
            if refused is not None:
                # A write beside the items (search index, counters) DynamoDB will not take:
                # trying again cannot help.
                raise ValueError(refused.get("Message", "invalid write"))
            if not failed and not any(
                reason.get("Code") in _RETRYABLE_REASONS for reason in reasons
            ):
                raise RuntimeError(f"transaction cancelled: {reasons}")
            throttled = not failed and any(
                reason.get("Code") in _THROTTLED_REASONS for reason in reasons
            )
            # Racing writers (every dataset write of an access class updates its counters):
            # back off, with jitter so they do not meet again, before reading again.
            time.sleep(random.uniform(0.5, 1.0) * 0.01 * 2**attempt)
        if throttled:
            # Nothing changed the items: DynamoDB kept refusing the write's capacity.
            raise Unavailable(THROTTLED_MESSAGE)
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
                    {"Get": {"TableName": self.table_name, "Key": raw_key(pk, sk)}}
                    for pk, sk in chunk
                ],
            )
            for key, answer in zip(chunk, response["Responses"], strict=True):
                state[key] = answer.get("Item")
        return state

    def _write_terms(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [
                {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]
            ]
            self._batch_write(requests)

    def _batch_write(self, requests: list[dict[str, Any]], client: Any = None) -> None:
        pending: dict[str, Any] = {self.table_name: requests}
        for attempt in range(MAX_ATTEMPTS):
            response = self._call_on(client, "batch_write_item", RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(0.01 * 2**attempt)  # throttled: back off, then send what is left
        raise RuntimeError("DynamoDB kept refusing the search-index writes")

    def _call(self, method: str, **arguments: Any) -> Any:
        return self._call_on(None, method, **arguments)

    def _call_on(self, client: Any, method: str, **arguments: Any) -> Any:
        """Call ``method`` on ``client`` (None: the store's), its errors translated."""
        from botocore.exceptions import ClientError

        try:
            return getattr(client or self._client, method)(**arguments)
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
            return Unavailable(THROTTLED_MESSAGE)
        return None


def _query_id(query: Query) -> str:
    return paging.fingerprint(
        "dynamodb",
        query.partition,
        query.index,
        query.prefix,
        query.descending,
        # Only when given: cursors of queries without it keep their fingerprint.
        *([query.after] if query.after is not None else []),
    )


def _position(position: Any, names: Sequence[str]) -> dict[str, str]:
    if (
        not isinstance(position, dict)
        or set(position) != set(names)
        or not all(isinstance(value, str) and value for value in position.values())
    ):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return position
