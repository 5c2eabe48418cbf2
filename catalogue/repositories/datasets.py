"""Datasets over any ItemStore: create with version 1, patch, formats, delete."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogue.domain import datasets as rules
from catalogue.domain.change_events import event_type
from catalogue.domain.changes import changed_fields, check_immutable, merge_patch
from catalogue.domain.errors import AlreadyExists, InvalidValue, NotFound
from catalogue.domain.ids import (
    check_dataset_id,
    incarnation_id,
    random_suffix,
    slug_candidates,
    slugify,
)
from catalogue.domain.revisions import Condition, check_fresh
from catalogue.store import keys
from catalogue.store.base import (
    FIELD_SEPARATOR,
    Create,
    Delete,
    Item,
    ItemStore,
    Op,
    Put,
    Query,
    Replace,
    folded,
    query_all,
)
from pipelines.timestamps import timestamp

from .audit import audit_entry, dataset_audit_trail
from .change_events import event_ops, public_data
from .dataset_index import (
    FILTER_FIELDS,
    facet_scope,
    filter_entries,
    filter_entry_keys,
    filter_values,
    search_meta,
)
from .dataset_search import DatasetSearch
from .deletion import (
    DELETING,
    BeforeRemoval,
    check_live,
    child_removal,
    delete_tree,
    same_incarnation,
)
from .records import read_modify_write, resource
from .runs import run_removals

# Attempts at ``slug-<suffix>`` before giving up on a derived id.
MAX_SLUG_ATTEMPTS = 5

# Writes added to a dataset change's transaction, made from the dataset (id, incarnation).
ExtraOps = Callable[[Mapping[str, Any]], Sequence[Op]]


def incarnation_record(dataset: Mapping[str, Any], *, deleted: str | None) -> Item:
    """The entry of a dataset's incarnation in the list of its id's (site admins read it)."""
    return {
        "pk": keys.incarnations_pk(dataset["id"]),
        "sk": dataset["incarnation"],
        "kind": "incarnation",
        "dataset": dataset["id"],
        "incarnation": dataset["incarnation"],
        "created": dataset["created"],
        "deleted": deleted,
    }


def _event(
    action: str, dataset: Mapping[str, Any], data: dict[str, Any], now: datetime
) -> list[Op]:
    """The event of a change to ``dataset`` (create, update or delete)."""
    subject = f"/datasets/{dataset['id']}"
    return event_ops(
        event_type("dataset", action), subject=subject, data=data, dataset=dataset, now=now
    )


class DatasetRepository(DatasetSearch):
    """The rules of datasets, written once over the ItemStore interface."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def get_item(self, dataset_id: str) -> Item:
        """The stored item; raises NotFound."""
        item = self.find_item(dataset_id)
        if item is None:
            raise NotFound(f"dataset {dataset_id!r} not found")
        return item

    def find_item(self, dataset_id: str) -> Item | None:
        """The stored item, or None when there is no such dataset."""
        return self.store.get(keys.dataset_pk(dataset_id), keys.DATASET_SK)

    def items(self, dataset_ids: Sequence[str]) -> list[Item]:
        """The stored items of the datasets among ``dataset_ids`` that exist (one batch read)."""
        return self.store.get_many(
            [(keys.dataset_pk(dataset_id), keys.DATASET_SK) for dataset_id in dataset_ids]
        )

    def get(self, dataset_id: str) -> dict[str, Any]:
        """The dataset with its ``rev``; raises NotFound."""
        return resource(self.get_item(dataset_id))

    def create(
        self, data: Mapping[str, Any], *, principal: str, extra_ops: ExtraOps | None = None
    ) -> dict[str, Any]:
        """Create a dataset and its version "1" in one transaction.

        A given ``id`` that exists raises AlreadyExists, whoever may see the dataset holding
        it (ids are one namespace); an id derived from the title takes the first free of
        ``slug``, ``slug-<random suffix>``, ... ``extra_ops(dataset)`` adds writes
        (ownership) to the same transaction, so the dataset never exists without them.
        Each create is a new incarnation of the id, which owns its audit trail, grants and ETags.
        """
        now = self.clock()
        if data.get("id"):
            candidates = [check_dataset_id(data["id"])]
        else:
            suffixes = [random_suffix(secrets.token_bytes(8)) for _ in range(MAX_SLUG_ATTEMPTS)]
            candidates = list(slug_candidates(slugify(data["title"]), suffixes))
        for dataset_id in candidates:
            try:
                self.store.transact(self._creation(dataset_id, data, principal, now, extra_ops))
            except AlreadyExists as clash:
                if clash.key != (keys.dataset_pk(dataset_id), keys.DATASET_SK):
                    raise
                if data.get("id"):
                    raise AlreadyExists(
                        f"dataset {dataset_id!r} already exists", field="id"
                    ) from None
                continue
            return self.get(dataset_id)
        raise AlreadyExists(f"no free id derived from the title {data['title']!r}", field="id")

    def create_many(
        self,
        datasets: Iterable[Mapping[str, Any]],
        *,
        principal: str,
        extra_ops: ExtraOps | None = None,
    ) -> int:
        """Create every dataset of ``datasets`` as ``create`` does, in bulk; return how many.

        For seeding. Each dataset gives its ``id`` (InvalidValue otherwise: an id derived
        from a title needs ``create``'s retries). Each one's writes are ``create``'s, checked
        as one transaction (AlreadyExists for an id that exists), and the store loads them
        many at a time (``ItemStore.load``, which says what a failure leaves).
        """

        def transactions() -> Iterator[list[Op]]:
            for data in datasets:
                if not data.get("id"):
                    raise InvalidValue("id", "a dataset created in bulk needs its id")
                dataset_id = check_dataset_id(data["id"])
                yield self._creation(dataset_id, data, principal, self.clock(), extra_ops)

        return self.store.load(transactions())

    def _creation(
        self,
        dataset_id: str,
        data: Mapping[str, Any],
        principal: str,
        now: datetime,
        extra_ops: ExtraOps | None,
    ) -> list[Op]:
        """The writes of creating ``data`` as ``dataset_id``: one transaction."""
        dataset = self._new_dataset(dataset_id, data, now)
        ops = self._create_ops(dataset, principal, now)
        if extra_ops is not None:
            ops.extend(extra_ops(dataset))
        return ops

    def _new_dataset(
        self, dataset_id: str, data: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        dataset = {name: value for name, value in data.items() if value is not None}
        dataset.update(
            id=dataset_id,
            incarnation=incarnation_id(now, secrets.token_bytes(4)),
            state=data.get("state") or "active",
            sourceType=data.get("sourceType") or "file",
            created=timestamp(now),
            modified=timestamp(now),
        )
        return dataset

    def _item(self, dataset: Mapping[str, Any]) -> Item:
        body = {name: value for name, value in dataset.items() if name != "rev"}
        return {
            **body,
            "pk": keys.dataset_pk(dataset["id"]),
            "sk": keys.DATASET_SK,
            "gsi1pk": keys.ALL_DATASETS,
            "gsi1sk": dataset["id"],
            "kind": "dataset",
            "search_scope": keys.DATASET_SCOPE,
            # Folded once here, so ranking splits each match's fields instead of folding them.
            "search_text": FIELD_SEPARATOR.join(
                folded(field) for field in rules.search_fields(dataset)
            ),
            "facet_scope": facet_scope(dataset),
            "facet_values": filter_values(dataset),
            "search_meta": search_meta(dataset),
        }

    def _filter_entries(self, dataset: Mapping[str, Any]) -> list[Item]:
        return filter_entries(dataset)

    def _create_ops(self, dataset: dict[str, Any], principal: str, now: datetime) -> list[Op]:
        version = {
            "pk": keys.dataset_pk(dataset["id"]),
            "sk": keys.version_sk(rules.FIRST_VERSION),
            "kind": "version",
            "version": rules.FIRST_VERSION,
            "description": "",
            "created": dataset["created"],
            "incarnation": dataset["incarnation"],
        }
        ops: list[Op] = [
            Create(self._item(dataset)),
            Create(version),
            Create(incarnation_record(dataset, deleted=None)),
        ]
        ops.extend(Put(entry) for entry in self._filter_entries(dataset))
        ops.append(
            audit_entry(
                dataset_audit_trail(dataset),
                principal=principal,
                action="create",
                resource_path=f"/datasets/{dataset['id']}",
                changes=changed_fields({}, dataset),
                now=now,
            )
        )
        ops.extend(_event("create", dataset, public_data(dataset), now))
        return ops

    def patch(
        self,
        dataset_id: str,
        changes: Mapping[str, Any],
        *,
        if_match: Condition | None,
        principal: str,
        extra_ops: ExtraOps | None = None,
    ) -> dict[str, Any]:
        """Apply a JSON merge patch; fields absent from it never change.

        ``extra_ops(id)`` adds writes (the new owner's grant) to the change's transaction.

        Raises NotFound, ImmutableField (id, accessRights) and PreconditionFailed when
        ``if_match`` is stale or another writer got there first; without ``if_match`` a lost
        race is retried on the new state instead.
        """
        return read_modify_write(
            lambda: self._patch(dataset_id, changes, if_match, principal, extra_ops),
            if_match=if_match,
            what=f"dataset {dataset_id!r}",
        )

    def _patch(
        self,
        dataset_id: str,
        changes: Mapping[str, Any],
        if_match: Condition | None,
        principal: str,
        extra_ops: ExtraOps | None,
    ) -> dict[str, Any]:
        """One attempt of ``patch``: read, merge, write conditionally on the revision read."""
        item = self.get_item(dataset_id)
        check_fresh(if_match, item, f"dataset {dataset_id!r}")
        check_live(item, f"dataset {dataset_id!r}")
        check_immutable(item, changes, rules.IMMUTABLE_FIELDS)
        old = resource(item)
        old.pop("rev")
        now = self.clock()
        new = merge_patch(old, changes)
        if changes.get("source") is not None:
            # A source is replaced whole: merging an event source's schema into a file
            # source (or the reverse) would keep fields the new source does not have.
            new["source"] = changes["source"]
        diff = changed_fields(old, new)
        if not diff:
            return resource(item)
        new["modified"] = timestamp(now)
        ops = self._change_ops(item, old, new, diff)
        ops.append(
            audit_entry(
                dataset_audit_trail(item),
                principal=principal,
                action="update",
                resource_path=f"/datasets/{dataset_id}",
                changes=diff,
                now=now,
            )
        )
        ops.extend(_event("update", new, public_data(diff), now))
        if extra_ops is not None:
            ops.extend(extra_ops(new))
        self.store.transact(ops)
        return self.get(dataset_id)

    def _change_ops(
        self, item: Item, old: Mapping[str, Any], new: Mapping[str, Any], diff: Mapping[str, Any]
    ) -> list[Op]:
        """The dataset item's replacement and the filter entries that change with it."""
        ops: list[Op] = [Replace(self._item(new), rev=item["rev"], expect=same_incarnation(item))]
        old_keys, new_keys = filter_entry_keys(old), filter_entry_keys(new)
        ops.extend(Delete(pk, sk) for pk, sk in sorted(old_keys - new_keys))
        copied_changed = any(name in diff for name in FILTER_FIELDS)
        for entry in self._filter_entries(new):
            if copied_changed or (entry["pk"], entry["sk"]) not in old_keys:
                ops.append(Put(entry))
        return ops

    def refresh_formats(self, dataset_id: str) -> None:
        """Set the dataset's ``formats`` to those of its distributions, if they differ.

        Called after every change to distributions, in a transaction of its own: it reads
        the distributions afresh, so a run interrupted between the two writes is set right
        by the next change. A dataset gone or being deleted is left alone.
        """

        def attempt() -> None:
            item = self.store.get(keys.dataset_pk(dataset_id), keys.DATASET_SK)
            if item is None or item.get(DELETING):
                return
            distributions = query_all(
                self.store, Query(keys.dataset_pk(dataset_id), prefix="distribution#")
            )
            formats = rules.dataset_formats(distributions)
            if formats == item.get("formats", []):
                return
            old = resource(item)
            old.pop("rev")
            new = {**old, "formats": formats}
            self.store.transact(self._change_ops(item, old, new, {"formats": formats}))

        read_modify_write(attempt, if_match=None, what=f"dataset {dataset_id!r}")

    def delete(
        self,
        dataset_id: str,
        *,
        if_match: Condition | None,
        cascade: bool,
        principal: str,
        extra_ops: ExtraOps | None = None,
        before_removal: Sequence[BeforeRemoval] = (),
    ) -> None:
        """Delete a dataset, in the order of ``deletion.delete_tree``.

        Its (empty) versions go with it. Editions make it HasChildren unless ``cascade``,
        which deletes every item of the dataset and its runs, all pages, children first.
        ``extra_ops(dataset)`` (its grants) are deleted with the children, before the
        dataset; ``before_removal`` hooks run once nothing more can be created below it.
        Its audit trail stays, readable by site admins through its incarnation.
        """
        item = self.get_item(dataset_id)
        check_fresh(if_match, item, f"dataset {dataset_id!r}")
        pk = keys.dataset_pk(dataset_id)
        dataset = resource(item)
        for name in ("rev", DELETING):
            dataset.pop(name, None)

        def children() -> list[Sequence[Op]]:
            found: list[Sequence[Op]] = [
                child_removal(child, dataset, self.clock())
                for prefix in ("distribution#", "edition#", "version#", keys.FEED_SK)
                for child in query_all(self.store, Query(pk, prefix=prefix))
            ]
            others: list[Op] = []
            pipeline = self.store.get(pk, keys.DATASET_PIPELINE_SK)
            if pipeline is not None:
                # The template's marker of this dataset goes with the dataset's pipeline.
                others.append(Delete(pk, keys.DATASET_PIPELINE_SK))
                others.append(
                    Delete(keys.pipeline_pk(pipeline["template"]), keys.pipeline_use_sk(dataset_id))
                )
            others.extend(run_removals(self.store, dataset_id))
            if extra_ops is not None:
                others.extend(extra_ops(dataset))
            return [*found, *([op] for op in others)]

        def last() -> list[Op]:
            """The dataset's own removals, audit entry and event (younger than its children's)."""
            now = self.clock()
            ops: list[Op] = [
                Delete(entry_pk, sk) for entry_pk, sk in sorted(filter_entry_keys(dataset))
            ]
            if dataset.get("incarnation"):
                ops.append(Put(incarnation_record(dataset, deleted=timestamp(now))))
            ops.append(
                audit_entry(
                    dataset_audit_trail(dataset),
                    principal=principal,
                    action="delete",
                    resource_path=f"/datasets/{dataset_id}",
                    changes=changed_fields(dataset, {}),
                    now=now,
                )
            )
            ops.extend(_event("delete", dataset, public_data(dataset), now))
            return ops

        delete_tree(
            self.store,
            item,
            cascade=cascade,
            has_children=lambda: bool(
                self.store.query(Query(pk, prefix="edition#"), limit=1).items
            ),
            children=children,
            last=last,
            not_empty=f"dataset {dataset_id!r} has editions; delete them or use ?cascade=true",
            before_removal=before_removal,
        )
