"""Workbook limits: refuse an .xlsx that would exhaust memory once fastexcel opens it.

fastexcel (calamine) decompresses the parts it reads and holds a sheet as a dense grid that
spans its cells, so before a workbook is opened its cost is checked against the limits:

- the uncompressed size, declared by the zip directory and then counted while decompressing
  (declared sizes can lie);
- the grid of every worksheet part: rows x columns as calamine places the cells (a cell's
  ``r`` reference; a cell without one goes right after the previous cell of its row).

Decompressing is unavoidable; parsing each sheet element by element in Python (expat) cost
five times fastexcel's own read. So a sheet is first measured by ``_QuickGrid``: polars'
Rust regex engine finds every ``<c`` start tag of each decompressed chunk and reads its
``r`` reference, a few passes at memory speed. It accepts only sheets written the way
spreadsheet programs write them (every cell has one ``r="A1"`` in double quotes; no DTD,
comment, CDATA, processing instruction or namespace prefix on cells) and declines anything
else, which expat (``_SheetGrid``) then parses exactly, DTDs refused. The quick path sees
only ``<c`` tags with a reference, so rows and cells without one never reach it.
"""

from __future__ import annotations

import re
import xml.parsers.expat
import zipfile
from pathlib import Path, PurePosixPath

from pipelines.steps.contract import InputError
from pipelines.steps.tables import OLE_MAGIC

# Decompressed bytes handed to the checks at a time.
CHUNK_BYTES = 16 * 1024 * 1024
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
# Text searched per polars row; rows are searched in parallel.
_PIECE_BYTES = 1024 * 1024


def check_workbook(path: Path, name: str, *, max_bytes: int, max_cells: int) -> None:
    """Refuse workbooks that would exhaust memory once opened.

    Checks the zip's declared uncompressed size, then decompresses every part in chunks
    counting bytes, and measures each worksheet's grid (see the module docstring).
    Raises InputError.
    """
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
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as error:
        raise InputError(f"{name} is a damaged or encrypted workbook: {error}") from None


def column_number(letters: str) -> int:
    """The 1-based number of a column's letters: ``A`` is 1, ``AA`` is 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


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
    with archive.open(member) as stream:
        chunk = stream.read(CHUNK_BYTES)
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
            chunk = stream.read(CHUNK_BYTES)
            total = _count(total, chunk, name, max_bytes)
    if grid is None:
        return total, None
    grid.feed(pending)
    return total, (grid.max_row, grid.max_column)


def _root_start(head: bytes) -> tuple[str, int]:
    """The local name of an XML part's root element and the offset of its start tag.

    Raises _Declined when the prolog holds more than an XML declaration in UTF-8.
    """
    match = _PROLOG.match(head)
    encoding = _ENCODING.match(head)
    if match is None or (encoding is not None and encoding[1].lower() != b"utf-8"):
        raise _Declined
    root = match[1].decode("utf-8", errors="replace")
    return root.rpartition(":")[2], match.start(1) - 1


class _QuickGrid:
    """Proves that every cell of a sheet lies within its ``dimension``, by regex.

    The grid is then at most the dimension's. Fed chunks that each end before a ``<``, it
    searches each for anything else: a cell start tag whose first attribute is not an A1
    reference in double quotes, a reference beyond the dimension, a namespace-prefixed
    cell, a comment, CDATA section, DTD or processing instruction (which can hide or fake
    tags from a regex). Finding one raises _Declined. Cells without a reference, rows and
    their numbers do not matter here: calamine places a cell by its own ``r``.
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

    def feed(self, data: bytes) -> None:
        import polars as pl

        if not data:
            return
        # Pieces at '<' boundaries: polars searches the rows of a frame in parallel.
        pieces = []
        start = 0
        while start < len(data):
            end = data.find(b"<", start + _PIECE_BYTES)
            end = len(data) if end < 0 else end
            pieces.append(data[start:end])
            start = end
        try:
            text = pl.Series("text", pieces, dtype=pl.Binary).cast(pl.String)
        except pl.exceptions.InvalidOperationError:
            raise _Declined from None  # not UTF-8
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
    with archive.open(member) as stream:
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
