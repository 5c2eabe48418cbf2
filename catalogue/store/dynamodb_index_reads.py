"""The DynamoDB store's reads through its search index and facet counters: search, find, counts."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from catalogue.store import dynamodb_answers, ranking
from catalogue.store.answer_cache import (
    AnswerCache,
    count_listed_key,
    counted_bytes,
    find_key,
    fresh,
    items_bytes,
)
from catalogue.store.base import CountListed, Find, Found, Item, Page, Predicate
from catalogue.store.dynamodb_facets import add_counts, counts_query
from catalogue.store.dynamodb_search import (
    SEARCH_BATCH,
    candidates_query,
    hits,
    holder_queries,
    linked_keys,
)
from catalogue.store.finding import check_find, count_entries, find_in
from catalogue.store.operations import Key
from catalogue.store.ranking import SearchOrder

# find reads at most this many of the other terms' index items per candidate (see _holders).
NARROWING_RATIO = 20


class IndexReads:
    """DynamoDbStore's ``search``, ``find``, ``count_listed`` and ``facet_counts`` (inherited)."""

    table_name: str
    # The store's own: a client call with its errors translated, and a consistent batch read.
    _call: Callable[..., Any]
    _batch_get: Callable[[list[Key]], dict[Key, dict[str, Any]]]
    _answers: AnswerCache
    # How many reads of the global secondary index this thread made (the store counts them).
    _index_reads: Callable[[], int]

    def search(
        self,
        scope: str,
        text: str,
        *,
        limit: int,
        cursor: str | None = None,
        where: Predicate | None = None,
        order: SearchOrder | None = None,
        observe: Callable[[Item], None] | None = None,
    ) -> Page:
        """Return items of ``scope`` matching ``text``, ranked (see the module notes)."""
        query, order, query_id, start = ranking.open_search(
            scope, text, limit=limit, cursor=cursor, order=order
        )
        if query.empty:
            return Page([], None)
        return ranking.ranked_page(
            query,
            self._candidates(scope, query),
            order=order,
            query_id=query_id,
            start=start,
            limit=limit,
            where=where,
            observe=observe,
        )

    def find(self, request: Find) -> Found:
        """Run ``request`` over the items the term index points at (see ``finding``).

        Kept under the search generation (``dynamodb_answers``).
        """
        check_find(request)
        query = ranking.parse(request.text)
        if query.empty:
            return find_in(request, [])
        found: Found = self._kept(
            find_key(request, query),
            lambda: find_in(request, self._candidates(request.scope, query, narrow=True)),
            _found_bytes,
        )
        return _fresh_found(found)

    def count_listed(self, request: CountListed) -> Found:
        """Count the facets of a partition's datasets over its entries (``count_entries``).

        Kept as ``find``'s answers are.
        """
        found: Found = self._kept(
            count_listed_key(request),
            lambda: count_entries(self, request),  # type: ignore[arg-type]
            _found_bytes,
        )
        return _fresh_found(found)

    def facet_counts(self, scope: str) -> dict[str, dict[str, int]]:
        """How many items of ``scope`` hold each facet value (see ItemStore.facet_counts).

        Kept as ``find``'s answers are: a scope has thousands of keyword values.
        """

        def read() -> dict[str, dict[str, int]]:
            counts: dict[str, dict[str, int]] = {}
            call = counts_query(self.table_name, scope)
            while True:
                response = self._call("query", **call)
                for raw in response.get("Items", []):
                    add_counts(counts, raw)
                if "LastEvaluatedKey" not in response:
                    return counts
                call["ExclusiveStartKey"] = response["LastEvaluatedKey"]

        return fresh(self._kept(("facet_counts", scope), read, counted_bytes))

    def kept(self, key: Hashable, compute: Callable[[], Any], weigh: Callable[[Any], int]) -> Any:
        """The answer of ``key`` kept under the search generation (see ItemStore.kept)."""
        return self._kept(("kept", key), compute, weigh)

    def _kept(self, key: Hashable, compute: Callable[[], Any], weigh: Callable[[Any], int]) -> Any:
        """The answer of ``key`` kept under the current search generation, else computed."""
        return dynamodb_answers.answer(
            self._answers,
            lambda: dynamodb_answers.current(self._call, self.table_name),
            key,
            compute,
            weigh,
            index_reads=self._index_reads,
        )

    def _candidates(
        self, scope: str, query: ranking.SearchQuery, *, narrow: bool = False
    ) -> Iterator[Item]:
        """The items of ``scope`` matching ``query``, read lazily through one index partition.

        ``narrow`` fetches only the candidates indexed under every other query term too
        (see ``_holders``); index items are never missing, so none that match is left out.
        """
        if not query.indexable:
            return  # DynamoDB would refuse the term as a key condition
        call = candidates_query(self.table_name, scope, query)
        holders: set[Key] | None = None
        asked = False
        while True:
            response = self._call("query", **call)
            entries = response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if narrow and not asked:
                # Reading the other terms' keys pays while it costs less than the fetches
                # it saves: an index item is ~1/30 of a fetched item's read unit.
                budget = NARROWING_RATIO * (len(entries) if last is None else SEARCH_BATCH)
                holders, asked = self._holders(scope, query, budget), True
            if holders is not None:
                entries = [raw for raw in entries if _linked(raw) in holders]
            yield from hits(entries, self._batch_get(linked_keys(entries)), scope, query)
            if last is None:
                return
            call["ExclusiveStartKey"] = last

    def _holders(self, scope: str, query: ranking.SearchQuery, budget: int) -> set[Key] | None:
        """The keys indexed under every query term but the driver; None when there is no
        other term or reading them would pass ``budget`` index items (then nothing narrows)."""
        found: set[Key] | None = None
        for call in holder_queries(self.table_name, scope, query):
            keys: set[Key] = set()
            while True:
                response = self._call("query", **call)
                keys.update(_linked(raw) for raw in response.get("Items", []))
                if len(keys) > budget:
                    return None
                if "LastEvaluatedKey" not in response:
                    break
                call["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            found = keys if found is None else found & keys
        return found


def _found_bytes(found: Found) -> int:
    """An estimate of the bytes a kept ``Found`` holds (see ``answer_cache.MAX_BYTES``)."""
    return items_bytes(found.page.items) + counted_bytes(found.counts)


def _fresh_found(found: Found) -> Found:
    """A copy of a kept ``Found`` its caller may change."""
    page = Page([fresh(item) for item in found.page.items], found.page.next_cursor)
    return Found(page, fresh(found.counts), found.total, found.approximate)


def _linked(raw: dict[str, Any]) -> Key:
    """The key of the item an index item points at."""
    return (raw["item_pk"]["S"], raw["item_sk"]["S"])
