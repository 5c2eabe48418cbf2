"""Deleting a resource with everything below it, in an order no racing create escapes.

``delete_tree`` is the one place that orders a delete:

1. **mark**: the item gets ``deleting: true`` by a write conditional on the revision read.
   Every create below it (version, edition, distribution, run, grant, dataset pipeline)
   checks in its own transaction that no ancestor is marked (``live_ancestors``), so from
   the mark on nothing new appears below it: such creates answer 409.
2. **collect**: read everything below it, every page. Whatever was created before the mark
   is seen here.
3. **before removal**: hooks that must run while the items still say what existed (the
   dataset's objects, say); they get the marked item and the collected deletes.
4. **remove**: the children in transactions of CHUNK_OPS, then the item itself, with its
   audit entry, in one final transaction. Each child removal is a unit (the child's delete
   and, for a version, edition or distribution, its change event) that one transaction
   takes whole, so a chunk that commits has written the events of what it deleted, and
   one that fails has written neither.

A failure part-way leaves the item marked and still readable; DELETE again finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogue.domain.change_events import event_type
from catalogue.domain.errors import Conflict, HasChildren, NotFound, PreconditionFailed
from catalogue.store import keys
from catalogue.store.base import Check, Delete, Item, ItemStore, Op, Replace

from .change_events import event_ops, public_data
from .records import resource, write_in_chunks

DELETING = "deleting"
# Hooks of step 3: called with the marked item and the deletes collected below it.
BeforeRemoval = Callable[[Item, Sequence[Op]], None]

_LEVELS = ("dataset", "version", "edition")
# Children whose removal is a change event of its own (``no.brygge.<kind>.deleted``).
_EVENT_KINDS = ("version", "edition", "distribution")


def resource_path(path: Sequence[str]) -> str:
    """The API path of the dataset, version, edition or distribution named by ``path``."""
    names = ("datasets", "versions", "editions", "distributions")
    return "/" + "/".join(f"{name}/{value}" for name, value in zip(names, path, strict=False))


def child_removal(child: Item, dataset: Mapping[str, Any], now: datetime) -> list[Op]:
    """The delete of ``child`` of ``dataset``, with its event when it is a version, edition
    or distribution (``dataset`` as ``event_ops`` takes it).

    The child's path comes from its sort key (``edition#<version>#<edition>``).
    """
    removal: list[Op] = [Delete(child["pk"], child["sk"])]
    kind = child.get("kind")
    if kind in _EVENT_KINDS:
        path = [dataset["id"], *child["sk"].split("#")[1:]]
        removal += event_ops(
            event_type(kind, "delete"),
            subject=resource_path(path),
            data=public_data(resource(child)),
            dataset=dataset,
            now=now,
        )
    return removal


def same_incarnation(item: Mapping[str, Any]) -> dict[str, Any]:
    """The ``expect`` that pins a write to the incarnation of ``item`` (its dataset's)."""
    return {"incarnation": item.get("incarnation")}


def ancestor_keys(path: Sequence[str]) -> list[tuple[str, str]]:
    """Keys of the dataset, version and edition named by ``path`` (as far as it goes)."""
    pk = keys.dataset_pk(path[0])
    found = [(pk, keys.DATASET_SK)]
    if len(path) > 1:
        found.append((pk, keys.version_sk(path[1])))
    if len(path) > 2:
        found.append((pk, keys.edition_sk(path[1], path[2])))
    return found


def live_ancestors(path: Sequence[str], incarnation: str | None) -> list[Op]:
    """Checks that each of ``path``'s dataset, version and edition exists, unmarked.

    The dataset must also still be ``incarnation``: a create that read a dataset which was
    then deleted and made again must not land in the new one.
    """
    checks: list[Op] = []
    for index, (pk, sk) in enumerate(ancestor_keys(path)):
        expect: dict[str, Any] = {DELETING: None}
        if index == 0:
            expect["incarnation"] = incarnation
        checks.append(Check(pk, sk, expect=expect))
    return checks


def ancestor_failure(error: NotFound | PreconditionFailed, path: Sequence[str]) -> Exception:
    """The error a create under ``path`` answers when ``live_ancestors`` failed."""
    names = ("datasets", "versions", "editions")
    for depth, key in enumerate(ancestor_keys(path)):
        if error.key == key:
            where = "/" + "/".join(
                f"{n}/{v}" for n, v in zip(names, path[: depth + 1], strict=False)
            )
            if isinstance(error, NotFound):
                return NotFound(f"{_LEVELS[depth]} {where} not found")
            if depth == 0:
                # Marked, or deleted and made again since it was read (another incarnation).
                return Conflict(f"dataset {where} is being deleted or was replaced; try again")
            return Conflict(f"{_LEVELS[depth]} {where} is being deleted")
    return error


def delete_tree(
    store: ItemStore,
    item: Item,
    *,
    cascade: bool,
    has_children: Callable[[], bool],
    children: Callable[[], list[Sequence[Op]]],
    last: Callable[[], Sequence[Op]],
    not_empty: str,
    before_removal: Sequence[BeforeRemoval] = (),
) -> None:
    """Delete ``item`` and what is below it in the order of the module notes.

    ``has_children`` tells whether something blocks a delete without ``cascade`` (raising
    HasChildren with the message ``not_empty``); ``children`` collects the removals of
    everything below, each a unit of ops that must commit together; ``last`` makes the ops
    that go with the item's own delete, after the children were collected (so the item's
    event is younger than theirs). Raises PreconditionFailed when the item changed since
    it was read.
    """
    if not item.get(DELETING):
        if not cascade and has_children():
            raise HasChildren(not_empty)
        item = mark(store, item, True)
        if not cascade and has_children():
            # A create got in before the mark: give the item back as it was.
            mark(store, item, False)
            raise HasChildren(not_empty)
    units = children()
    removals = [op for unit in units for op in unit]
    for hook in before_removal:
        hook(item, removals)
    final = [store_delete(item), *last()]
    write_in_chunks(store, units, final)


def mark(store: ItemStore, item: Item, deleting: bool) -> Item:
    """Write ``item`` with (or without) the deleting mark; return it as stored."""
    body = {name: value for name, value in item.items() if name not in ("rev", DELETING)}
    if deleting:
        body[DELETING] = True
    store.write(Replace(body, rev=item["rev"], expect=same_incarnation(item)))
    return {**body, "rev": item["rev"] + 1}


def store_delete(item: Item) -> Op:
    """The delete of ``item`` as read (its revision and incarnation)."""
    return Delete(item["pk"], item["sk"], rev=item["rev"], expect=same_incarnation(item))


def check_live(item: Mapping[str, Any], what: str) -> None:
    """Raise Conflict when ``item`` is being deleted (for changes to it)."""
    if item.get(DELETING):
        raise Conflict(f"{what} is being deleted")
