"""The parts of an .xlsx workbook steps read besides its cells: which part holds which
sheet, a sheet's merged cells, and the totals rows of its Excel tables; and a worksheet
part's XML read in chunks of whole cells."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

# Decompressed bytes read at a time.
CHUNK_BYTES = 16 * 1024 * 1024
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_MERGE = re.compile(rb'<mergeCell\b[^>]*\bref="([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})"')
_REF = re.compile(r"^([A-Z]{1,3})([0-9]{1,7}):([A-Z]{1,3})([0-9]{1,7})$")
# The longest <mergeCell .../> tag: carried from one chunk to the next.
_LONGEST_MERGE = 256
_CELL_END = b"</c>"


def whole_cells(reader: IO[bytes]) -> Iterator[bytes]:
    """A worksheet part's XML in chunks of about ``CHUNK_BYTES`` that end after a whole
    cell (``</c>``), the last chunk with what is left; a cell cut at a read's end waits for
    the next read."""
    carry = b""
    while True:
        piece = reader.read(CHUNK_BYTES)
        buffer = carry + piece
        if not piece:
            if buffer:
                yield buffer
            return
        end = buffer.rfind(_CELL_END)
        cut = 0 if end < 0 else end + len(_CELL_END)
        if cut:
            yield buffer[:cut]
        carry = buffer[cut:]


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """The archive member of each worksheet, by sheet name (from the workbook's part and
    its relationships)."""
    names = set(archive.namelist())
    if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
        return {}
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {
        item.get("Id"): item.get("Target", "")
        for item in relationships.iter(f"{_RELATIONSHIPS}Relationship")
    }
    parts = {}
    for sheet in workbook.iter(f"{_MAIN}sheet"):
        target = targets.get(sheet.get(_RELATIONSHIP_ID))
        if not target:
            continue
        # Targets are relative to xl/, or absolute from the archive's root.
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        member = str(PurePosixPath(member))
        if member in names:
            parts[sheet.get("name", "")] = member
    return parts


def merged_ranges(path: Path, sheet: str) -> list[tuple[int, int, int, int]]:
    """The merged cells of a sheet of the .xlsx ``path``, each as its first column, first
    row, last column and last row (0-based); none for a sheet it cannot find.

    The merges follow the cells in the sheet's part: the whole part is decompressed.
    """
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive).get(sheet)
        if part is None:
            return []
        found = []
        with archive.open(part) as reader:
            buffer = b""
            while True:
                piece = reader.read(CHUNK_BYTES)
                buffer += piece
                # A tag that starts near the end may go on in the next piece: found then.
                limit = len(buffer) - _LONGEST_MERGE if piece else len(buffer)
                found += [
                    (_column(match[1]), int(match[2]) - 1, _column(match[3]), int(match[4]) - 1)
                    for match in _MERGE.finditer(buffer)
                    if match.start() < limit
                ]
                if not piece:
                    break
                buffer = buffer[max(limit, 0) :]
    return found


def _column(letters: bytes) -> int:
    """The 0-based index of a column's letters (``A`` is 0)."""
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number - 1


def totals_rows(path: Path, sheet: str) -> list[tuple[str, str]]:
    """The totals rows of the Excel tables (Insert > Table) of a sheet of the .xlsx
    ``path``, each as the table's name and the reference of the row's first cell (``A5``).

    A table with its "Total Row" shown ends with a row of totals (SUBTOTAL formulas) that a
    reader takes for one more row of data.
    """
    with zipfile.ZipFile(path) as archive:
        part = sheet_parts(archive).get(sheet)
        if part is None:
            return []
        folder = PurePosixPath(part).parent
        rels = str(folder / "_rels" / f"{PurePosixPath(part).name}.rels")
        names = set(archive.namelist())
        if rels not in names:
            return []
        found = []
        relationships = ElementTree.fromstring(archive.read(rels))
        for item in relationships.iter(f"{_RELATIONSHIPS}Relationship"):
            if not item.get("Type", "").endswith("/table"):
                continue
            target = item.get("Target", "")
            member = _normalised(
                target.lstrip("/") if target.startswith("/") else str(folder / target)
            )
            if member not in names:
                continue
            table = ElementTree.fromstring(archive.read(member))
            count = int(table.get("totalsRowCount") or 0)
            match = _REF.match(table.get("ref", ""))
            if count and match:
                first, last_row = match.group(1), int(match.group(4))
                for row in range(last_row - count + 1, last_row + 1):
                    found.append(
                        (table.get("displayName") or table.get("name", ""), f"{first}{row}")
                    )
        return found


def _normalised(member: str) -> str:
    """A member path with its ``..`` parts resolved (``xl/worksheets/../tables/t.xml``)."""
    parts: list[str] = []
    for part in member.split("/"):
        if part == "..":
            if parts:
                parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)
