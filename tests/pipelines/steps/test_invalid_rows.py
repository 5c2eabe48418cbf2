"""InvalidRows: the rows a streaming plan sets aside, back in row order, in bounded memory."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from pipelines.steps import invalid_rows
from pipelines.steps.invalid_rows import InvalidRows

ROWS = 1_000


def table(first: int = 2) -> pl.DataFrame:
    """Rows numbered from ``first``; every seventh invalid, every hundredth blank."""
    numbers = pl.int_range(first, first + ROWS, eager=True, dtype=pl.UInt32)
    return pl.DataFrame(
        {
            "value": numbers.cast(pl.String),
            "__row": numbers,
            "__blank": numbers % 100 == 0,
            "__invalid": (numbers % 7 == 0) & (numbers % 100 != 0),
        }
    )


def batches(frame: pl.DataFrame, size: int, seed: int) -> list[pl.DataFrame]:
    """The frame in slices of ``size`` rows, shuffled, as engine threads may deliver them."""
    slices = [frame.slice(offset, size) for offset in range(0, frame.height, size)]
    random.Random(seed).shuffle(slices)
    return slices


def expected(frame: pl.DataFrame) -> list[int]:
    return frame.filter("__invalid").get_column("__row").to_list()


def collect(rows: InvalidRows, frame: pl.DataFrame) -> pl.DataFrame:
    return rows.in_order(frame.drop("__invalid", "__blank").schema).collect()


def test_batches_out_of_order_come_back_in_row_order(tmp_path: Path) -> None:
    frame = table()
    rows = InvalidRows(tmp_path, first=2, flag="__invalid", order="__row", blank="__blank")
    for batch in batches(frame, 37, seed=1):
        assert rows.see(batch) is batch
    taken = collect(rows, frame)
    assert taken.get_column("__row").to_list() == expected(frame)
    assert taken.columns == ["value", "__row"]
    assert taken.get_column("value").to_list() == [str(n) for n in expected(frame)]
    # Blank rows are neither counted nor set aside.
    assert rows.rows == ROWS - 10


def test_rows_are_written_out_in_order_a_few_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(invalid_rows, "ROWS_PER_FILE", 10)
    frame = table()
    rows = InvalidRows(tmp_path, first=2, flag="__invalid", order="__row", blank="__blank")
    for batch in batches(frame, 25, seed=2):
        rows.see(batch)
    taken = collect(rows, frame)
    assert len(list(tmp_path.glob("*.parquet"))) >= len(expected(frame)) // 10
    assert taken.get_column("__row").to_list() == expected(frame)


def test_rows_are_written_out_before_they_hold_much_of_their_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A taken row keeps its batch's text buffers alive until written.
    monkeypatch.setattr(invalid_rows, "BATCH_BYTES_PER_FILE", 1)
    frame = table()
    rows = InvalidRows(tmp_path, first=2, flag="__invalid", order="__row", blank=None)
    for batch in batches(frame, 100, seed=3):
        rows.see(batch)
    written = len(list(tmp_path.glob("*.parquet")))
    assert written == 10  # one per batch with invalid rows, each as soon as its turn came
    assert collect(rows, frame).get_column("__row").to_list() == expected(frame)
    assert rows.rows == ROWS


def test_batches_that_are_not_runs_of_rows_are_sorted_at_the_end(tmp_path: Path) -> None:
    # Rows interleaved across batches: the order cannot be put back as they arrive.
    frame = table()
    parts = [frame.gather_every(3, offset) for offset in (2, 0, 1)]
    rows = InvalidRows(tmp_path, first=2, flag="__invalid", order="__row", blank="__blank")
    for batch in parts:
        rows.see(batch)
    assert collect(rows, frame).get_column("__row").to_list() == expected(frame)
    assert rows.rows == ROWS - 10


def test_no_invalid_rows_give_an_empty_frame_of_the_columns(tmp_path: Path) -> None:
    frame = table().with_columns(pl.lit(False).alias("__invalid"))
    rows = InvalidRows(tmp_path, first=2, flag="__invalid", order="__row", blank="__blank")
    for batch in batches(frame, 100, seed=4):
        rows.see(batch)
    taken = collect(rows, frame)
    assert taken.height == 0
    assert taken.schema == pl.Schema({"value": pl.String, "__row": pl.UInt32})
    assert not list(tmp_path.iterdir())


def test_what_see_raised_is_raised_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # polars reports a failing function in words of its own; the step raises the cause.
    monkeypatch.setattr(invalid_rows, "BATCH_BYTES_PER_FILE", 1)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    rows = InvalidRows(blocked, first=2, flag="__invalid", order="__row", blank=None)
    frame = table()
    with pytest.raises(FileExistsError):
        rows.see(frame)
    assert isinstance(rows.error, FileExistsError)
    with pytest.raises(FileExistsError):
        collect(rows, frame)
