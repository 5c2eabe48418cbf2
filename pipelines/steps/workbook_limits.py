"""Workbook limits: refuse an .xlsx that would exhaust memory once fastexcel opens it.

fastexcel (calamine) decompresses the parts it reads and holds a sheet as a dense grid that
spans its cells, so before a workbook is opened its cost is checked against the limits:

- the uncompressed size, declared by the zip directory and then counted while decompressing
  (declared sizes can lie);
- the grid of every worksheet part: rows x columns as calamine places the cells (a cell's
  ``r`` reference; a cell without one goes right after the previous cell of its row).

Decompressing is unavoidable, and done with ISA-L for deflated parts (about four times
zlib's speed); parsing each sheet element by element in Python (expat) cost five times
fastexcel's own read. So a sheet is first measured by ``_QuickGrid``: polars'
Rust regex engine finds every ``<c`` start tag of each decompressed chunk and reads its
``r`` reference, a few passes at memory speed. It accepts only sheets written the way
spreadsheet programs write them (every cell has one ``r="A1"`` in double quotes; no DTD,
comment, CDATA, processing instruction or namespace prefix on cells) and declines anything
else, which expat (``_SheetGrid``) then parses exactly, DTDs refused. The quick path sees
only ``<c`` tags with a reference, so rows and cells without one never reach it.
"""

from __future__ import annotations

import re
import struct
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from pipelines.steps.contract import InputError
from pipelines.steps.tables import OLE_MAGIC

# Decompressed bytes handed to the checks at a time.
CHUNK_BYTES = 16 * 1024 * 1024
# Compressed bytes read from the file, and decompressed bytes made, at a time: larger
# buffers cost more in page faults than ISA-L takes to fill them (25 vs 10 ms for 25 MB).
_COMPRESSED_BYTES = 256 * 1024
_INFLATED_BYTES = 1024 * 1024
# A start tag longer than this (no ``<`` to cut a chunk at) sends the part to expat.
_LONGEST_TAG = 1024 * 1024
# A cell's A1-style reference, as calamine reads it.
_CELL_REF = re.compile(r"^([A-Za-z]{1,3})([0-9]{1,10})$")
# Root elements of the workbook parts whose cells calamine lays out as a grid.
_SHEET_ROOTS = frozenset({"worksheet", "chartsheet", "dialogsheet", "macrosheet"})
# The prolog the quick path accepts: a byte-order mark, an XML declaration naming UTF-8 or no
# encoding, then the root's start tag. Anything else (a DTD, a comment, UTF-16) goes to expat.
_PROLOG = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml\s[^>]*\?>)?\s*<([^\s/>!?]+)")
_ENCODING = re.compile(rb"""^(?:\xef\xbb\xbf)?\s*<\?xml\s[^>]*encoding\s*=\s*["']([^"']*)""")
# The sheet's own claim of its extent: the quick path checks the cells against it.
_DIMENSION = re.compile(
    rb'<dimension ref="([A-Za-z]{1,3})([0-9]{1,10})(?::([A-Za-z]{1,3})([0-9]{1,10}))?"'
)
_PREFIXED_CELL = r":c[\s/>]"
# Decompressed bytes read at a time on the quick path: one polars row each.
_PIECE_BYTES = 1024 * 1024


def check_workbook(path: Path, name: str, *, max_bytes: int, max_cells: int) -> None:
    """Refuse workbooks that would exhaust memory once opened.

    Checks the zip's declared uncompressed size, then decompresses every part in chunks
    counting bytes, and measures each worksheet's grid (see the module docstring).
    Raises InputError.
    """
    # Here, not at the top: the api function imports this module (the step catalogue lists
    # the steps' options) and its package carries no ISA-L.
    from isal import isal_zlib

    with path.open("rb") as handle:
        magic = handle.read(8)
    if magic == OLE_MAGIC:
        # .xls: the BIFF grid is capped at 65,536 x 256 cells by the format itself.
        return
    if not zipfile.is_zipfile(path):
        raise InputError(f"{name} is not an Excel workbook (.xlsx or .xls)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise InputError(
                    f"{name} unpacks to {declared / 1e6:,.0f} MB, over the limit of "
                    f"{max_bytes / 1e6:,.0f} MB"
                )
            total = 0
            for member in members:
                total = _check_member(archive, member, name, total, max_bytes, max_cells)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        RuntimeError,
        zlib.error,
        isal_zlib.error,
    ) as error:
        raise InputError(f"{name} is a damaged or encrypted workbook: {error}") from None


