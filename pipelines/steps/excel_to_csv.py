"""excel_to_csv: one CSV per chosen sheet of an .xlsx or .xls workbook, read with fastexcel.

How workbooks from data portals are read:

- Cells are written as the sheet prints them, never guessed from their text: a text cell is
  written as it is (``0301`` keeps its zero); a number as Excel's General format shows it
  (``301``, ``2.5``, never ``301.0``), a fraction to the 15 significant digits Excel shows
  (a formula's ``0.30000000000000004`` is ``0.3``); a date as ``YYYY-MM-DD``, a date-time as
  ``YYYY-MM-DDTHH:MM:SS``, a time of day as ``HH:MM:SS``, a duration (``[h]:mm``) as
  ``36:00:00``. A number's own number format is not applied: a code stored as the
  number 301 and shown as ``0301`` by a ``0000`` format is written ``301`` (store codes as text).
- A column's type is decided from all its cells: a number column with one text cell (a number
  stored as text, a note) becomes text, never a column with that cell blanked.
- Header names: an empty header cell (also the 2nd..nth cell of a merged header) becomes
  ``column_<position>``; repeated names get ``_2``, ``_3``..., as in csv_to_parquet. A header
  cell under a merged cell that starts in its column on a row above (``region`` merged
  across two header rows) takes that cell's name.
- Rows with no value are dropped; so are columns with neither a name nor a value (formatted
  but empty cells at the right edge).
- Notes below the table (``Kilde: SSB``, ``* Foreløpige tall``): ``footerRows: n`` leaves out
  a sheet's last ``n`` rows that hold a value; without it, last rows that look like
  footnotes (``footers``) are an InputError naming them; ``0`` writes them as rows. Sheets
  whose notes differ take a count each, ``{"Befolkning": 2, "Areal": 1}`` (a sheet not
  named is checked for footnotes). One count for every sheet of ``"*"`` leaves out only
  notes: a sheet whose last ``n`` rows hold data (a value past the first column) is an
  InputError naming the counts per sheet.
- ``sheet: "*"`` takes the visible sheets that hold data, in workbook order; hidden sheets are
  read only when chosen by name or index (indexes count every sheet, hidden ones too).
  Choosing an empty sheet is an InputError.
- Output files of ``"*"`` are named ``<workbook>-<sheet>.csv`` with the sheet name in ASCII
  (``Befolkning i Ås`` -> ``Befolkning-i-As``).
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.objects import ObjectStore
from pipelines.steps.contract import (
    MAX_CELLS,
    MAX_UNCOMPRESSED_BYTES,
    ConfigError,
    InputError,
    OutputKey,
    StepResult,
)
from pipelines.steps.footers import (
    TableRow,
    check_footer_rows,
    footnotes_message,
    suspected_footnotes,
)
from pipelines.steps.runtime import run_step
from pipelines.steps.tables import (
    OLE_MAGIC,
    column_names,
    fetch,
    filename,
    reading,
    store,
    workdir,
)
from pipelines.steps.workbook_errors import with_known_errors
from pipelines.steps.workbook_formulas import formulas_without_results
from pipelines.steps.workbook_limits import check_workbook, column_number
from pipelines.steps.workbook_parts import merged_ranges, totals_rows

if TYPE_CHECKING:
    import polars as pl

# fastexcel (calamine) holds a sheet as a dense grid in memory, so the grid a workbook declares
# and its decompressed size are checked before it is opened (workbook_limits), against the
# server's limits (StepLimits) or lower ones from taskConfig.
_RANGE = re.compile(r"^([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})$")
_SHEET_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_CELL = re.compile(r"^([A-Z]{1,3})([0-9]{1,7})$")
# How fastexcel renames a repeated header cell: ``navn``, ``navn_1``, ``navn_1_1``.
_RENAMED = re.compile(r"_[0-9]+$")
# fastexcel's words when the options point below a sheet's last row or right of its columns.
_OUTSIDE_SHEET = re.compile(r"Too many rows skipped|column at index [0-9]+ not found")
# calamine's words for an error value it does not know (#SPILL!), and fastexcel's for an
# error cell (#NAME?) that kept it from finding its column's type.
_UNKNOWN_ERROR_VALUE = re.compile(r"Unsupported cell error value '([^']*)'")
_CELL_ERROR = re.compile(r"calamine cell error: (#\S+)")
_UNTYPED_COLUMN = re.compile(r"could not determine dtype for column (.+)$", re.MULTILINE)
# How fastexcel writes a date cell in a column of text.
_DATE_AS_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
_DATE_TIME_TEXT = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2})$")
# The last rows of a sheet looked at for footnotes.
TAIL_ROWS = 50
# The significant digits of a number Excel shows.
EXCEL_DIGITS = 15
# The date calamine gives a serial below 1: a time of day without a date. A workbook of the
# 1904 date system (Excel for Mac's, long) counts its days from the second.
EXCEL_DAY_ZERO = datetime.date(1899, 12, 31)
EXCEL_1904_DAY_ZERO = datetime.date(1904, 1, 1)
_DATE_1904 = re.compile(rb'<(?:\w+:)?workbookPr\b[^>]*\bdate1904="(?:1|true)"')
# Letters NFKD does not take apart into an ASCII letter and a mark.
_ASCII_LETTERS = str.maketrans({"æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d"})


@dataclass(frozen=True, slots=True)
class ExcelToCsvConfig:
    """Options of excel_to_csv.

    ``sheet``: a name, a 1-based index, or ``"*"`` for every sheet (one CSV each).
    ``headerRow``: 1-based row of the column names; null for none (columns column_1, ...).
    ``skipRows``: rows to skip after the header. ``range``: a cell range such as ``B3:F200``
    whose first row is the header row. ``footerRows``: the rows of notes below each sheet's
    table to leave out (blank rows not counted), or an object of such counts by sheet name;
    null (for a sheet: not named) checks that none looks like a footnote, 0 writes every row.
    """

    sheet: str | int = 1
    header_row: int | None = 1
    skip_rows: int = 0
    range: str | None = None
    footer_rows: int | dict[str, int | None] | None = None
    # None: the server's limit; a taskConfig value only ever lowers it (see StepLimits).
    max_uncompressed_bytes: int | None = None
    max_cells: int | None = None


@dataclass(frozen=True, slots=True)
class SheetWindow:
    """Where in a sheet the table sits, in fastexcel's 0-based terms."""

    header_row: int | None
    skip_rows: int
    n_rows: int | None
    columns: tuple[int, int] | None  # first and last sheet column, 0-based, inclusive

    def first_data_row(self) -> int:
        """The sheet row (0-based) of the first row read as data."""
        if self.header_row is None:
            return self.skip_rows
        return self.header_row + 1 + self.skip_rows

    def holds(self, cell: str) -> bool:
        """Whether the cell (``C2``) lies in the window: from the header row (the first row
        read) to the last row read, within the range's columns."""
        match = _CELL.match(cell)
        if match is None:
            return True
        column, row = column_number(match.group(1)) - 1, int(match.group(2)) - 1
        top = self.header_row if self.header_row is not None else self.skip_rows
        if row < top:
            return False
        if self.n_rows is not None:
            # The header row and the rows skipped below it, then the rows read.
            above = 1 + self.skip_rows if self.header_row is not None else 0
            if row > top + above + self.n_rows - 1:
                return False
        if self.columns is None:
            return True
        first, last = self.columns
        return first <= column <= last

    def use_columns(self) -> Callable[[Any], bool] | None:
        """fastexcel's column filter for the range.

        A filter rather than letters: ``"A:F"`` fails when column A holds no cell anywhere in
        the sheet (a report's empty margin), where the filter just finds no column A.
        """
        if self.columns is None:
            return None
        first, last = self.columns
        return lambda column: first <= column.absolute_index <= last


