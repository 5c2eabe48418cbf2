"""A generation of what SQLite searches read, advanced by triggers on every change to it.

``search_generation`` holds one row. Triggers add one to it whenever a row of the tables
``find``, ``count_listed`` and ``facet_counts`` read changes: the search rows of an item
(``search_docs``, ``search_keys``: written and removed with its postings and its item), the
facet counters, the filter entries (``items`` under ``filter#``) and any item row that has
search rows (its body is what a search returns, even if a migration rewrote it alone,
without its search rows). A server caches its
search answers under the generation it read them at (``catalogue.store.answer_cache``):
every connection, in every process, sees a committed change as a new generation, and
every write path (transactions, bulk loads, migrations that rewrite items) advances it.

DynamoDB keeps its generation in one item (``catalogue.store.dynamodb_answers``).
"""

from __future__ import annotations

import sqlite3
from typing import Any

# The tables (and rows) whose changes can change a search answer.
WATCHED = (
    ("search_docs", ""),
    ("search_keys", ""),
    ("facet_counts", ""),
    (
        "items",
        "(({row}.pk >= 'filter#' AND {row}.pk < 'filter$') "
        "OR EXISTS (SELECT 1 FROM search_docs WHERE doc = {row}.id))",
    ),
)


def sqlite(conn: sqlite3.Connection) -> None:
    """Create the generation row and the triggers that advance it."""
    conn.execute(
        "CREATE TABLE search_generation (id INTEGER PRIMARY KEY CHECK (id = 0), "
        "generation INTEGER NOT NULL)"
    )
    conn.execute("INSERT INTO search_generation (id, generation) VALUES (0, 0)")
    for table, condition in WATCHED:
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            when = f" WHEN {condition.format(row=row)}" if condition else ""
            if condition and event == "UPDATE":
                # A row moved out of (or into) what searches read changes them too.
                when = f" WHEN {condition.format(row='NEW')} OR {condition.format(row='OLD')}"
            conn.execute(
                f"CREATE TRIGGER search_generation_{table}_{event.lower()} "
                f"AFTER {event} ON {table}{when} BEGIN "
                "UPDATE search_generation SET generation = generation + 1 WHERE id = 0; END"
            )


def dynamodb(client: Any, table_name: str) -> None:
    """Nothing: the generation item is written by the first change (absent, it reads 0)."""
