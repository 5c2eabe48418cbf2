"""The SQLite store's search tables, written with the items, and ``find`` computed in SQL.

Tables (``migrations/0005_search_tables.py``), ``doc`` being the item's ``items.id``:

- ``search_docs(doc, scope, len0, len1, len2, access, grantee, recency, title, pk, sk,
  vals)``: one row per searchable item: the word count of each field of its ``search_text``
  (title, keywords, description), its ``search_meta`` (``grantee`` holds ``grant``) and its
  ``facet_values`` packed into one string (``name US value`` joined by RS), which facet
  counting splits and counts in Python: several times faster than GROUP BY over rows.
- ``search_postings(scope, term, doc, tf0, tf1, tf2, indexed)``, primary key (scope, term,
  doc), indexed on (doc, term): one row per distinct term of an item, with how often each
  field holds it; ``indexed`` is 1 for the item's first MAX_SEARCH_TERMS distinct terms,
  the only ones a search matches (as on DynamoDB), while every term counts for ranking.
- ``search_values(doc, name, value)``: the item's ``facet_values``, one row per value,
  which filters look up.

All three change in the transaction that writes the item. A search reads the postings of
its rarest whole term (or the range of terms starting with its prefix: ``term >= 'luft'
AND term < 'lufu'``), joins the other terms' postings and the item's row, and ranks in
SQL with the arithmetic of ``catalogue.store.ranking`` in the same order, so the floats
are equal; only the page's items are read from ``items``. Both statements (page, facets)
run in one read transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from catalogue.store import ranking
from catalogue.store.base import FIELD_SEPARATOR, SEARCH_FIELDS, Find, Found, Item, Page, tokens
from catalogue.store.finding import check_find, find_id, start_of, top
from catalogue.store.operations import encode_cursor, indexed_terms

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
        "INSERT INTO search_docs (doc, scope, len0, len1, len2, access, grantee, recency, "
        "title, pk, sk, vals) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            doc,
            scope,
            *lengths,
            meta.get("access"),
            meta.get("grant"),
            meta.get("recency", 0),
            str(meta.get("title", "")),
            item["pk"],
            item["sk"],
            _RECORD.join(
                f"{name}{_UNIT}{value}" for name, held in values.items() for value in held
            ),
        ),
    )
    conn.executemany(
        "INSERT INTO search_postings (scope, term, doc, tf0, tf1, tf2, indexed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(scope, term, doc, *tf, term in indexed) for term, tf in counts.items()],
    )
    conn.executemany(
        "INSERT INTO search_values (doc, name, value) VALUES (?, ?, ?)",
        [(doc, name, value) for name, held in values.items() for value in held],
    )


def unindex(conn: sqlite3.Connection, doc: int) -> None:
    """Remove the search rows of the item stored at ``doc``."""
    for table in ("search_docs", "search_postings", "search_values"):
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
    from catalogue.store.sqlite import prefix_end

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


def find(conn: sqlite3.Connection, request: Find) -> Found:
    """Answer ``request`` in SQL: the same answer as ``finding.find_in`` (see the module)."""
    check_find(request)
    query = ranking.parse(request.text)
    query_id = find_id(request, query)
    start = start_of(request, query_id)
    if query.empty:
        return Found(Page([], None), {name: {} for name in request.facets}, 0, False)
    conn.execute("BEGIN")
    try:
        matched, parameters = matches(conn, request.scope, query)
        visible, visible_parameters = _visibility(request)
        filters = list(request.filters.items())
        failures = [
            "NOT EXISTS (SELECT 1 FROM search_values AS sv WHERE sv.doc = m.doc "
            f"AND sv.name = ? AND sv.value = ?) AS f{index}"
            for index in range(len(filters))
        ]
        failure_parameters = [part for pair in filters for part in pair]
        # The visible matches in doc order, with a flag per filter they fail.
        base = (
            f"WITH m AS ({matched}), v AS (SELECT m.*, d.len0, d.len1, d.len2, d.recency, "
            f"d.title, d.pk, d.sk{''.join(', ' + flag for flag in failures)} FROM m "
            f"CROSS JOIN search_docs AS d ON d.doc = m.doc{visible})"
        )
        base_parameters = [*parameters, *failure_parameters, *visible_parameters]
        failed = " + ".join(f"f{index}" for index in range(len(filters))) or "0"
        rows = _ranked_rows(conn, request, query, base, base_parameters, failed, start)
        counts, total, approximate = _facets(conn, request, base, base_parameters, failed)
        page = rows[: request.limit]
        docs = [row[0] for row in page]
        bodies = _bodies(conn, docs)
    finally:
        conn.execute("COMMIT")
    more = len(rows) > request.limit
    return Found(
        Page(
            [bodies[doc] for doc in docs],
            encode_cursor(query_id, list(page[-1][1:])) if more else None,
        ),
        counts,
        total,
        approximate,
    )


def _visibility(request: Find) -> tuple[str, list[Any]]:
    if request.classes is None:
        return "", []
    classes = ", ".join("?" * len(request.classes)) or "NULL"
    condition = f" WHERE (d.access IN ({classes})"
    parameters: list[Any] = list(request.classes)
    if request.grants:
        condition += " OR d.grantee IN (SELECT value FROM json_each(?))"
        parameters.append(json.dumps(sorted(request.grants)))
    return condition + ")", parameters


def _ranked_rows(
    conn: sqlite3.Connection,
    request: Find,
    query: ranking.SearchQuery,
    base: str,
    parameters: list[Any],
    failed: str,
    start: list[Any] | None,
) -> list[tuple[Any, ...]]:
    """Rows (doc, *sort key) of the page and one more, in the request's order."""
    terms = len(query.whole) + (query.prefix is not None)
    constants: list[Any] = []
    normalisers = []
    for field in range(SEARCH_FIELDS):
        b = ranking.FIELD_B[min(field, len(ranking.FIELD_B) - 1)]
        # Python's ``1 - b + b * length / average``, operation for operation.
        normalisers.append(
            f"(CASE WHEN s.avg{field} = 0 THEN 1.0 ELSE ? + ? * r.len{field} / s.avg{field} END)"
        )
        constants += [1 - b, b]
    weights = [ranking.FIELD_WEIGHTS[min(f, len(ranking.FIELD_WEIGHTS) - 1)] for f in range(3)]
    weighted = [
        " + ".join(f"? * r.a{term}_{field} / {normalisers[field]}" for field in range(3))
        for term in range(terms)
    ]
    weighted_parameters: list[Any] = []
    for _ in range(terms):
        for field in range(SEARCH_FIELDS):
            weighted_parameters += [weights[field], *constants[2 * field : 2 * field + 2]]
    term_scores = " + ".join(
        f"(CASE WHEN w{term} = 0 THEN 0.0 ELSE w{term} / (? + w{term}) END)"
        for term in range(terms)
    )
    if request.order == "relevance":
        key = ["-score", "recency", "pk", "sk"]
    elif request.order == "recency":
        key = ["recency", "pk", "sk"]
    else:
        key = ["title", "pk", "sk"]
    after = ""
    after_parameters: list[Any] = []
    if start is not None:
        after = f" WHERE ({', '.join(key)}) > ({', '.join('?' * len(key))})"
        after_parameters = list(start)
    sql = (
        f"{base}, r AS (SELECT * FROM v WHERE {failed} = 0 ORDER BY doc LIMIT ?), "
        "s AS (SELECT CAST(SUM(len0) AS REAL) / COUNT(*) AS avg0, "
        "CAST(SUM(len1) AS REAL) / COUNT(*) AS avg1, "
        "CAST(SUM(len2) AS REAL) / COUNT(*) AS avg2 FROM r), "
        f"w AS (SELECT r.doc, r.recency, r.title, r.pk, r.sk, "
        + ", ".join(f"{expression} AS w{term}" for term, expression in enumerate(weighted))
        + " FROM r CROSS JOIN s), "
        f"scored AS (SELECT doc, recency, title, pk, sk, {term_scores} AS score FROM w) "
        f"SELECT doc, {', '.join(key)} FROM scored{after} ORDER BY {', '.join(key)} LIMIT ?"
    )
    return conn.execute(
        sql,
        [
            *parameters,
            request.max_ranked,
            *weighted_parameters,
            *([ranking.K1] * terms),
            *after_parameters,
            request.limit + 1,
        ],
    ).fetchall()


