"""A tabular file's preview: its Table Schema, first rows and per-column statistics.

Computed once when a distribution is published, so pages show data without reading files.
Memory stays flat: polars scans the file lazily and aggregates with the streaming engine;
distinct counts are exact up to EXACT_DISTINCT_ROWS rows and HyperLogLog estimates above,
and top values are counted only for text columns with few distinct values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.steps.contract import InputError
from pipelines.steps.csv_dialect import CsvDialect, CsvFile, open_csv, scan_options
from pipelines.steps.table_schema import table_schema_type
from pipelines.steps.tables import workdir

PREVIEW_ROWS = 50
EXACT_DISTINCT_ROWS = 100_000
# Top values of a text column are counted only below this many distinct values: a group-by
# holds one entry per value, so the bound keeps memory flat.
TOP_VALUES_MAX_DISTINCT = 10_000
TOP_VALUES = 5
# A cell longer than this is cut in the preview rows (the file keeps it whole).
MAX_CELL_CHARS = 200
# The preview is kept in the distribution's record: rows are dropped until its JSON fits.
PREVIEW_MAX_BYTES = 32_000


def table_preview(path: Path, name: str) -> dict[str, Any] | None:
    """The preview of a CSV or Parquet file; None for other files.

    ``{"schema": {"fields": [...]}, "rowCount": n, "rows": [[...], ...],
    "statistics": {column: {"nonNull", "distinct", "distinctIsApproximate", "min", "max",
    "mean", "top": [{"value", "count"}]}}}`` with ``mean`` for numbers and ``top`` for text.
    """
    import polars as pl

    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".parquet":
        return frame_preview(pl.scan_parquet(path))
    if suffix != ".csv" or path.stat().st_size == 0:
        return None
    with workdir() as directory, csv_input(path, name, directory) as csv_file:
        # Text, as publish describes a CSV: a step that types columns writes Parquet.
        # A header without rows is a table of no rows with the header's columns.
        options = scan_options(AS_FOUND, csv_file.layout)
        return frame_preview(pl.scan_csv(csv_file.path, **options))


# A CSV is described as its file is written, which publishing is not told: Norwegian exports
# are ';' files with decimal commas (read with ',', ragged rows), often cp1252, or declare
# their delimiter on an Excel 'sep=' line.
AS_FOUND = CsvDialect(delimiter="auto", encoding="auto", footer_rows=0)


@contextmanager
def csv_input(path: Path, name: str, directory: Path) -> Iterator[CsvFile]:
    """``path`` opened with its own delimiter and encoding, else (a header that does not tell
    one delimiter from another) with ','. Raises InputError for a file neither reads.
    """
    with ExitStack() as stack:
        try:
            csv_file = stack.enter_context(
                open_csv(path, AS_FOUND, "auto", directory, name=name, check_quotes=False)
            )
        except InputError:
            # Publishing describes a file, it does not judge it: read it as polars would.
            comma = CsvDialect(encoding="auto", footer_rows=0)
            csv_file = stack.enter_context(
                open_csv(path, comma, "auto", directory, name=name, check_quotes=False)
            )
        yield csv_file


def frame_preview(frame: Any) -> dict[str, Any]:
    """The preview of a polars LazyFrame (see ``table_preview``)."""
    import polars as pl

    columns = frame.collect_schema()
    row_count = frame.select(pl.len()).collect(engine="streaming").item()
    approximate = row_count > EXACT_DISTINCT_ROWS
    aggregates = []
    for column, dtype in columns.items():
        values = pl.col(column)
        aggregates += [
            values.count().alias(f"{column}\0nonNull"),
            (values.approx_n_unique() if approximate else values.n_unique()).alias(
                f"{column}\0distinct"
            ),
        ]
        if dtype.is_numeric() or dtype.is_temporal() or dtype == pl.String:
            aggregates += [
                values.min().alias(f"{column}\0min"),
                values.max().alias(f"{column}\0max"),
            ]
        if dtype.is_numeric():
            aggregates.append(values.mean().alias(f"{column}\0mean"))
    found = (
        frame.select(aggregates).collect(engine="streaming").row(0, named=True)
        if aggregates
        else {}
    )
    statistics: dict[str, dict[str, Any]] = {}
    for column, dtype in columns.items():
        stats = {
            key.split("\0", 1)[1]: _json_value(value)
            for key, value in found.items()
            if key.split("\0", 1)[0] == column
        }
        if not dtype.is_numeric():
            stats.pop("mean", None)
        # null counts as a distinct value for n_unique; report values only.
        if stats.get("nonNull", 0) < row_count and not approximate:
            stats["distinct"] = max(0, (stats.get("distinct") or 0) - 1)
        stats["distinctIsApproximate"] = approximate
        if dtype == pl.String and (stats.get("distinct") or 0) <= TOP_VALUES_MAX_DISTINCT:
            stats["top"] = _top_values(frame, column)
        statistics[column] = stats
    head = frame.head(PREVIEW_ROWS).collect()
    return {
        "schema": {
            "fields": [
                {"name": column, "type": table_schema_type(dtype)}
                for column, dtype in columns.items()
            ]
        },
        "rowCount": row_count,
        "rows": [[_cell(value) for value in row] for row in head.iter_rows()],
        "statistics": statistics,
    }


def fitted(preview: dict[str, Any]) -> dict[str, Any]:
    """``preview`` in PREVIEW_MAX_BYTES of JSON: as many of its first rows as fit, and when
    none does, the statistics of as many of its first columns as fit (a wide table's)."""

    def size(candidate: dict[str, Any]) -> int:
        return len(json.dumps(candidate, default=str))

    rows = preview["rows"]
    while rows and size({**preview, "rows": rows}) > PREVIEW_MAX_BYTES:
        rows = rows[: len(rows) // 2]
    result = {**preview, "rows": rows}
    columns = list(preview.get("statistics", {}).items())
    while columns and size(result) > PREVIEW_MAX_BYTES:
        columns = columns[: len(columns) // 2]
        result["statistics"] = dict(columns)
    return result


def _top_values(frame: Any, column: str) -> list[dict[str, Any]]:
    import polars as pl

    counted = (
        frame.select(pl.col(column))
        .drop_nulls()
        .group_by(column)
        .agg(pl.len().alias("count"))
        .sort(["count", column], descending=[True, False])
        .head(TOP_VALUES)
        .collect(engine="streaming")
    )
    return [{"value": _cell(value), "count": count} for value, count in counted.iter_rows()]


def _json_value(value: Any) -> Any:
    """A statistic as JSON: dates and times in ISO 8601, NaN and infinities as null."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return value[:MAX_CELL_CHARS]
    if isinstance(value, bytes):
        return None
    return value


def _cell(value: Any) -> Any:
    if isinstance(value, list | dict | tuple):
        return str(value)[:MAX_CELL_CHARS]
    return _json_value(value)