def column_number(letters: str) -> int:
    """The 1-based number of a column's letters: ``A`` is 1, ``AA`` is 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class _Part(Protocol):
    def read(self, size: int, /) -> bytes: ...


@contextmanager
def _open_part(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> Iterator[_Part]:
    """A part's decompressed bytes, a deflated part's through ISA-L.

    ISA-L inflates about four times faster than zlib: with zlib, the whole check took about a
    third of fastexcel's own read. Other parts, encrypted ones included, go through zipfile.
    """
    if (
        member.compress_type != zipfile.ZIP_DEFLATED
        or member.flag_bits & 0x1  # encrypted: zipfile says so
        or not isinstance(archive.filename, str)
    ):
        with archive.open(member) as stream:
            yield stream
        return
    with Path(archive.filename).open("rb") as handle:
        yield _Inflater(handle, member)


class _Inflater:
    """Reads a deflated zip member as zipfile would: from its local header, CRC checked."""

    def __init__(self, handle: IO[bytes], member: zipfile.ZipInfo) -> None:
        handle.seek(member.header_offset)
        header = handle.read(zipfile.sizeFileHeader)
        if len(header) != zipfile.sizeFileHeader:
            raise zipfile.BadZipFile(f"{member.filename}: truncated file header")
        # The local header: a signature, 22 bytes the central directory also holds, and
        # the lengths of the name and extra field that come before the data.
        signature, name_length, extra_length = struct.unpack("<4s22xHH", header)
        if signature != zipfile.stringFileHeader:
            raise zipfile.BadZipFile(f"{member.filename}: bad magic number for file header")
        handle.seek(name_length + extra_length, 1)
        self.handle = handle
        self.member = member
        self.left = member.compress_size
        self.crc = 0
        from isal import isal_zlib  # see check_workbook

        self.decompressor = isal_zlib.decompressobj(-zlib.MAX_WBITS)
        self.crc32 = isal_zlib.crc32

    def read(self, size: int, /) -> bytes:
        """Up to ``size`` decompressed bytes; b"" at the end of the member."""
        pieces = []
        while size > 0 and not self.decompressor.eof:
            # Output held back by the size limit comes out of an empty feed.
            data = self.decompressor.unconsumed_tail
            if not data and self.left:
                data = self.handle.read(min(self.left, _COMPRESSED_BYTES))
                if not data:
                    raise zipfile.BadZipFile(f"{self.member.filename}: the file ends early")
                self.left -= len(data)
            piece = self.decompressor.decompress(data, min(size, _INFLATED_BYTES))
            if not piece and not data:
                raise zipfile.BadZipFile(f"{self.member.filename}: compressed data ends early")
            self.crc = self.crc32(piece, self.crc)
            size -= len(piece)
            pieces.append(piece)
            if self.decompressor.eof and self.crc != self.member.CRC:
                raise zipfile.BadZipFile(f"Bad CRC-32 for file {self.member.filename!r}")
        return b"".join(pieces)


class _Declined(Exception):
    """The quick path cannot vouch for this part: parse it exactly."""


def _check_member(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    name: str,
    total: int,
    max_bytes: int,
    max_cells: int,
) -> int:
    """Count the member's bytes into ``total`` and check its grid if it is a sheet."""
    try:
        total, grid = _quick_scan(archive, member, name, total, max_bytes, max_cells)
    except _Declined:
        total, grid = _exact_scan(archive, member, name, total, max_bytes)
    if grid is not None:
        rows, columns = grid[0], max(grid[1], 1)
        if rows * columns > max_cells:
            raise InputError(
                f"{name}: sheet {PurePosixPath(member.filename).stem} declares a grid of "
                f"{rows:,} rows x {columns:,} columns, over the limit of {max_cells:,} cells"
            )
    return total


def _count(total: int, chunk: bytes, name: str, max_bytes: int) -> int:
    total += len(chunk)
    if total > max_bytes:
        raise InputError(f"{name} unpacks to more than {max_bytes / 1e6:,.0f} MB, over the limit")
    return total