def window(config: ExcelToCsvConfig) -> SheetWindow:
    """Translate the 1-based options into fastexcel's arguments; raises ConfigError."""
    if isinstance(config.sheet, int) and config.sheet < 1:
        raise ConfigError("sheet", "an index is 1-based: the first sheet is 1")
    if config.skip_rows < 0:
        raise ConfigError("skipRows", "must be zero or more")
    if isinstance(config.footer_rows, dict):
        for sheet, rows in config.footer_rows.items():
            check_footer_rows(rows, option=f"footerRows.{sheet}")
    else:
        check_footer_rows(config.footer_rows)
    if config.header_row is not None and config.header_row < 1:
        raise ConfigError("headerRow", "is 1-based: the first row is 1")
    if config.range is None:
        header = None if config.header_row is None else config.header_row - 1
        return SheetWindow(header, config.skip_rows, None, None)
    match = _RANGE.match(config.range.upper())
    if not match:
        raise ConfigError("range", "must look like A1:F200")
    first_column, first_row, last_column, last_row = match.groups()
    if int(last_row) < int(first_row) or column_number(last_column) < column_number(first_column):
        raise ConfigError("range", "must go from the top-left to the bottom-right cell")
    if config.header_row not in (None, 1, int(first_row)):
        raise ConfigError("headerRow", "with a range, the range's first row is the header")
    data_rows = int(last_row) - int(first_row) + (1 if config.header_row is None else 0)
    header = int(first_row) - 1
    return SheetWindow(
        header_row=header if config.header_row is not None else None,
        # Without a header the rows above the range are skipped instead.
        skip_rows=config.skip_rows if config.header_row is not None else header + config.skip_rows,
        n_rows=max(data_rows - config.skip_rows, 0),
        columns=(column_number(first_column) - 1, column_number(last_column) - 1),
    )


