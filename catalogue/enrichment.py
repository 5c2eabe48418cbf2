"""The lookup tables that enrich events, found as the ``enrich`` step finds its lookup.

A lookup dataset is read with the rights of the event dataset's owner team (the rule of
``repositories/lookups.py``): one that team may not read, or that does not exist, enriches
nothing and the batch is refused (409), as a run of such a pipeline fails. Its table is the
newest edition that has distributions (``dcat/selection.py``, as the step's recorder finds
it), read from its CSV distributions: the API loads no data library (the api package has no
polars), and a CSV lookup's values are text, as the step reads them.

Tables are cached in the process, keyed by the lookup's edition and distributions: each
batch asks which edition is newest (a few small reads), and a new edition is read once.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from catalogue.dcat.selection import latest_items
from catalogue.domain.enrichment import LookupTable, lookup_table
from catalogue.domain.errors import Conflict, NotFound
from catalogue.repositories import Repositories
from catalogue.repositories.lookups import owner_team_readable
from pipelines.objects import ObjectStore

# A lookup is a small table held in memory by every worker.
MAX_LOOKUP_BYTES = 16 * 1024 * 1024
# Distinct (lookup edition, enrich) pairs kept per process; the oldest goes first.
MAX_TABLES = 32

_tables: OrderedDict[tuple[Any, ...], LookupTable] = OrderedDict()
_lock = threading.Lock()


def clear_tables() -> None:
    """Forget every cached lookup table (tests; a process has no other reason to)."""
    with _lock:
        _tables.clear()


def enrichment_table(
    repositories: Repositories, objects: Callable[[], ObjectStore], dataset: Mapping[str, Any]
) -> LookupTable:
    """The lookup table of the event dataset's ``source.enrich`` at the lookup's newest edition.

    ``objects`` makes the object store, asked only when a table is read. Raises Conflict
    (with the reason) when the lookup may not be read, has no CSV distribution, is too large
    or does not fit the ``enrich`` (``domain.enrichment.lookup_table``).
    """
    source = dataset["source"]
    enrich = source["enrich"]
    name = enrich["lookup"]["dataset"]
    not_readable = Conflict(
        f"the lookup dataset {name!r} does not exist or the owner team of dataset "
        f"{dataset['id']!r} may not read it",
        field="source",
    )
    if name not in owner_team_readable(repositories.store, dataset["id"], [name]):
        raise not_readable
    try:
        lookup = repositories.datasets.get_item(name)
    except NotFound:
        raise not_readable from None
    (latest,) = latest_items(repositories, [lookup])
    files = [
        (distribution["key"], distribution.get("byteSize") or 0)
        for distribution in latest.distributions
        if str(distribution.get("key", "")).lower().endswith(".csv")
    ]
    if not latest.editions or not files:
        raise Conflict(
            f"the lookup dataset {name!r} has no published CSV distribution to enrich events with",
            field="source",
        )
    if sum(size for _, size in files) > MAX_LOOKUP_BYTES:
        raise Conflict(
            f"the lookup dataset {name!r} is larger than {MAX_LOOKUP_BYTES} bytes of CSV",
            field="source",
        )
    edition = latest.editions[0]
    fields = tuple(field["name"] for field in source["schema"]["fields"])
    cache_key = (
        name,
        lookup.get("incarnation"),
        edition["version"],
        edition["edition"],
        tuple(key for key, _ in files),
        json.dumps(enrich, sort_keys=True),
        fields,
    )
    with _lock:
        table = _tables.get(cache_key)
        if table is not None:
            _tables.move_to_end(cache_key)
            return table
    # Read outside the lock: another batch may read the same edition meanwhile (harmless).
    store = objects()
    header, records = _read_csv(store, [key for key, _ in files])
    table = lookup_table(enrich, fields, header, records)
    with _lock:
        _tables[cache_key] = table
        while len(_tables) > MAX_TABLES:
            _tables.popitem(last=False)
    return table


def _read_csv(objects: ObjectStore, keys: list[str]) -> tuple[list[str], list[list[str | None]]]:
    """The header and rows of CSV files as the step reads them: comma, UTF-8, BOM or not.

    An empty cell is None (polars reads it as null). Several files are stacked by column
    name (the step's diagonal concatenation): a column one file lacks is None in its rows.
    Raises Conflict for a file that is not UTF-8 text.
    """
    header: list[str] = []
    tables = []
    for key in keys:
        try:
            rows = csv.reader(io.StringIO(objects.get(key).decode("utf-8-sig"), newline=""))
            names = next(rows, [])
            tables.append((names, list(rows)))
        except (UnicodeDecodeError, csv.Error) as error:
            raise Conflict(f"the lookup {key} is not UTF-8 CSV: {error}", field="source") from None
        header.extend(name for name in names if name not in header)
    records = []
    for names, rows in tables:
        at = {name: index for index, name in enumerate(names)}
        for row in rows:
            records.append([_cell(row, at.get(name)) for name in header])
    return header, records


def _cell(row: list[str], at: int | None) -> str | None:
    if at is None or at >= len(row) or row[at] == "":
        return None
    return row[at]
