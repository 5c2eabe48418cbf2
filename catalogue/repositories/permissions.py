"""Grants of scopes on datasets, indexed both ways, each change audited in its transaction.

A dataset's grants share the partition ``permissions#<id>`` with a head item listing its
admins. Every change replaces the head conditionally on its revision, so two racing changes
cannot both remove "the other" last admin. ``grants#<principal>`` mirrors each grant, so
``GET /me`` is a query, not a scan.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from catalogue.domain.access import SCOPES
from catalogue.domain.change_events import event_type
from catalogue.domain.errors import Conflict, InvalidValue, NotFound, PreconditionFailed
from catalogue.domain.revisions import Condition, check_presence
from catalogue.store import keys
from catalogue.store.base import (
    Create,
    Delete,
    Item,
    ItemStore,
    Op,
    Page,
    Put,
    Query,
    Replace,
    query_all,
)

from .audit import audit_entry
from .change_events import event_ops
from .deletion import ancestor_failure, live_ancestors
from .records import read_modify_write

# Aliases: inside the repository class, ``list`` names its method, not the builtin.
Scopes = list[str]
Ops = list[Op]


def _ordered(scopes: Sequence[str]) -> list[str]:
    return [scope for scope in SCOPES if scope in set(scopes)]


def _grant_items(
    dataset_id: str, incarnation: str | None, principal: str, scopes: list[str]
) -> tuple[Item, Item]:
    body: dict[str, Any] = {"dataset": dataset_id, "principal": principal, "scopes": scopes}
    if incarnation is not None:
        # A grant belongs to one incarnation of the dataset id and confers nothing on another.
        body["incarnation"] = incarnation
    grant = {**body, "pk": keys.permissions_pk(dataset_id), "sk": keys.grant_sk(principal)}
    mirror = {**body, "pk": keys.grants_pk(principal), "sk": dataset_id}
    return {**grant, "kind": "grant"}, {**mirror, "kind": "grant-mirror"}


def _incarnation(dataset: Mapping[str, Any]) -> str | None:
    incarnation = dataset.get("incarnation")
    return None if incarnation is None else str(incarnation)


def _public(item: Item) -> dict[str, Any]:
    return {name: item[name] for name in ("dataset", "principal", "scopes")}


class PermissionRepository:
    """Read and change the grants of datasets."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def owner_ops(self, dataset: Mapping[str, Any], owner: str) -> list[Op]:
        """The writes that give ``owner`` every scope on a new dataset (for its create)."""
        dataset_id, incarnation = dataset["id"], _incarnation(dataset)
        scopes = list(SCOPES)
        grant, mirror = _grant_items(dataset_id, incarnation, owner, scopes)
        head = {
            "pk": keys.permissions_pk(dataset_id),
            "sk": keys.PERMISSIONS_HEAD_SK,
            "kind": "permissions",
            "dataset": dataset_id,
            "incarnation": incarnation,
            "admins": [owner],
        }
        # Create, not Put: leftovers of an earlier dataset with this id must fail the
        # create rather than hand their scopes to the new one.
        # The dataset's own "create" audit entry records the owner; no second entry needed.
        return [Create(head), Create(grant), Put(mirror)]

    def new_owner_ops(self, dataset: Mapping[str, Any], owner: str, *, principal: str) -> list[Op]:
        """The writes that give a dataset's new owner team every scope (for the owner change).

        Nothing when it holds them already; the previous owner keeps its grant until an
        admin removes it.
        """
        dataset_id = dataset["id"]
        head, before = self._head_and_grant(dataset_id, owner)
        scopes = list(SCOPES)
        if before == scopes:
            return []
        body = {name: value for name, value in head.items() if name != "rev"}
        body["admins"] = sorted({*head["admins"], owner})
        grant, mirror = _grant_items(dataset_id, head.get("incarnation"), owner, scopes)
        return [
            Replace(body, rev=head["rev"]),
            Put(grant),
            Put(mirror),
            *self._audit(head, owner, before, scopes, principal, dataset),
        ]

    def removal_ops(self, dataset: Mapping[str, Any]) -> list[Op]:
        """Deletes of every grant, mirror and the head: run before the dataset's own delete."""
        dataset_id = dataset["id"]
        ops: list[Op] = []
        for grant in query_all(self.store, Query(keys.permissions_pk(dataset_id))):
            ops.append(Delete(grant["pk"], grant["sk"]))
            if grant["sk"] != keys.PERMISSIONS_HEAD_SK:
                ops.append(Delete(keys.grants_pk(grant["principal"]), dataset_id))
        return ops

    def scopes_of(self, dataset: Mapping[str, Any], grantees: Sequence[str]) -> set[str]:
        """Every scope granted on the dataset to any of ``grantees`` (one batch read).

        ``dataset`` is its item or filter entry (id and incarnation): grants of an earlier
        incarnation of the id count for nothing.
        """
        if not grantees:
            return set()
        pk = keys.permissions_pk(dataset["id"])
        found = self.store.get_many([(pk, keys.grant_sk(name)) for name in grantees])
        incarnation = _incarnation(dataset)
        return {
            scope
            for item in found
            if item.get("incarnation") == incarnation
            for scope in item["scopes"]
        }

    def dataset_with_scopes(
        self, dataset_id: str, grantees: Sequence[str]
    ) -> tuple[Item | None, set[str]]:
        """The dataset's item (None if missing) and what ``grantees`` hold on it: one read.

        The item and the grants are read in one batch, so a permission check costs one
        store call whoever asks.
        """
        dataset_key = (keys.dataset_pk(dataset_id), keys.DATASET_SK)
        if not grantees:  # an anonymous caller: the dataset alone, by the store's plainest read
            return self.store.get(*dataset_key), set()
        pk = keys.permissions_pk(dataset_id)
        found = self.store.get_many([dataset_key, *((pk, keys.grant_sk(g)) for g in grantees)])
        dataset = next((item for item in found if item["pk"] == dataset_key[0]), None)
        if dataset is None:
            return None, set()
        incarnation = _incarnation(dataset)
        scopes = {
            scope
            for item in found
            if item["pk"] == pk and item.get("incarnation") == incarnation
            for scope in item["scopes"]
        }
        return dataset, scopes

    def scopes_by_dataset(self, grantees: Sequence[str]) -> dict[tuple[str, str | None], set[str]]:
        """Every scope ``grantees`` hold, by (dataset id, incarnation): one query each.

        Read from the grants-by-principal partitions, so a list checks any number of
        datasets against the caller's grants without a read per dataset.
        """
        held: dict[tuple[str, str | None], set[str]] = {}
        for grantee in grantees:
            for item in query_all(self.store, Query(keys.grants_pk(grantee))):
                held.setdefault((item["dataset"], item.get("incarnation")), set()).update(
                    item["scopes"]
                )
        return held

    def readable(self, grantees: Sequence[str]) -> dict[str, frozenset[str | None]]:
        """The datasets any of ``grantees`` holds a grant on (every scope implies ``read``).

        Dataset id -> the incarnations the grants belong to; one partition per grantee.
        """
        found: dict[str, set[str | None]] = {}
        for (dataset, incarnation), scopes in self.scopes_by_dataset(grantees).items():
            if scopes:
                found.setdefault(dataset, set()).add(incarnation)
        return {dataset: frozenset(incarnations) for dataset, incarnations in found.items()}

    def list(self, dataset_id: str, *, limit: int, cursor: str | None) -> Page:
        query = Query(keys.permissions_pk(dataset_id), prefix=keys.GRANT_PREFIX)
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page([_public(item) for item in page.items], page.next_cursor)

    def put(
        self,
        dataset_id: str,
        grantee: str,
        scopes: Sequence[str],
        *,
        principal: str,
        condition: Condition | None = None,
    ) -> dict[str, Any]:
        """Set the scopes of ``grantee`` (replacing any it had).

        Raises NotFound (no such dataset) and Conflict when this would leave no admin or
        the dataset is being deleted; PreconditionFailed when ``condition`` does not hold
        (a grant has no ETag: only If-Match ``*``, it exists, and If-None-Match ``*``, it
        does not, can). A change without a condition that lost a race with another change
        to the dataset's grants is made again on the new state.
        """
        what = f"the grant of {grantee} on dataset {dataset_id!r}"
        return read_modify_write(
            lambda: self._put(dataset_id, grantee, scopes, principal, condition, what),
            if_match=condition,
            what=what,
        )

    def _put(
        self,
        dataset_id: str,
        grantee: str,
        scopes: Sequence[str],
        principal: str,
        condition: Condition | None,
        what: str,
    ) -> Item:
        wanted = _ordered(scopes)
        if not wanted:
            raise InvalidValue("scopes", "give at least one scope; DELETE removes a grant")
        head, before = self._head_and_grant(dataset_id, grantee)
        # Holds when the write lands: it is conditional on the head, which every change
        # to the dataset's grants replaces.
        check_presence(condition, before is not None, what)
        if before == wanted:
            return {"dataset": dataset_id, "principal": grantee, "scopes": wanted}
        admins = set(head["admins"])
        if "admin" in wanted:
            admins.add(grantee)
        else:
            admins.discard(grantee)
        grant, mirror = _grant_items(dataset_id, head.get("incarnation"), grantee, wanted)
        self._change(head, admins, [Put(grant), Put(mirror)], grantee, before, wanted, principal)
        return _public(grant)

    def delete(
        self,
        dataset_id: str,
        grantee: str,
        *,
        principal: str,
        condition: Condition | None = None,
    ) -> None:
        """Remove the grant of ``grantee``; raises NotFound, Conflict (last admin), and
        PreconditionFailed when ``condition`` does not hold (see ``put``).

        A removal without a condition that lost a race with another change to the grants
        is tried again.
        """
        what = f"the grant of {grantee} on dataset {dataset_id!r}"
        read_modify_write(
            lambda: self._delete(dataset_id, grantee, principal, condition, what),
            if_match=condition,
            what=what,
        )

    def _delete(
        self,
        dataset_id: str,
        grantee: str,
        principal: str,
        condition: Condition | None,
        what: str,
    ) -> None:
        head, before = self._head_and_grant(dataset_id, grantee)
        if before is None:
            # Before the condition: a removal of nothing is 404 whatever it asks (RFC 9110
            # 13.2.1).
            raise NotFound(f"{grantee} holds no grant on dataset {dataset_id!r}")
        check_presence(condition, True, what)
        admins = set(head["admins"]) - {grantee}
        removals: list[Op] = [
            Delete(keys.permissions_pk(dataset_id), keys.grant_sk(grantee)),
            Delete(keys.grants_pk(grantee), dataset_id),
        ]
        self._change(head, admins, removals, grantee, before, None, principal)

    def for_principals(self, grantees: Sequence[str], *, limit: int, cursor: str | None) -> Page:
        """Grants held by any of ``grantees``, one partition after another."""
        index, inner = _decode(cursor, len(grantees))
        items: list[dict[str, Any]] = []
        while index < len(grantees) and len(items) < limit:
            query = Query(keys.grants_pk(grantees[index]))
            page = self.store.query(query, limit=limit - len(items), cursor=inner)
            items.extend(_public(item) for item in page.items)
            if page.next_cursor is not None:
                return Page(items, _encode(index, page.next_cursor))
            index, inner = index + 1, None
        return Page(items, _encode(index, None) if index < len(grantees) else None)

    def _head_and_grant(self, dataset_id: str, grantee: str) -> tuple[Item, Scopes | None]:
        pk = keys.permissions_pk(dataset_id)
        head = self.store.get(pk, keys.PERMISSIONS_HEAD_SK)
        if head is None:
            raise NotFound(f"dataset {dataset_id!r} not found")
        grant = self.store.get(pk, keys.grant_sk(grantee))
        return head, None if grant is None else list(grant["scopes"])

    def _change(
        self,
        head: Item,
        admins: set[str],
        ops: Ops,
        grantee: str,
        before: Scopes | None,
        after: Scopes | None,
        principal: str,
    ) -> None:
        if not admins:
            raise Conflict(
                f"{grantee} holds the last admin grant on dataset {head['dataset']!r}; "
                "grant admin to another principal first"
            )
        body = {name: value for name, value in head.items() if name != "rev"}
        body["admins"] = sorted(admins)
        dataset_id = head["dataset"]
        # Conditional on the dataset, unmarked: a grant never outlives a cascade delete.
        live = live_ancestors([dataset_id], head.get("incarnation"))
        ops = [*live, Replace(body, rev=head["rev"]), *ops]
        dataset = self.store.get(keys.dataset_pk(dataset_id), keys.DATASET_SK) or {}
        ops.extend(self._audit(head, grantee, before, after, principal, dataset))
        try:
            self.store.transact(ops)
        except (NotFound, PreconditionFailed) as error:
            if error.key != (keys.dataset_pk(dataset_id), keys.DATASET_SK):
                raise
            raise ancestor_failure(error, [dataset_id]) from None

    def _audit(
        self,
        head: Item,
        grantee: str,
        before: Scopes | None,
        after: Scopes | None,
        principal: str,
        dataset: Mapping[str, Any],
    ) -> list[Op]:
        """The audit entry and the event of a change to a grant (``dataset``: its dataset)."""
        dataset_id = head["dataset"]
        action = "revoke" if after is None else "grant"
        path = f"/datasets/{dataset_id}/permissions/{grantee}"
        changes = {"scopes": {"before": before, "after": after}}
        now = self.clock()
        audit = audit_entry(
            keys.audit_pk(dataset_id, head.get("incarnation")),
            principal=principal,
            action=action,
            resource_path=path,
            changes=changes,
            now=now,
        )
        concerned = {
            "id": dataset_id,
            "incarnation": head.get("incarnation"),
            "accessRights": dataset.get("accessRights"),
        }
        event = event_ops(
            event_type("permissions", action),
            subject=path,
            data={"dataset": dataset_id, "principal": grantee, **changes},
            dataset=concerned,
            now=now,
        )
        return [audit, *event]


def _encode(index: int, inner: str | None) -> str:
    raw = json.dumps({"i": index, "c": inner}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode(cursor: str | None, partitions: int) -> tuple[int, str | None]:
    if cursor is None:
        return 0, None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        index, inner = int(position["i"]), position["c"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidValue("cursor", "not a cursor this service handed out") from None
    if not 0 <= index < partitions or not (inner is None or isinstance(inner, str)):
        raise InvalidValue("cursor", "not a cursor this service handed out")
    return index, inner