def _quick_scan(
    archive: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    name: str,
    total: int,
    max_bytes: int,
    max_cells: int,
) -> tuple[int, tuple[int, int] | None]:
    """Count a part's bytes; a sheet's grid by ``_QuickGrid``. Raises _Declined."""
    grid: _QuickGrid | None = None
    pending = b""
    with _open_part(archive, member) as stream:
        # Pieces of about a megabyte: larger buffers cost more in page faults than the
        # search takes; _QuickGrid searches many at once.
        chunk = stream.read(_PIECE_BYTES)
        total = _count(total, chunk, name, max_bytes)
        if _looks_like_xml(chunk):
            root = _root_start(chunk)
            if root[0] in ("row", "c"):
                raise _Declined  # no root element: expat decides as before
            if root[0] in _SHEET_ROOTS:
                grid = _QuickGrid(chunk, max_cells)
                chunk = chunk[root[1] :]
        while chunk:
            if grid is not None:
                data = pending + chunk
                cut = data.rfind(b"<")
                if cut < 0:
                    cut = len(data)
                grid.feed(data[:cut])
                pending = data[cut:]
                if len(pending) > _LONGEST_TAG:
                    raise _Declined
            chunk = stream.read(_PIECE_BYTES)
            total = _count(total, chunk, name, max_bytes)
    if grid is None:
        return total, None
    grid.feed(pending)
    grid.search()
    return total, (grid.max_row, grid.max_column)


def _root_start(head: bytes) -> tuple[str, int]:
    """The local name of an XML part's root element and the offset of its start tag.

    Raises _Declined when the prolog holds more than an XML declaration in UTF-8, or the
    root's name reaches the end of ``head``.
    """
    match = _PROLOG.match(head)
    encoding = _ENCODING.match(head)
    if match is None or (encoding is not None and encoding[1].lower() != b"utf-8"):
        raise _Declined
    if match.end(1) == len(head):
        raise _Declined  # the name may go on past the head: ``<works`` of ``<worksheet``
    root = match[1].decode("utf-8", errors="replace")
    return root.rpartition(":")[2], match.start(1) - 1


