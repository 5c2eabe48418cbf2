"""Excel error values fastexcel cannot read, made ones it can in a copy of an .xlsx workbook.

A formula's cached result may be an error. calamine reads the seven errors of the file
format's first version (``#DIV/0!``, ``#N/A``, ``#NAME?``, ``#NULL!``, ``#NUM!``, ``#REF!``,
``#VALUE!``) and refuses the whole sheet for any other: ``#SPILL!`` and ``#CALC!`` of dynamic
arrays, ``#GETTING_DATA`` of data connections, ``#FIELD!``, ``#BLOCKED!``, ``#CONNECT!``,
``#BUSY!``, ``#UNKNOWN!``; and fastexcel cannot find the type of a column holding a
``#NAME?``. No error is data (excel_to_csv writes them all as empty values), so a workbook
refused for one is copied with each such cell's value made ``#N/A``. Only then: the copy
costs a pass over the workbook, which readable workbooks never pay.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO

from pipelines.steps.workbook_parts import CHUNK_BYTES, whole_cells

# The errors fastexcel reads as an empty value of the column's type; #NAME? it reads, but
# then cannot tell the column's type.
KNOWN_ERRORS = frozenset({b"#DIV/0!", b"#N/A", b"#NULL!", b"#NUM!", b"#REF!", b"#VALUE!"})
# An error cell's value, as spreadsheet programs write the cell: its type t="e", a formula
# (or none), then the value.
_ERROR_CELL = re.compile(
    rb'(<c\s[^>]*\bt="e"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<v>)([^<]*)(</v>)'
)


def with_known_errors(path: Path, target: Path) -> Path:
    """Copy the .xlsx ``path`` to ``target`` with every error value calamine does not know
    made ``#N/A``; returns ``target``. Parts other than worksheets are copied as they are."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(target, "w") as copy:
        for member in source.infolist():
            with source.open(member) as reader, copy.open(_copied(member), "w") as writer:
                if _is_worksheet(member.filename):
                    _rewrite(reader, writer)
                else:
                    shutil.copyfileobj(reader, writer, CHUNK_BYTES)
    return target


def _copied(member: zipfile.ZipInfo) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(member.filename, date_time=member.date_time)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _is_worksheet(filename: str) -> bool:
    name = PurePosixPath(filename)
    return name.suffix == ".xml" and "worksheets" in name.parts


def _rewrite(reader: IO[bytes], writer: IO[bytes]) -> None:
    """Stream a worksheet part, cut after whole cells, with unknown error values replaced."""
    for cells in whole_cells(reader):
        writer.write(_ERROR_CELL.sub(_known, cells))


def _known(match: re.Match[bytes]) -> bytes:
    value = match.group(2)
    return match.group(0) if value in KNOWN_ERRORS else match.group(1) + b"#N/A" + match.group(3)
