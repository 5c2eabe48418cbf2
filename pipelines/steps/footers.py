"""Rows below a table: footnotes to leave out (``footerRows``) or to point out.

Portal exports and reports end their tables with notes: ``Kilde: SSB``, ``* Foreløpige
tall``. Read as rows, they become rows of nulls with the note in the first column. The
steps that read CSV and workbooks take ``footerRows``: ``n`` leaves out the last ``n`` rows
that hold a value (blank rows are not counted), ``0`` reads every row as data, and without
it (null) rows that look like footnotes stop the step, naming them, rather than being read
silently. Rows look like footnotes (``suspected_footnotes``) when the last rows of a table of
two or more columns hold a value in their first column only, below a row with values in
others, and a blank row sets them apart (and one holds words, not a name alone), a CSV line
of theirs has fewer fields than the header, or one starts as a note does (``*``, ``¹``,
``(``, ``Kilde``, ``Source:``...).
A last row that only lacks its values (``Bergen;;``) is none of these.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.objects import CHUNK_BYTES
from pipelines.steps.contract import ConfigError, InputError

# The end of a CSV file read to find its footer: doubled while it holds too few lines.
TAIL_BYTES = 64 * 1024
# Notes shown in an error, each cut to this many characters.
SHOWN_NOTES = 3
SHOWN_NOTE_CHARS = 60
_NOTE_START = re.compile(
    r"\s*(?:[*†‡§¹²³⁴⁵⁶⁷⁸⁹(\[]"
    r"|(?:kilde|kjelde|source|sources|note|notes|merk|merknad|fotnote|fotnoter|footnote"
    r"|footnotes|anm|anmerkning|quelle|källa|lähde|tegnforklaring|forklaring)\b"
    # A label and a colon: "Kilde:", "Note 2:", "Oppdatert:".
    r"|[^\W\d_][^:;,]{0,40}:(?:\s|$))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TableRow:
    """One row near a table's end: its values, stripped ("" where empty), and whether it
    holds fewer fields than the header (a CSV line without the delimiters of the others)."""

    values: Sequence[str]
    is_short: bool = False


def suspected_footnotes(rows: Sequence[TableRow | None], width: int) -> list[str]:
    """The notes of the trailing rows of ``rows`` (the last rows of a table of ``width``
    columns, in order; None for a row that cannot be a note) that look like footnotes, or
    an empty list (see the module's docstring)."""
    if width < 2:
        return []  # one column: a note and a value look alike
    notes: list[str] = []
    is_set_apart = is_short = False
    for row in reversed(rows):
        if row is not None and not any(row.values):
            is_set_apart = is_set_apart or bool(notes)
            continue
        if row is None or any(row.values[1:]):
            break  # a row of data
        notes.append(row.values[0])
        is_short = is_short or row.is_short
    else:
        return []  # no row of data above: a table whose other columns are all empty
    notes.reverse()
    # Set apart by a blank row, a note is words; a last row of a name alone is not one.
    is_set_apart = is_set_apart and any(len(note.split()) > 1 for note in notes)
    if notes and (is_set_apart or is_short or any(_NOTE_START.match(note) for note in notes)):
        return notes
    return []


def footnotes_message(name: str, notes: list[str], *, sheet: str | None = None) -> str:
    """What a data owner reads when rows that look like footnotes stop a step; ``sheet``
    names the sheet of several (a workbook's) whose count to give."""
    shown = "; ".join(
        repr(note if len(note) <= SHOWN_NOTE_CHARS else note[: SHOWN_NOTE_CHARS - 3] + "...")
        for note in notes[:SHOWN_NOTES]
    )
    more = f" and {len(notes) - SHOWN_NOTES} more" if len(notes) > SHOWN_NOTES else ""
    rows = "row looks" if len(notes) == 1 else f"{len(notes)} rows look"
    value = (
        str(len(notes)) if sheet is None else json.dumps({sheet: len(notes)}, ensure_ascii=False)
    )
    where = "" if sheet is None else " of this sheet"
    return (
        f"{name}: the last {rows} like footnotes, not data ({shown}{more}); set the "
        f"footerRows option to {value} to leave them out{where}, or to 0 to read them as data"
    )


def check_footer_rows(footer_rows: int | None, *, option: str = "footerRows") -> None:
    """Raise ConfigError unless ``footer_rows`` is null or zero or more."""
    if footer_rows is not None and footer_rows < 0:
        raise ConfigError(option, "must be zero or more (or null to check for footnotes)")


@dataclass(frozen=True, slots=True)
class CsvFooter:
    """Where a CSV file's table ends: the byte offset of the footer and its text."""

    offset: int
    text: str


@dataclass(frozen=True, slots=True)
class _Record:
    start: int  # byte offset in the file
    fields: list[str] | None  # [] for a blank line; None for a record that does not parse
    is_comment: bool = False


def csv_footnotes(
    path: Path, *, delimiter: str, quote: str, comment: str | None, width: int
) -> list[str]:
    """The notes at the end of a UTF-8 CSV file that look like footnotes (see
    ``suspected_footnotes``), found in its last ``TAIL_BYTES``."""
    rows: list[TableRow | None] = []
    # Two rows at least: a note and a row above it (a long row may fill the whole read).
    for record in _tail_records(path, 2, delimiter=delimiter, quote=quote, comment=comment):
        fields = record.fields
        if record.is_comment:
            continue  # no row: polars skips it
        if fields is None:
            rows.append(None)  # no note
        else:
            rows.append(TableRow([field.strip() for field in fields], len(fields) < width))
    return suspected_footnotes(rows, width)


def csv_footer(
    path: Path,
    rows: int,
    *,
    delimiter: str,
    quote: str,
    comment: str | None,
    body_start: int,
    name: str,
) -> CsvFooter:
    """The footer of a UTF-8 CSV file: its last ``rows`` rows that hold a value, with the
    blank rows and comment lines among and above them.

    ``body_start`` is the offset of the first data row. Raises InputError when the file has
    fewer rows below its header.
    """
    records = _tail_records(path, rows + 1, delimiter=delimiter, quote=quote, comment=comment)
    counted = 0
    start = None
    for record in reversed(records):
        if record.start < body_start:
            break
        fields = record.fields
        if not record.is_comment and (fields is None or any(field.strip() for field in fields)):
            if counted == rows:
                break
            counted += 1
        if counted:
            start = record.start
    if counted < rows or start is None:
        raise InputError(
            f"{name}: footerRows is {rows}, but the file has only {counted} rows below its header"
        )
    with path.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", errors="replace")
    return CsvFooter(start, text)


def copy_head(path: Path, size: int, target: Path) -> Path:
    """Copy the first ``size`` bytes of ``path`` to ``target``; returns ``target``."""
    with path.open("rb") as source, target.open("wb") as out:
        left = size
        while left and (chunk := source.read(min(CHUNK_BYTES, left))):
            out.write(chunk)
            left -= len(chunk)
    return target


def _tail_records(
    path: Path, wanted: int, *, delimiter: str, quote: str, comment: str | None
) -> list[_Record]:
    """The whole records at the end of ``path``, in order: at least ``wanted`` that hold
    text, where the file has them.

    Read backwards from the end, a line starts a record when the quotes from it to the end
    of the file are even in number (the line breaks of a quoted value are inside its
    record), so records are found wherever the read starts. Lines before the first record
    found are one record of None fields.
    """
    size = path.stat().st_size
    tail = TAIL_BYTES
    mark = quote.encode()
    while True:
        start = max(size - tail, 0)
        with path.open("rb") as handle:
            handle.seek(start)
            data = handle.read()
        if start > 0:
            if b"\n" not in data:
                tail *= 2  # one line longer than the read
                continue
            cut = data.find(b"\n") + 1  # a line cut at the start is not read
            start, data = start + cut, data[cut:]
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()  # the empty piece after the last line end
        starts = []
        offset = start
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
        records: list[_Record] = []
        last = len(lines)  # the line after the record being read
        quotes = 0
        for n in range(len(lines) - 1, -1, -1):
            quotes += lines[n].count(mark)
            if quotes % 2:
                continue  # inside a quoted value
            text = b"\n".join(lines[n:last]).decode("utf-8", errors="replace")
            if comment and text.startswith(comment):
                records.append(_Record(starts[n], None, is_comment=True))
            else:
                records.append(_Record(starts[n], _fields(text, delimiter, quote)))
            last = n
        if last > 0:
            records.append(_Record(starts[0], None))
        records.reverse()
        filled = sum(1 for record in records if record.fields != [])
        if start == 0 or filled >= wanted:
            return records
        tail *= 2


def _fields(text: str, delimiter: str, quote: str) -> list[str] | None:
    """The fields of one record's text ([] for a blank line), or None when it does not
    parse as one record."""
    try:
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote, strict=True
        )
        found = list(reader)
    except csv.Error:
        return None
    if len(found) > 1:
        return None
    return found[0] if found else []