class _QuickGrid:
    """Proves that every cell of a sheet lies within its ``dimension``, by regex.

    The grid is then at most the dimension's. Fed pieces that each end before a ``<``, it
    searches them, many at a time, for anything else: a cell start tag whose first attribute
    is not an A1 reference in double quotes, a reference beyond the dimension, a
    namespace-prefixed cell, a comment, CDATA section, DTD or processing instruction (which
    can hide or fake tags from a regex). Finding one raises _Declined. Cells without a
    reference, rows and their numbers do not matter here: calamine places a cell by its own
    ``r``.
    """

    def __init__(self, head: bytes, max_cells: int) -> None:
        match = _DIMENSION.search(head)
        if match is None:
            raise _Declined
        letters, digits = (match[3], match[4]) if match[3] else (match[1], match[2])
        self.max_row = int(digits)
        self.max_column = column_number(letters.decode().upper())
        if self.max_row * self.max_column > max_cells:
            raise _Declined  # only a claim: the cells themselves may span less
        self.beyond = _beyond(letters.decode().upper(), str(self.max_row))
        self.pieces: list[bytes] = []
        self.held = 0

    def feed(self, piece: bytes) -> None:
        """Take the next piece of the sheet, which ends before a ``<``; raises _Declined."""
        if not piece:
            return
        self.pieces.append(piece)
        self.held += len(piece)
        if self.held >= CHUNK_BYTES:
            self.search()

    def search(self) -> None:
        """Search the pieces taken since the last search; raises _Declined."""
        import polars as pl

        if not self.pieces:
            return
        # One row per piece: polars searches the rows of a frame in parallel.
        try:
            text = pl.Series("text", self.pieces, dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.InvalidOperationError:
            raise _Declined from None  # not UTF-8
        self.pieces, self.held = [], 0
        found = text.to_frame().select(
            pl.col("text").str.contains("<!", literal=True).any(),
            pl.col("text").str.contains("<?", literal=True).any().alias("instruction"),
            pl.col("text").str.contains(_PREFIXED_CELL).any().alias("prefixed"),
            pl.col("text").str.contains(self.beyond).any().alias("beyond"),
        )
        if any(found.row(0)):
            raise _Declined


def _beyond(letters: str, digits: str) -> str:
    """A regex for a cell start tag that is not ``<c r="A1"`` within the given last cell."""
    column = "|".join(
        [f"[A-Za-z]{{{len(letters) + 1},}}"]
        + [
            f"{letters[:n]}[{chr(ord(letters[n]) + 1)}-Z][A-Z]{{{len(letters) - n - 1}}}[0-9]"
            for n in range(len(letters))
            if letters[n] != "Z"
        ]
    )
    row = "|".join(
        [f"[0-9]{{{len(digits) + 1},}}"]
        + [
            f"{digits[:n]}[{int(digits[n]) + 1}-9][0-9]{{{len(digits) - n - 1}}}"
            for n in range(len(digits))
            if digits[n] != "9"
        ]
    )
    not_a1 = r'[^A-Za-z]|[A-Za-z]{1,3}(?:[^A-Za-z0-9]|[0-9]+[^0-9"])'
    return (
        r'<c(?:[\t\n\r/>]| [^r]| r[^=]| r=[^"]| r="(?:'
        + f"{not_a1}|(?i:{column})|[A-Za-z]{{1,3}}(?:{row})(?:[^0-9]|$)))"
    )


def _exact_scan(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str, total: int, max_bytes: int
) -> tuple[int, tuple[int, int] | None]:
    """Count a part's bytes; a sheet's grid by expat, element by element."""
    grid: _SheetGrid | None = None
    is_first = True
    with _open_part(archive, member) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            total = _count(total, chunk, name, max_bytes)
            # Every XML part is parsed until its root element shows whether it is a sheet:
            # calamine finds sheets through the relationships, whatever their part names.
            if is_first and _looks_like_xml(chunk):
                grid = _SheetGrid(name, member.filename)
            is_first = False
            if grid is None:
                continue
            grid.feed(chunk)
            if grid.root is not None and not grid.is_sheet:
                grid = None  # other parts (strings, styles, drawings) size no grid
        if grid is not None:
            grid.feed(b"", final=True)
    if grid is None or not grid.is_sheet:
        return total, None
    return total, (grid.max_row, grid.max_column)


class _SheetGrid:
    """Streams one workbook part through expat and tracks the grid a worksheet spans.

    Namespace-aware (transitional and strict OOXML name the same local elements) and
    defused: a DTD is refused outright, so no entity can be declared, let alone expanded.
    The parser reads attributes as XML defines them (any quote, any whitespace), which is
    what calamine does when it sizes a sheet.
    """

    def __init__(self, name: str, part: str) -> None:
        self.name = name
        self.part = part
        self.root: str | None = None
        self.row = self.column = 0
        self.max_row = self.max_column = 0
        self.parser = xml.parsers.expat.ParserCreate(namespace_separator=" ")
        self.parser.StartDoctypeDeclHandler = self._refuse_doctype
        self.parser.EntityDeclHandler = self._refuse_doctype
        self.parser.ordered_attributes = True
        self.parser.StartElementHandler = self._start

    @property
    def is_sheet(self) -> bool:
        # A part whose first element is already a row or cell counts as a sheet too.
        return self.root is None or self.root in _SHEET_ROOTS

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Parse the next chunk; raises InputError for a DTD or a malformed sheet."""
        try:
            self.parser.Parse(chunk, final)
        except xml.parsers.expat.ExpatError as error:
            raise InputError(
                f"{self.name}: part {self.part} is not well-formed XML ({error})"
            ) from None

    def _refuse_doctype(self, *_: object) -> None:
        raise InputError(f"{self.name}: part {self.part} declares a DTD, which no workbook needs")

    def _start(self, tag: str, attributes: list[str]) -> None:
        # Called for every element of a sheet (millions): the cheap tests come first.
        if tag.endswith(" c") or tag == "c":
            reference = _attribute(attributes, "r")
            if reference is None:
                self.column += 1
            else:
                match = _CELL_REF.match(reference)
                if match is None:
                    raise InputError(
                        f"{self.name}: part {self.part} has the cell reference "
                        f"{reference[:32]!r}, which is not in A1 style"
                    )
                self.column = column_number(match[1].upper())
                if int(match[2]) > self.max_row:
                    self.max_row = int(match[2])
            if self.column > self.max_column:
                self.max_column = self.column
        elif tag.endswith(" row") or tag == "row":
            # calamine places a row or cell without ``r`` right after the previous one, and
            # ignores ``dimension``: the grid it allocates spans the positions found here.
            reference = _attribute(attributes, "r")
            self.row = self.row + 1 if reference is None else self._row_number(reference)
            self.column = 0
            self.max_row = max(self.max_row, self.row)
        elif self.root is None:
            self.root = tag.rpartition(" ")[2]

    def _row_number(self, reference: str) -> int:
        if not reference.isascii() or not reference.isdigit() or len(reference) > 10:
            raise InputError(f"{self.name}: part {self.part} has the row number {reference[:32]!r}")
        return int(reference)


def _attribute(attributes: list[str], name: str) -> str | None:
    """The value of an unqualified attribute in expat's ordered ``[name, value, ...]`` list."""
    for index in range(0, len(attributes), 2):
        if attributes[index] == name:
            return attributes[index + 1]
    return None


def _looks_like_xml(chunk: bytes) -> bool:
    """Whether a part starts as XML does (after a byte-order mark and whitespace)."""
    if chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return chunk.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"<"
