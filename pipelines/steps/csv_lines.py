"""A CSV's rows written out as the very lines they were read from, less some of them.

validate keeps the valid rows of a CSV file. Writing them back through polars' CSV writer
costs as much as reading them (the file's every value is formatted again) and changes how
they look: quotes polars finds unneeded are dropped, a header's empty or repeated names come
back renamed. Copying the lines themselves costs a third of that and keeps each row's bytes
as uploaded. It holds only where one line is one row, which ``copy_rows`` checks: no comment
lines (polars skips them, so they have no row number) and no quoted value across lines (the
count of lines then differs from the count of rows).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.steps.csv_dialect import holds

if TYPE_CHECKING:
    import polars as pl

    from pipelines.steps.csv_dialect import CsvDialect, CsvFile

# Read as the delimiter, so that a whole line is one value; a file holding this byte
# (ASCII's unit separator, never seen in text) is not copied by lines.
_LINE_SEPARATOR = "\x1f"


def copy_rows(
    file: CsvFile, dialect: CsvDialect, *, leave_out: pl.Series, rows: int, target: Path
) -> bool:
    """Write ``file``'s header line and data lines, less the rows numbered in ``leave_out``
    (a spreadsheet's numbers: the header is row 1, or the row of ``headerRows``), to
    ``target``; return whether it could.

    ``rows`` is the count of rows polars read after the header (blank ones included). The
    lines are written as UTF-8 with ``\\n`` line ends and without a ``sep=`` line or the rows
    above the header, as
    ``sink_csv`` with ``sink_options`` writes them, for ``restore_dialect``. Returns False
    (``target`` then holds nothing of use) where lines are not rows: comment lines, a quoted
    value across lines, or the separator byte in the file.
    """
    import polars as pl

    if dialect.comment_char or holds(file.path, _LINE_SEPARATOR):
        return False
    lines = _LineCount()
    pl.scan_csv(
        file.path,
        has_header=False,
        separator=_LINE_SEPARATOR,
        quote_char=None,
        # Lines, not rows: the sep= line and the lines of the rows above the header.
        skip_rows=int(file.layout.has_sep_line) + file.layout.preamble.count("\n"),
        schema={"line": pl.String},
    ).with_row_index("__line", offset=file.layout.first_row).map_batches(
        lines.see, streamable=True
    ).filter(~pl.col("__line").is_in(leave_out.implode())).select("line").sink_csv(
        target, include_header=False, quote_style="never", null_value=""
    )
    return lines.count == rows + (1 if dialect.header else 0)


class _LineCount:
    """Counts the rows of a plan's batches, which reach it from the engine's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def see(self, batch: pl.DataFrame) -> pl.DataFrame:
        with self._lock:
            self.count += batch.height
        return batch