def tidy(
    frame: pl.DataFrame,
    header: list[str | None] | None = None,
    day_zero: datetime.date = EXCEL_DAY_ZERO,
) -> pl.DataFrame:
    """Write Excel's numbers and dates as a sheet shows them, and give the columns unique names.

    Excel stores every number as a float and every date as a date-time: a whole number is
    written without a decimal part (``301``, not ``301.0``) and midnight-only date-times become
    dates. Text cells are never converted, so codes keep their zeros. ``header`` holds the header
    cells as written (None for an empty one), else the columns are numbered. Rows with no
    value, and columns with neither a name nor a value, are dropped. Date-times all on
    ``day_zero`` (the workbook's date system's) are times of day.
    """
    import polars as pl

    if header is None:
        header = [None] * frame.width
    # Names come first, so that column_<n> is the position in the sheet's table.
    frame = frame.rename(dict(zip(frame.columns, column_names(header), strict=True)))
    # An empty text cell is no value: the CSV writes both alike, and rows and columns of
    # them are dropped like blank ones.
    frame = frame.with_columns(
        pl.when(pl.col(column) != "").then(pl.col(column)).alias(column)
        for column, dtype in frame.schema.items()
        if dtype == pl.String
    )
    if frame.width:
        blank = frame.select(pl.all_horizontal(pl.all().is_null())).to_series()
        if blank.any():  # filtering copies every column: only when a row goes
            frame = frame.filter(~blank)
    frame = frame.drop(
        column
        for column, cell in zip(frame.columns, header, strict=True)
        if (cell is None or not cell.strip())
        and frame.get_column(column).null_count() == frame.height
    )
    # Excel shows 15 significant digits; a formula's result is stored with a double's 17,
    # whose last ones are noise (0.1+0.2 is 0.30000000000000004). Whole numbers are exact
    # (a 16-digit id written by another program keeps its digits).
    floats = [column for column, dtype in frame.schema.items() if dtype.is_float()]
    if floats:
        frame = frame.with_columns(
            pl.when(pl.col(column) == pl.col(column).round(0))
            .then(pl.col(column))
            .otherwise(pl.col(column).round_sig_figs(EXCEL_DIGITS))
            .alias(column)
            for column in floats
        )
    changes = []
    for column, dtype in frame.schema.items():
        series = frame.get_column(column)
        if dtype.is_float():
            if _all_whole(series):
                # The CSV writes integers as General shows whole numbers: no text needed.
                changes.append(pl.col(column).cast(pl.Int64))
            else:
                changes.append(_as_printed(pl.col(column)))
        elif isinstance(dtype, pl.Datetime):
            values = series.drop_nulls()
            if len(values) and bool((values.dt.date() == day_zero).all()):
                # Serials below 1 are times of day (a cell formatted hh:mm), no dates.
                changes.append(pl.col(column).dt.time())
            elif len(values) and bool((values.dt.time() == datetime.time(0)).all()):
                changes.append(pl.col(column).cast(pl.Date))
        elif isinstance(dtype, pl.Duration):
            changes.append(_duration_as_printed(pl.col(column)).alias(column))
    return frame.with_columns(changes)


def sheet_footer_rows(config: ExcelToCsvConfig, sheet: str) -> int | None:
    """The ``footerRows`` of one sheet: its own count, or the one count of every sheet."""
    if isinstance(config.footer_rows, dict):
        return config.footer_rows.get(sheet)
    return config.footer_rows


