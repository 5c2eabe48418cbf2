"""Reading a CSV file by its Frictionless CSV Dialect: one implementation for every step.

csv_to_parquet, validate, transform and enrich take the same dialect options and read files
the same way (validate, transform and enrich also write their CSV output back in it, so the
next step reads it with the same options):

- Header names: an empty name becomes ``column_<position>`` (1-based, as with ``header: false``);
  a repeated name gets ``_2``, ``_3``... in order of appearance, skipping names already taken.
- A header line that ends with the delimiter has an unnamed last column (``unnamed_last``),
  and as many more unnamed ones before it as it ends with delimiters (``unnamed_trailing``:
  Excel pads every line to the sheet's used width).
- An Excel ``sep=;`` first line is skipped and gives the delimiter; a different explicit
  ``delimiter`` option is an error.
- ``headerRows: [n]`` (Frictionless' Table Dialect) puts the header on row ``n`` as a
  spreadsheet shows the file (a ``sep=`` line hidden, blank lines counted): the rows above
  it (a title, as in Statistics Norway's PX-Web exports) are skipped, row numbers in
  messages and rejects stay the file's own, and a step writing CSV writes them back.
- ``footerRows: n`` leaves out the footnotes below the table, its last ``n`` rows that hold
  a value; without the option, trailing rows that look like footnotes are an InputError
  that names them (``footers``); ``0`` reads them as data. A step writing CSV writes the
  footer back below its rows.
- ``delimiter: "auto"`` sniffs the first 64 KB among ``, ; TAB |``; ``encoding: "auto"`` reads
  UTF-16 after its byte-order mark, UTF-8 (with or without BOM) when the whole file is valid
  UTF-8, else cp1252 or Mac Roman, whichever reads the letters inside words as letters.
  Each CSV step's summary says what they chose per file (``encodings``, ``delimiters``).
- A workbook (an .xlsx or .xls file) is refused by its first bytes, whatever its name.
- Lines ended by CR alone (Excel for Mac's "CSV (Macintosh)") are read as lines: polars
  reads only LF and CRLF, so such a file is copied with LF first.
- A step writing CSV ends its lines as the file's first line ends: CRLF (Excel on Windows,
  most portals) or LF. A file mixing them is written with that one kind throughout; a file
  of CR line ends is written with CR.
- Every column is read as text: typing is the job of the Table Schema.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.objects import CHUNK_BYTES
from pipelines.steps.contract import ConfigError, InputError
from pipelines.steps.csv_quotes import StrayQuotes
from pipelines.steps.footers import (
    check_footer_rows,
    copy_head,
    csv_footer,
    csv_footnotes,
    footnotes_message,
)
from pipelines.steps.tables import (
    check_not_workbook,
    column_names,
    encoding_message,
    filename,
    first_invalid_utf8,
    reading,
    scan_table,
    sink_table,
    table_format,
    transcode,
    western_encoding,
)

if TYPE_CHECKING:
    import polars as pl

# Encodings polars reads itself; anything else is transcoded to UTF-8 first.
NATIVE_ENCODINGS = ("utf-8", "utf-8-sig")
SNIFF_BYTES = 64 * 1024
# The header and the first row are read from this much of the file's start when they end
# there: a polars scan of the file for one row costs 10-130 ms on a large file.
HEAD_BYTES = 1024 * 1024
SNIFF_DELIMITERS = ",;\t|"
DEFAULT_DELIMITER = ","
# Excel writes (and reads) this first line to name the delimiter, sometimes quoted.
_SEP_LINE = re.compile(r'^\ufeff?"?sep=(.)"?\r?\n')


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """The CSV Dialect options of the steps that read CSV, named as in Frictionless.

    ``delimiter`` defaults to ``,`` (or a ``sep=`` first line); ``"auto"`` sniffs it.
    ``headerRows`` is ``[n]``, the row of the header (1-based); rows above it are skipped.
    ``footerRows`` is the number of rows of notes below the table to leave out; null (the
    default) checks that none looks like a footnote, 0 reads every row as data.
    ``encoding`` may be ``"auto"``. ``decimalChar`` is the default of every number field.
    """

    delimiter: str | None = None
    quote_char: str = '"'
    double_quote: bool = True
    header: bool = True
    header_rows: list[int] | None = None
    footer_rows: int | None = None
    encoding: str = "utf-8"
    decimal_char: str = "."
    comment_char: str | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """What was learnt about one file before reading it: where the table starts, its names."""

    delimiter: str
    skip_rows: int  # rows before the header (the ``sep=`` line, the rows above headerRows)
    names: list[str]
    unnamed_last: str | None  # the column a trailing delimiter makes, if any
    # Whether the file holds the quote character at all: a file without it has no quoted
    # value to check, and no quoted "" to read as missing.
    has_quotes: bool = True
    has_sep_line: bool = False
    # The rows above the header (headerRows), as text, and the row number of the header as
    # a spreadsheet shows the file (of the first row, without a header).
    preamble: str = ""
    first_row: int = 1
    footer: str = ""  # the rows below the table (footerRows), as text
    # The line end rows are written back with: the file's first ("\r\n" or "\n"), or "\r"
    # for a file of CR line ends (read from a copy with LF ones).
    line_end: str = "\n"
    # The unnamed columns at the end of the header (a line ending with ";;;"), last included.
    unnamed_trailing: tuple[str, ...] = ()
    # Which of the characters ``read_layout`` was asked to look for (``looked_for``) the file
    # holds, found in its scan for the quote, so that copying the file's lines (csv_lines)
    # need not read it again.
    looked_for: tuple[str, ...] = ()
    held: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CsvFile:
    """A CSV input ready for polars: a UTF-8 copy (or the file itself) and its layout."""

    path: Path
    encoding: str  # the file's own encoding, as detected or configured
    layout: Layout


def check_dialect(dialect: CsvDialect) -> str:
    """Return the normalised encoding name (or ``auto``); raises ConfigError naming the option."""
    delimiter = dialect.delimiter
    if (
        delimiter is not None
        and delimiter != "auto"
        and (len(delimiter) != 1 or delimiter in "\r\n")
    ):
        raise ConfigError("delimiter", 'must be one character other than a line break, or "auto"')
    if len(dialect.quote_char) != 1 or dialect.quote_char in "\r\n":
        raise ConfigError("quoteChar", "must be a single character other than a line break")
    if not dialect.double_quote:
        raise ConfigError("doubleQuote", "only doubled quotes (true) are supported")
    if dialect.header_rows is not None and (
        len(dialect.header_rows) != 1
        or not isinstance(dialect.header_rows[0], int)
        or isinstance(dialect.header_rows[0], bool)
        or dialect.header_rows[0] < 1
    ):
        raise ConfigError(
            "headerRows",
            "must be a list of one row number, 1-based (a header of several rows is not supported)",
        )
    if dialect.header_rows is not None and not dialect.header:
        raise ConfigError("headerRows", "names the header row; with header false there is none")
    check_footer_rows(dialect.footer_rows)
    if dialect.decimal_char not in (".", ","):
        raise ConfigError("decimalChar", "must be '.' or ','")
    if dialect.decimal_char == "," and delimiter == ",":
        raise ConfigError("decimalChar", "',' needs a delimiter other than ','")
    if dialect.encoding == "auto":
        return "auto"
    try:
        return codecs.lookup(dialect.encoding).name
    except LookupError:
        raise ConfigError("encoding", f"unknown encoding {dialect.encoding!r}") from None


@contextmanager
def open_csv(
    source: Path,
    dialect: CsvDialect,
    encoding: str,
    directory: Path,
    *,
    name: str,
    check_quotes: bool = True,
    look_for: tuple[str, ...] = (),
) -> Iterator[CsvFile]:
    """Make ``source`` readable by polars and find its layout; ``encoding`` from check_dialect.
    Whether the file holds each of ``look_for`` is found with the quote (``Layout.held``).

    An InputError raised inside the block by a file that is not valid UTF-8 is replaced by one
    naming the offset and line of the first bad byte. Raises InputError for an empty file, a
    workbook, bytes not in ``encoding`` and a file whose delimiter cannot be found; with
    ``check_quotes``, also at the end of the block for a quote inside a quoted value that is
    not doubled, which polars reads without a word (``csv_quotes``), naming its row.
    """
    if source.stat().st_size == 0:
        raise InputError(f"{name} is empty")
    check_not_workbook(source, name)
    used = detect_encoding(source) if encoding == "auto" else encoding
    path = source if used in NATIVE_ENCODINGS else transcode(source, used, directory)
    cr_line_ends = has_cr_line_ends(path)
    if cr_line_ends:
        path = with_lf_line_ends(path, directory)
    try:
        layout = read_layout(path, dialect, name=name, look_for=look_for)
        if cr_line_ends:
            # Read from the copy with LF, written back as uploaded.
            layout = dataclasses.replace(layout, line_end="\r")
        path, layout = _without_footer(path, dialect, layout, directory, name=name)
        file = CsvFile(path, used, layout)
        if not check_quotes:
            yield file
            return
        if not file.layout.has_quotes:
            yield file
            return
        quotes = StrayQuotes.start(path, file.layout.delimiter, dialect.quote_char)
        try:
            yield file
        except BaseException:
            quotes.stop()
            raise
        if quotes.found():
            raise_malformed_row(path, dialect, file.layout, name=name)
    except InputError:
        if used in NATIVE_ENCODINGS:
            check_utf8(path, name)
        raise


def _without_footer(
    path: Path, dialect: CsvDialect, layout: Layout, directory: Path, *, name: str
) -> tuple[Path, Layout]:
    """The file to read without its footer (a copy, for ``footerRows``) and its layout.

    Without ``footerRows``, raises InputError when the last rows look like footnotes.
    """
    lines = {
        "delimiter": layout.delimiter,
        "quote": dialect.quote_char,
        "comment": dialect.comment_char,
    }
    if dialect.footer_rows is None:
        notes = csv_footnotes(path, **lines, width=len(layout.names))
        if notes:
            raise InputError(footnotes_message(name, notes))
        return path, layout
    if dialect.footer_rows == 0:
        return path, layout
    footer = csv_footer(
        path,
        dialect.footer_rows,
        **lines,
        body_start=_body_start(path, dialect, layout),
        name=name,
    )
    body = copy_head(path, footer.offset, directory / f"{path.stem}.body{path.suffix}")
    return body, dataclasses.replace(layout, footer=footer.text)


def _body_start(path: Path, dialect: CsvDialect, layout: Layout) -> int:
    """The byte offset of the line after the header (of the first line, without one)."""
    with path.open("rb") as handle:
        if layout.has_sep_line:
            handle.readline()
        elif handle.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            handle.seek(0)
        handle.seek(handle.tell() + len(layout.preamble.encode()))
        if dialect.header:
            handle.readline()
        return handle.tell()


def has_cr_line_ends(path: Path) -> bool:
    """Whether lines end with CR alone (Excel for Mac's "CSV (Macintosh)"), which polars
    does not take for line ends: told by the file's first ``SNIFF_BYTES``."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    return b"\r" in head and b"\n" not in head


def with_lf_line_ends(path: Path, directory: Path) -> Path:
    """A copy of ``path`` under ``directory`` with every CR made LF; returns its path."""
    target = directory / f"{path.stem}.lf{path.suffix}"
    with path.open("rb") as source, target.open("wb") as out:
        while chunk := source.read(CHUNK_BYTES):
            out.write(chunk.replace(b"\r", b"\n"))
    return target


def scan_options(dialect: CsvDialect, layout: Layout) -> dict[str, Any]:
    """``polars.scan_csv`` arguments reading a file of this layout with every column as text."""
    return {
        "separator": layout.delimiter,
        "quote_char": dialect.quote_char,
        # The header row is read as one, not skipped: polars takes a table's width from its
        # first row read, and a first data row that stops short (a blank line, a header
        # ending in a delimiter the rows lack) then failed the file.
        "has_header": dialect.header,
        "skip_rows": layout.skip_rows,
        "new_columns": layout.names,
        "comment_prefix": dialect.comment_char,
        "decimal_comma": dialect.decimal_char == ",",
        # Text unless a schema field says otherwise: a guess turns the code 0101 into 101.
        "infer_schema": False,
    }


def first_rows(path: Path, options: dict[str, Any], rows: int) -> pl.DataFrame:
    """The first ``rows`` rows of a CSV as ``polars.scan_csv(path, **options)`` reads them.

    Parsed from the first ``HEAD_BYTES`` of the file when that holds the whole file, or the
    start of a row after them (so they ended there); else, or when the start does not
    parse, from the file itself, which raises polars' own error.
    """
    import polars as pl

    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES + 1)
    whole = len(head) <= HEAD_BYTES
    if not whole:
        # Whole lines only; a cut inside a quoted value shows as too few rows or an error.
        head = head[: head.rfind(b"\n", 0, HEAD_BYTES) + 1]
    if head:
        try:
            found = pl.scan_csv(io.BytesIO(head), **{**options, "n_rows": rows + 1}).collect()
        except pl.exceptions.PolarsError:
            pass
        else:
            if whole or found.height > rows:
                return found.head(rows)
    return pl.scan_csv(path, **{**options, "n_rows": rows}).collect()


