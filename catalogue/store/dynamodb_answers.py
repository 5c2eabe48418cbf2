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
- Dataset writes of any access class, facet change or not, now write the same item: as
  with the counters, racing transactions are cancelled and tried again (see
  ``DynamoDbStore.transact``). DynamoDB takes about 1,000 writes a second on one item,
  far above how often a catalogue's datasets change.
- The partition ``generation`` belongs to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

from catalogue.store import keys, operations
from catalogue.store.answer_cache import MISSING, AnswerCache
from catalogue.store.base import Check, Op

GENERATION_KEY = {"pk": {"S": "generation"}, "sk": {"S": "search"}}
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


def advance_action(table_name: str) -> dict[str, Any]:
    """The transaction action that advances the search generation."""
    return {"Update": {"TableName": table_name, "Key": GENERATION_KEY, **_ADD_ONE}}


def advance(client: Any, table_name: str) -> None:
    """Advance the search generation on its own (outside any transaction)."""
    client.update_item(TableName=table_name, Key=GENERATION_KEY, **_ADD_ONE)


def current(call: Callable[..., Any], table_name: str) -> int:
    """The search generation as last committed (a strongly consistent read)."""
    response = call(
        "get_item",
        TableName=table_name,
        Key=GENERATION_KEY,
        ConsistentRead=True,
        ProjectionExpression="v",
    )
    return int(response.get("Item", {}).get("v", {}).get("N", "0"))


def answer(
    cache: AnswerCache,
    generation: Callable[[], int],
    key: Hashable,
    compute: Callable[[], Any],
    weigh: Callable[[Any], int],
) -> Any:
    """The answer of ``key`` kept at the current ``generation()``, else ``compute()``d and kept."""
    at = generation()
    value = cache.kept(key, at)
    if value is MISSING:
        value = compute()
        cache.keep(key, at, value, weigh(value))
    return value


_ADD_ONE = {"UpdateExpression": "ADD v :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}
