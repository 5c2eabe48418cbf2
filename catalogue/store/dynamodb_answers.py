"""The DynamoDB store's search generation and the answers it keeps under it.

- Generation item: ``pk = "generation"``, ``sk = "search"``, a number ``v`` (absent: 0).
  Every transaction that changes what ``find``, ``count_listed`` and ``facet_counts`` read
  adds one to it with an ``Update`` in the same TransactWriteItems: one that puts, replaces
  or deletes an item with a ``search_scope`` (before or after) or an item of a filter
  partition (``filter#``), or changes a facet counter. Other writes (runs, events,
  uploads) leave it alone, so they never contend for it.
- A transaction already holding 100 actions has no room for it: the generation is then
  advanced right after the transaction, as it is after a bulk load and after migrations.
  Should the process die in between, answers kept elsewhere would miss that write until
  the next one; ``MAX_AGE`` bounds how long.
- A kept read costs one strongly consistent GetItem of the generation item (one read
  unit) instead of the index partitions, the items and the counters a search reads. The
  generation is read before the answer is computed: a write committed meanwhile moves it
  on, so an answer that saw the write only in part is never reused once it committed.
- The item also holds ``changed_at``, the writer's clock (epoch seconds) at the last
  advance. Reads of the global secondary index are eventually consistent, so an answer
  that read it (the unfiltered list) is kept only when computed INDEX_SETTLE_SECONDS after
  that: one computed sooner may miss a write the index has not shown yet, and is answered
  without being kept. (DynamoDB propagates to an index within a second as a rule.)
- Dataset writes of any access class, facet change or not, now write the same item: as
  with the counters, racing transactions are cancelled and tried again (see
  ``DynamoDbStore.transact``). DynamoDB takes about 1,000 writes a second on one item,
  far above how often a catalogue's datasets change.
- The partition ``generation`` belongs to the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.store import keys, operations
from catalogue.store.answer_cache import MISSING, AnswerCache
from catalogue.store.base import Check, Op

GENERATION_KEY = {"pk": {"S": "generation"}, "sk": {"S": "search"}}
# Seconds after a change before answers read through the index are kept (see the module).
INDEX_SETTLE_SECONDS = 5.0
# Seconds an answer is reused at most, whatever the generation says (see the module).
MAX_AGE = 600.0


def answers() -> AnswerCache:
    """An empty cache of DynamoDB search answers."""
    return AnswerCache(max_age=MAX_AGE)


def changes_searches(
    ops: Sequence[Op], state: Mapping[Any, dict[str, Any] | None], deltas: Mapping[Any, int]
) -> bool:
    """Whether the transaction of ``ops`` over the snapshot ``state`` changes a search answer."""
    if deltas:
        return True
    for op in ops:
        if isinstance(op, Check):
            continue
        pk, sk = operations.op_key(op)
        if pk.startswith(keys.FILTER_PREFIX):
            return True
        before = state.get((pk, sk))
        if before is not None and "search_scope" in before:
            return True
        if "search_scope" in (getattr(op, "item", None) or {}):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Generation:
    """The search generation's number and when it last advanced (the writer's clock)."""

    number: int
    changed_at: float


def advance_action(table_name: str) -> dict[str, Any]:
    """The transaction action that advances the search generation."""
    return {"Update": {"TableName": table_name, "Key": GENERATION_KEY, **_advancing()}}


def advance(client: Any, table_name: str) -> None:
    """Advance the search generation on its own (outside any transaction)."""
    client.update_item(TableName=table_name, Key=GENERATION_KEY, **_advancing())


def current(call: Callable[..., Any], table_name: str) -> Generation:
    """The search generation as last committed (a strongly consistent read)."""
    response = call(
        "get_item",
        TableName=table_name,
        Key=GENERATION_KEY,
        ConsistentRead=True,
        ProjectionExpression="v, changed_at",
    )
    item = response.get("Item", {})
    return Generation(
        int(item.get("v", {}).get("N", "0")), float(item.get("changed_at", {}).get("N", "0"))
    )


def answer(
    cache: AnswerCache,
    generation: Callable[[], Generation],
    key: Hashable,
    compute: Callable[[], Any],
    weigh: Callable[[Any], int],
    *,
    index_reads: Callable[[], int],
    clock: Callable[[], float] = time.time,
) -> Any:
    """The answer of ``key`` kept at the current ``generation()``, else ``compute()``d and kept.

    ``index_reads`` counts this thread's reads of the global secondary index: an answer
    that read it is kept only once the index has settled (see the module). Answers
    ``compute`` asks for on the same thread use the generation this one read, as SQLite's
    use its read transaction.
    """
    computing: dict[int, Generation] = _computing.__dict__.setdefault("generations", {})
    outer = computing.get(id(cache))
    # An answer computed for another one (of the same store) reads at the generation that
    # one read.
    at = outer or generation()
    value = cache.kept(key, at.number)
    if value is MISSING:
        started, reads = clock(), index_reads()
        computing[id(cache)] = at
        try:
            value = compute()
        finally:
            if outer is None:
                del computing[id(cache)]
        if index_reads() == reads or started - at.changed_at >= INDEX_SETTLE_SECONDS:
            cache.keep(key, at.number, value, weigh(value))
    return value


# Per thread: the generation each store's answer being computed read (by id of its cache).
_computing = threading.local()


def _advancing() -> dict[str, Any]:
    """The update adding one to the generation and stamping it with this clock."""
    return {
        "UpdateExpression": "ADD v :one SET changed_at = :now",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":now": {"N": repr(time.time())}},
    }
