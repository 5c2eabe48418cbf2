"""Formulas whose result an .xlsx workbook does not hold.

A workbook keeps each formula's result as last calculated beside the formula, and readers
(calamine among them) read that result. Programs that write workbooks without calculating
(openpyxl, and others that leave the calculation to Excel when it opens the file) write the
formula alone: read, such a cell is empty, and a column of totals comes out blank without a
word. ``formulas_without_results`` finds the first such cell of each sheet, in one pass over
the sheets' XML (decompressed in chunks), so that excel_to_csv can say so.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO

# Decompressed bytes read at a time.
CHUNK_BYTES = 16 * 1024 * 1024
# A cell that holds a formula and nothing after it: no <v> with its result.
_FORMULA_ALONE = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)</c>'
)
_CELL_END = b"</c>"
_FORMULA_ENDS = (b"</f></c>", b"/></c>")
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def formulas_without_results(
    path: Path, sheets: list[str], is_read: Callable[[str], bool]
) -> dict[str, str]:
    """The first cell (``C2``) of each of ``sheets`` of the .xlsx ``path`` that holds a
    formula without its result and that ``is_read``, by sheet name; sheets without one are
    left out."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        parts = _sheet_parts(archive)
        for sheet in sheets:
            if sheet not in parts:
                continue
            with archive.open(parts[sheet]) as reader:
                cell = _first_formula_alone(reader, is_read)
            if cell is not None:
                found[sheet] = cell
    return found


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
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


def _first_formula_alone(reader: IO[bytes], is_read: Callable[[str], bool]) -> str | None:
    """The reference of the first cell of a worksheet part holding a formula alone that
    ``is_read``.

    Cells are looked at only where a formula ends a cell (``</f></c>``, ``<f .../></c>``),
    found with ``bytes.find``: a regular expression tried at every cell took as long as
    fastexcel's whole read of the sheet.
    """
    carry = b""
    while True:
        piece = reader.read(CHUNK_BYTES)
        buffer = carry + piece
        # Whole cells only: a cell cut at the chunk's end waits for the next chunk.
        end = buffer.rfind(_CELL_END)
        cut = len(buffer) if not piece else 0 if end < 0 else end + len(_CELL_END)
        for mark in _FORMULA_ENDS:
            position = buffer.find(mark, 0, cut)
            while position >= 0:
                start = buffer.rfind(b"<c", 0, position)
                match = _FORMULA_ALONE.fullmatch(buffer, start, position + len(mark))
                if match is not None and is_read(match.group(1).decode()):
                    return match.group(1).decode()
                position = buffer.find(mark, position + len(mark), cut)
        carry = buffer[cut:]
        if not piece:
            return None
