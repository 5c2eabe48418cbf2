"""csv_lines: the valid rows' lines, copied as byte ranges or through polars, alike."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.steps import csv_lines
from pipelines.steps.csv_dialect import CsvDialect, CsvFile, Layout
from pipelines.steps.csv_lines import copy_rows

LINE = st.text(
    alphabet=st.characters(blacklist_characters="\r\n\x1f", blacklist_categories=("Cs",)),
    max_size=12,
)


def csv_file(path: Path) -> CsvFile:
    return CsvFile(path, "utf-8", Layout(",", 0, ["a"], None, has_quotes=False))


def both_copies(
    tmp_path: Path, data: bytes, leave_out: list[int], *, skip: int = 0, rows: int
) -> tuple[str | None, bytes, bytes]:
    """The byte copy's sha256 and file, and polars' copy of the same lines."""
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    numbers = pl.Series(leave_out, dtype=pl.UInt32)
    lines = rows + 1
    by_ranges = tmp_path / "ranges.csv"
    at = csv_lines.Lines(skip=skip, first_row=1, count=lines)
    sha256 = csv_lines._copy_ranges(source, at, leave_out=numbers, target=by_ranges)
    by_polars = tmp_path / "polars.csv"
    assert csv_lines._copy_lines(source, at, leave_out=numbers, target=by_polars)
    return sha256, by_ranges.read_bytes() if sha256 else b"", by_polars.read_bytes()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(LINE, min_size=1, max_size=30),
    picks=st.lists(st.integers(min_value=2, max_value=31), max_size=12),
    terminated=st.booleans(),
    bom=st.booleans(),
    block=st.sampled_from([1, 3, 7, 64, 1024 * 1024]),
    batch=st.sampled_from([1, 2, 5, 256 * 1024]),
)
def test_the_byte_copy_writes_what_polars_copy_writes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    lines: list[str],
    picks: list[int],
    terminated: bool,
    bom: bool,
    block: int,
    batch: int,
) -> None:
    # Blocks of a few bytes put range ends on every side of a block's end.
    monkeypatch.setattr(csv_lines, "_BLOCK_BYTES", block)
    monkeypatch.setattr(csv_lines, "_VIEWS_PER_WRITE", 2)
    # Files of two ranges: file edges fall between them.
    monkeypatch.setattr(csv_lines, "_RANGES_PER_SLICE", 2)
    # Lines taken from polars a few at a time: lines to leave out on every side of a batch's edge.
    monkeypatch.setattr(csv_lines, "_LINES_PER_BATCH", batch)
    text = "\n".join(lines) + ("\n" if terminated else "")
    if text == "" or (not terminated and lines[-1] == ""):
        return  # no last line to read
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    leave_out = sorted({n for n in picks if n <= len(lines)})
    sha256, ranges, polars_copy = both_copies(tmp_path, data, leave_out, rows=len(lines) - 1)
    assert sha256 is not None
    assert ranges == polars_copy
    assert sha256 == hashlib.sha256(ranges).hexdigest()


def test_lines_before_the_header_are_left_out(tmp_path: Path) -> None:
    data = b"sep=;\na;b\n1;2\nx;y\n3;4"
    sha256, ranges, polars_copy = both_copies(tmp_path, data, [3], skip=1, rows=3)
    assert ranges == polars_copy == b"a;b\n1;2\n3;4\n"
    assert sha256 == hashlib.sha256(ranges).hexdigest()


@pytest.mark.parametrize(
    ("data", "lines"),
    [
        (b"a\n1\n2\n", 4),  # fewer lines than rows
        (b"a\n1\n2\n3\n", 3),  # more lines than rows
    ],
)
def test_lines_that_do_not_add_up_are_not_copied_as_ranges(
    tmp_path: Path, data: bytes, lines: int
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(data)
    leave_out = pl.Series([2], dtype=pl.UInt32)
    target = tmp_path / "out.csv"
    at = csv_lines.Lines(skip=0, first_row=1, count=lines)
    assert csv_lines._copy_ranges(source, at, leave_out=leave_out, target=target) is None


def test_a_file_with_carriage_returns_is_copied_by_polars(tmp_path: Path) -> None:
    # polars drops the \r of a \r\n line end: lengths read no longer count the file's bytes.
    source = tmp_path / "in.csv"
    source.write_bytes(b"a\r\n1\r\nbad\r\n3\r\n")
    target = tmp_path / "out.csv"
    copied = copy_rows(
        csv_file(source),
        CsvDialect(),
        leave_out=pl.Series([3], dtype=pl.UInt32),
        rows=3,
        target=target,
    )
    assert copied == csv_lines.CopiedRows(None)
    assert target.read_bytes() == b"a\n1\n3\n"


def test_copy_rows_gives_the_sha256_of_the_byte_copy(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"a\n1\nbad\n3\n")
    target = tmp_path / "out.csv"
    copied = copy_rows(
        csv_file(source),
        CsvDialect(),
        leave_out=pl.Series([3], dtype=pl.UInt32),
        rows=3,
        target=target,
    )
    assert target.read_bytes() == b"a\n1\n3\n"
    assert copied == csv_lines.CopiedRows(hashlib.sha256(b"a\n1\n3\n").hexdigest())
    # The ranges it kept on disk on the way are gone.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_rows_above_the_header_keep_their_numbers(tmp_path: Path) -> None:
    # headerRows: [3]: a title, a blank line, then the header as row 3; rows 4, 5, 6 follow.
    source = tmp_path / "in.csv"
    source.write_bytes(b"Title\n\na;b\n1;2\nx;y\n3;4\n")
    leave_out = pl.Series([5], dtype=pl.UInt32)
    at = csv_lines.Lines(skip=2, first_row=3, count=4)
    by_ranges, by_polars = tmp_path / "ranges.csv", tmp_path / "polars.csv"
    sha256 = csv_lines._copy_ranges(source, at, leave_out=leave_out, target=by_ranges)
    assert csv_lines._copy_lines(source, at, leave_out=leave_out, target=by_polars)
    assert by_ranges.read_bytes() == by_polars.read_bytes() == b"a;b\n1;2\n3;4\n"
    assert sha256 == hashlib.sha256(b"a;b\n1;2\n3;4\n").hexdigest()


def test_a_block_is_read_again_only_once_its_sha256_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer reads ahead of the sha256 thread into a few buffers in turn; a slow hash
    # must hold it back before a buffer it has not hashed is read into again.
    real = hashlib.sha256

    class SlowSha256:
        def __init__(self) -> None:
            self._digest = real()

        def update(self, data: memoryview) -> None:
            time.sleep(0.002)
            self._digest.update(data)

        def hexdigest(self) -> str:
            return self._digest.hexdigest()

    monkeypatch.setattr(csv_lines.hashlib, "sha256", SlowSha256)
    monkeypatch.setattr(csv_lines, "_BLOCK_BYTES", 8)
    lines = [f"{n:07d}" for n in range(60)]
    data = "\n".join(lines).encode() + b"\n"
    sha256, ranges, polars_copy = both_copies(tmp_path, data, [5, 17, 40], rows=len(lines) - 1)
    assert ranges == polars_copy
    assert sha256 == real(ranges).hexdigest()


def test_rows_to_leave_out_need_not_come_in_order(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(b"a\n1\nx\n3\ny\n5\n")
    target = tmp_path / "out.csv"
    at = csv_lines.Lines(skip=0, first_row=1, count=6)
    leave_out = pl.Series([5, 3], dtype=pl.UInt32)
    sha256 = csv_lines._copy_ranges(source, at, leave_out=leave_out, target=target)
    assert target.read_bytes() == b"a\n1\n3\n5\n"
    assert sha256 == hashlib.sha256(b"a\n1\n3\n5\n").hexdigest()
