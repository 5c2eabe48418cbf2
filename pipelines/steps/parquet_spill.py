"""Frames set aside in order on local disk, as a step's plan streams past them.

They are held until they are many rows, or keep much memory alive, then written together
to the next of a folder's numbered Parquet files: one file per frame would be thousands of
small files; all frames held would grow with the input."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


class ParquetSpill:
    """Frames written to ``folder`` (made when first needed) once ``rows_per_file`` rows,
    or frames said to keep ``bytes_per_file`` bytes alive, are held; ``files`` lists what
    was written, in the order the frames came."""

    def __init__(self, folder: Path, *, rows_per_file: int, bytes_per_file: int | None = None):
        self._folder = folder
        self._rows_per_file, self._bytes_per_file = rows_per_file, bytes_per_file
        self._held: list[pl.DataFrame] = []
        self._held_rows = 0
        self._held_bytes = 0
        self.files: list[Path] = []

    def add(self, frame: pl.DataFrame, keeps_bytes: int = 0) -> None:
        """Hold ``frame``, which keeps ``keeps_bytes`` of memory alive until written (the
        buffers it views); write the held frames out when they are many or keep much."""
        self._held.append(frame)
        self._held_rows += frame.height
        self._held_bytes += keeps_bytes
        if self._held_rows >= self._rows_per_file or (
            self._bytes_per_file is not None and self._held_bytes >= self._bytes_per_file
        ):
            self.flush()

    def flush(self) -> None:
        """Write the held frames to the next file."""
        import polars as pl

        if not self._held:
            return
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / f"{len(self.files):06d}.parquet"
        pl.concat(self._held, how="vertical").write_parquet(path, compression="lz4")
        self.files.append(path)
        self._held, self._held_rows, self._held_bytes = [], 0, 0
