"""Listing, text search and facet counts of datasets: the read path of DatasetRepository."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catalogue.domain.errors import InvalidValue
from catalogue.store import keys, ranking
from catalogue.store.answer_cache import fresh, items_bytes
from catalogue.store.base import (
    MAX_LIMIT,
    CountListed,
    Find,
    Found,
    Item,
    ItemStore,
    Page,
    Predicate,
    Query,
    query_all,
)
from catalogue.store.paging import decode_cursor, fingerprint

from . import facets as facet_rules
from .dataset_index import (
    FIND_ORDERS,
    INDEXED_FILTERS,
    SEARCH_ORDERS,
    exact_filters,
    facet_scope,
    filter_values,
    grant_token,
    matches,
    normalise_filter,
)
from .facets import FACETS, TOP_VALUES, Audience, Facets, merge, top, values_of
from .records import resource

# What a page makes of each dataset's store item (``list``'s ``shape``).
Shape = Callable[[Item], Any]


class DatasetSearch:
    """The queries that list, search and count datasets; DatasetRepository inherits them."""

    store: ItemStore

    def list(
        self,
        filters: Mapping[str, str],
        *,
        limit: int,
        cursor: str | None,
        visible: Predicate | Audience | None = None,
        sort: str | None = None,
        shape: Shape = resource,
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
        ``shape`` makes each page item of a dataset's store item (``records.projection``
        gives a page its wire form in one pass); the dataset resource by default.
        """
        text = filters.get("q")
        if text and (visible is None or isinstance(visible, Audience)):
            found = self.store.find(self._find(filters, text, visible, sort, limit, cursor))
            return Page([shape(item) for item in found.page.items], found.page.next_cursor)
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
            return Page([shape(item) for item in page.items], page.next_cursor)
        if sort is not None:
            return self._sorted(filters, visible, sort, limit=limit, cursor=cursor, shape=shape)
        query = self._query(filters, visible)
        page = self.store.query(query, limit=limit, cursor=cursor)
        return Page(
            self._datasets_of(query, page.items, shape),
            page.next_cursor,
            page.previous_cursor,
            page.backwards,
        )

    def _datasets_of(self, query: Query, items: Sequence[Item], shape: Shape) -> list[Any]:
        """The datasets a list query read (shaped): its items, or those its filter entries name."""
        if query.index is not None:
            return [shape(item) for item in items]
        found = self.store.get_many(
            [(keys.dataset_pk(entry["id"]), keys.DATASET_SK) for entry in items]
        )
        return [shape(item) for item in found]

    def _sorted(
        self,
        filters: Mapping[str, str],
        visible: Predicate | None,
        sort: str,
        *,
        limit: int,
        cursor: str | None,
        shape: Shape,
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
        return Page([shape(item) for item in page.items], page.next_cursor)

    def list_with_facets(
        self,
        filters: Mapping[str, str],
        *,
        limit: int,
        cursor: str | None,
        audience: Audience,
        sort: str | None = None,
        shape: Shape = resource,
        copy: bool = True,
    ) -> tuple[Page, Facets]:
        """``list`` for ``audience``, with the facet counts of its datasets (repositories/facets).

        A text search counts the candidates it reads for ranking; without ``q`` the counts
        come from the store's counters and the filter partitions. The store keeps the page,
        shaped, with its counts as one answer (``ItemStore.kept``) under the caller's
        visibility, so a page asked again is neither read, decoded nor shaped again. Each
        caller gets its own copy, unless it only reads what it gets (``copy=False``: the
        kept answer itself, which it must not change; copying costs ~2 µs per dataset).
        """
        key = (
            "list_with_facets",
            tuple(sorted(filters.items())),
            tuple(audience.classes),
            _grants(audience),
            limit,
            cursor,
            sort,
            shape,
        )

        def compute() -> tuple[Page, Facets]:
            if filters.get("q"):
                return self._search_with_facets(filters, limit, cursor, audience, sort, shape)
            exact = {
                name: normalise_filter(name, value)
                for name, value in exact_filters(filters).items()
            }
            page = self.list(
                filters, limit=limit, cursor=cursor, visible=audience.sees, sort=sort, shape=shape
            )
            return page, self._facets_without_query(exact, audience)

        page, facets = self.store.kept(key, compute, _listed_bytes)
        if not copy:
            return page, facets
        return (
            dataclasses.replace(page, items=[fresh(item) for item in page.items]),
            dataclasses.replace(facets, values=fresh(facets.values)),
        )

    def _search_with_facets(
        self,
        filters: Mapping[str, str],
        limit: int,
        cursor: str | None,
        audience: Audience,
        sort: str | None,
        shape: Shape,
    ) -> tuple[Page, Facets]:
        """A text search's page and the counts of the candidates it ranked."""
        request = self._find(filters, filters["q"], audience, sort, limit, cursor)
        found = self.store.find(
            dataclasses.replace(
                request, facets=FACETS, top=TOP_VALUES, max_counted=facet_rules.MAX_EXACT
            )
        )
        page = Page([shape(item) for item in found.page.items], found.page.next_cursor)
        return page, Facets(top(found.counts), found.total, found.approximate)

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
            grants=frozenset() if audience is None else _grants(audience),
            max_ranked=ranking.MAX_CANDIDATES,
        )

    def _facets_without_query(self, exact: Mapping[str, str], audience: Audience) -> Facets:
        """Facet counts of the visible datasets passing ``exact`` (see repositories/facets)."""
        drivers = [name for name in INDEXED_FILTERS if name in exact]
        if not drivers:
            counts = self._unfiltered_counts(audience)
            return Facets(top(counts), sum(counts.get("accessRights", {}).values()), False)
        first = drivers[0]
        found = self._count_listed(
            first, exact, [name for name in FACETS if name != first], audience
        )
        counts: dict[str, Mapping[str, int]] = dict(found.counts)
        approximate = found.approximate
        if len(drivers) > 1:
            # The first filter's own facet counts over the datasets passing the others.
            own = self._count_listed(drivers[1], exact, [first], audience)
            counts[first] = own.counts[first]
            approximate = approximate or own.approximate
        else:
            counts[first] = self._unfiltered_counts(audience).get(first, Counter())
        return Facets(top(counts), found.total, approximate)

    def _count_listed(
        self, name: str, exact: Mapping[str, str], facets: Sequence[str], audience: Audience
    ) -> Found:
        """The store's counts of ``facets`` over the visible datasets listed under ``name``."""
        return self.store.count_listed(
            CountListed(
                keys.filter_pk(name, exact[name]),
                visible=audience.sees,
                values=lambda entry: values_of(entry, filter_values),
                filters=exact,
                classes=tuple(audience.classes),
                grants=_grants(audience),
                facets=tuple(facets),
                top=TOP_VALUES,
                max_counted=facet_rules.MAX_EXACT,
            )
        )

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
        partitions = [
            keys.filter_pk(name, normalise_filter(name, exact[name]))
            for name in INDEXED_FILTERS
            if name in exact
        ]
        if not partitions:
            return Query(keys.ALL_DATASETS, index=keys.GSI1, where=wanted)
        # The other filters' partitions: a store may skip the entries missing from them.
        return Query(partitions[0], where=wanted, within=tuple(partitions[1:]))


def _listed_bytes(listed: tuple[Page, Facets]) -> int:
    """An estimate of the bytes a kept list and its counts hold (``answer_cache.MAX_BYTES``)."""
    page, facets = listed
    return items_bytes(page.items) + items_bytes([facets.values])


def _grants(audience: Audience) -> frozenset[str]:
    """The ``search_meta`` grants of the non-public datasets ``audience`` was granted."""
    if "non-public" in audience.classes:
        return frozenset()
    return frozenset(
        grant_token(dataset_id, incarnation)
        for dataset_id, incarnations in audience.granted.items()
        for incarnation in incarnations
    )
