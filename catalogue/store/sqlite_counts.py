"""``count_listed`` of the SQLite store: a filter partition's datasets counted in one statement.

The partition's entries are read in sort-key order as ``query`` reads them; each leads,
through the unique index on (pk, sk), to its dataset's row and from there to the search
rows written with it (``catalogue.store.sqlite_search``): visibility from ``search_docs``
and the facet values packed in ``search_keys.vals``. No entry or dataset body is decoded;
the values are tallied as ``find`` tallies its matches.
"""

from __future__ import annotations

import sqlite3

from catalogue.store import keys
from catalogue.store.base import CountListed, Found, Page
from catalogue.store.sqlite_search import facet_flags, tally_facets, visibility


def count_listed(conn: sqlite3.Connection, request: CountListed) -> Found:
    """Answer ``request`` (see ``ItemStore.count_listed``) from the search rows."""
    flags, failed, first_failed, flag_parameters = facet_flags(request.filters)
    visible, visible_parameters = visibility(request, "AND")
    rows = conn.execute(
        f"SELECT {failed}, {first_failed}, vals FROM (SELECT k.vals{flags} FROM items AS e "
        "CROSS JOIN items AS i ON i.pk = ? || e.sk AND i.sk = ? "
        "CROSS JOIN search_docs AS d ON d.doc = i.id "
        "CROSS JOIN search_keys AS k ON k.doc = i.id "
        f"WHERE e.pk = ?{visible} ORDER BY e.sk LIMIT ?)",
        [
            *flag_parameters,
            keys.dataset_pk(""),
            keys.DATASET_SK,
            request.partition,
            *visible_parameters,
            request.max_counted,
        ],
    ).fetchall()
    counts, total, approximate = tally_facets(request, rows)
    return Found(Page([], None), counts, total, approximate)
