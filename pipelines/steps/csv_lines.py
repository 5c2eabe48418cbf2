"""A CSV's rows written out as the very lines they were read from, less some of them.

validate keeps the valid rows of a CSV file. Writing them back through polars' CSV writer
costs as much as reading them (the file's every value is formatted again) and changes how
they look: quotes polars finds unneeded are dropped, a header's empty or repeated names come
back renamed. Copying the lines themselves costs a third of that and keeps each row's bytes
as uploaded. It holds only where one line is one row, which ``copy_rows`` checks: no comment
lines (polars skips them, so they have no row number) and no quoted value across lines (the
count of lines then differs from the count of rows).

Where every line ends in ``\\n`` alone, the lines are copied as byte ranges: one polars pass
finds where the lines to leave out start and end, and the bytes between them are copied
while a second thread takes their sha256, so the store need not read the file again. Else
(``\\r`` line ends, or more lines to leave out than that copy handles quickly) polars reads
the lines and writes them again, each ending as the file's first line does.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import itertools
import os
import queue
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.steps.csv_dialect import characters_in
from pipelines.steps.parquet_spill import ParquetSpill

if TYPE_CHECKING:
    import polars as pl

    from pipelines.steps.csv_dialect import CsvDialect, CsvFile

# Read as the delimiter, so that a whole line is one value; a file holding this byte
# (ASCII's unit separator, never seen in text) is not copied by lines.
_LINE_SEPARATOR = "\x1f"
# What copy_rows needs to know the file holds: open_csv's look_for finds it beside the quote.
LOOKED_FOR = (_LINE_SEPARATOR, "\r")
# Each range left out costs Python a few microseconds in the byte copy; past one per this
# many bytes of file (and past the first _FEW_RANGES), polars' copy of the lines is cheaper.
_BYTES_PER_RANGE = 4096
_FEW_RANGES = 16384
_BLOCK_BYTES = 1024 * 1024
# Blocks read ahead of the sha256 thread, each in a buffer of its own.
_BUFFERS = 3
# Ranges to leave out are kept on disk this many to a file, not all held as Python ints.
_RANGES_PER_SLICE = 65536
# Line lengths taken from polars at a time.
_LINES_PER_BATCH = 256 * 1024
# os.writev takes at most IOV_MAX (1024 on Linux) buffers a call.
_VIEWS_PER_WRITE = 512


@dataclass(frozen=True, slots=True)
class CopiedRows:
    """What ``copy_rows`` wrote: the sha256 of the file when it took it, else None."""

    sha256: str | None


@dataclass(frozen=True, slots=True)
class Lines:
    """Where a file's rows are among its lines: ``skip`` lines come before the header (or
    the first row), which is row ``first_row``; ``count`` lines from it on are the rows."""

    skip: int
    first_row: int
    count: int


def copy_rows(
    file: CsvFile, dialect: CsvDialect, *, leave_out: pl.Series, rows: int, target: Path
) -> CopiedRows | None:
    """Write ``file``'s header line and data lines, less the rows numbered in ``leave_out``
    (a spreadsheet's numbers: the header is row 1, or the row of ``headerRows``), to
    ``target``; None where it cannot.

    ``rows`` is the count of rows polars read after the header (blank ones included). The
    lines are written as UTF-8 without a byte-order mark, a ``sep=`` line or the rows above
    the header, each ending in the file's ``line_end``, as ``sink_csv`` with
    ``sink_options`` writes them, for ``restore_dialect``. Returns None (``target`` then
    holds nothing of use) where lines are not rows: comment lines, a quoted value across
    lines, or the separator byte in the file.
    """
    if dialect.comment_char:
        return None
    layout = file.layout
    # open_csv's scan found them where it looked for them (look_for=LOOKED_FOR).
    looked = set(LOOKED_FOR) <= set(layout.looked_for)
    held = layout.held if looked else characters_in(file.path, *LOOKED_FOR)
    if _LINE_SEPARATOR in held:
        return None
    lines = rows + (1 if dialect.header else 0)
    # Lines, not rows: the sep= line and the lines of the rows above the header.
    skip = int(layout.has_sep_line) + layout.preamble.count("\n")
    at = Lines(skip=skip, first_row=layout.first_row, count=lines)
    size = file.path.stat().st_size
    few = len(leave_out) <= max(_FEW_RANGES, size // _BYTES_PER_RANGE)
    # A file read with LF line ends but written back with others goes through polars.
    if few and "\r" not in held and layout.line_end == "\n":
        sha256 = _copy_ranges(file.path, at, leave_out=leave_out, target=target)
        if sha256 is not None:
            return CopiedRows(sha256)
    if _copy_lines(file.path, at, leave_out=leave_out, target=target, line_end=layout.line_end):
        return CopiedRows(None)
    return None


def _copy_lines(
    path: Path, at: Lines, *, leave_out: pl.Series, target: Path, line_end: str = "\n"
) -> bool:
    """``copy_rows`` through polars: the lines read as text (polars drops the ``\\r`` of
    a ``\\r\\n``) and written again, each ending in ``line_end``."""
    import polars as pl

    count = _LineCount()
    _lines_of(path, skip=at.skip).with_row_index("__line", offset=at.first_row).map_batches(
        count.see, streamable=True
    ).filter(~pl.col("__line").is_in(leave_out.implode())).select("line").sink_csv(
        target,
        include_header=False,
        quote_style="never",
        null_value="",
        line_terminator=line_end,
    )
    return count.count == at.count


def _copy_ranges(path: Path, at: Lines, *, leave_out: pl.Series, target: Path) -> str | None:
    """``copy_rows`` as byte ranges, for a file whose lines all end in ``\\n``; returns the
    sha256 of ``target``, or None where the lines polars read do not add up to the file."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        # polars reads past a byte-order mark; the copy leaves it out, as polars' copy does.
        start = len(codecs.BOM_UTF8) if handle.read(3) == codecs.BOM_UTF8 else 0
    last = at.skip + at.count
    if last == 0:
        return None
    spans = _Spans(target.with_name(f"{target.name}.ranges"), size)
    try:
        spans.find(path, at, leave_out, first=start)
        if spans.lines != last or spans.end not in (size, size + 1):
            return None  # the last line ends the file, with or without \n
        newline = spans.end == size + 1 and not spans.last_left_out
        try:
            return _write_kept(path, spans, first=start, size=size, target=target, newline=newline)
        except _NotLines:
            return None
    finally:
        spans.remove()


class _NotLines(Exception):
    """A range to leave out does not end where a line does."""


class _Spans:
    """The byte ranges of the lines to leave out, in order, found by ``find`` in one pass
    over the file's lines and kept in Parquet files in ``folder``, ``_RANGES_PER_SLICE``
    to a file, read back a file at a time each time they are iterated: held whole, a
    million of them (1 % of a 10 GB file's rows) took ~110 MB as Python ints.

    The lines come from polars in batches, in order. The numbers to leave out within a
    batch are found by two binary searches in them, and their ranges taken from the
    batch's line ends by position: ``is_in`` over all the numbers held a hash set of them
    (~20 MB at a million), built while polars' allocator still held validate's pass, and
    this was validate's peak on a 10 GB file.
    """

    def __init__(self, folder: Path, size: int) -> None:
        self._folder, self._size = folder, size
        self._spill = ParquetSpill(folder, rows_per_file=_RANGES_PER_SLICE)
        self.lines = 0
        self.end = 0
        self.last_left_out = False

    def find(self, path: Path, at: Lines, leave_out: pl.Series, *, first: int) -> None:
        """Read the lines of ``path`` (from byte ``first``); keep the ranges of the lines
        before the header and of the rows ``leave_out`` numbers; count the lines, and note
        where the last one ends (past the file's size where it has no ``\\n``)."""
        import polars as pl

        lengths = _lines_of(path).select(
            (pl.col("line").str.len_bytes().cast(pl.Int64).fill_null(0) + 1).alias("length")
        )
        # Row first_row is the line after the skipped ones. The batch's lines are turned
        # into rows, not the rows into lines: that would allocate a copy of leave_out,
        # where polars' allocator has yet to give back what validate's pass held.
        to_row = at.first_row - at.skip - 1
        if not leave_out.is_sorted():  # validate's are: its plan keeps the rows' order
            leave_out = leave_out.sort()
        end = first
        for batch in lengths.collect_batches(chunk_size=_LINES_PER_BATCH):
            length = batch.get_column("length")
            if length.is_empty():
                continue
            ends = length.cum_sum() + end
            number = self.lines + 1  # the batch's first line
            height = len(length)
            # A Series is a sequence: bisect reads only the ~20 numbers it probes.
            begin = bisect.bisect_left(leave_out, number + to_row)
            stop = bisect.bisect_left(leave_out, number + height + to_row)
            at_rows = leave_out.slice(begin, stop - begin).cast(pl.Int64) - (number + to_row)
            skipped = pl.Series(range(min(at.skip - number + 1, height)), dtype=pl.Int64)
            places = pl.concat([skipped, at_rows]) if len(skipped) else at_rows
            if len(places):
                taken = ends.gather(places)
                starts = taken - length.gather(places)
                self._spill.add(pl.DataFrame({"start": starts, "end": taken}))
            self.lines += height
            end = ends[-1]
        self.end = end
        self.last_left_out = self.lines <= at.skip or (
            len(leave_out) > 0 and leave_out[-1] - to_row == self.lines
        )
        self._spill.flush()

    def __iter__(self) -> Iterator[tuple[int, int]]:
        import polars as pl

        for path in self._spill.files:
            ranges = pl.read_parquet(path)
            yield from ranges.select("start", pl.min_horizontal("end", self._size)).iter_rows()

    def remove(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)


def _write_kept(
    path: Path,
    ranges: Iterable[tuple[int, int]],
    *,
    first: int,
    size: int,
    target: Path,
    newline: bool,
) -> str:
    """Write the bytes of ``path`` from ``first`` on, outside ``ranges`` (``(start, end)``,
    in order), to ``target``, and a last ``\\n`` if ``newline``; return their sha256.

    The file is read once: a second thread takes the sha256 of each block's kept bytes
    while this one writes them and reads the next ones, into one of ``_BUFFERS`` buffers
    taken in turn, each reused once its block is hashed.
    """
    digest = hashlib.sha256()
    handed: queue.SimpleQueue[list[memoryview] | None] = queue.SimpleQueue()
    free = threading.Semaphore(_BUFFERS)
    failed: list[BaseException] = []

    def take_sha256() -> None:
        while (pieces := handed.get()) is not None:
            try:
                if not failed:
                    for piece in pieces:
                        digest.update(piece)
            except BaseException as error:  # said by the writer, once it has stopped
                failed.append(error)
            finally:
                free.release()

    hashing = threading.Thread(target=take_sha256, name="csv-lines-sha256")
    hashing.start()
    try:
        with target.open("wb", buffering=0) as out:
            blocks = _kept(path, ranges, first, size)
            while True:
                free.acquire()
                pieces = next(blocks, None)
                if pieces is None:
                    break
                handed.put(pieces)
                _write_all(out.fileno(), pieces)
            if newline:
                _write_all(out.fileno(), [memoryview(b"\n")])
    finally:
        handed.put(None)
        hashing.join()
    if failed:
        raise failed[0]
    if newline:
        digest.update(b"\n")
    return digest.hexdigest()


def _kept(
    path: Path, ranges: Iterable[tuple[int, int]], first: int, size: int
) -> Iterator[list[memoryview]]:
    """The bytes of ``path`` from ``first`` on outside ``ranges``, one list of views per
    block read, into ``_BUFFERS`` buffers in turn: a view is valid until ``_BUFFERS`` more
    lists are asked for. Raises _NotLines where a range does not end with ``\\n`` (or the
    file)."""
    buffers = [bytearray(_BLOCK_BYTES) for _ in range(_BUFFERS)]
    views = [memoryview(buffer) for buffer in buffers]
    spans = iter(ranges)
    span = next(spans, None)
    with path.open("rb", buffering=0) as source:
        position = 0
        for buffer, view in itertools.cycle(zip(buffers, views, strict=True)):
            if position >= size:
                break
            got = source.readinto(buffer)
            if not got:
                break
            block_end = position + got
            pieces = []
            cursor = max(position, first)
            while span is not None and span[0] < block_end:
                begin, end = span
                if begin > cursor:
                    pieces.append(view[cursor - position : begin - position])
                if end > block_end:
                    cursor = block_end
                    break
                if end < size and buffer[end - 1 - position] != 0x0A:
                    raise _NotLines
                cursor = max(cursor, end)
                span = next(spans, None)
            if cursor < block_end:
                pieces.append(view[cursor - position : got])
            yield pieces
            position = block_end


def _write_all(descriptor: int, pieces: list[memoryview]) -> None:
    """``os.writev`` until every byte of ``pieces`` is written."""
    while pieces:
        written = os.writev(descriptor, pieces[:_VIEWS_PER_WRITE])
        while pieces and written >= len(pieces[0]):
            written -= len(pieces[0])
            pieces = pieces[1:]
        if pieces and written:
            pieces = [pieces[0][written:], *pieces[1:]]


def _lines_of(path: Path, *, skip: int = 0) -> pl.LazyFrame:
    import polars as pl

    return pl.scan_csv(
        path,
        has_header=False,
        separator=_LINE_SEPARATOR,
        quote_char=None,
        skip_rows=skip,
        schema={"line": pl.String},
    )


class _LineCount:
    """Counts the rows of a plan's batches, which reach it from the engine's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def see(self, batch: pl.DataFrame) -> pl.DataFrame:
        with self._lock:
            self.count += batch.height
        return batch
