"""Datasets over any ItemStore: create with version 1, filters, search, patch, delete."""

from __future__ import annotations

import dataclasses
import json
import secrets
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
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
from catalogue.domain.revisions import Revision, check_fresh
from catalogue.store import keys, ranking
from catalogue.store.base import (
    FIELD_SEPARATOR,
    MAX_LIMIT,
    Create,
    Delete,
    Find,
    Item,
    ItemStore,
    Op,
    Page,
    Predicate,
    Put,
    Query,
    Replace,
    folded,
    query_all,
)
from catalogue.store.finding import FacetCounter
from catalogue.store.operations import decode_cursor, fingerprint
from catalogue.store.ranking import SearchOrder
from pipelines.timestamps import timestamp

from . import facets as facet_rules
from .audit import audit_entry, dataset_audit_trail
from .change_events import event_ops, public_data
from .deletion import (
    DELETING,
    BeforeRemoval,
    check_live,
    child_removal,
    delete_tree,
    same_incarnation,
)
from .facets import FACETS, TOP_VALUES, Audience, Facets, merge, top, values_of
from .records import read_modify_write, resource
from .runs import run_removals

# Filters that have their own index partition, most selective first: the first one given
# drives the query and the others are checked on its entries.
INDEXED_FILTERS = ("keyword", "theme", "owner", "format", "state", "accessRights")
# Attribute copied into filter entries, so filters combine without reading the datasets.
FILTER_FIELDS = (
    "id",
    "incarnation",
    "owner",
    "accessRights",
    "state",
    "keywords",
    "themes",
    "formats",
)
# Attempts at ``slug-<suffix>`` before giving up on a derived id.
MAX_SLUG_ATTEMPTS = 5

# Writes added to a dataset change's transaction, made from the dataset (id, incarnation).
ExtraOps = Callable[[Mapping[str, Any]], Sequence[Op]]


def _newest_first(item: Item) -> float:
    """A number that sorts newer ``modified`` timestamps first."""
    modified = item.get("modified")
    if not isinstance(modified, str):
        return 0.0
    return -datetime.fromisoformat(modified.replace("Z", "+00:00")).timestamp()


# The store's ``find`` order of each ``sort`` (ties by key, that is by id, as below).
FIND_ORDERS = {"relevance": "relevance", "modified": "recency", "title": "title"}


def search_meta(dataset: Mapping[str, Any]) -> dict[str, Any]:
    """What the store's ``find`` needs of a dataset: visibility and the keys of its orders."""
    meta: dict[str, Any] = {
        "access": dataset["accessRights"],
        "recency": _newest_first(dataset),
        "title": str(dataset.get("title", "")).casefold(),
    }
    if dataset["accessRights"] == "non-public":
        # Seen by the callers granted read on this incarnation (Audience.grants).
        meta["grant"] = grant_token(dataset["id"], dataset.get("incarnation"))
    return meta


def grant_token(dataset_id: str, incarnation: str | None) -> str:
    """The ``search_meta`` grant of a non-public dataset's incarnation."""
    return json.dumps([dataset_id, incarnation], separators=(",", ":"))


# Orders of a text search; ids break every remaining tie.
SEARCH_ORDERS = {
    "relevance": SearchOrder(
        "relevance", lambda item, score: [-score, _newest_first(item), item["id"]]
    ),
    "modified": SearchOrder("modified", lambda item, _: [_newest_first(item), item["id"]]),
    "title": SearchOrder(
        "title", lambda item, _: [str(item.get("title", "")).casefold(), item["id"]]
    ),
}


def filter_values(dataset: Mapping[str, Any]) -> dict[str, list[str]]:
    """The values under which a dataset is listed, per indexed filter."""
    return {
        "keyword": sorted({rules.normalise_keyword(k) for k in dataset.get("keywords", [])}),
        "theme": sorted(set(dataset.get("themes", []))),
        "owner": [dataset["owner"]] if dataset.get("owner") else [],
        "state": [dataset.get("state", "active")],
        "accessRights": [dataset["accessRights"]],
        "format": sorted(set(dataset.get("formats", []))),
    }


