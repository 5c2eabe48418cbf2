"""Bulk loading of the DynamoDB store: transactions' writes in BatchWriteItem, not one by one.

``load`` checks each transaction as ``transact`` does, against a snapshot read with one
BatchGetItem per PER_BATCH transactions, and plans it with ``dynamodb_actions.plan``: the
very items, index items and counter changes a transaction writes. Then it sends the items
in BatchWriteItem (25 a call, the last write of each key) and the batch's counter changes
added up, one ``ADD`` per counter item. The writes carry no conditions: the checks hold
only while nobody else writes the same keys, which is what seeding a table is; a live table
takes ``transact``.

The writes go out from WRITERS threads while the next batch is read and planned, at most
IN_FLIGHT batches ahead of what is written: planning (Python) and writing (the service)
overlap. A batch's snapshot is read while earlier batches' writes may still be on the way,
so their writes of the same keys are laid over it (the writes of the batch in hand and of
the ones before it), and a batch that writes a key an unfinished batch writes waits for it
first, so the last write of a key lands last. The writes go through a client without
botocore's parameter validation (``dynamodb.bulk_client``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
# BatchWriteItem calls in flight, and planned batches not yet written.
WRITERS = 4
IN_FLIGHT = 2
_BATCH_WRITE = 25  # BatchWriteItem's limit


class _Sent:
    """A batch on its way: its writes' futures, the keys it writes and the state it leaves
    of its operations' keys."""

    def __init__(self, futures: list[Future[Any]], keys: set[Key], items: dict[Key, Any]) -> None:
        self.futures = futures
        self.keys = keys
        self.items = items

    def done(self) -> bool:
        return all(future.done() for future in self.futures)

    def wait(self) -> None:
        """Wait for every write; raise the first one's error."""
        for future in self.futures:
            future.result()


def load(store: DynamoDbStore, transactions: Iterable[Sequence[Op]], client: Any) -> int:
    """Apply every transaction's writes (see the module); return how many were applied.

    Raises what ``transact`` raises for the first transaction that fails; the batch it is
    in is not written, the batches before it are (before the error is raised). A failed
    write raises its error; the writes not started by then are dropped. The writes go
    through ``client`` (the store's ``bulk_client``).
    """
    applied = 0
    pending = iter(transactions)
    sent: list[_Sent] = []
    with ThreadPoolExecutor(WRITERS, thread_name_prefix="dynamodb-load") as pool:
        try:
            while batch := list(itertools.islice(pending, PER_BATCH)):
                sent = _settle(sent, IN_FLIGHT - 1)
                try:
                    state, writes, totals = _plan_batch(store, batch, sent)
                except BaseException:
                    _settle(sent, 0)  # the batches before the failing one are written
                    raise
                if any(key in earlier.keys for earlier in sent for key in writes):
                    sent = _settle(sent, 0)  # the last write of a key must land last
                requests = list(writes.values())
                futures = [
                    pool.submit(store._batch_write, requests[start : start + _BATCH_WRITE], client)
                    for start in range(0, len(requests), _BATCH_WRITE)
                ]
                futures += [
                    pool.submit(store._call_on, client, "update_item", **action["Update"])
                    for action in counter_actions(store.table_name, totals)
                ]
                items = {key: state[key] for key in writes if key in state}
                sent.append(_Sent(futures, set(writes), items))
                applied += len(batch)
            _settle(sent, 0)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return applied


def _settle(sent: list[_Sent], keep: int) -> list[_Sent]:
    """Wait for the oldest batches until at most ``keep`` are unfinished; return those.

    Raises the error of a failed write of any finished batch.
    """
    unfinished = []
    for batch in sent:
        if batch.done():
            batch.wait()
        else:
            unfinished.append(batch)
    while len(unfinished) > keep:
        unfinished.pop(0).wait()
    return unfinished


def _plan_batch(
    store: DynamoDbStore, batch: list[Sequence[Op]], sent: list[_Sent]
) -> tuple[dict[Key, Any], dict[Key, dict[str, Any]], dict[Facet, int]]:
    """Check and plan ``batch``: the state it leaves, its writes by key, its counter changes."""
    for ops in batch:
        operations.check_ops(ops)
    keys = list(dict.fromkeys(operations.op_key(op) for ops in batch for op in ops))
    found = store._batch_get(keys)
    state: dict[Key, dict[str, Any] | None] = {key: found.get(key) for key in keys}
    # Writes still on their way may be missing from the snapshot: theirs is the state.
    for earlier in sent:
        for key in keys:
            if key in earlier.items:
                state[key] = earlier.items[key]
    writes: dict[Key, dict[str, Any]] = {}
    totals: dict[Facet, int] = {}
    for ops in batch:
        _plan(store.table_name, ops, state, writes, totals)
    return state, writes, totals


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
