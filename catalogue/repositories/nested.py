"""Versions, editions and distributions: resources nested in a dataset's partition.

They differ only in their keys and in how a new id is chosen, so one class holds the
rules (parent must exist, children block deletes unless cascading, merge patch, ETags) and
each level states its keys in its own module (versions.py, editions.py, distributions.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogue.domain.change_events import event_type
from catalogue.domain.changes import changed_fields, check_immutable, merge_patch
from catalogue.domain.errors import AlreadyExists, NotFound, PreconditionFailed
from catalogue.domain.revisions import Condition, check_fresh
from catalogue.store import keys
from catalogue.store.base import (
    Create,
    Item,
    ItemStore,
    Op,
    Page,
    Query,
    Replace,
    query_all,
)
from pipelines.timestamps import timestamp

from . import feed_summaries
from .audit import audit_entry, dataset_audit_trail
from .change_events import event_ops, public_data
from .deletion import (
    DELETING,
    BeforeRemoval,
    ancestor_failure,
    check_live,
    child_removal,
    delete_tree,
    live_ancestors,
    resource_path,
    same_incarnation,
    store_delete,
)
from .records import read_modify_write, resource


class NestedRepository:
    """One level below datasets. ``path`` is the ids from the dataset down to this level."""

    kind = ""
    id_field = ""
    parent_kind = ""
    immutable: tuple[str, ...] = ()
    child_prefix_kind: str | None = None

    def __init__(
        self,
        store: ItemStore,
        clock: Callable[[], datetime],
        distributions_changed: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        # Told the dataset id after a change that may add or remove distributions (the
        # dataset's formats follow them).
        self.distributions_changed = distributions_changed

    def _changed(self, dataset_id: str) -> None:
        if self.distributions_changed is not None:
            self.distributions_changed(dataset_id)

    # Keys, stated by each level.
    def sort_key(self, path: Sequence[str]) -> str:
        raise NotImplementedError

    def list_prefix(self, parent_path: Sequence[str]) -> str:
        raise NotImplementedError

    def parent_sort_key(self, parent_path: Sequence[str]) -> str:
        raise NotImplementedError

    def children_prefix(self, path: Sequence[str]) -> str | None:
        return None

    def new_ids(self, parent_path: Sequence[str], data: Mapping[str, Any]) -> Iterator[str]:
        """The ids to try, in order, until one is free (the next is made only when needed)."""
        raise NotImplementedError

    def resolve(self, path: Sequence[str]) -> list[str]:
        """Turn aliases (``latest``) in ``path`` into stored ids."""
        return list(path)

    # Rules, written once.
    def resource_path(self, path: Sequence[str]) -> str:
        return resource_path(path)

    def get_item(self, path: Sequence[str]) -> Item:
        path = self.resolve(path)
        item = self.store.get(keys.dataset_pk(path[0]), self.sort_key(path))
        if item is None:
            raise NotFound(f"{self.kind} {self.resource_path(path)} not found")
        return item

    def get(self, path: Sequence[str]) -> dict[str, Any]:
        return resource(self.get_item(path))

    def require_parent(self, parent_path: Sequence[str]) -> None:
        """Raise NotFound unless the parent at ``parent_path`` (aliases resolved) exists."""
        if (
            self.store.get(keys.dataset_pk(parent_path[0]), self.parent_sort_key(parent_path))
            is None
        ):
            raise NotFound(f"{self.parent_kind} {self.resource_path(parent_path)} not found")

    def resolve_parent(self, parent_path: Sequence[str]) -> list[str]:
        return list(parent_path)

    def list(
        self,
        parent_path: Sequence[str],
        *,
        limit: int,
        cursor: str | None,
        parent_known: bool = False,
    ) -> Page:
        """A page of the children of ``parent_path``; NotFound when the parent does not exist.

        ``parent_known``: the caller has just read the parent (or listed it among its
        siblings), so its existence is not read again.
        """
        parent_path = self.resolve_parent(parent_path)
        if not parent_known:
            self.require_parent(parent_path)
        query = Query(
            keys.dataset_pk(parent_path[0]),
            prefix=self.list_prefix(parent_path),
            descending=self.kind == "edition",
        )
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page([resource(item) for item in page.items], page.next_cursor)

    def create(
        self,
        parent_path: Sequence[str],
        data: Mapping[str, Any],
        *,
        principal: str,
        also: Callable[[str], Sequence[Op]] | None = None,
    ) -> dict[str, Any]:
        """Create under an existing parent; a given id that exists raises AlreadyExists.

        The create checks, in its own transaction, that the dataset (still the incarnation
        read) and every parent exist and none is being deleted: NotFound, or Conflict
        while a delete of one of them runs. ``also`` gives more writes for the new id that
        go in the same transaction; one of them failing raises as the store raises it.
        """
        parent_path = self.resolve_parent(parent_path)
        pk = keys.dataset_pk(parent_path[0])
        dataset = self.store.get(pk, keys.DATASET_SK)
        if dataset is None:
            raise NotFound(f"dataset {self.resource_path(parent_path[:1])} not found")
        incarnation = dataset.get("incarnation")
        now = self.clock()
        given = bool(data.get(self.id_field))
        for new_id in self.new_ids(parent_path, data):
            path = [*parent_path, new_id]
            body = {name: value for name, value in data.items() if value is not None}
            body.update({self.id_field: new_id, "created": timestamp(now)})
            body.update(zip(("dataset", "version", "edition"), parent_path, strict=False))
            body.setdefault("description", "")
            item = {**body, "pk": pk, "sk": self.sort_key(path), "kind": self.kind}
            if incarnation is not None:
                item["incarnation"] = incarnation
            ops: list[Op] = [
                *live_ancestors(parent_path, incarnation),
                Create(item),
                *self.feed_ops(path, created=True),
                audit_entry(
                    dataset_audit_trail(dataset),
                    principal=principal,
                    action="create",
                    resource_path=self.resource_path(path),
                    changes=changed_fields({}, body),
                    now=now,
                ),
                *event_ops(
                    event_type(self.kind, "create"),
                    subject=self.resource_path(path),
                    data=public_data(body),
                    dataset=dataset,
                    now=now,
                ),
                *(also(new_id) if also is not None else ()),
            ]
            try:
                self.store.transact(ops)
            except (NotFound, PreconditionFailed) as missing:
                raise ancestor_failure(missing, parent_path) from None
            except AlreadyExists as clash:
                if also is not None and clash.key != (pk, item["sk"]):
                    raise
                if given or clash.key != (pk, item["sk"]):
                    raise AlreadyExists(
                        f"{self.kind} {self.resource_path(path)} already exists",
                        field=self.id_field,
                    ) from None
                continue
            if self.kind == "distribution":
                self._changed(parent_path[0])
            return self.get(path)
        raise AlreadyExists(f"no free {self.kind} id", field=self.id_field)

    def patch(
        self,
        path: Sequence[str],
        changes: Mapping[str, Any],
        *,
        if_match: Condition | None,
        principal: str,
    ) -> dict[str, Any]:
        """Apply a JSON merge patch; without ``if_match`` a lost race is retried."""
        path = self.resolve(path)
        return read_modify_write(
            lambda: self._patch(path, changes, if_match, principal),
            if_match=if_match,
            what=f"{self.kind} {self.resource_path(path)}",
        )

    def _patch(
        self,
        path: Sequence[str],
        changes: Mapping[str, Any],
        if_match: Condition | None,
        principal: str,
    ) -> dict[str, Any]:
        """One attempt of ``patch``: read, merge, write conditionally on the revision read."""
        item = self.get_item(path)
        check_fresh(if_match, item, f"{self.kind} {self.resource_path(path)}")
        check_live(item, f"{self.kind} {self.resource_path(path)}")
        check_immutable(item, changes, (self.id_field, *self.immutable))
        old = resource(item)
        for name in ("rev", DELETING):
            old.pop(name, None)
        new = merge_patch(old, changes)
        diff = changed_fields(old, new)
        if not diff:
            return resource(item)
        now = self.clock()
        new["modified"] = timestamp(now)
        stored = {**new, "pk": item["pk"], "sk": item["sk"], "kind": self.kind}
        self.store.transact(
            [
                Replace(stored, rev=item["rev"], expect=same_incarnation(item)),
                audit_entry(
                    keys.audit_pk(path[0], item.get("incarnation")),
                    principal=principal,
                    action="update",
                    resource_path=self.resource_path(path),
                    changes=diff,
                    now=now,
                ),
                *event_ops(
                    event_type(self.kind, "update"),
                    subject=self.resource_path(path),
                    data=public_data(diff),
                    dataset=self.event_dataset(path, item),
                    now=now,
                ),
            ]
        )
        if self.kind == "distribution" and "format" in diff:
            self._changed(path[0])
        return self.get(path)

    def delete(
        self,
        path: Sequence[str],
        *,
        if_match: Condition | None,
        cascade: bool,
        principal: str,
        before_removal: Sequence[BeforeRemoval] = (),
    ) -> None:
        """Delete; HasChildren when something is below it, unless ``cascade``.

        What has children goes in the order of ``deletion.delete_tree``.
        """
        path = self.resolve(path)
        item = self.get_item(path)
        check_fresh(if_match, item, f"{self.kind} {self.resource_path(path)}")
        old = resource(item)
        for name in ("rev", DELETING):
            old.pop(name, None)
        dataset = self.event_dataset(path, item)

        def final_ops() -> list[Op]:
            """The audit entry and event of this delete, with the feed's update."""
            now = self.clock()
            return [
                audit_entry(
                    keys.audit_pk(path[0], item.get("incarnation")),
                    principal=principal,
                    action="delete",
                    resource_path=self.resource_path(path),
                    changes=changed_fields(old, {}),
                    now=now,
                ),
                *event_ops(
                    event_type(self.kind, "delete"),
                    subject=self.resource_path(path),
                    data=public_data(old),
                    dataset=dataset,
                    now=now,
                ),
                *self.feed_ops(path),
            ]

        queries = [Query(item["pk"], prefix=prefix) for prefix in self.descendant_prefixes(path)]
        if not queries:
            for hook in before_removal:
                hook(item, [])
            self.store.transact([store_delete(item), *final_ops()])
            self._changed(path[0])
            return
        delete_tree(
            self.store,
            item,
            cascade=cascade,
            has_children=lambda: any(self.store.query(q, limit=1).items for q in queries),
            children=lambda: [
                child_removal(child, dataset, self.clock())
                for query in queries
                for child in query_all(self.store, query)
            ],
            last=final_ops,
            not_empty=f"{self.kind} {self.resource_path(path)} is not empty; "
            "delete what is below it first or use ?cascade=true",
            before_removal=before_removal,
        )
        self._changed(path[0])

    def descendant_prefixes(self, path: Sequence[str]) -> list[str]:
        """Sort-key prefixes of everything below ``path``, deepest first."""
        return []

    def feed_ops(self, path: Sequence[str], *, created: bool = False) -> list[Op]:
        """Writes that keep the dataset's feed summary honest, in the change's transaction.

        Only a new distribution or a removal below the dataset can change which edition
        and files the feed shows.
        """
        if created and self.kind != "distribution":
            return []
        return [feed_summaries.mark_stale(path[0])]

    def event_dataset(self, path: Sequence[str], item: Item) -> dict[str, Any]:
        """The dataset an event about ``item`` concerns: who may read it depends on it."""
        dataset = self.store.get(keys.dataset_pk(path[0]), keys.DATASET_SK) or {}
        return {
            "id": path[0],
            "incarnation": item.get("incarnation"),
            "accessRights": dataset.get("accessRights"),
        }