def exact_filters(filters: Mapping[str, Any]) -> dict[str, str]:
    """The exact filters among a list's parameters (q and options such as facets are not)."""
    return {name: filters[name] for name in INDEXED_FILTERS if filters.get(name)}


def normalise_filter(name: str, value: str) -> str:
    """A filter value as the dataset's values are listed (keywords and formats ignore case)."""
    if name == "keyword":
        return rules.normalise_keyword(value)
    if name == "format":
        return rules.normalise_format(value)
    return value


def facet_scope(dataset: Mapping[str, Any]) -> str:
    """The counters a dataset counts in: one set per access class (see repositories/facets)."""
    return f"{keys.DATASET_SCOPE}#{dataset['accessRights']}"


def filter_entry_keys(dataset: Mapping[str, Any]) -> set[tuple[str, str]]:
    return {
        (keys.filter_pk(name, value), dataset["id"])
        for name, values in filter_values(dataset).items()
        for value in values
    }


def filter_entries(dataset: Mapping[str, Any]) -> list[Item]:
    """The filter entries of a dataset: one per indexed filter value, with copied fields."""
    copy = {name: dataset[name] for name in FILTER_FIELDS if name in dataset}
    return [
        {**copy, "pk": pk, "sk": sk, "kind": "filter"}
        for pk, sk in sorted(filter_entry_keys(dataset))
    ]


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


def matches(filters: Mapping[str, str]) -> Predicate:
    """A predicate true for dataset items and filter entries that pass every filter."""
    wanted = {name: normalise_filter(name, value) for name, value in filters.items()}
    if not wanted:
        return lambda item: True

    def check(item: Item) -> bool:
        # Dataset items carry their values; filter entries have them computed.
        values = values_of(item, filter_values)
        return all(value in values.get(name, ()) for name, value in wanted.items())

    return check


