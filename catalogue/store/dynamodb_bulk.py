"""Bulk loading of the DynamoDB store: transactions' writes in BatchWriteItem, not one by one.

``load`` checks each transaction as ``transact`` does, against a snapshot read with one
BatchGetItem per PER_BATCH transactions (kept up to date with the batch's own writes), and
plans it with ``dynamodb_actions.plan``: the very items, term items and counter changes a
transaction writes. Then it sends the items in BatchWriteItem (25 a call, the last write of
each key) and the batch's counter changes added up, one ``ADD`` per counter item. The
writes carry no conditions: the checks hold only while nobody else writes the same keys,
which is what seeding a table is; a live table takes ``transact``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from catalogue.store import dynamodb_actions as actions
from catalogue.store import operations
from catalogue.store.base import Op
from catalogue.store.dynamodb_codec import plain
from catalogue.store.dynamodb_facets import counter_actions
from catalogue.store.dynamodb_search import stored_entries
from catalogue.store.operations import Facet, Key

if TYPE_CHECKING:
    from catalogue.store.dynamodb import DynamoDbStore

# Transactions per snapshot read and per counter update.
PER_BATCH = 100
_BATCH_WRITE = 25  # BatchWriteItem's limit


def load(store: DynamoDbStore, transactions: Iterable[Sequence[Op]]) -> int:
    """Apply every transaction's writes (see the module); return how many were applied.

    Raises what ``transact`` raises for the first transaction that fails; the batch it is
    in is not written, the batches before it are.
    """
    applied = 0
    pending = iter(transactions)
    while batch := list(itertools.islice(pending, PER_BATCH)):
        for ops in batch:
            operations.check_ops(ops)
        keys = list(dict.fromkeys(operations.op_key(op) for ops in batch for op in ops))
        found = store._batch_get(keys)
        state: dict[Key, dict[str, Any] | None] = {key: found.get(key) for key in keys}
        writes: dict[tuple[str, str], dict[str, Any]] = {}
        totals: dict[Facet, int] = {}
        for ops in batch:
            _plan(store.table_name, ops, state, writes, totals)
        requests = list(writes.values())
        for start in range(0, len(requests), _BATCH_WRITE):
            store._batch_write(requests[start : start + _BATCH_WRITE])
        for action in counter_actions(store.table_name, totals):
            store._call("update_item", **action["Update"])
        applied += len(batch)
    return applied


def _plan(
    table_name: str,
    ops: Sequence[Op],
    state: dict[Key, dict[str, Any] | None],
    writes: dict[tuple[str, str], dict[str, Any]],
    totals: dict[Facet, int],
) -> None:
    """Check ``ops`` against ``state`` and add their writes to ``writes`` and ``totals``."""
    mine = {operations.op_key(op): state.get(operations.op_key(op)) for op in ops}
    plain_state = {key: plain(raw) for key, raw in mine.items()}
    error = operations.first_failure(ops, plain_state)
    if error is not None:
        raise error
    deltas = operations.facet_deltas(ops, plain_state)
    operations.check_counted_size(ops, deltas)
    entries_before = {key: stored_entries(raw) for key, raw in mine.items()}
    plan = actions.plan(table_name, ops, mine, entries_before, {})
    for action in plan.actions:
        if "Put" in action:
            item = action["Put"]["Item"]
            key = (item["pk"]["S"], item["sk"]["S"])
            writes[key] = {"PutRequest": {"Item": item}}
            state[key] = item
        elif "Delete" in action:
            raw_key = action["Delete"]["Key"]
            key = (raw_key["pk"]["S"], raw_key["sk"]["S"])
            writes[key] = {"DeleteRequest": {"Key": raw_key}}
            state[key] = None
    for item in plan.early:
        writes[(item["pk"]["S"], item["sk"]["S"])] = {"PutRequest": {"Item": item}}
    for raw_key, _ in plan.late:
        writes[(raw_key["pk"]["S"], raw_key["sk"]["S"])] = {"DeleteRequest": {"Key": raw_key}}
    for facet, delta in deltas.items():
        totals[facet] = totals.get(facet, 0) + delta
