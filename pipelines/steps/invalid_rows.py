"""The invalid rows of a streaming plan, set aside as they stream past its one output.

validate's plan has one sink (the valid rows, or the numbers of the rows to leave out of a
copy of a CSV's lines); the rows any check rejects are taken from the same stream by
``InvalidRows.see`` (a ``map_batches`` that returns its batch unchanged) and kept on local
disk in row order, for the rejects and the counts. One output, rather than a plan with one
per kind of row, reads the input once without holding what a faster branch has taken and a
slower one has not, and costs less CPU (bench/steps.py)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.steps.parquet_spill import Due, ParquetSpill

if TYPE_CHECKING:
    import polars as pl

# Rows held in memory before they are written out, about 10 MB of a 10-column table.
ROWS_PER_FILE = 64 * 1024
# A row taken from a batch keeps the batch's text buffers alive (polars' strings are views
# into them) until it is written out: rows are also written once they hold this much of the
# batches' memory (validate's memory on a 4.5 GB CSV: 300 MB without, 170 MB with 64 MB).
# At 24 MB rather than 64, validate's peak on a 10 GB CSV is 160 MB, not 168 (medians of
# three), and on 1 GB the same; the files, 2.7 times as many, cost no time the bench sees.
BATCH_BYTES_PER_FILE = 24 * 1024 * 1024


class InvalidRows:
    """Collects the rows flagged ``flag`` from the batches of a plan, in ``order``.

    Batches reach ``see`` from the engine's threads, not necessarily in order. While each
    is a contiguous run of ``order`` (the row numbers of a plan without filters before
    ``see``), the rows are put back in order as they arrive, holding only those that
    come early, and written in order to Parquet files in ``folder``, ``ROWS_PER_FILE``
    at a time; otherwise they are sorted at the end (in bounded memory, spilled by
    polars). Rows flagged ``blank`` are neither counted nor set aside.
    """

    def __init__(self, folder: Path, *, first: int, flag: str, order: str, blank: str | None):
        self._spill = ParquetSpill(
            folder, rows_per_file=ROWS_PER_FILE, bytes_per_file=BATCH_BYTES_PER_FILE
        )
        self._flag, self._order, self._blank = flag, order, blank
        self._lock = threading.Lock()
        self._next = first
        # Batches that came before their turn: first row -> (row after it, what was taken).
        self._early: dict[int, tuple[int, tuple[pl.DataFrame, int] | None]] = {}
        self._due: list[Due] = []
        self._in_order = True
        self._error: BaseException | None = None
        self.rows = 0
        self.seen = 0  # blank rows too

    def see(self, batch: pl.DataFrame) -> pl.DataFrame:
        """Take the batch's flagged rows and count its rows; return it as it came."""
        try:
            self._see(batch)
        except BaseException as error:
            # polars reports a failing function in words of its own: keep the cause.
            with self._lock:
                self._error = self._error or error
            raise
        return batch

    def _see(self, batch: pl.DataFrame) -> None:
        import polars as pl

        if batch.height == 0:
            return
        flags = batch.get_column(self._flag)
        taken = None
        if flags.any():
            # Series.filter, column by column: DataFrame.filter (and Series.arg_true) run a
            # query of their own, which waits for the engine's threads, busy with the plan
            # that calls this (2.5 ms a batch, a tenth of validate's time).
            rows = pl.DataFrame(
                [
                    batch.get_column(column).filter(flags)
                    for column in batch.columns
                    if column not in (self._flag, self._blank)
                ]
            )
            taken = (rows, batch.estimated_size())
        blank = 0 if self._blank is None else batch.get_column(self._blank).sum()
        numbers = batch.get_column(self._order)
        start, end = numbers[0], numbers[-1] + 1
        contiguous = end - start == batch.height and numbers.is_sorted()
        with self._lock:
            self.rows += batch.height - blank
            self.seen += batch.height
            if self._in_order and not contiguous:
                self._give_up_order()
            if not self._in_order:
                self._hold(taken)
            elif start == self._next:
                self._hold(taken)
                self._next = end
                while self._next in self._early:
                    self._next, early = self._early.pop(self._next)
                    self._hold(early)
            else:
                self._early[start] = (end, taken)
            due, self._due = self._due, []
        # Written outside the lock, where the engine's other threads wait with their
        # batches (validate on a 187 MB CSV: 139-142 MB against 143-163 MB under it).
        for rows in due:
            rows.write()

    def _give_up_order(self) -> None:
        self._in_order = False
        for _, taken in self._early.values():
            self._hold(taken)
        self._early.clear()

    def _hold(self, taken: tuple[pl.DataFrame, int] | None) -> None:
        """Set aside rows taken from a batch of ``batch_bytes``; what is due to be written
        waits in ``_due`` for ``_see`` to write once it leaves the lock."""
        if taken is not None and (due := self._spill.hold(*taken)) is not None:
            self._due.append(due)

    def in_order(self, schema: pl.Schema) -> pl.LazyFrame:
        """Every flagged row, in ``order``, with ``schema`` (the plan's columns less the
        flags); raises what ``see`` raised, if anything."""
        import polars as pl

        if self._error is not None:
            raise self._error
        if self._early:
            # Batches the plan never delivered before these: only an engine that skipped
            # rows does this; keep the rows anyway, sorted below.
            self._give_up_order()
        for rows in self._due:
            rows.write()
        self._due.clear()
        self._spill.flush()
        if not self._spill.files:
            return pl.LazyFrame(schema=schema)
        rows = pl.scan_parquet(self._spill.files)
        return rows if self._in_order else rows.sort(self._order)

    @property
    def error(self) -> BaseException | None:
        """What ``see`` raised, if anything."""
        return self._error
