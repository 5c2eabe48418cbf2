"""Frames set aside in order on local disk, as a step's plan streams past them.

They are held until they are many rows, or keep much memory alive, then written together
to the next of a folder's numbered Parquet files: one file per frame would be thousands of
small files; all frames held would grow with the input."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True)
class Due:
    """Held frames taken out of a ``ParquetSpill``, to be written to ``path`` by ``write``."""

    path: Path
    frames: list[pl.DataFrame]

    def write(self) -> None:
        import polars as pl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        pl.concat(self.frames, how="vertical").write_parquet(self.path, compression="lz4")


class ParquetSpill:
    """Frames written to ``folder`` (made when first needed) once ``rows_per_file`` rows,
    or frames said to keep ``bytes_per_file`` bytes alive, are held; ``files`` lists the
    files, in the order the frames came."""

    def __init__(self, folder: Path, *, rows_per_file: int, bytes_per_file: int | None = None):
        self._folder = folder
        self._rows_per_file, self._bytes_per_file = rows_per_file, bytes_per_file
        self._held: list[pl.DataFrame] = []
        self._held_rows = 0
        self._held_bytes = 0
        self.files: list[Path] = []

    def hold(self, frame: pl.DataFrame, keeps_bytes: int = 0) -> Due | None:
        """Hold ``frame``, which keeps ``keeps_bytes`` of memory alive until written (the
        buffers it views); when the held frames are many or keep much, take them out as a
        ``Due`` with the next file's name, for the caller to write (outside its lock, say:
        the file keeps its place in ``files`` whenever it is written)."""
        self._held.append(frame)
        self._held_rows += frame.height
        self._held_bytes += keeps_bytes
        if self._held_rows >= self._rows_per_file or (
            self._bytes_per_file is not None and self._held_bytes >= self._bytes_per_file
        ):
            return self.take()
        return None

    def add(self, frame: pl.DataFrame, keeps_bytes: int = 0) -> None:
        """``hold``, and write what is due at once."""
        due = self.hold(frame, keeps_bytes)
        if due is not None:
            due.write()

    def take(self) -> Due | None:
        """The held frames, taken out with the next file's name; None if none are held."""
        if not self._held:
            return None
        due = Due(self._folder / f"{len(self.files):06d}.parquet", self._held)
        self.files.append(due.path)
        self._held, self._held_rows, self._held_bytes = [], 0, 0
        return due

    def flush(self) -> None:
        """Write the held frames to the next file."""
        due = self.take()
        if due is not None:
            due.write()
