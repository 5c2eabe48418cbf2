"""The ItemStore interface: what every metadata backend (SQLite, DynamoDB) promises.

Items are JSON-compatible dicts. Reserved attributes:

- ``pk``, ``sk``: the primary key (non-empty strings of at most MAX_PK_BYTES and
  MAX_SK_BYTES bytes of UTF-8, DynamoDB's limits). Unique together.
- ``gsi1pk``, ``gsi1sk``: optional secondary key (non-empty strings);
  ``query(..., index="gsi1")`` reads by it, and only items having both are in the index.
- ``rev``: an integer revision the store owns. ``Create`` stores ``rev = 1``; ``Replace``
  requires the revision the caller read and stores ``rev + 1``. It is the source of ETags.
- ``search_scope``, ``search_text``: optional; an item carrying both is found by
  ``search(search_scope, words)`` when every word of the query but the last is one of its
  words and the last (of two or more characters) starts one of them (``search_terms``
  below defines "word"; matching ignores case and diacritics, and ø/æ fold to o/ae; words
  of more than MAX_TERM_BYTES bytes of UTF-8 are not indexed).
  ``search_text`` may hold fields separated by ``FIELD_SEPARATOR``, weighted in
  that order for ranking (see ``catalogue.store.ranking``).
- ``facet_scope``, ``facet_values``: optional; an item carrying both (a string and a
  mapping of facet names to lists of distinct strings) counts once under every value of
  every facet in ``facet_counts(facet_scope)``. The counts change in the same transaction
  as the item, so they are always those of the items stored.
- ``search_meta``: optional, for ``find``: a mapping with ``access`` (the item's access
  class), ``grant`` (a token that also makes it visible, or absent), ``recency`` (a number,
  lower first in recency order) and ``title`` (a string, the title order's key).
  ``search_text`` of an item ``find`` sees holds at most SEARCH_FIELDS fields.
- ``_terms``, ``_floats``: the store's own (DynamoDB keeps an item's indexed terms, and
  where it holds whole floats, there); never returned.

``Replace``, ``Delete`` and ``Check`` may also ``expect`` attribute values: each named
attribute must equal its value (a string, a number or a boolean; a float compares as the
number stored for it), or be absent where the value is None. It is part of the
operation's condition, evaluated in the same transaction (DynamoDB: in the condition
expression of its ``Put``, ``Delete`` or ``ConditionCheck``), and fails with
PreconditionFailed like a stale ``rev``.

Every other attribute is data and round-trips unchanged (str, int, float, bool, None, list,
dict): a whole float below 2**53 comes back a float (2.0, not 2). Numbers are those
``catalogue.domain.numbers`` says every store keeps (-0.0 is kept as 0.0, a float from
2**53 on as the integer its text names); others are refused. Strings sort by their UTF-8
bytes, as DynamoDB sorts them.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from catalogue.domain.errors import DomainError
    from catalogue.store.ranking import SearchOrder

Item = dict[str, Any]
Predicate = Callable[[Item], bool]
# Attribute name -> the value it must have (None: it must be absent).
Expect = Mapping[str, Any]

MAX_LIMIT = 1000
# The store's attribute of where an item holds whole floats (DynamoDB answers 2.0 as 2).
FLOAT_MARKS = "_floats"
# DynamoDB's longest partition and sort keys, in bytes of UTF-8.
MAX_PK_BYTES = 2048
MAX_SK_BYTES = 1024
# Separates the fields of a search_text; ranking weighs them in order (title, keywords,
# description: see catalogue.store.ranking).
FIELD_SEPARATOR = "\x1f"
# DynamoDB caps a transaction at 100 actions; search terms of an item count against it.
MAX_TRANSACTION_OPS = 100
# An item is measured as DynamoDB measures it (``operations.item_bytes``) and holds at most
# 400 KB: 400,000 bytes here, a little below DynamoDB's 409,600, as numbers are measured
# approximately (and moto refuses past 405,000).
MAX_ITEM_BYTES = 400_000
# Facet counters are kept in items of at most 400 KB on DynamoDB (one attribute per value):
# the values of one facet spread over this many counter items, picked by a hash of the value.
FACET_SHARDS = 8
# Only the first distinct terms of an item's search_text are indexed (title and keywords
# come first). On DynamoDB each is an item written with the item; 250 covers the title,
# keywords and all but the longest descriptions.
MAX_SEARCH_TERMS = 250
# Longer words (a gene sequence, an encoded blob in a description) are not indexed, so no
# search finds them: a DynamoDB sort key holds at most 1,024 bytes, and an index item's
# holds the term and the item's key.
MAX_TERM_BYTES = 200
# Fields of a search_text that ``find`` ranks (title, keywords, description); an item with
# more is refused (ValueError), as the SQLite store keeps one length column per field.
SEARCH_FIELDS = 3
# How ``find`` orders its matches (see ``Find``).
FIND_ORDERS = ("relevance", "recency", "title")


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a query: the items and opaque cursors of the pages after and before it.

    ``next_cursor`` is None at the end; ``previous_cursor`` is None at the start (and from
    stores or lists that read forwards only). ``backwards`` tells that the page was read
    before its cursor (a previous or last cursor): a caller filling a page of its own goes
    on through ``previous_cursor``.
    """

    items: list[Item]
    next_cursor: str | None
    previous_cursor: str | None = None
    backwards: bool = False