def first_data_row(dialect: CsvDialect, layout: Layout) -> int:
    """The number of the first data row as a spreadsheet counts it (the header is row 1,
    or the row ``headerRows`` names)."""
    return layout.first_row + 1 if dialect.header else layout.first_row


def sink_options(dialect: CsvDialect, layout: Layout) -> dict[str, Any]:
    """``sink_csv`` arguments writing rows back in the file's own delimiter, quotes and
    decimal char (of the number columns a step made; text is written as it is)."""
    return {
        "separator": layout.delimiter,
        "quote_char": dialect.quote_char,
        "include_header": dialect.header,
        "decimal_comma": dialect.decimal_char == ",",
        "line_terminator": layout.line_end,
    }


def header_as_read(layout: Layout) -> dict[str, str]:
    """Renames that give a written header the file's empty last name back (a trailing ``;``)."""
    return {layout.unnamed_last: ""} if layout.unnamed_last is not None else {}


def restore_dialect(written: Path, file: CsvFile, target: Path) -> Path:
    """Give a UTF-8 CSV written with ``sink_options`` the file's ``sep=`` line, the rows
    above its header (``headerRows``) and below its table (``footerRows``) and its encoding;
    all of its lines end as the file's rows are written (``Layout.line_end``).

    Returns the path holding the result: ``written`` itself when nothing is to be restored.
    """
    layout = file.layout
    if not (layout.has_sep_line or layout.preamble or layout.footer) and (
        file.encoding in NATIVE_ENCODINGS
    ):
        return written
    encoder = codecs.getincrementalencoder(file.encoding)()
    with written.open(encoding="utf-8", newline="") as source, target.open("wb") as out:
        if layout.has_sep_line:
            out.write(encoder.encode(f"sep={layout.delimiter}{layout.line_end}"))
        # Line ends as the rows are written: one kind in the file.
        out.write(encoder.encode(_with_line_end(layout.preamble, layout.line_end)))
        while chunk := source.read(CHUNK_BYTES):
            out.write(encoder.encode(chunk))
        out.write(encoder.encode(_with_line_end(layout.footer, layout.line_end), final=True))
    return target