def without_footer(
    frame: pl.DataFrame, footer_rows: int | None, *, name: str, sheet: str | None = None
) -> pl.DataFrame:
    """``frame`` (a sheet as loaded) less its last ``footer_rows`` rows that hold a value.

    With ``footer_rows`` None, raises InputError when its last rows look like footnotes
    (``footers.suspected_footnotes``, over its last ``TAIL_ROWS``), naming the count to
    give ``sheet`` when given (a sheet of several); also when it has fewer rows than
    ``footer_rows``.
    """
    if footer_rows == 0 or frame.width == 0:
        return frame
    if footer_rows is None:
        rows = [
            TableRow(["" if value is None else str(value).strip() for value in row])
            for row in frame.tail(TAIL_ROWS).iter_rows()
        ]
        notes = suspected_footnotes(rows, frame.width)
        if notes:
            raise InputError(footnotes_message(name, notes, sheet=sheet))
        return frame
    filled = _filled_rows(frame)
    if len(filled) < footer_rows:
        raise InputError(f"{name}: footerRows is {footer_rows}, but it has {len(filled)} rows")
    return frame.head(filled[len(filled) - footer_rows])


def _filled_rows(frame: pl.DataFrame) -> list[int]:
    """The numbers of the rows of ``frame`` that hold a value."""
    import polars as pl

    return (
        frame.select(
            pl.any_horizontal(_has_value(frame, column) for column in frame.columns).fill_null(
                False
            )
        )
        .to_series()
        .arg_true()
        .to_list()
    )


def _has_value(frame: pl.DataFrame, column: str) -> pl.Expr:
    import polars as pl

    if frame.schema[column] == pl.String:
        return pl.col(column).str.strip_chars() != ""
    return pl.col(column).is_not_null()


def trailing_notes(frame: pl.DataFrame) -> tuple[int, str | None] | None:
    """How many of the last rows of ``frame`` that hold a value hold it in the first column
    only (notes), and the first cell of the row of data above them (None for none); None
    for a table of one column, whose notes and values look alike."""
    import polars as pl

    if frame.width < 2:
        return None
    filled = _filled_rows(frame)
    past_first = (
        frame.select(
            pl.any_horizontal(_has_value(frame, column) for column in frame.columns[1:]).fill_null(
                False
            )
        )
        .to_series()
        .to_list()
    )
    notes = 0
    for row in reversed(filled):
        if past_first[row]:
            first = frame.row(row)[0]
            return notes, None if first is None else str(first)
        notes += 1
    return notes, None


