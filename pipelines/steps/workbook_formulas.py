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
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pipelines.steps.workbook_parts import sheet_parts, whole_cells

# A cell that holds a formula and nothing after it: no <v> with its result.
_FORMULA_ALONE = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3}[0-9]{1,7})"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)</c>'
)
_FORMULA_ENDS = (b"</f></c>", b"/></c>")


def formulas_without_results(
    path: Path, sheets: list[str], is_read: Callable[[str], bool]
) -> dict[str, str]:
    """The first cell (``C2``) of each of ``sheets`` of the .xlsx ``path`` that holds a
    formula without its result and that ``is_read``, by sheet name; sheets without one are
    left out."""
    found = {}
    with zipfile.ZipFile(path) as archive:
        parts = sheet_parts(archive)
        for sheet in sheets:
            if sheet not in parts:
                continue
            with archive.open(parts[sheet]) as reader:
                cell = _first_formula_alone(reader, is_read)
            if cell is not None:
                found[sheet] = cell
    return found


def _first_formula_alone(reader: IO[bytes], is_read: Callable[[str], bool]) -> str | None:
    """The reference of the first cell of a worksheet part holding a formula alone that
    ``is_read``.

    Cells are looked at only where a formula ends a cell (``</f></c>``, ``<f .../></c>``),
    found with ``bytes.find``: a regular expression tried at every cell took as long as
    fastexcel's whole read of the sheet.
    """
    for cells in whole_cells(reader):
        for mark in _FORMULA_ENDS:
            position = cells.find(mark)
            while position >= 0:
                start = cells.rfind(b"<c", 0, position)
                match = _FORMULA_ALONE.fullmatch(cells, start, position + len(mark))
                if match is not None and is_read(match.group(1).decode()):
                    return match.group(1).decode()
                position = cells.find(mark, position + len(mark))
    return None
