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
transaction is retried.

The search index (term and prefix items in the same table) is laid out by
``catalogue.store.dynamodb_search``, the facet counters by ``catalogue.store.dynamodb_facets``
(changed inside the transaction, from the same snapshot); attribute values are converted by
``catalogue.store.dynamodb_codec``.

Cursors are base64url JSON of a digest of the query and the key of the last item returned
(not DynamoDB's LastEvaluatedKey, which may lie beyond items a ``where`` filter or the limit
held back). A previous cursor holds the key of a page's first item and is read with
``ScanIndexForward`` flipped from that key; the last cursor reads flipped from the end. A
query on ``gsi1`` is eventually consistent, as every GSI read is.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidValue,
    NotFound,
    PreconditionFailed,
    Unavailable,
)
from catalogue.store import operations, ranking
from catalogue.store.base import (
    Check,
    Create,
    Delete,
    Find,
    Found,
    Item,
    Op,
    Page,
    Predicate,
    Put,
    PutNewer,
    Query,
    Replace,
)
from catalogue.store.dynamodb_codec import (
    from_dynamodb,
    plain,
    raw_key,
    to_dynamodb,
    to_value,
)
from catalogue.store.dynamodb_facets import add_counts, counter_actions, counts_query
from catalogue.store.dynamodb_search import (
    SEARCH_BATCH,
    WritePlan,
    candidates_query,
    delete_stale_terms,
    hits,
    holder_queries,
    index_changes,
    linked_keys,
    stored_entries,
    terms_attribute,
    write_plan,
)
from catalogue.store.finding import check_find, find_in
from catalogue.store.operations import Entry, Facet, Key
from catalogue.store.ranking import SearchOrder