def _duration_as_printed(duration: pl.Expr) -> pl.Expr:
    """A duration column as text the way an ``[h]:mm:ss`` format shows it (``36:00:00``).

    Hours go past 24; milliseconds show only where there are some. CSV has no duration type.
    """
    import polars as pl

    total = duration.dt.total_milliseconds()
    size = total.abs()
    parts = [
        pl.when(total < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // 3_600_000).cast(pl.String),
        pl.lit(":"),
        (size // 60_000 % 60).cast(pl.String).str.zfill(2),
        pl.lit(":"),
        (size // 1000 % 60).cast(pl.String).str.zfill(2),
        pl.when(size % 1000 > 0)
        .then(pl.lit(".") + (size % 1000).cast(pl.String).str.zfill(3))
        .otherwise(pl.lit("")),
    ]
    return pl.concat_str(parts)


def _all_whole(series: pl.Series) -> bool:
    """Whether every value of a float column is a whole number that an Int64 holds exactly."""
    import polars as pl

    return bool(
        series.to_frame()
        .select(((pl.first() == pl.first().round(0)) & (pl.first().abs() < 2**53)).all())
        .item()
    )


def _as_printed(number: pl.Expr) -> pl.Expr:
    """A float column as text the way Excel's General format shows each value."""
    import polars as pl

    # Whole numbers beyond 2**53 are not exact in a float: they keep the float's own text.
    is_whole = (number == number.round(0)) & (number.abs() < 2**53)
    return (
        pl.when(is_whole)
        .then(number.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(number.cast(pl.String))
    )


def dates_in_text(
    reader: Any,
    sheet: str,
    place: SheetWindow,
    frame: pl.DataFrame,
    day_zero: datetime.date = EXCEL_DAY_ZERO,
) -> Any:
    """``frame`` with the date cells of its text columns written as dates are.

    fastexcel writes a date cell in a column that also holds text (``ukjent``) as
    ``2024-03-01 00:00:00``. Where a text column holds such a value, the column is read
    twice more, as dates and as numbers: a date cell is one that reads as a date but not
    as a number (a number reads as both, text as neither).
    """
    import polars as pl

    columns = [
        column
        for column, dtype in frame.schema.items()
        if dtype == pl.String and frame.get_column(column).str.contains(_DATE_AS_TEXT).any()
    ]
    if not columns:
        return frame

    def load(dtype: str) -> pl.DataFrame:
        return reader.load_sheet(
            sheet,
            header_row=place.header_row,
            skip_rows=place.skip_rows or None,
            n_rows=place.n_rows,
            use_columns=columns,
            dtypes=dict.fromkeys(columns, dtype),
        ).to_polars()

    as_dates, as_numbers = load("datetime"), load("float")
    if as_dates.height != frame.height:
        return frame  # not the same rows: leave the text as fastexcel wrote it
    changes = []
    for column in columns:
        value = as_dates.get_column(column)
        is_date = value.is_not_null() & as_numbers.get_column(column).is_null()
        printed = (
            pl.when(value.dt.date() == day_zero)
            .then(value.dt.strftime("%H:%M:%S"))
            .when(value.dt.time() == datetime.time(0))
            .then(value.dt.strftime("%Y-%m-%d"))
            .otherwise(value.dt.strftime("%Y-%m-%dT%H:%M:%S"))
        )
        changes.append(pl.when(is_date).then(printed).otherwise(pl.col(column)).alias(column))
    return frame.with_columns(changes)


def header_cells(
    reader: Any,
    sheet: str,
    place: SheetWindow,
    loaded: Any,
    day_zero: datetime.date = EXCEL_DAY_ZERO,
) -> dict[int, str | None] | None:
    """The header row's cells as written, by absolute column index; None without a header.

    fastexcel renames empty and repeated header cells its own way (``__UNNAMED__2``,
    ``navn_1``). When no name of ``loaded`` can be such a rename, its names are the cells;
    otherwise the row is read again as data, which parses the whole sheet a second time.
    A date cell is named as a date of the data is written (``2024-01-01``, not fastexcel's
    ``2024-01-01 00:00:00``).
    """
    if place.header_row is None:
        return None
    columns = loaded.selected_columns
    # No column at all: the read below says whether the header row lies outside the sheet.
    if columns and all(
        column.column_name_from == "looked_up" and not _RENAMED.search(column.name)
        for column in columns
    ):
        return {column.absolute_index: _as_name(column.name, day_zero) for column in columns}
    row = reader.load_sheet(
        sheet,
        header_row=None,
        skip_rows=place.header_row or None,
        n_rows=1,
        use_columns=place.use_columns(),
        dtypes="string",
    )
    cells = row.to_polars()
    values = list(cells.row(0)) if cells.height else [None] * cells.width
    return {
        column.absolute_index: None if value is None else _as_name(str(value), day_zero)
        for column, value in zip(row.selected_columns, values, strict=True)
    }


def check_no_totals_row(
    path: Path, sheet: str, place: SheetWindow, frame: pl.DataFrame, *, name: str
) -> None:
    """Raise InputError when ``frame`` (the sheet's cells as loaded) holds the totals row of
    an Excel table, naming the ``footerRows`` that leaves it out."""
    import polars as pl

    for table, cell in totals_rows(path, sheet):
        if not place.holds(cell):
            continue
        row = int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        index = row - 1 - place.first_data_row()
        if not 0 <= index < frame.height:
            continue  # the header row, or a row skipped
        below = frame.slice(index).select(pl.any_horizontal(pl.all().is_not_null()).sum()).item()
        raise InputError(
            f"{name}: row {row} is the totals row of the Excel table {table!r}, not data; set "
            f"the footerRows option to {below} to leave it out (and the rows below it), or to "
            "0 to read it as data"
        )


def names_from_merges(
    reader: Any,
    sheet: str,
    place: SheetWindow,
    cells: dict[int, str | None],
    path: Path,
    day_zero: datetime.date,
) -> dict[int, str | None]:
    """``cells`` (the header row's, by column) with an empty one named by the merged cell
    that covers it from a row above, when the merge starts in its column: a name written
    once across two header rows (``region`` over ``Menn``/``Kvinner``'s row).

    Only a header with an empty cell, below the sheet's first row, is looked at: the merges
    follow the cells in the .xlsx, which is then decompressed again.
    """
    header = place.header_row
    if header is None or all((cell or "").strip() for cell in cells.values()):
        return cells
    tops = {
        first: top
        for first, top, _, bottom in merged_ranges(path, sheet)
        if top < header <= bottom and first in cells and not (cells[first] or "").strip()
    }
    named = dict(cells)
    for top in sorted(set(tops.values())):
        row = reader.load_sheet(
            sheet,
            header_row=None,
            skip_rows=top or None,
            n_rows=1,
            use_columns=place.use_columns(),
            dtypes="string",
        )
        frame = row.to_polars()
        if not frame.height:
            continue
        indexes = [column.absolute_index for column in row.selected_columns]
        values = dict(zip(indexes, frame.row(0), strict=True))
        for column, column_top in tops.items():
            value = values.get(column)
            if column_top == top and value is not None and str(value).strip():
                named[column] = _as_name(str(value), day_zero)
    return named


def _as_name(cell: str, day_zero: datetime.date) -> str:
    """A header cell as text, a date or time written as the data's are."""
    match = _DATE_TIME_TEXT.match(cell)
    if match is None:
        return cell
    date, time = match.groups()
    if date == day_zero.isoformat():
        return time
    return date if time == "00:00:00" else f"{date}T{time}"


def read_sheets(
    path: Path, config: ExcelToCsvConfig, name: str, directory: Path
) -> list[tuple[str, pl.DataFrame]]:
    """The chosen sheets of a workbook as (sheet name, frame); raises InputError/ConfigError.

    Error cells (``#N/A``, ``#DIV/0!``, ``#NAME?``, ``#SPILL!``, ...) are empty values. An
    .xlsx whose errors fastexcel cannot read (``#SPILL!`` and the other newer ones) or type
    a column around (``#NAME?``) is read from a copy with those errors made ``#N/A``
    (``workbook_errors``), written under ``directory``. In an .xls, a column holding a
    ``#NAME?`` is read as text. A formula whose result the .xlsx does not hold is an
    InputError naming its cell (``workbook_formulas``).
    """
    try:
        sheets = _read_sheets(path, config, name, text_fallback=False)
    except _UnreadableError:
        known = with_known_errors(path, directory / f"known-errors-{PurePosixPath(name).stem}.xlsx")
        try:
            sheets = _read_sheets(known, config, name, text_fallback=True)
        except _UnreadableError as error:
            raise InputError(
                f"{name}, sheet {error.sheet!r}: a cell holds the error value {error.value}, "
                "which cannot be read; replace the formula's result by a value or an empty cell"
            ) from None
    # A formula without its result reads as an empty cell, so only sheets with one are
    # looked at (the look decompresses the sheet again: about a third of fastexcel's read).
    # An .xls keeps every formula's result.
    with_empty_cells = [sheet for sheet, frame in sheets if any(frame.null_count().row(0))]
    if with_empty_cells and zipfile.is_zipfile(path):
        missing = formulas_without_results(path, with_empty_cells, window(config).holds)
        if missing:
            sheet, cell = next(iter(missing.items()))
            raise InputError(
                f"{name}, sheet {sheet!r}: cell {cell} holds a formula without its result (the "
                "workbook was written by a program that does not calculate formulas), which "
                "would be read as empty; open and save the workbook in a spreadsheet program, "
                "or write values instead of formulas"
            )
    return sheets


class _UnreadableError(Exception):
    """fastexcel refused a sheet for an error value it cannot read or type a column around."""

    def __init__(self, sheet: str, value: str) -> None:
        super().__init__(sheet, value)
        self.sheet = sheet
        self.value = value


def _load_sheet(reader: Any, sheet: str, place: SheetWindow, *, text_fallback: bool) -> Any:
    """fastexcel's sheet in the window, each column's type taken from all its cells.

    fastexcel cannot type a column holding a ``#NAME?`` error (nor tell its type from the
    other cells alone); with ``text_fallback`` such a column is read as text, under which
    the error cells are empty, else its error is raised.
    """
    dtypes: dict[str, str] = {}
    while True:
        try:
            return reader.load_sheet(
                sheet,
                header_row=place.header_row,
                skip_rows=place.skip_rows or None,
                n_rows=place.n_rows,
                use_columns=place.use_columns(),
                # Types from every row: a sample would blank a text cell below it.
                schema_sample_rows=None,
                dtypes=dtypes or None,
            )
        except Exception as error:  # fastexcel raises its own hierarchy
            untyped = _UNTYPED_COLUMN.search(str(error))
            if not text_fallback or untyped is None or untyped.group(1) in dtypes:
                raise
            dtypes[untyped.group(1)] = "string"


def _read_sheets(
    path: Path, config: ExcelToCsvConfig, name: str, *, text_fallback: bool
) -> list[tuple[str, pl.DataFrame]]:
    import fastexcel

    place = window(config)
    with path.open("rb") as handle:
        path_is_xls = handle.read(len(OLE_MAGIC)) == OLE_MAGIC  # no copy can be made of one
    day_zero = EXCEL_DAY_ZERO if path_is_xls else _day_zero(path)
    with reading(name):
        try:
            reader = fastexcel.read_excel(path)
        except Exception as error:  # fastexcel raises its own hierarchy, all unrelated to ours
            raise InputError(f"{name} cannot be opened as a workbook: {error}") from None
        names = reader.sheet_names
        every = config.sheet == "*"
        if every:
            chosen = names
        elif isinstance(config.sheet, int):
            if not 1 <= config.sheet <= len(names):
                raise ConfigError("sheet", f"{name} has {len(names)} sheets, not {config.sheet}")
            chosen = [names[config.sheet - 1]]
        elif config.sheet in names:
            chosen = [config.sheet]
        else:
            raise ConfigError("sheet", f"{name} has no sheet {config.sheet!r}; it has {names}")
        if isinstance(config.footer_rows, dict):
            unknown = [sheet for sheet in config.footer_rows if sheet not in names]
            if unknown:
                raise ConfigError(
                    "footerRows", f"{name} has no sheet {unknown[0]!r}; it has {names}"
                )
        frames = []
        # "*" with one footerRows: the notes ending each sheet, and the row of data above.
        notes: dict[str, tuple[int, str | None]] = {}
        for sheet in chosen:
            try:
                loaded = _load_sheet(
                    reader, sheet, place, text_fallback=text_fallback or path_is_xls
                )
                if every and loaded.visible != "visible":
                    continue  # a hidden sheet is a helper, not a table to publish
                frame = dates_in_text(reader, sheet, place, loaded.to_polars(), day_zero)
                cells = header_cells(reader, sheet, place, loaded, day_zero)
                if cells and place.header_row and not path_is_xls:
                    cells = names_from_merges(reader, sheet, place, cells, path, day_zero)
            except BaseException as error:
                # calamine panics (a BaseException) when the header row or range lies below
                # the sheet's last row of an .xls; fastexcel says so in words for an .xlsx.
                is_panic = type(error).__name__ == "PanicException"
                if not is_panic and not isinstance(error, Exception):
                    raise
                message = str(error).strip().splitlines()[0] if str(error).strip() else ""
                unreadable = _UNKNOWN_ERROR_VALUE.search(message) or _CELL_ERROR.search(message)
                if unreadable is not None:
                    raise _UnreadableError(sheet, unreadable.group(1)) from None
                if not is_panic and not _OUTSIDE_SHEET.search(message):
                    raise InputError(f"{name}, sheet {sheet!r}: {message}") from None
                if every:
                    continue
                raise InputError(
                    f"{name}: sheet {sheet!r} has no rows at the header row, rows or range "
                    "the options name; check headerRow, skipRows and range"
                ) from None
            header = (
                None
                if cells is None
                else [cells.get(column.absolute_index) for column in loaded.selected_columns]
            )
            footer_rows = sheet_footer_rows(config, sheet)
            if footer_rows is None and not path_is_xls:
                check_no_totals_row(path, sheet, place, frame, name=f"{name}, sheet {sheet!r}")
            found = trailing_notes(frame) if every and isinstance(config.footer_rows, int) else None
            if found is not None:
                notes[sheet] = found
            frame = tidy(
                without_footer(
                    frame,
                    footer_rows,
                    name=f"{name}, sheet {sheet!r}",
                    sheet=sheet if every or isinstance(config.footer_rows, dict) else None,
                ),
                header,
                day_zero,
            )
            if frame.width == 0:
                if every:
                    continue
                within = f" within the range {config.range}" if config.range else ""
                raise InputError(f"{name}: sheet {sheet!r} is empty{within}")
            frames.append((sheet, frame))
    if not frames:
        raise InputError(f"{name} has no visible sheet with data")
    if isinstance(config.footer_rows, int):
        check_one_footer_fits(notes, config.footer_rows, name=name)
    return frames


def check_one_footer_fits(
    notes: dict[str, tuple[int, str | None]], footer_rows: int, *, name: str
) -> None:
    """Raise InputError when one ``footerRows`` count for every sheet (``notes``: each
    sheet's trailing notes and row of data above, ``trailing_notes``) leaves data out of
    one, naming the counts per sheet that leave out only notes."""
    for sheet, (count, data) in notes.items():
        if count < footer_rows:
            counts = {other: found for other, (found, _) in notes.items() if found}
            rows = "row holds" if footer_rows == 1 else f"{footer_rows} rows hold"
            shown = f" (the row {data!r})" if data is not None else ""
            raise InputError(
                f"{name}, sheet {sheet!r}: footerRows is {footer_rows}, but its last {rows} "
                f"data, not only notes{shown}; give footerRows per sheet, such as "
                f"{json.dumps(counts, ensure_ascii=False)}"
            )


def _day_zero(path: Path) -> datetime.date:
    """The date calamine gives a time of day in the .xlsx ``path``: its date system's."""
    try:
        with zipfile.ZipFile(path) as archive:
            workbook = archive.read("xl/workbook.xml")
    except (KeyError, zipfile.BadZipFile):
        return EXCEL_DAY_ZERO  # fastexcel says what is wrong with such a file
    return EXCEL_1904_DAY_ZERO if _DATE_1904.search(workbook) else EXCEL_DAY_ZERO


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value


def sheet_slug(sheet: str) -> str:
    """A sheet name as an ASCII file name part: ``Befolkning i Ås`` -> ``Befolkning-i-As``."""
    letters = unicodedata.normalize("NFKD", sheet.translate(_ASCII_LETTERS))
    ascii_name = letters.encode("ascii", "ignore").decode()
    return _SHEET_NAME.sub("-", ascii_name).strip("-.") or "sheet"


def run(
    objects: ObjectStore, config: ExcelToCsvConfig, keys: list[str], out: OutputKey
) -> StepResult:
    """Write each chosen sheet of each workbook as a UTF-8 CSV.

    Cell values are written as data: text that looks like a formula stays text.
    """
    window(config)
    if isinstance(config.sheet, str) and config.sheet != "*" and not config.sheet:
        raise ConfigError("sheet", "must not be empty")
    outputs = []
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            if source.stat().st_size == 0:
                raise InputError(f"{name} is empty")
            # run_step has put the config within the server's limits; called directly,
            # the default limits apply.
            check_workbook(
                source,
                name,
                max_bytes=_or_default(config.max_uncompressed_bytes, MAX_UNCOMPRESSED_BYTES),
                max_cells=_or_default(config.max_cells, MAX_CELLS),
            )
            sheets = read_sheets(source, config, name, directory)
            stem = PurePosixPath(name).stem
            used: set[str] = set()
            for number, (sheet, frame) in enumerate(sheets, start=1):
                csv_name = (
                    f"{stem}.csv"
                    if len(sheets) == 1 and config.sheet != "*"
                    else f"{stem}-{sheet_slug(sheet)}.csv"
                )
                if csv_name in used:  # two names that read the same in ASCII
                    csv_name = f"{stem}-{sheet_slug(sheet)}-{number}.csv"
                used.add(csv_name)
                target = directory / csv_name
                frame.write_csv(
                    target,
                    date_format="%Y-%m-%d",
                    datetime_format="%Y-%m-%dT%H:%M:%S",
                    time_format="%H:%M:%S",
                )
                outputs.append(store(objects, target, out(key, csv_name), frame.height))
    return StepResult(
        keys=[output.key for output in outputs],
        outputs=outputs,
        summary={"rows": sum(output.rows or 0 for output in outputs), "files": len(outputs)},
    )


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, ExcelToCsvConfig, run)


__all__ = ["ExcelToCsvConfig", "handler", "run"]
