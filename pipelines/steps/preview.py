"""A tabular file's preview: its Table Schema, first rows and per-column statistics.

Computed once when a distribution is published, so pages show data without reading files.
Memory stays flat: polars scans the file lazily and aggregates with the streaming engine;
distinct counts are exact up to EXACT_DISTINCT_ROWS rows and HyperLogLog estimates above,
and top values are counted only for text columns with few distinct values.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.steps.contract import InputError
from pipelines.steps.csv_dialect import (
    SNIFF_BYTES,
    CsvDialect,
    CsvFile,
    open_csv,
    row_texts,
    scan_options,
    sniff_delimiter,
)
from pipelines.steps.footers import csv_footnotes
from pipelines.steps.table_schema import has_no_value, table_schema_type
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
# A title above a CSV's header (title_rows): at most this many rows, told by the widths of
# this many rows below the header.
MAX_TITLE_ROWS = 10
WIDTH_SAMPLE_ROWS = 20


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
        frame = pl.scan_csv(csv_file.path, **options)
        # Blank lines read as rows of nulls: no rows of the table, as csv_to_parquet reads it.
        return frame_preview(frame.filter(~has_no_value(csv_file.layout.names, None)))


# A CSV is described as its file is written, which publishing is not told: Norwegian exports
# are ';' files with decimal commas (read with ',', ragged rows), often cp1252, or declare
# their delimiter on an Excel 'sep=' line.
AS_FOUND = CsvDialect(delimiter="auto", encoding="auto", footer_rows=0)


@contextmanager
def csv_input(
    path: Path, name: str, directory: Path, *, check_quotes: bool = False
) -> Iterator[CsvFile]:
    """``path`` opened with its own delimiter and encoding, else (a header that does not tell
    one delimiter from another) with ','; the rows above its header that are a title (as in
    Statistics Norway's PX-Web exports, which validate and transform write back with
    ``headerRows``) are skipped, and so are the footnotes below its rows. Raises InputError
    for a file neither reads; with ``check_quotes``, also for a quote not doubled inside a
    quoted value (see ``open_csv``).
    """
    dialect = AS_FOUND
    while True:
        with ExitStack() as stack:
            used, csv_file = _opened(stack, path, dialect, name, directory, check_quotes)
            dialect = table_dialect(csv_file, used)
            if dialect == used:
                yield csv_file
                return


def table_dialect(csv_file: CsvFile, dialect: CsvDialect) -> CsvDialect:
    """``dialect`` (with which ``csv_file`` was opened) with the ``headerRows`` of the title
    rows above its header (``title_rows``), else with the ``footerRows`` of the footnotes
    below its rows (``csv_footnotes``); ``dialect`` itself when it has found both or the
    file has neither."""
    if dialect.header_rows is None:
        above = title_rows(csv_file, dialect.quote_char)
        if above:
            return dataclasses.replace(dialect, header_rows=[above + 1])
    if dialect.footer_rows == 0:
        notes = csv_footnotes(
            csv_file.path,
            delimiter=csv_file.layout.delimiter,
            quote=dialect.quote_char,
            comment=None,
            width=len(csv_file.layout.names),
        )
        if notes:
            return dataclasses.replace(dialect, footer_rows=len(notes))
    return dialect


def _opened(
    stack: ExitStack,
    path: Path,
    dialect: CsvDialect,
    name: str,
    directory: Path,
    check_quotes: bool,
) -> tuple[CsvDialect, CsvFile]:
    """``path`` opened with ``dialect``, else with ',' as its delimiter; the dialect used."""
    try:
        return dialect, stack.enter_context(
            open_csv(path, dialect, "auto", directory, name=name, check_quotes=check_quotes)
        )
    except InputError:
        # Publishing describes a file, it does not judge it: read it as polars would.
        comma = dataclasses.replace(dialect, delimiter=None)
        return comma, stack.enter_context(
            open_csv(path, comma, "auto", directory, name=name, check_quotes=check_quotes)
        )


def title_rows(csv_file: CsvFile, quote: str) -> int:
    """How many rows at the start of ``csv_file`` (below a ``sep=`` line) are a title above
    its header.

    The header is the first row, of two fields or more, with as many fields as most rows
    below it and more than every row above it (with the delimiter sniffed below it); 0
    when the first row is such a row, or no row is. Looks at the first rows of the file's
    first ``SNIFF_BYTES``.
    """
    with csv_file.path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace").lstrip("\ufeff")
    if csv_file.layout.has_sep_line:
        head = head.partition("\n")[2]
    texts = row_texts(head, quote, MAX_TITLE_ROWS + WIDTH_SAMPLE_ROWS + 1)
    # The last row read may be cut where the head ends.
    texts = [text for text in texts if text.endswith(("\n", "\r"))]
    for above in range(min(MAX_TITLE_ROWS, len(texts) - 1) + 1):
        below = "".join(texts[above:])
        try:
            delimiter = sniff_delimiter(below, name="")
        except InputError:
            continue

        def widths(text: str, delimiter: str = delimiter) -> list[int]:
            rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote)
            return [len(row) for row in rows]

        header, *rows = widths(below)
        filled = [width for width in rows if width]
        if header < 2 or not filled or Counter(filled).most_common(1)[0][0] != header:
            continue
        if all(width < header for width in widths("".join(texts[:above]))):
            return above
    return 0


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