@dataclass(frozen=True, slots=True)
class Create:
    """Write ``item``; fails with AlreadyExists if an item with its (pk, sk) exists."""

    item: Item


@dataclass(frozen=True, slots=True)
class Replace:
    """Overwrite the item with ``item``'s (pk, sk), whose current revision must be ``rev``.

    Fails with NotFound when it does not exist and PreconditionFailed when ``rev`` differs
    or an ``expect``ed attribute does not hold its value.
    """

    item: Item
    rev: int
    expect: Expect | None = None


@dataclass(frozen=True, slots=True)
class Put:
    """Write ``item`` unconditionally (create or overwrite).

    The store sets ``rev`` to 1 for a new item and to the current revision + 1 when it
    overwrites one, so a revision (an ETag) never comes back for changed content.
    """

    item: Item


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete (pk, sk). Fails with NotFound when absent, PreconditionFailed on ``rev`` mismatch.

    (or when an ``expect``ed attribute does not hold its value).
    """

    pk: str
    sk: str
    rev: int | None = None
    expect: Expect | None = None


@dataclass(frozen=True, slots=True)
class Check:
    """Write nothing; fail the transaction unless (pk, sk) exists (with ``rev``, when given).

    NotFound when it does not exist; PreconditionFailed when ``rev`` differs or an
    ``expect``ed attribute does not hold its value (a parent being deleted, say).
    """

    pk: str
    sk: str
    rev: int | None = None
    expect: Expect | None = None


@dataclass(frozen=True, slots=True)
class PutNewer:
    """Write ``item`` unless the stored item's ``attribute`` is at or after the item's own.

    Creates the item when absent (or when the stored item lacks ``attribute``), overwrites
    it when the item's ``attribute`` is greater, and otherwise fails with PreconditionFailed,
    leaving the stored item as it was: a late write of an older value never wins, and an
    equal one keeps the first. The value is a string (compared by UTF-8 bytes, so ISO 8601
    timestamps must share one format) or a number (a float compared as the number stored
    for it: from 2**53 on, the integer its text names); the two do not compare, and a stored
    value of the other kind counts as before (it was written under another ordering). The
    revision changes as ``Put``'s does.
    """

    item: Item
    attribute: str


Op = Create | Replace | Put | PutNewer | Delete | Check


@dataclass(frozen=True, slots=True)
class Find:
    """A search the store runs whole: matching, visibility, filters, order, page and facets.

    Matches are the items of ``scope`` holding the terms of ``text`` (as ``search``
    matches them) that the caller sees: every item when ``classes`` is None, otherwise
    those whose ``search_meta`` ``access`` is one of ``classes`` or whose ``grant`` is one
    of ``grants``. ``filters`` (facet name -> value) keep the visible matches holding each
    value in their ``facet_values``. Only the first ``max_counted`` visible matches in
    the store's index order are read; of those passing the filters, the first
    ``max_ranked`` are ranked (BM25F of ``catalogue.store.ranking``, field lengths averaged
    over them) and paged in ``order``: ``relevance`` (score, then ``recency``),
    ``recency`` or ``title``, each tie broken by (pk, sk).

    ``facets`` names the facets counted, disjunctively (see ``FacetCounter``), over the
    visible matches read; the ``top`` values with the most items are returned (ties by
    value). ``approximate`` says that ``max_counted`` were read (there may be more). A
    request without ``facets`` answers a total of 0, never approximate.
    """

    scope: str
    text: str
    limit: int
    cursor: str | None = None
    order: str = "relevance"
    filters: Mapping[str, str] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    grants: frozenset[str] = frozenset()
    facets: tuple[str, ...] = ()
    top: int = 20
    max_counted: int = 10_000
    max_ranked: int = 10_000


@dataclass(frozen=True, slots=True)
class Found:
    """What ``find`` answers: a page, facet counts, the visible matches passing every
    filter among those counted, and whether more visible matches were left uncounted."""

    page: Page
    counts: dict[str, dict[str, int]]
    total: int
    approximate: bool


@dataclass(frozen=True, slots=True)
class CountListed:
    """Facet counts of the items a partition lists, as ``Find`` counts its matches.

    Each item of ``partition`` (a filter partition, ``keys.filter_pk``) lists the item
    ``(keys.dataset_pk(sk), keys.DATASET_SK)``. The first ``max_counted`` listed items the
    caller sees, in the partition's sort-key order, are counted as ``Find`` counts: under
    ``filters``, disjunctively, the ``top`` values of each of ``facets``. A store reads
    either the listed items (visibility by ``classes`` and ``grants`` against their
    ``search_meta``, values from their ``facet_values``) or the partition's own items
    (``visible`` and ``values`` of each): the caller makes the two agree.
    """

    partition: str
    visible: Predicate
    values: Callable[[Item], Mapping[str, Sequence[str]]]
    filters: Mapping[str, str] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None
    grants: frozenset[str] = frozenset()
    facets: tuple[str, ...] = ()
    top: int = 20
    max_counted: int = 10_000


@dataclass(frozen=True, slots=True)
class Query:
    """What ``query`` reads: one partition of the table or of ``gsi1``, in sort-key order.

    ``after`` starts past a sort key (of the table, or of the index): only items whose sort
    key comes after it in the query's order are read. It takes the place of ``prefix``.

    ``within`` names partitions of the table that also hold an item with the sort key of
    each item ``where`` keeps (filter partitions: a dataset listed under every filter). A
    hint: ``where`` alone decides, a store may skip the other items before reading them;
    it takes no part in cursors.
    """

    partition: str
    index: str | None = None
    prefix: str = ""
    descending: bool = False
    where: Predicate | None = field(default=None, compare=False)
    after: str | None = None
    within: tuple[str, ...] = field(default=(), compare=False)


class ItemStore(Protocol):
    """A metadata backend. Every method is safe to call from several threads.

    Errors are those of ``catalogue.domain.errors``; each carries ``key=(pk, sk)`` of the item
    whose condition failed. Backend exceptions never escape.
    """

    backend: str

    def get(self, pk: str, sk: str) -> Item | None:
        """Return the item (with ``rev``) or None. Strongly consistent."""
        ...

    def get_many(self, keys: Sequence[tuple[str, str]]) -> list[Item]:
        """Return the items that exist among ``keys``, in the order of ``keys``."""
        ...

    def write(self, op: Op) -> None:
        """Apply one operation; raises as the operation's docstring says."""
        ...

    def transact(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none.

        At most MAX_TRANSACTION_OPS operations, no two on the same (pk, sk) (ValueError
        otherwise, before anything is written); the search index changes that come with
        them never count against that limit, but the facet counters they change do (one
        per scope, facet and ``facet_shard`` of a changed value: see
        ``operations.counter_keys``). Raises the error of the first operation, in the
        order given, whose condition failed: AlreadyExists, NotFound or PreconditionFailed,
        with ``key`` set; ValueError for keys that are not non-empty strings.
        """
        ...

    def load(self, transactions: Iterable[Sequence[Op]]) -> int:
        """Apply each of ``transactions`` as ``transact`` would, in order; return how many.

        For seeding: a store may write many under one commit (SQLite), so the first one
        failing raises its error and may take the ones applied since the last commit back
        with it; those before stay.
        """
        ...

    def write_each(self, ops: Sequence[Op]) -> list[DomainError | None]:
        """Apply each operation on its own condition; one failing leaves the others written.

        Returns, in order, None for each operation applied and the error its condition
        raised (AlreadyExists, NotFound, PreconditionFailed) for each one refused. The same
        limits as ``transact`` (at most MAX_TRANSACTION_OPS, no key twice); a backend may
        write them in one round trip (SQLite: one transaction) or one at a time.
        """
        ...

    def query(self, query: Query, *, limit: int, cursor: str | None = None) -> Page:
        """Return up to ``limit`` items of the partition whose sort key starts with ``prefix``.

        Reads as many underlying pages as needed: items rejected by ``query.where`` do not
        count towards ``limit``. ``next_cursor`` is None exactly when no further item matches.

        Paging backwards: ``previous_cursor`` reads the ``limit`` matching items just before
        the page's first item, again in the query's order, so following it from a page
        reached by ``next_cursor`` gives back the page before. It is None on a page read
        from the start (no cursor) and on a page read backwards with no matching item
        before it. A page read backwards has a ``next_cursor`` to the items after it (None
        only for the last page of ``last_cursor``). An empty page has neither cursor.

        Raises InvalidValue(field="cursor") for a cursor this store did not hand out for
        this query, ValueError for a limit outside 1..MAX_LIMIT.
        """
        ...

    def last_cursor(self, query: Query) -> str:
        """A cursor of ``query`` whose page is the final ``limit`` matching items.

        Read with ``query`` (any limit); the page has no ``next_cursor`` and pages back
        through ``previous_cursor``. Raises ValueError for a query this store cannot run.
        """
        ...

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
        """Return items of ``scope`` matching ``text``, ranked, in ``order``.

        Matching and order are ``catalogue.store.ranking``'s (relevance by default);
        ``where`` drops items before ranking, so they take no part in it. A text with no
        terms matches nothing. The cursor pages forwards: every match exactly once.
        ``observe`` is called once with every item matching ``text`` that the store reads,
        before ``where`` (facets are counted over them), in the store's index order.
        """
        ...

    def find(self, request: Find) -> Found:
        """Run ``request`` (see ``Find``); the same answer on every backend.

        A store may keep answers (SQLite does, per process, as it does those of
        ``count_listed`` and ``facet_counts``), but a write committed through any store on
        the same data, in any process, shows in every answer asked after it.
        The cursor pages forwards: every match exactly once. Raises InvalidValue(field=
        "cursor") for a cursor not handed out for the same request, ValueError for a limit
        outside 1..MAX_LIMIT or an unknown order.
        """
        ...

    def count_listed(self, request: CountListed) -> Found:
        """Count the facets of the items ``request.partition`` lists (see ``CountListed``).

        The answer's page is empty; ``total`` is the counted items passing every filter
        and ``approximate`` says that ``max_counted`` were counted (there may be more).
        """
        ...

    def facet_counts(self, scope: str) -> dict[str, dict[str, int]]:
        """How many items of ``facet_scope`` ``scope`` hold each value, per facet name.

        Only values held by at least one item. Reads counters, never the items.
        """
        ...

    def kept(self, key: Hashable, compute: Callable[[], Any], weigh: Callable[[Any], int]) -> Any:
        """The answer ``compute()`` gave for ``key``, kept while nothing searches read changed.

        For reads of what ``find`` reads alone (searchable items, filter entries, facet
        counters), kept as ``find``'s answers are: a write committed through any store on
        the same data, in any process, shows in every answer asked after it. ``key`` names
        the whole request, the caller's visibility included; ``weigh`` estimates an answer's
        bytes. The answer kept is returned itself: callers copy what they change.
        """
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...


# Letters NFKD does not decompose but Norwegian and Danish users type without: "Sorenga"
# finds "Sørenga", "aerfugl" finds "ærfugl" (å decomposes to a by itself).
_FOLDED = str.maketrans({"ø": "o", "æ": "ae", "đ": "d", "ł": "l", "þ": "th"})
_WORD = re.compile(r"[^\W_]+")
_FOLDED_TEXT = re.compile(r"[a-z0-9 ]*")


def folded(text: str) -> str:
    """``text`` as its folded words joined by spaces: the same words, cheaper to split."""
    return " ".join(tokens(text))


def tokens(text: str) -> list[str]:
    """Every word of ``text`` in order, folded as search terms are (with repeats)."""
    if _FOLDED_TEXT.fullmatch(text):
        # Already folded (see ``folded``): the words are the spaces' pieces, and this is
        # some twenty times faster than the general path, which ranking runs per match.
        return text.split()
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDED))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(plain)


def search_terms(text: str) -> list[str]:
    """Split text into search terms: casefolded, diacritics removed, unique, in order.

    ø and æ fold to o and ae, so "Sorenga" finds "Sørenga" (and the other way round).
    """
    return list(dict.fromkeys(tokens(text)))


def facet_shard(value: str) -> int:
    """The counter item (0 .. FACET_SHARDS - 1) that counts ``value``: stable across runs."""
    return zlib.crc32(value.encode()) % FACET_SHARDS


def query_all(store: ItemStore, query: Query, *, page_size: int = 500) -> Iterator[Item]:
    """Yield every item of ``query``, reading every page."""
    cursor: str | None = None
    while True:
        page = store.query(query, limit=page_size, cursor=cursor)
        yield from page.items
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