class DatasetRepository:
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
            dataset = self._new_dataset(dataset_id, data, now)
            ops = self._create_ops(dataset, principal, now)
            if extra_ops is not None:
                ops.extend(extra_ops(dataset))
            try:
                self.store.transact(ops)
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

    def list(
        self,
        filters: Mapping[str, str],
        *,
        limit: int,
        cursor: str | None,
        visible: Predicate | Audience | None = None,
        sort: str | None = None,
    ) -> Page:
        """Datasets passing every filter (and ``visible``), reading as many pages as needed.

        ``q`` is free text over title, keywords and description, ranked as ``sort`` says
        (SEARCH_ORDERS; relevance by default); the other filters are exact (keywords and
        formats ignore case). Without ``q`` datasets come in id order (ids are slugs of
        titles), the page has a ``previous_cursor`` as the store's pages do, and
        ``last_cursor(filters)`` reads the final page; a text search pages forwards only.
        ``sort`` without ``q`` orders the matches read through the list's own partition,
        at most ranking.MAX_CANDIDATES of them (InvalidValue on ``sort`` past that).
        ``visible`` is an Audience (or None: everyone) for a text search the store runs
        whole (``ItemStore.find``); a predicate makes the store read every match for it.
        """
        text = filters.get("q")
        if text and (visible is None or isinstance(visible, Audience)):
            found = self.store.find(self._find(filters, text, visible, sort, limit, cursor))
            return Page([resource(item) for item in found.page.items], found.page.next_cursor)
        if isinstance(visible, Audience):
            visible = visible.sees
        if text:
            page = self.store.search(
                keys.DATASET_SCOPE,
                text,
                limit=limit,
                cursor=cursor,
                where=self._wanted(filters, visible),
                order=SEARCH_ORDERS[sort or "relevance"],
            )
            return Page([resource(item) for item in page.items], page.next_cursor)
        if sort is not None:
            return self._sorted(filters, visible, sort, limit=limit, cursor=cursor)
        query = self._query(filters, visible)
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page(
            self._datasets_of(query, page.items),
            page.next_cursor,
            page.previous_cursor,
            page.backwards,
        )

    def _datasets_of(self, query: Query, items: Sequence[Item]) -> list[dict[str, Any]]:
        """The datasets a list query read: its items, or those its filter entries name."""
        if query.index is not None:
            return [resource(item) for item in items]
        found = self.store.get_many(
            [(keys.dataset_pk(entry["id"]), keys.DATASET_SK) for entry in items]
        )
        return [resource(item) for item in found]

    def _sorted(
        self,
        filters: Mapping[str, str],
        visible: Predicate | None,
        sort: str,
        *,
        limit: int,
        cursor: str | None,
    ) -> Page:
        """A list without ``q`` in the order ``sort`` names, ranked in memory (see ``list``)."""
        query = self._query(filters, visible)
        order = SEARCH_ORDERS[sort]
        query_id = fingerprint("sorted", query.partition, order.name, sorted(filters.items()))
        start = None if cursor is None else decode_cursor(cursor, query_id)
        entries: list[Item] = []
        for item in query_all(self.store, query, page_size=MAX_LIMIT):
            entries.append(item)
            if len(entries) > ranking.MAX_CANDIDATES:
                raise InvalidValue(
                    "sort",
                    f"more than {ranking.MAX_CANDIDATES} datasets match: give q or filters "
                    "to sort them, or list them in id order without sort",
                )
        if query.index is None:
            # Filter entries: the sort needs the datasets' titles and dates.
            found = self.store.get_many(
                [(keys.dataset_pk(entry["id"]), keys.DATASET_SK) for entry in entries]
            )
        else:
            found = entries
        page = ranking.ranked_page(
            ranking.SearchQuery((), None),
            found,
            order=order,
            query_id=query_id,
            start=start,
            limit=limit,
            where=None,
        )
        return Page([resource(item) for item in page.items], page.next_cursor)

    def list_with_facets(
        self,
        filters: Mapping[str, str],
        *,
        limit: int,
        cursor: str | None,
        audience: Audience,
        sort: str | None = None,
    ) -> tuple[Page, Facets]:
        """``list`` for ``audience``, with the facet counts of its datasets (repositories/facets).

        A text search counts the candidates it reads for ranking; without ``q`` the counts
        come from the store's counters and the filter partitions.
        """
        exact = {
            name: normalise_filter(name, value) for name, value in exact_filters(filters).items()
        }
        if filters.get("q"):
            request = self._find(filters, filters["q"], audience, sort, limit, cursor)
            found = self.store.find(
                dataclasses.replace(
                    request,
                    facets=FACETS,
                    top=TOP_VALUES,
                    max_counted=facet_rules.MAX_EXACT,
                )
            )
            page = Page([resource(item) for item in found.page.items], found.page.next_cursor)
            return page, Facets(top(found.counts), found.total, found.approximate)
        page = self.list(filters, limit=limit, cursor=cursor, visible=audience.sees, sort=sort)
        return page, self._facets_without_query(exact, audience)

    def _find(
        self,
        filters: Mapping[str, str],
        text: str,
        audience: Audience | None,
        sort: str | None,
        limit: int,
        cursor: str | None,
    ) -> Find:
        """The store's ``find`` of a text search for ``audience`` (None: everyone)."""
        exact = {
            name: normalise_filter(name, value) for name, value in exact_filters(filters).items()
        }
        return Find(
            scope=keys.DATASET_SCOPE,
            text=text,
            limit=limit,
            cursor=cursor,
            order=FIND_ORDERS[sort or "relevance"],
            filters=exact,
            classes=None if audience is None else tuple(audience.classes),
            grants=frozenset()
            if audience is None or "non-public" in audience.classes
            else frozenset(
                grant_token(dataset_id, incarnation)
                for dataset_id, incarnations in audience.granted.items()
                for incarnation in incarnations
            ),
            max_ranked=ranking.MAX_CANDIDATES,
        )

    def _facets_without_query(self, exact: Mapping[str, str], audience: Audience) -> Facets:
        """Facet counts of the visible datasets passing ``exact`` (see repositories/facets)."""
        drivers = [name for name in INDEXED_FILTERS if name in exact]
        if not drivers:
            counts = self._unfiltered_counts(audience)
            return Facets(top(counts), sum(counts.get("accessRights", {}).values()), False)
        first = drivers[0]
        limit = facet_rules.MAX_EXACT
        counter = FacetCounter(exact, [name for name in FACETS if name != first], limit=limit)
        self._count_partition(first, exact[first], counter, audience)
        approximate = counter.full
        if len(drivers) > 1:
            # The first filter's own facet counts over the datasets passing the others.
            own = FacetCounter(exact, [first], limit=limit)
            self._count_partition(drivers[1], exact[drivers[1]], own, audience)
            counter.counts[first] = own.counts[first]
            approximate = approximate or own.full
        else:
            counter.counts[first] = self._unfiltered_counts(audience).get(first, Counter())
        return Facets(top(counter.counts), counter.matched, approximate)

    def _count_partition(
        self, name: str, value: str, counter: FacetCounter, audience: Audience
    ) -> None:
        """Feed ``counter`` the visible datasets listed under filter ``name`` = ``value``."""
        query = Query(keys.filter_pk(name, value), where=audience.sees)
        cursor: str | None = None
        while not counter.full:
            page = self.store.query(query, limit=MAX_LIMIT, cursor=cursor)
            for entry in page.items:
                counter.add(values_of(entry, filter_values))
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def _unfiltered_counts(self, audience: Audience) -> dict[str, Counter[str]]:
        """Counts over every dataset ``audience`` sees.

        The counters of each access class seen whole, then the non-public datasets granted
        to the caller, each read (their number is that of the caller's grants).
        """
        counts = merge(
            *(
                self.store.facet_counts(facet_scope({"accessRights": access}))
                for access in audience.classes
            )
        )
        if "non-public" in audience.classes or not audience.granted:
            return counts
        granted = self.store.get_many(
            [(keys.dataset_pk(dataset), keys.DATASET_SK) for dataset in sorted(audience.granted)]
        )
        for item in granted:
            if item.get("accessRights") == "non-public" and audience.sees(item):
                for name, values in values_of(item, filter_values).items():
                    counts.setdefault(name, Counter()).update(values)
        return counts

    def last_cursor(self, filters: Mapping[str, str]) -> str | None:
        """The cursor of ``list``'s final page for ``filters``; None for a text search."""
        if filters.get("q"):
            return None
        return self.store.last_cursor(self._query(filters, None))

    def _wanted(self, filters: Mapping[str, str], visible: Predicate | None) -> Predicate | None:
        exact = exact_filters(filters)
        if not exact:
            # Only visibility decides (None: every item is wanted, so the store reads exact
            # pages); no filter values are worked out for each item read.
            return visible
        check = matches(exact)

        def checked(item: Item) -> bool:
            return check(item) and (visible is None or visible(item))

        return checked

    def _query(self, filters: Mapping[str, str], visible: Predicate | None) -> Query:
        """The store query behind ``list`` without ``q``: a filter partition or all datasets.

        ``where`` does not take part in a query's cursors, so ``visible`` never changes them.
        """
        wanted = self._wanted(filters, visible)
        exact = exact_filters(filters)
        driver = next((name for name in INDEXED_FILTERS if name in exact), None)
        if driver is None:
            return Query(keys.ALL_DATASETS, index=keys.GSI1, where=wanted)
        return Query(keys.filter_pk(driver, normalise_filter(driver, exact[driver])), where=wanted)

    def patch(
        self,
        dataset_id: str,
        changes: Mapping[str, Any],
        *,
        if_match: Revision | None,
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
        if_match: Revision | None,
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
        if_match: Revision | None,
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
