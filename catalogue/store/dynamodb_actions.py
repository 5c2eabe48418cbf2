"""The TransactWriteItems of a DynamoDB store transaction: conditional writes, counters, index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from catalogue.store import operations
from catalogue.store.base import MAX_TRANSACTION_OPS, Check, Create, Delete, Op, Put, PutNewer
from catalogue.store.dynamodb_answers import advance_action, changes_searches
from catalogue.store.dynamodb_codec import plain, raw_key, to_dynamodb, to_value
from catalogue.store.dynamodb_facets import counter_actions
from catalogue.store.dynamodb_search import WritePlan, index_changes, terms_attribute, write_plan
from catalogue.store.operations import Entry, Facet, Key


def plan(
    table_name: str,
    ops: Sequence[Op],
    state: dict[Key, dict[str, Any] | None],
    entries_before: dict[Key, frozenset[Entry]],
    deltas: Mapping[Facet, int],
) -> WritePlan:
    """The transaction of ``ops`` (with its counter updates and the search generation's
    advance, see ``dynamodb_answers``) and the index writes around it."""
    item_actions = []
    puts: list[dict[str, Any]] = []
    deletes: list[tuple[dict[str, Any], int]] = []
    for op in ops:
        item_key = operations.op_key(op)
        current = state.get(item_key)
        before = entries_before.get(item_key, frozenset())
        item_actions.append(item_action(table_name, op, current))
        old, new = index_changes(
            item_key,
            before,
            operations.entries_after(op, before),
            operations.new_rev(op, plain(current)),
        )
        deletes.extend(old)
        puts.extend(new)
    # After the items, so cancellation reasons still line up with the caller's operations.
    item_actions += counter_actions(table_name, deltas)
    if not changes_searches(ops, state, deltas):
        return write_plan(table_name, item_actions, puts, deletes)
    if len(item_actions) >= MAX_TRANSACTION_OPS:
        return replace(write_plan(table_name, item_actions, puts, deletes), advance_after=True)
    return write_plan(table_name, [*item_actions, advance_action(table_name)], puts, deletes)


def item_action(table_name: str, op: Op, current: dict[str, Any] | None) -> dict[str, Any]:
    """The conditional write of ``op``, pinned to ``current`` (its item in the snapshot)."""
    pk, sk = operations.op_key(op)
    common: dict[str, Any] = {
        "TableName": table_name,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    pinned_rev: int | None
    if isinstance(op, Create):
        condition, pinned_rev = "attribute_not_exists(pk)", None
    elif isinstance(op, (Put, PutNewer, Delete)):
        # Pinned to the snapshot, so the index items removed are those the item has. A
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
                if isinstance(value, bool | int | float):
                    # DynamoDB never takes a boolean for a number; moto does (True == 1).
                    condition += f" AND attribute_type(#e{index}, :t{index})"
                    values[f":t{index}"] = {"S": "BOOL" if isinstance(value, bool) else "N"}
        common["ExpressionAttributeNames"] = names
    common["ConditionExpression"] = condition
    if values:
        common["ExpressionAttributeValues"] = values
    if isinstance(op, Check):
        return {"ConditionCheck": {**common, "Key": raw_key(pk, sk)}}
    if isinstance(op, Delete):
        return {"Delete": {**common, "Key": raw_key(pk, sk)}}
    assert isinstance(op, operations.ITEM_OPS)
    item = operations.stored(op.item, operations.new_rev(op, plain(current)))
    raw = to_dynamodb(item)
    if operations.index_entries(item):
        raw["_terms"] = terms_attribute(item)
    return {"Put": {**common, "Item": raw}}
