"""ParquetSpill: frames set aside on disk in the order they came."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.steps.parquet_spill import ParquetSpill


def test_frames_are_written_in_order_once_they_are_many_rows(tmp_path: Path) -> None:
    spill = ParquetSpill(tmp_path / "spill", rows_per_file=3)
    for start in range(0, 10, 2):
        spill.add(pl.DataFrame({"n": [start, start + 1]}))
    assert len(spill.files) == 2  # 4 rows, then 4 more; 2 still held
    spill.flush()
    assert len(spill.files) == 3
    assert pl.read_parquet(spill.files).get_column("n").to_list() == list(range(10))


def test_frames_that_keep_much_memory_alive_are_written_at_once(tmp_path: Path) -> None:
    spill = ParquetSpill(tmp_path / "spill", rows_per_file=1000, bytes_per_file=100)
    spill.add(pl.DataFrame({"n": [1]}), keeps_bytes=60)
    assert spill.files == []
    spill.add(pl.DataFrame({"n": [2]}), keeps_bytes=60)
    assert [path.name for path in spill.files] == ["000000.parquet"]


def test_nothing_held_writes_nothing(tmp_path: Path) -> None:
    spill = ParquetSpill(tmp_path / "spill", rows_per_file=3)
    spill.flush()
    assert spill.files == []
    assert not (tmp_path / "spill").exists()


def test_frames_due_keep_their_place_whenever_they_are_written(tmp_path: Path) -> None:
    spill = ParquetSpill(tmp_path / "spill", rows_per_file=2)
    assert spill.hold(pl.DataFrame({"n": [1]})) is None
    first = spill.hold(pl.DataFrame({"n": [2]}))
    second = spill.hold(pl.DataFrame({"n": [3, 4]}))
    assert first is not None and second is not None
    second.write()  # another thread may write its file first
    first.write()
    assert pl.read_parquet(spill.files).get_column("n").to_list() == [1, 2, 3, 4]