def _with_line_end(text: str, line_end: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", line_end)


@dataclass(frozen=True, slots=True)
class StepTable:
    """A step's input table and how to write the step's rows back in the input's own form.

    ``sink(rows)`` is the lazy sink of the rows (run it with ``polars.collect_all``);
    ``written()`` then gives the file to store: Parquet, or CSV in the input's delimiter,
    quotes, ``sep=`` line and encoding. ``locate`` is ``reading``'s: for a CSV, it names
    the row polars failed on without saying which.
    """

    frame: pl.LazyFrame
    columns: list[str]
    sink: Callable[[pl.LazyFrame], pl.LazyFrame]
    written: Callable[[], Path]
    first_row: int = 2  # the number of the first data row, as a spreadsheet shows the file
    locate: Callable[[], None] | None = None
    file: CsvFile | None = None  # a CSV input's file as opened


def note_detected(
    summary: dict[str, Any], name: str, dialect: CsvDialect, encoding: str, file: CsvFile
) -> None:
    """Add to a step's ``summary`` what detection chose for the input ``name`` (its
    ``encodings`` and ``delimiters``, where the options say ``"auto"``): the data owner can
    then pin it."""
    if encoding == "auto":
        summary.setdefault("encodings", {})[name] = file.encoding
    if dialect.delimiter == "auto":
        summary.setdefault("delimiters", {})[name] = file.layout.delimiter


@contextmanager
def step_table(
    source: Path, key: str, dialect: CsvDialect, encoding: str, directory: Path
) -> Iterator[StepTable]:
    """Read a step input: Parquet with its own types, CSV as text by ``dialect``.

    ``encoding`` comes from check_dialect; the output is written under ``directory`` with
    the input's name. Raises InputError as ``open_csv`` does.
    """
    import polars as pl

    name = filename(key)
    target = directory / name
    if table_format(key) == "parquet":
        frame = scan_table(source, key)
        with reading(name):
            columns = frame.collect_schema().names()
        yield StepTable(
            frame, columns, lambda rows: sink_table(rows, target, "parquet"), lambda: target
        )
        return
    utf8 = directory / f"{PurePosixPath(name).stem}.out.utf8.csv"
    with open_csv(source, dialect, encoding, directory, name=name) as file:

        def sink(rows: pl.LazyFrame) -> pl.LazyFrame:
            # The unnamed last column of a header ending in the delimiter, if a step kept it.
            kept = set(rows.collect_schema().names())
            names = {old: new for old, new in header_as_read(file.layout).items() if old in kept}
            return rows.rename(names).sink_csv(
                utf8, lazy=True, **sink_options(dialect, file.layout)
            )

        yield StepTable(
            pl.scan_csv(file.path, **scan_options(dialect, file.layout)),
            list(file.layout.names),
            sink,
            lambda: restore_dialect(utf8, file, target),
            first_data_row(dialect, file.layout),
            lambda: raise_malformed_row(file.path, dialect, file.layout, name=name),
            file,
        )


def detect_encoding(path: Path) -> str:
    """``utf-16`` after a UTF-16 byte-order mark (Excel's "Unicode Text" export), else
    ``utf-8-sig`` when the whole file is valid UTF-8, else ``cp1252`` (Windows' Western)
    or ``mac_roman`` (Excel for Mac's "CSV (Macintosh)"), as ``western_encoding`` tells."""
    with path.open("rb") as handle:
        start = handle.read(len(codecs.BOM_UTF16))
    if start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return "utf-16"  # the codec reads the mark for the byte order, and drops it
    return "utf-8-sig" if first_invalid_utf8(path) is None else western_encoding(path)


def check_utf8(path: Path, name: str) -> None:
    """Raise InputError at the first byte that is not UTF-8, if any."""
    invalid = first_invalid_utf8(path)
    if invalid is not None:
        raise InputError(encoding_message(name, "UTF-8", *invalid, fits=western_encoding(path)))


def read_layout(
    path: Path, dialect: CsvDialect, *, name: str, look_for: tuple[str, ...] = ()
) -> Layout:
    """Find the delimiter, the lines to skip and the column names of a UTF-8 file, and
    whether it holds the quote character and each of ``look_for`` (``Layout.held``).

    Raises InputError when the file is empty, not UTF-8, or its delimiter cannot be found.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    declared = _SEP_LINE.match(head)
    if declared and dialect.delimiter not in (None, "auto", declared.group(1)):
        raise InputError(
            f"{name} declares sep={declared.group(1)} on its first line, but the delimiter "
            f"option is {dialect.delimiter!r}; remove the option or make them agree"
        )
    first_line_end = head.find("\n")
    line_end = "\r\n" if first_line_end > 0 and head[first_line_end - 1] == "\r" else "\n"
    # The rows from here on as polars reads them (a byte-order mark is no text).
    head = head[declared.end() :] if declared else head.lstrip("\ufeff")
    first_row = dialect.header_rows[0] if dialect.header_rows else 1
    known = declared.group(1) if declared else dialect.delimiter
    preamble = _rows_above(
        head, first_row - 1, dialect, known if known not in (None, "auto") else None, name=name
    )
    skip_rows = (1 if declared else 0) + first_row - 1
    if declared:
        delimiter = declared.group(1)
    elif dialect.delimiter == "auto":
        delimiter = sniff_delimiter(head[len(preamble) :], name=name)
    else:
        delimiter = dialect.delimiter or DEFAULT_DELIMITER
    if dialect.decimal_char == "," and delimiter == ",":
        if declared or dialect.delimiter == "auto":
            raise InputError(f"{name} is delimited by ',', which cannot also be the decimalChar")
        raise ConfigError("decimalChar", "',' needs a delimiter other than ','")

    def layout(names: list[str], trailing: int = 0) -> Layout:
        unnamed_last = names[-1] if trailing else None
        # The scan for the others goes on past the first quote.
        held = characters_in(path, dialect.quote_char, *look_for) if names else None
        return Layout(
            delimiter,
            skip_rows,
            names,
            unnamed_last,
            dialect.quote_char in held if held is not None else True,
            has_sep_line=declared is not None,
            preamble=preamble,
            line_end=line_end,
            first_row=first_row,
            unnamed_trailing=tuple(names[len(names) - trailing :]) if trailing else (),
            looked_for=look_for if held is not None else (),
            held=frozenset(held or ()).intersection(look_for),
        )

    def locate() -> None:
        raise_malformed_row(path, dialect, layout([]), name=name)

    with reading(name, locate=locate):
        first = first_rows(
            path,
            {
                "has_header": False,
                "separator": delimiter,
                "quote_char": dialect.quote_char,
                "comment_prefix": dialect.comment_char,
                "skip_rows": skip_rows,
                "infer_schema": False,
                # polars may parse past the first row: a longer row further down is the
                # full read's to report, with its number.
                "truncate_ragged_lines": True,
            },
            1,
        )
    if first.height == 0:
        if dialect.header_rows:
            raise InputError(f"{name} has no row {first_row} (headerRows)")
        raise InputError(f"{name} is empty")
    raw = list(first.row(0))
    if not dialect.header:
        return layout([f"column_{n + 1}" for n in range(len(raw))])
    if all(value is None or not value.strip() for value in raw):
        if dialect.header_rows:
            raise InputError(f"{name} has no column names on row {first_row} (headerRows)")
        raise InputError(f"{name} has no column names on its first line")
    trailing = 0
    while len(raw) - trailing > 1 and not (raw[len(raw) - 1 - trailing] or "").strip():
        trailing += 1
    return layout(column_names(raw), trailing)


def _rows_above(
    head: str, rows: int, dialect: CsvDialect, delimiter: str | None, *, name: str
) -> str:
    """The text of the first ``rows`` rows of ``head`` (rows as the csv module reads them:
    a quoted line break stays inside its row); raises InputError when ``head`` ends first."""
    if rows == 0:
        return ""
    # Quotes and line breaks decide where a row ends, and the delimiter where a quoted value
    # may start: to be sniffed below the rows skipped, it is not known yet.
    texts = row_texts(head, dialect.quote_char, rows, delimiter=delimiter or DEFAULT_DELIMITER)
    text = "".join(texts) if len(texts) == rows else ""
    if not text.endswith("\n"):
        # The head is the file's first SNIFF_BYTES, or the whole file when shorter.
        within = (
            f" within its first {SNIFF_BYTES // 1024} KB" if len(head) > SNIFF_BYTES // 4 else ""
        )
        raise InputError(f"{name} has no row {rows + 1} for the header (headerRows){within}")
    return text


def row_texts(head: str, quote: str, most: int, *, delimiter: str = ",") -> list[str]:
    """The text of each of the first ``most`` rows of ``head``, as the csv module reads rows
    (a quoted line break stays inside its row), up to a row it cannot read; the last may
    be cut where ``head`` ends."""
    read: list[str] = []

    def lines() -> Iterator[str]:
        for line in io.StringIO(head, newline=""):
            read.append(line)
            yield line

    texts = []
    try:
        for _ in csv.reader(lines(), delimiter=delimiter, quotechar=quote):
            texts.append("".join(read))
            read.clear()
            if len(texts) == most:
                break
    except csv.Error:
        pass
    return texts


def characters_in(path: Path, *characters: str) -> set[str]:
    """Which of ``characters`` (as UTF-8) the file holds, in one scan of it.

    Read in chunks into one buffer, not memory-mapped: a mapped file's pages count in the
    step's resident memory, which then grew with the file; a new chunk each read cost ~20 %
    more time than the search itself.
    """
    marks = {character: character.encode() for character in characters}
    longest = max(len(mark) for mark in marks.values())
    found: set[str] = set()
    # A mark across two chunks: the last bytes of one are kept before the next.
    carried = longest - 1
    buffer = bytearray(carried + CHUNK_BYTES)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        kept = 0
        while len(found) < len(marks):
            got = handle.readinto(view[kept:])
            if not got:
                break
            end = kept + got
            found.update(
                character
                for character, mark in marks.items()
                if character not in found and buffer.find(mark, 0, end) >= 0
            )
            kept = min(carried, end)
            view[:kept] = bytes(view[end - kept : end])
    return found


def raise_malformed_row(path: Path, dialect: CsvDialect, layout: Layout, *, name: str) -> None:
    """Raise InputError naming the first row that is longer than the header or has a broken
    quote (or a lone quote in a value not quoted), if one is or has.

    Called once polars has failed on such a row without saying where: a pass over the file
    with the csv module (about 20 MB/s), which stops at that row. Rows are numbered as a
    spreadsheet shows them (the ``sep=`` line hidden, blank lines counted, the header row 1);
    comment lines, which polars skips, are not counted. A layout without names yet (its
    header being read) has only its quotes checked.
    """
    width = len(layout.names) or None
    first = "the header" if dialect.header else "the first row"
    quote = dialect.quote_char
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        if layout.has_sep_line:
            handle.readline()
        handle.read(len(layout.preamble))  # the rows above the header (headerRows)
        read: list[str] = []  # the lines of the record being read

        def lines() -> Iterator[str]:
            for line in handle:
                read.append(line)
                yield line

        records = csv.reader(lines(), delimiter=layout.delimiter, quotechar=quote, strict=True)
        number = layout.first_row - 1
        while True:
            read.clear()
            try:
                record = next(records)
            except StopIteration:
                return
            except csv.Error as error:
                if "field larger than field limit" in str(error):
                    return  # polars' words must do
                problem = (
                    "a quoted value that is never closed"
                    if "unexpected end of data" in str(error)
                    else "a quoted value followed by more text before the delimiter"
                )
                raise InputError(
                    f"{name}: row {number + 1} has {problem}; a {quote} inside a quoted value "
                    f"is written twice ({quote}{quote}): correct the file, or, if its values "
                    f"hold {quote} but are not quoted, set the quoteChar option to a character "
                    "the file does not hold"
                ) from None
            if dialect.comment_char and record and record[0].startswith(dialect.comment_char):
                continue
            number += 1
            if width is not None and len(record) > width:
                # A header of one name, then a wider row: a title above the real header.
                hint = (
                    f"; if the rows above are a title, set headerRows to [{number}]"
                    if width == 1 and dialect.header and not dialect.header_rows
                    else ""
                )
                raise InputError(
                    f"{name}: row {number} has {len(record)} fields, {first} {width} "
                    f"(ragged rows){hint}"
                )
            lone = _lone_quote(record, "".join(read), quote)
            if lone is not None:
                # polars reads on from it as from an opening quote, and fails further on.
                doubled = lone.replace(quote, quote * 2)
                raise InputError(
                    f"{name}: row {number} has a {quote} inside a value that is not quoted "
                    f"({lone!r}), which cannot be read: quote the value and write the {quote} "
                    f"twice ({quote}{doubled}{quote}), or set the quoteChar option to a "
                    "character the file does not hold"
                )


def _lone_quote(record: list[str], text: str, quote: str) -> str | None:
    """The first value of a record that holds an odd number of quotes without being quoted
    in the record's ``text``, if one does; a quoted value holds its quotes doubled."""
    for value in record:
        if value.count(quote) % 2 == 1:
            quoted = quote + value.replace(quote, quote * 2) + quote
            if quoted not in text:
                return value
    return None


def sniff_delimiter(head: str, *, name: str) -> str:
    """The delimiter csv.Sniffer finds in the first complete lines; raises InputError."""
    sample = head.lstrip("\ufeff")
    if "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    first_line = sample.split("\n", 1)[0]
    if not any(candidate in first_line for candidate in SNIFF_DELIMITERS):
        return DEFAULT_DELIMITER  # one column: any delimiter reads it the same
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        pass
    # The sniffer wants two consistent lines; a header alone still shows its delimiter.
    counts = {candidate: first_line.count(candidate) for candidate in SNIFF_DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    if sorted(counts.values())[-2] == counts[best]:
        raise InputError(f"cannot tell the delimiter of {name}; set the delimiter option")
    return best