def _facets(
    conn: sqlite3.Connection, request: Find, base: str, parameters: list[Any], failed: str
) -> tuple[dict[str, dict[str, int]], int, bool]:
    """Top facet values, visible matches passing every filter, and whether past the limit.

    Counting is ``FacetCounter``'s: an item passing every filter counts under all its
    values, one failing exactly one filter only under that filter's facet.
    """
    if not request.facets:
        return {}, 0, False
    filters = list(request.filters)
    which = " ".join(f"WHEN f{index} THEN {index}" for index in range(len(filters)))
    rows = conn.execute(
        f"{base}, c AS (SELECT * FROM v ORDER BY doc LIMIT ?) "
        f"SELECT {failed}, {f'CASE {which} END' if filters else 'NULL'}, d.vals FROM c "
        "CROSS JOIN search_docs AS d ON d.doc = c.doc",
        [*parameters, request.max_counted],
    ).fetchall()
    passing = [vals for failures, _, vals in rows if failures == 0 and vals]
    # One split and one Counter over every passing item's values: C loops, no Python ones.
    counted = Counter(_RECORD.join(passing).split(_RECORD)) if passing else Counter()
    for failures, index, vals in rows:
        if failures == 1 and vals:
            own = filters[index] + _UNIT
            counted.update(entry for entry in vals.split(_RECORD) if entry.startswith(own))
    counts: dict[str, dict[str, int]] = {name: {} for name in request.facets}
    for entry, count in counted.items():
        name, _, value = entry.partition(_UNIT)
        if name in counts:
            counts[name][value] = count
    return (
        {name: top(held, request.top) for name, held in counts.items()},
        sum(1 for failures, _, _ in rows if failures == 0),
        len(rows) >= request.max_counted,
    )


def _bodies(conn: sqlite3.Connection, docs: Sequence[int]) -> dict[int, Item]:
    from catalogue.store.sqlite import _item

    if not docs:
        return {}
    rows = conn.execute(
        f"SELECT id, rev, body FROM items WHERE id IN ({', '.join('?' * len(docs))})", docs
    )
    return {doc: _item(rev, body) for doc, rev, body in rows}
