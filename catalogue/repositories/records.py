"""Turning store items into resources and back: the store's own attributes stay in the store."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from catalogue.domain.errors import PreconditionFailed
from catalogue.store.base import Item, ItemStore, Op

T = TypeVar("T")

# Attributes of an item that are not part of the resource a client sees. ``rev`` is kept:
# the API turns it into the ETag.
STORE_ATTRIBUTES = frozenset(
    {
        "pk",
        "sk",
        "gsi1pk",
        "gsi1sk",
        "search_scope",
        "search_text",
        "facet_scope",
        "facet_values",
        "search_meta",
        "kind",
        "_terms",
    }
)
# Stay well inside the store's transaction limit, leaving room for search-index writes.
CHUNK_OPS = 25
# Read-modify-write rounds of a change without If-Match before it gives up (412): each round
# lets at least one of the racing writers through.
MAX_WRITE_ATTEMPTS = 100


# Fields whose key order means something (a state machine as its author wrote it, a
# taskConfig as its owner did): stored as JSON text, since DynamoDB maps do not keep the
# order of their keys. Items written before hold a map, read as it is.
ORDERED_FIELDS = ("definition", "taskConfig")


def resource(item: Item) -> dict[str, Any]:
    """The resource held in an item, with its ``rev``."""
    found = {name: value for name, value in item.items() if name not in STORE_ATTRIBUTES}
    for name in ORDERED_FIELDS:
        if isinstance(found.get(name), str):
            found[name] = json.loads(found[name])
    return found


def projection(fields: Iterable[tuple[str, str]]) -> Callable[[Item], dict[str, Any]]:
    """A function giving ``{key: resource(item)[name]}`` for each ``(key, name)`` of
    ``fields`` the item has, in the order of ``fields``, in one pass over the item.

    For pages: the item's own values are taken, with no resource made first, so a field may
    name neither a store attribute nor one of ORDERED_FIELDS (ValueError).
    """
    pairs = tuple(fields)
    refused = sorted({name for _, name in pairs} & (STORE_ATTRIBUTES | set(ORDERED_FIELDS)))
    if refused:
        raise ValueError(f"a projection cannot take {', '.join(refused)} from the item")

    def project(item: Item) -> dict[str, Any]:
        return {key: item[name] for key, name in pairs if name in item}

    return project


def with_ordered_text(item: Mapping[str, Any]) -> Item:
    """``item`` as stored: each of ORDERED_FIELDS that is an object, as JSON text."""
    stored = dict(item)
    for name in ORDERED_FIELDS:
        if isinstance(stored.get(name), dict):
            stored[name] = json.dumps(stored[name], ensure_ascii=False, separators=(",", ":"))
    return stored


def resources(items: Iterable[Item]) -> list[dict[str, Any]]:
    return [resource(item) for item in items]


def write_in_chunks(
    store: ItemStore, units: Sequence[Sequence[Op]], last: Sequence[Op] = ()
) -> None:
    """Apply ``units`` in transactions of at most CHUNK_OPS ops, then ``last`` in one final
    transaction.

    A unit (a delete with its change event, say) never straddles two transactions; one
    larger than CHUNK_OPS goes alone. Used by cascade deletes: children go first, so a
    failure part-way leaves the parent in place and a retry finishes the job.
    """
    chunk: list[Op] = []
    for unit in units:
        if chunk and len(chunk) + len(unit) > CHUNK_OPS:
            store.transact(chunk)
            chunk = []
        chunk.extend(unit)
    if chunk:
        store.transact(chunk)
    if last:
        store.transact(last)


def read_modify_write(change: Callable[[], T], *, if_match: object | None, what: str) -> T:
    """Run ``change`` (read, then conditional write); without If-Match, until it wins.

    A client that sent If-Match asked to fail if someone else wrote first, so it gets the
    PreconditionFailed at once. Without it, a lost race is the server's own business: the
    change is read and applied again on the new state, at most MAX_WRITE_ATTEMPTS times.
    A race lost in the store's conditional write is told in the words of ``what`` (the
    resource, ``dataset 'trees'``), never in the store's keys.
    """
    attempts = 1 if if_match is not None else MAX_WRITE_ATTEMPTS
    for attempt in range(attempts):
        try:
            return change()
        except PreconditionFailed as error:
            if attempt < attempts - 1:
                continue
            if error.key is None:  # already said in the resource's words
                raise
            raise PreconditionFailed(
                f"{what} changed while this request was writing it: read it again and retry"
            ) from None
    raise AssertionError("unreachable: the last attempt returns or raises")
