"""The SQLite store's search tables, written with the items, and ``find`` computed in SQL.

Tables (``migrations/0005_search_tables.py``), ``doc`` being the item's ``items.id``:

- ``search_postings(scope, term, doc, tf0, tf1, tf2, indexed)``, primary key (scope, term,
  doc), indexed on (doc, term): one row per distinct term of an item, with how often each
  field of its ``search_text`` (title, keywords, description) holds it; ``indexed`` is 1
  for the item's first MAX_SEARCH_TERMS distinct terms, the only ones a search matches (as
  on DynamoDB), while every term counts for ranking.
- ``search_docs(doc, len0, len1, len2, access, grantee, recency)``: what ranking and
  visibility read of every match, kept narrow so its pages stay few: the word count of
  each field and the item's ``search_meta`` (``grantee`` holds ``grant``).
- ``search_keys(doc, pk, sk, title, vals)``: the item's key and title (the orders' ties)
  and its ``facet_values`` packed into one string, ``RS name US value RS name US value
  RS``; a filter is an ``instr`` on it, and facet counting splits it in Python (one
  ``Counter`` over all of a result's values: several times faster than GROUP BY).

All three change in the transaction that writes the item. A search reads the postings of
its rarest whole term (or the range of terms starting with its prefix: ``term >= 'luft'
AND term < 'lufu'``), joins the other terms' postings and the item's rows, and ranks in
SQL with the arithmetic of ``catalogue.store.ranking`` in the same order, so the floats
are equal. One statement answers the page's keys and the counted matches' values; then
only the page's items are read from ``items``. Answers are kept per process and reused
while the store's search generation stays (``catalogue.store.answer_cache``).
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.store import ranking
from catalogue.store.answer_cache import AnswerCache, counted_bytes, find_key
from catalogue.store.base import (
    FIELD_SEPARATOR,
    SEARCH_FIELDS,
    CountListed,
    Find,
    Found,
    Item,
    Page,
    tokens,
)
from catalogue.store.finding import check_find, find_id, next_position, start_of, top
from catalogue.store.operations import indexed_terms
from catalogue.store.paging import encode_cursor
from catalogue.store.sqlite_bodies import decode_body

# Separators of the packed facet values (operations.check_facet_values keeps them out).
_RECORD, _UNIT = "\x1e", "\x1f"
# Postings counted, at most, to estimate which whole term of a query is the rarest.
_RARITY_PROBE = 2000

# -- writes ------------------------------------------------------------------------------


def index(conn: sqlite3.Connection, doc: int, item: Item) -> None:
    """Write the search rows of ``item`` (stored at ``doc``), when it is searchable."""
    scope, text = item.get("search_scope"), item.get("search_text")
    if not (isinstance(scope, str) and isinstance(text, str)):
        return
    fields = [tokens(part) for part in text.split(FIELD_SEPARATOR)]
    lengths = [len(words) for words in fields] + [0] * (SEARCH_FIELDS - len(fields))
    counts: dict[str, list[int]] = {}
    for position, words in enumerate(fields):
        for word in words:
            counts.setdefault(word, [0] * SEARCH_FIELDS)[position] += 1
    indexed = set(indexed_terms(text))
    meta = item.get("search_meta")
    meta = meta if isinstance(meta, dict) else {}
    values = item.get("facet_values")
    values = values if isinstance(values, dict) else {}
    conn.execute(
        "INSERT INTO search_docs (doc, len0, len1, len2, access, grantee, recency) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (doc, *lengths, meta.get("access"), meta.get("grant"), meta.get("recency", 0)),
    )
    conn.execute(
        "INSERT INTO search_keys (doc, pk, sk, title, vals) VALUES (?, ?, ?, ?, ?)",
        (doc, item["pk"], item["sk"], str(meta.get("title", "")), _packed(values)),
    )
    conn.executemany(
        "INSERT INTO search_postings (scope, term, doc, tf0, tf1, tf2, indexed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(scope, term, doc, *tf, term in indexed) for term, tf in counts.items()],
    )


def _packed(values: dict[str, list[str]]) -> str:
    """``facet_values`` as one string: RS name US value RS ... RS (empty without values)."""
    entries = [_entry(name, value) for name, held in values.items() for value in held]
    return _RECORD + _RECORD.join(entries) + _RECORD if entries else ""


def _entry(name: str, value: str) -> str:
    return f"{name}{_UNIT}{value}"


def unindex(conn: sqlite3.Connection, doc: int) -> None:
    """Remove the search rows of the item stored at ``doc``."""
    for table in ("search_docs", "search_keys", "search_postings"):
        conn.execute(f"DELETE FROM {table} WHERE doc = ?", (doc,))


def index_all(conn: sqlite3.Connection) -> None:
    """Write the search rows of every searchable item (migrations rebuild with it)."""
    rows = conn.execute(
        "SELECT id, body FROM items WHERE json_extract(body, '$.search_text') IS NOT NULL"
    ).fetchall()
    for doc, body in rows:
        index(conn, doc, json.loads(body))


# -- matching ------------------------------------------------------------------------------


def matches(
    conn: sqlite3.Connection, scope: str, query: ranking.SearchQuery
) -> tuple[str, list[Any]]:
    """SQL selecting the items of ``scope`` matching ``query`` in ``doc`` order.

    Columns: ``doc`` and, for the i-th term of the query (whole terms in order, then the
    prefix), ``a<i>_0 .. a<i>_2``: how often each field holds it (prefix: terms starting
    with it). ``query`` must not be empty.
    """
    whole = list(query.whole)
    columns = {term: index for index, term in enumerate(whole)}
    # The rarest whole term drives: its postings are read in doc order, the others looked up.
    ordered = sorted(whole, key=lambda term: _rarity(conn, scope, term))
    select: list[str] = []
    joins: list[str] = []
    parameters: list[Any] = []
    where = ""
    for position, term in enumerate(ordered):
        alias = f"p{columns[term]}"
        select += [f"{alias}.tf{field} AS a{columns[term]}_{field}" for field in range(3)]
        if position == 0:
            driver = alias
            where = f"WHERE {alias}.scope = ? AND {alias}.term = ? AND {alias}.indexed"
            where_parameters = [scope, term]
        else:
            joins.append(
                f"CROSS JOIN search_postings AS {alias} ON {alias}.scope = ? AND "
                f"{alias}.term = ? AND {alias}.doc = {driver}.doc AND {alias}.indexed"
            )
            parameters += [scope, term]
    if query.prefix is None:
        sql = f"SELECT {driver}.doc AS doc, {', '.join(select)} FROM search_postings AS {driver} "
        return sql + " ".join(joins) + " " + where, parameters + where_parameters
    upper = prefix_end(query.prefix)
    bound = " AND pp.term < ?" if upper is not None else ""
    bounds = [query.prefix, *([upper] if upper is not None else [])]
    select += [f"SUM(pp.tf{field}) AS a{len(whole)}_{field}" for field in range(3)]
    if not whole:
        sql = (
            f"SELECT pp.doc AS doc, {', '.join(select)} FROM search_postings AS pp "
            f"WHERE pp.scope = ? AND pp.term >= ?{bound} GROUP BY pp.doc HAVING MAX(pp.indexed)"
        )
        return sql, [scope, *bounds]
    joins.append(
        f"CROSS JOIN search_postings AS pp ON pp.doc = {driver}.doc AND pp.term >= ?{bound}"
    )
    parameters += bounds
    sql = (
        f"SELECT {driver}.doc AS doc, {', '.join(select)} FROM search_postings AS {driver} "
        + " ".join(joins)
        + f" {where} GROUP BY {driver}.doc HAVING MAX(pp.indexed)"
    )
    return sql, parameters + where_parameters


def _rarity(conn: sqlite3.Connection, scope: str, term: str) -> int:
    """How many items hold ``term``, counted up to _RARITY_PROBE."""
    row = conn.execute(
        "SELECT COUNT(*) FROM (SELECT 1 FROM search_postings WHERE scope = ? AND term = ? LIMIT ?)",
        (scope, term, _RARITY_PROBE),
    ).fetchone()
    return int(row[0])


# -- find ----------------------------------------------------------------------------------


def find(conn: sqlite3.Connection, request: Find, answers: AnswerCache) -> Found:
    """Answer ``request`` in SQL: the same answer as ``finding.find_in`` (see the module).

    A request asked before is answered from ``answers`` while the store's search generation
    stays the one it was computed at.
    """
    check_find(request)
    query = ranking.parse(request.text)
    query_id = find_id(request, query)
    start, averages = start_of(request, query_id)
    if query.empty:
        return Found(Page([], None), {name: {} for name in request.facets}, 0, False)
    answer: _Answer = answers.answer(
        conn,
        find_key(request, query),
        lambda: _answer(conn, request, query, query_id, start, averages),
        _Answer.weight,
    )
    return answer.found()


@dataclass(frozen=True, slots=True)
class _Answer:
    """What ``find`` read: the page's stored rows (decoded afresh for each caller), its
    cursor and the facet counts."""

    rows: tuple[tuple[int, str], ...]
    next_cursor: str | None
    counts: dict[str, dict[str, int]]
    total: int
    approximate: bool

    def weight(self) -> int:
        """An estimate of the bytes it holds (see ``answer_cache.MAX_BYTES``)."""
        return sum(len(body) for _, body in self.rows) + counted_bytes(self.counts)

    def found(self) -> Found:
        return Found(
            Page([item_of(rev, body) for rev, body in self.rows], self.next_cursor),
            {name: dict(values) for name, values in self.counts.items()},
            self.total,
            self.approximate,
        )


def _answer(
    conn: sqlite3.Connection,
    request: Find,
    query: ranking.SearchQuery,
    query_id: str,
    start: list[Any] | None,
    averages: list[float] | None,
) -> _Answer:
    """Run ``request`` (in the caller's read transaction)."""
    sql, parameters = _statement(conn, request, query, start, averages)
    rows = conn.execute(sql, parameters).fetchall()
    # Page rows first (part 0), sorted here: a compound SELECT keeps no order. Each ends
    # with the field-length averages it was ranked with.
    width = _KEY_WIDTH[request.order]
    keys = sorted((row[2 : 2 + width], row[1]) for row in rows if row[0] == 0)
    used = next(
        (list(row[2 + width : 2 + width + SEARCH_FIELDS]) for row in rows if row[0] == 0), []
    )
    counted = [row[1:] for row in rows if row[0] == 1]
    page = keys[: request.limit]
    bodies = _bodies(conn, [doc for _, doc in page])
    counts, total, approximate = tally_facets(request, counted)
    more = len(keys) > request.limit
    return _Answer(
        tuple(bodies[doc] for _, doc in page),
        encode_cursor(query_id, next_position(request, list(page[-1][0]), used)) if more else None,
        counts,
        total,
        approximate,
    )


def _statement(
    conn: sqlite3.Connection,
    request: Find,
    query: ranking.SearchQuery,
    start: list[Any] | None,
    averages: list[float] | None,
) -> tuple[str, list[Any]]:
    """The one statement of ``find``: rows (0, doc, *sort key, *averages) of the page and
    one more, then, when facets are asked for, rows (1, failed filters, first failed, packed
    values) of the counted matches."""
    matched, parameters = matches(conn, request.scope, query)
    visible, visible_parameters = visibility(request, "WHERE")
    flags, failed, first_failed, flag_parameters = facet_flags(request.filters)
    # The visible matches, with a flag per filter they fail.
    sql = (
        f"WITH m AS ({matched}), v AS (SELECT m.*, d.len0, d.len1, d.len2, d.recency, "
        f"k.title, k.pk, k.sk{', k.vals' if request.facets else ''}{flags} FROM m "
        "CROSS JOIN search_docs AS d "
        f"ON d.doc = m.doc CROSS JOIN search_keys AS k ON k.doc = m.doc{visible} LIMIT ?), "
        # m comes in doc order (the driver's postings, or the prefix's groups), so the
        # first rows are the first in the index's order without sorting them again, and
        # the joins stop at the limit.
        f"r AS (SELECT doc, {', '.join(_columns(query))}, len0, len1, len2, recency, title, "
        f"pk, sk FROM v WHERE {failed} = 0 LIMIT ?), "
    )
    parameters += [*flag_parameters, *visible_parameters, request.max_counted, request.max_ranked]
    ranked, ranked_parameters = _ranked(request, query, start, averages)
    sql += ranked
    parameters += ranked_parameters
    page_columns = f"{_key_names(request.order)}, {_AVERAGE_NAMES}"
    if not request.facets:
        return f"{sql} SELECT 0, doc, {page_columns} FROM page", parameters
    sql += (
        f"SELECT 0, doc, {page_columns}, NULL FROM page UNION ALL "
        f"SELECT 1, {failed}, {first_failed}, vals, "
        f"{', '.join(['NULL'] * (_KEY_WIDTH[request.order] - 1 + SEARCH_FIELDS))} FROM v"
    )
    return sql, parameters


def facet_flags(filters: Mapping[str, str]) -> tuple[str, str, str, list[Any]]:
    """Columns flagging the filters a row of ``search_keys AS k`` fails, and their use.

    ``, instr(..) = 0 AS f0, ...`` to select, ``f0 + f1 ...`` (how many fail), the index of
    the first failing, and the parameters of the selected columns.
    """
    named = list(filters.items())
    flags = "".join(f", instr(k.vals, ?) = 0 AS f{index}" for index in range(len(named)))
    failed = " + ".join(f"f{index}" for index in range(len(named))) or "0"
    which = " ".join(f"WHEN f{index} THEN {index}" for index in range(len(named)))
    first_failed = f"CASE {which} END" if named else "NULL"
    return flags, failed, first_failed, [_RECORD + _entry(*pair) + _RECORD for pair in named]


def _columns(query: ranking.SearchQuery) -> list[str]:
    """The term frequency columns of ``matches``: a<term>_<field>."""
    terms = len(query.whole) + (query.prefix is not None)
    return [f"a{term}_{field}" for term in range(terms) for field in range(SEARCH_FIELDS)]


def visibility(request: Find | CountListed, keyword: str) -> tuple[str, list[Any]]:
    """The condition on ``search_docs AS d`` of the items the caller sees, after ``keyword``."""
    if request.classes is None:
        return "", []
    classes = ", ".join("?" * len(request.classes)) or "NULL"
    condition = f" {keyword} (d.access IN ({classes})"
    parameters: list[Any] = list(request.classes)
    if request.grants:
        condition += " OR d.grantee IN (SELECT value FROM json_each(?))"
        parameters.append(json.dumps(sorted(request.grants)))
    return condition + ")", parameters


# The sort key columns of each order (ascending), and how many there are.
_KEYS = {
    "relevance": "-score, recency, pk, sk",
    "recency": "recency, pk, sk",
    "title": "title, pk, sk",
}
_KEY_WIDTH = {order: keys.count(",") + 1 for order, keys in _KEYS.items()}
# The field-length averages a page was ranked with, after its sort key.
_AVERAGE_NAMES = ", ".join(f"v{field}" for field in range(SEARCH_FIELDS))


def _aliased(key: str) -> str:
    """The sort key columns named k0, k1, ... (the page's columns)."""
    return ", ".join(f"{column} AS k{index}" for index, column in enumerate(key.split(", ")))


def _key_names(order: str) -> str:
    return ", ".join(f"k{index}" for index in range(_KEY_WIDTH[order]))


def _ranked(
    request: Find,
    query: ranking.SearchQuery,
    start: list[Any] | None,
    averages: list[float] | None,
) -> tuple[str, list[Any]]:
    """CTEs ``s`` (length averages over ``r``, or ``averages`` as a cursor gives them), ``w``
    and ``scored`` (BM25F) and ``page``.

    Python's arithmetic (``ranking.scores``) operation for operation: ``(w * tf) / n`` per
    field, fields added in order, ``x / (K1 + x)`` per term, terms added in order; every
    constant is bound as a parameter, so SQLite parses no float literal.
    """
    terms = len(query.whole) + (query.prefix is not None)
    normalisers = [
        f"(CASE WHEN s.avg{field} = 0 THEN 1.0 ELSE ? + ? * w.len{field} / s.avg{field} END)"
        for field in range(SEARCH_FIELDS)
    ]
    constants: list[Any] = []
    for field in range(SEARCH_FIELDS):
        b = ranking.FIELD_B[min(field, len(ranking.FIELD_B) - 1)]
        weight = ranking.FIELD_WEIGHTS[min(field, len(ranking.FIELD_WEIGHTS) - 1)]
        constants.append((weight, 1 - b, b))
    weighted = [
        " + ".join(f"? * w.a{term}_{field} / {normalisers[field]}" for field in range(3))
        for term in range(terms)
    ]
    parameters: list[Any] = [part for _ in range(terms) for field in constants for part in field]
    term_scores = " + ".join(
        f"(CASE WHEN t{term} = 0 THEN 0.0 ELSE t{term} / (? + t{term}) END)"
        for term in range(terms)
    )
    parameters += [ranking.K1] * terms
    key = _KEYS[request.order]
    after = ""
    if start is not None:
        after = f"WHERE ({key}) > ({', '.join('?' * len(start))}) "
        parameters += start
    if averages is None:
        averaged = (
            "s AS (SELECT CAST(SUM(len0) AS REAL) / COUNT(*) AS avg0, "
            "CAST(SUM(len1) AS REAL) / COUNT(*) AS avg1, "
            "CAST(SUM(len2) AS REAL) / COUNT(*) AS avg2 FROM r), "
        )
    else:
        averaged = "s AS (SELECT ? AS avg0, ? AS avg1, ? AS avg2), "
        parameters = [*averages, *parameters]
    sql = (
        averaged + "w AS (SELECT * FROM r), "
        "weighted AS (SELECT w.doc, w.recency, w.title, w.pk, w.sk, "
        + ", ".join(f"{expression} AS t{term}" for term, expression in enumerate(weighted))
        + " FROM w CROSS JOIN s), "
        f"scored AS (SELECT doc, recency, title, pk, sk, {term_scores} AS score FROM weighted), "
        f"page AS (SELECT doc, {_aliased(key)}, "
        + ", ".join(f"s.avg{field} AS v{field}" for field in range(SEARCH_FIELDS))
        + f" FROM scored CROSS JOIN s {after}ORDER BY {key} LIMIT ?)"
    )
    return sql, [*parameters, request.limit + 1]


def tally_facets(
    request: Find | CountListed, counted: list[tuple[Any, ...]]
) -> tuple[dict[str, dict[str, int]], int, bool]:
    """Top facet values, matches passing every filter, and whether past the limit.

    ``counted`` holds (failed filters, first failed, packed values) of each counted match.
    Counting is ``FacetCounter``'s: a match passing every filter counts under all its
    values, one failing exactly one filter only under that filter's facet.
    """
    if not request.facets:
        return {}, 0, False
    filters = list(request.filters)
    passing = [vals for failures, _, vals, *_ in counted if failures == 0]
    # One join, one split and one Counter over every passing match's values: C loops.
    tally = Counter(_RECORD.join(passing).split(_RECORD))
    # A match failing one filter counts only under that filter's facet: its entries are
    # found by one regular expression over all such matches' values (a C loop, where
    # splitting each match's values and testing every entry cost most of a count).
    failing: dict[int, list[str]] = {}
    for failures, index, vals, *_ in counted:
        if failures == 1:
            failing.setdefault(index, []).append(vals)
    for index, held in failing.items():
        own = filters[index] + _UNIT
        tally.update(own + value for value in _values_of(own).findall("".join(held)))
    counts: dict[str, dict[str, int]] = {name: {} for name in request.facets}
    for entry, count in tally.items():
        name, _, value = entry.partition(_UNIT)
        if name in counts:
            counts[name][value] = count
    return (
        {name: top(held, request.top) for name, held in counts.items()},
        len(passing),
        len(counted) >= request.max_counted,
    )


@functools.cache
def _values_of(own: str) -> re.Pattern[str]:
    """The values of a facet's entries (``own`` = name US) in packed values."""
    return re.compile(re.escape(_RECORD + own) + f"([^{_RECORD}]*)")


def _bodies(conn: sqlite3.Connection, docs: Sequence[int]) -> dict[int, tuple[int, str]]:
    """The revision and stored body of each of ``docs``."""
    if not docs:
        return {}
    rows = conn.execute(
        f"SELECT id, rev, body FROM items WHERE id IN ({', '.join('?' * len(docs))})", docs
    )
    return {doc: (rev, body) for doc, rev, body in rows}


_MAX_CODE_POINT = 0x10FFFF


def prefix_end(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: no bound).

    Code-point order is UTF-8 byte order, so incrementing the last code point that can be
    incremented gives the bound. Surrogates never occur in stored text and are skipped.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < _MAX_CODE_POINT:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:
                following = 0xE000
            return "".join(chars) + chr(following)
    return None


def item_of(rev: int, body: str) -> Item:
    """The item stored as ``rev`` and ``body`` (see ``SqliteStore``)."""
    item: Item = decode_body(body)
    item["rev"] = rev
    return item
