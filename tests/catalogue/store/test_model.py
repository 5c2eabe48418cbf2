"""Random transactions on every backend agree with a plain-Python model of the contract."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.store.base import (
    Check,
    Create,
    Delete,
    ItemStore,
    Op,
    Put,
    Query,
    Replace,
    query_all,
    search_terms,
)

SORT_KEYS = ["a", "b", "é"]
WORDS = ["Oslo", "oslo", "Café", "cafe", "data-lake", "Bergen"]
# Each example works in partitions and a search scope of its own: the store is shared.
_examples = itertools.count()


@st.composite
def operations(draw: st.DrawFn, pk: str) -> Op:
    sk = draw(st.sampled_from(SORT_KEYS))
    kind = draw(st.sampled_from(["create", "replace", "put", "delete", "check"]))
    rev = draw(st.sampled_from([None, 1, 2]))
    if kind in ("delete", "check"):
        return Delete(pk, sk, rev) if kind == "delete" else Check(pk, sk, rev)
    item: dict[str, Any] = {"pk": pk, "sk": sk, "n": draw(st.integers(-3, 3))}
    if draw(st.booleans()):
        item["search_text"] = " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=3)))
    if kind == "create":
        return Create(item)
    if kind == "put":
        return Put(item)
    return Replace(item, rev=rev or 1)


def transactions(pk: str) -> st.SearchStrategy[list[Op]]:
    return st.lists(operations(pk), min_size=1, max_size=3, unique_by=lambda op: _key(op))


def _key(op: Op) -> tuple[str, str]:
    if isinstance(op, Create | Replace | Put):
        return (op.item["pk"], op.item["sk"])
    return (op.pk, op.sk)


def expected_outcome(
    model: dict[tuple[str, str], dict[str, Any]], ops: list[Op]
) -> tuple[type[Exception], tuple[str, str]] | None:
    """What the contract says: the first failing operation's error, else apply them all."""
    for op in ops:
        key, current = _key(op), model.get(_key(op))
        if isinstance(op, Create) and current is not None:
            return AlreadyExists, key
        if isinstance(op, Replace | Delete | Check):
            if current is None:
                return NotFound, key
            if op.rev is not None and current["rev"] != op.rev:
                return PreconditionFailed, key
    for op in ops:
        key = _key(op)
        if isinstance(op, Delete):
            del model[key]
        elif isinstance(op, Create):
            model[key] = {**op.item, "rev": 1}
        elif isinstance(op, Put):
            model[key] = {**op.item, "rev": model[key]["rev"] + 1 if key in model else 1}
        elif isinstance(op, Replace):
            model[key] = {**op.item, "rev": op.rev + 1}
    return None


def _scoped(op: Op, scope: str) -> Op:
    """The operation with the example's search scope on items that have a search_text."""
    if isinstance(op, Create | Replace | Put) and "search_text" in op.item:
        item = {**op.item, "search_scope": scope}
        return Replace(item, op.rev) if isinstance(op, Replace) else type(op)(item)
    return op


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_transactions_match_the_model(store: ItemStore, data: st.DataObject) -> None:
    example = next(_examples)
    pk, scope = f"model#{example}", f"scope{example}"
    model: dict[tuple[str, str], dict[str, Any]] = {}
    for ops in data.draw(st.lists(transactions(pk), min_size=1, max_size=6)):
        ops = [_scoped(op, scope) for op in ops]
        expected = expected_outcome(model, ops)
        try:
            store.transact(ops)
            outcome = None
        except (AlreadyExists, NotFound, PreconditionFailed) as error:
            outcome = (type(error), error.key)
        assert outcome == expected

    assert list(query_all(store, Query(pk))) == [model[key] for key in sorted(model)]
    for word in ("oslo", "CAFE", "lake data", "bergen oslo"):
        wanted = set(search_terms(word))
        expected_found = {
            key[1]
            for key, item in model.items()
            if "search_text" in item and wanted <= set(search_terms(item["search_text"]))
        }
        found = {item["sk"] for item in store.search(scope, word, limit=10).items}
        assert found == expected_found, word