GSI1 = "gsi1"
# find reads at most this many of the other terms' index items per candidate (see _holders).
NARROWING_RATIO = 20
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
        observe: Callable[[Item], None] | None = None,
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
            observe=observe,
        )

    def find(self, request: Find) -> Found:
        """Run ``request`` over the items the term index points at (see ``finding``)."""
        check_find(request)
        query = ranking.parse(request.text)
        if query.empty:
            return find_in(request, [])
        return find_in(request, self._candidates(request.scope, query, narrow=True))

    def facet_counts(self, scope: str) -> dict[str, dict[str, int]]:
        """How many items of ``scope`` hold each facet value (see ItemStore.facet_counts)."""
        counts: dict[str, dict[str, int]] = {}
        call = counts_query(self.table_name, scope)
        while True:
            response = self._call("query", **call)
            for raw in response.get("Items", []):
                add_counts(counts, raw)
            if "LastEvaluatedKey" not in response:
                return counts
            call["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _candidates(
        self, scope: str, query: ranking.SearchQuery, *, narrow: bool = False
    ) -> Iterator[Item]:
        """The items of ``scope`` matching ``query``, read lazily through one index partition.

        ``narrow`` fetches only the candidates indexed under every other query term too
        (see ``_holders``); index items are never missing, so none that match is left out.
        """
        call = candidates_query(self.table_name, scope, query)
        holders: set[Key] | None = None
        asked = False
        while True:
            response = self._call("query", **call)
            entries = response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if narrow and not asked:
                # Reading the other terms' keys pays while it costs less than the fetches
                # it saves: a term item is ~1/30 of a fetched item's read unit.
                budget = NARROWING_RATIO * (len(entries) if last is None else SEARCH_BATCH)
                holders, asked = self._holders(scope, query, budget), True
            if holders is not None:
                entries = [raw for raw in entries if _linked(raw) in holders]
            yield from hits(entries, self._batch_get(linked_keys(entries)), scope, query)
            if last is None:
                return
            call["ExclusiveStartKey"] = last

    def _holders(self, scope: str, query: ranking.SearchQuery, budget: int) -> set[Key] | None:
        """The keys indexed under every query term but the driver; None when there is no
        other term or reading them would pass ``budget`` index items (then nothing narrows)."""
        found: set[Key] | None = None
        for call in holder_queries(self.table_name, scope, query):
            keys: set[Key] = set()
            while True:
                response = self._call("query", **call)
                keys.update(_linked(raw) for raw in response.get("Items", []))
                if len(keys) > budget:
                    return None
                if "LastEvaluatedKey" not in response:
                    break
                call["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            found = keys if found is None else found & keys
        return found

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

    def transact(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none (see ItemStore.transact and the module notes)."""
        from botocore.exceptions import ClientError

        operations.check_ops(ops)
        keys = [operations.op_key(op) for op in ops]
        # Overwrites and deletes must know the items' terms and revisions first; Creates and
        # Checks alone carry their whole condition and learn the outcome from the write.
        needs_snapshot = any(isinstance(op, Replace | Put | PutNewer | Delete) for op in ops)
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
            plan = self._plan(ops, state, entries_before, deltas)
            # Term items added early may outlive a cancelled write: search checks every
            # hit against the item's own _terms, so they never show.
            self._write_terms(plan.early)
            try:
                self._client.transact_write_items(TransactItems=plan.actions)
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
            if not failed and not any(
                reason.get("Code") in _RETRYABLE_REASONS for reason in reasons
            ):
                raise RuntimeError(f"transaction cancelled: {reasons}")
            # Racing writers (every dataset write of an access class updates its counters):
            # back off, with jitter so they do not meet again, before reading again.
            time.sleep(random.uniform(0.5, 1.0) * 0.01 * 2**attempt)
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

    def _plan(
        self,
        ops: Sequence[Op],
        state: dict[Key, dict[str, Any] | None],
        entries_before: dict[Key, frozenset[Entry]],
        deltas: Mapping[Facet, int],
    ) -> WritePlan:
        """The transaction of ``ops`` (with its counter updates) and the index writes around it."""
        item_actions = []
        puts: list[dict[str, Any]] = []
        deletes: list[tuple[dict[str, Any], int]] = []
        for op in ops:
            item_key = operations.op_key(op)
            current = state.get(item_key)
            before = entries_before.get(item_key, frozenset())
            item_actions.append(self._item_action(op, current))
            old, new = index_changes(
                item_key,
                before,
                operations.entries_after(op, before),
                operations.new_rev(op, plain(current)),
            )
            deletes.extend(old)
            puts.extend(new)
        # After the items, so cancellation reasons still line up with the caller's operations.
        counters = counter_actions(self.table_name, deltas)
        return write_plan(self.table_name, item_actions + counters, puts, deletes)

    def _write_terms(self, items: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            requests = [
                {"PutRequest": {"Item": item}} for item in items[start : start + _BATCH_WRITE]
            ]
            self._batch_write(requests)

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
        elif isinstance(op, Put | PutNewer | Delete):
            # Pinned to the snapshot, so the term items removed are those the item has. A
            # PutNewer's comparison was made on that snapshot: the pinned revision carries
            # it into the write's condition (a newer value written meanwhile changes rev,
            # and the refusal's ALL_OLD item decides between failing and trying again).
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
                    values[f":e{index}"] = to_value(value)
            common["ExpressionAttributeNames"] = names
        common["ConditionExpression"] = condition
        if values:
            common["ExpressionAttributeValues"] = values
        if isinstance(op, Check):
            return {"ConditionCheck": {**common, "Key": raw_key(pk, sk)}}
        if isinstance(op, Delete):
            return {"Delete": {**common, "Key": raw_key(pk, sk)}}
        assert isinstance(op, Create | Replace | Put | PutNewer)
        item = operations.stored(op.item, operations.new_rev(op, plain(current)))
        raw = to_dynamodb(item)
        if operations.index_entries(item):
            raw["_terms"] = terms_attribute(item)
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


def _query_id(query: Query) -> str:
    return operations.fingerprint(
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


def _batch_size(limit: int, where: Predicate | None) -> int:
    # One item of look-ahead tells whether a next page exists; with a filter, read more per
    # round trip since some items will be rejected.
    return limit + 1 if where is None else max(limit + 1, 200)


def _linked(raw: dict[str, Any]) -> Key:
    """The key of the item an index item points at."""
    return (raw["item_pk"]["S"], raw["item_sk"]["S"])
