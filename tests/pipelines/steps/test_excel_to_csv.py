"""excel_to_csv: sheets, header rows, ranges, types, .xls, and hostile workbooks."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
import xlwt

from pipelines.objects import LocalObjectStore
from pipelines.steps import excel_to_csv, workbook_limits, workbook_parts
from pipelines.steps.contract import ConfigError, InputError, StepLimits
from pipelines.steps.runtime import use_limits
from tests.fixtures.workbooks import VARIANTS, hostile_workbook
from tests.pipelines.steps.conftest import MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
FORMULA = "=cmd|' /C calc'!A0"


def workbook(path: Path) -> bytes:
    """Two sheets: 'Målinger' with a title block above the table, and 'Other'."""
    book = xlsxwriter.Workbook(path)
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet = book.add_worksheet("Målinger")
    sheet.write_string(0, 0, "Report title")
    sheet.write_string(1, 0, "exported by someone")
    sheet.write_row(2, 0, ["id", "station", "day", "at", "value", "note"])
    for n in range(1, 6):
        row = 2 + n
        sheet.write_number(row, 0, n)
        sheet.write_string(row, 1, f"S{n}")
        sheet.write_datetime(row, 2, dt.datetime(2024, 1, n), date)
        sheet.write_datetime(row, 3, dt.datetime(2024, 1, n, 10, 30), stamp)
        sheet.write_number(row, 4, n * 1.5)
        sheet.write_string(row, 5, FORMULA if n == 1 else f"note {n}")
    other = book.add_worksheet("Other")
    other.write_row(0, 0, ["x", "y"])
    other.write_row(1, 0, [1, 2])
    book.close()
    return path.read_bytes()


@pytest.fixture
def xlsx(tmp_path: Path, put: Put) -> str:
    return put("report.xlsx", workbook(tmp_path / "report.xlsx"))


def convert(
    objects: LocalObjectStore, make_event: MakeEvent, key: str, config: dict[str, Any]
) -> dict[str, pl.DataFrame]:
    result = excel_to_csv.handler(make_event("ToCsv", [key], config), None)
    return {
        output.rsplit("/", 1)[1]: pl.read_csv(io.BytesIO(objects.get(output)), infer_schema=False)
        for output in result["input"]["keys"]
    }


def test_sheet_by_name_with_header_row_keeps_dates_and_integers(
    objects: LocalObjectStore, recorder: MemoryRecorder, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"sheet": "Målinger", "headerRow": 3})
    frame = frames["report.csv"]
    assert frame.columns == ["id", "station", "day", "at", "value", "note"]
    assert frame.row(0) == ("1", "S1", "2024-01-01", "2024-01-01T10:30:00", "1.5", FORMULA)
    assert frame.get_column("id").to_list() == ["1", "2", "3", "4", "5"]
    [output] = recorder.outputs
    assert output.rows == 5
    assert output.key.endswith("/ToCsv/report.csv")


def test_sheet_by_one_based_index(
    objects: LocalObjectStore, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"sheet": 2})
    assert frames["report.csv"].rows() == [("1", "2")]


def test_all_sheets_give_one_csv_each(
    objects: LocalObjectStore, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"sheet": "*"})
    assert sorted(frames) == ["report-Malinger.csv", "report-Other.csv"]


def test_skip_rows_after_the_header(
    objects: LocalObjectStore, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"headerRow": 3, "skipRows": 2})
    assert frames["report.csv"].get_column("id").to_list() == ["3", "4", "5"]


def test_range_selects_columns_and_rows(
    objects: LocalObjectStore, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"range": "B3:C5"})
    assert frames["report.csv"].rows() == [("S1", "2024-01-01"), ("S2", "2024-01-02")]
    assert frames["report.csv"].columns == ["station", "day"]


def test_without_header_columns_are_numbered(
    objects: LocalObjectStore, xlsx: str, make_event: MakeEvent
) -> None:
    frames = convert(objects, make_event, xlsx, {"sheet": "Other", "headerRow": None})
    assert frames["report.csv"].columns == ["column_1", "column_2"]
    assert frames["report.csv"].height == 2


def test_xls_workbooks(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for column, title in enumerate(["id", "name", "day"]):
        sheet.write(0, column, title)
    sheet.write(1, 0, 7)
    sheet.write(1, 1, "Ås")
    sheet.write(1, 2, dt.date(2023, 12, 24), date)
    path = tmp_path / "old.xls"
    book.save(str(path))
    key = put("old.xls", path.read_bytes())
    frames = convert(objects, make_event, key, {})
    assert frames["old.csv"].rows() == [("7", "Ås", "2023-12-24")]


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"sheet": "Nope"}, "sheet"),
        ({"sheet": 9}, "sheet"),
        ({"headerRow": 0}, "headerRow"),
        ({"range": "A1-F2"}, "range"),
        ({"range": "F9:A1"}, "range"),
        ({"skipRows": -1}, "skipRows"),
        ({"sheets": 1}, "sheets"),
    ],
)
def test_bad_options_name_the_option(
    xlsx: str, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        excel_to_csv.handler(make_event("ToCsv", [xlsx], config), None)
    assert raised.value.key == option


def test_a_zip_bomb_is_refused_before_it_is_opened(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "bomb.xlsx"
    workbook(path)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        # 64 MB of zeros compress to about 64 KB.
        archive.writestr("xl/media/padding.bin", bytes(64 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    key = put("bomb.xlsx", path.read_bytes())
    config = {"maxUncompressedBytes": 16 * 1024 * 1024}
    with pytest.raises(InputError, match="unpacks to 67 MB, over the limit of 17 MB"):
        excel_to_csv.handler(make_event("ToCsv", [key], config), None)


def test_a_sheet_declaring_a_huge_grid_is_refused(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "huge.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Data")
    sheet.write_string(0, 0, "id")
    # Two cells span the whole grid: 1,048,576 x 16,384 cells once held densely.
    sheet.write_string(1_048_575, 16_383, "far away")
    book.close()
    key = put("huge.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_far_cell_in_any_attribute_form_is_refused(
    tmp_path: Path, put: Put, make_event: MakeEvent, variant: str
) -> None:
    # calamine aborts the process (a 512 GiB allocation) on these; a text match missed them.
    path = hostile_workbook(tmp_path / "far.xlsx", variant)
    key = put("far.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_cells_without_references_count_towards_the_grid(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "wide.xlsx"
    workbook(path)
    cells = "<c><v>1</v></c>" * 300
    far_row = f"<row>{cells}</row></sheetData>"
    rewrite_sheet(path, lambda text: text.replace("</sheetData>", far_row))
    key = put("wide.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="9 rows x 300 columns, over the limit of 1,000 cells"):
        excel_to_csv.handler(make_event("ToCsv", [key], {"maxCells": 1000}), None)


def test_an_inflated_dimension_alone_is_harmless(
    tmp_path: Path, put: Put, make_event: MakeEvent, objects: LocalObjectStore
) -> None:
    # calamine sizes the grid from the cells, not from <dimension>: the workbook converts.
    path = hostile_workbook(tmp_path / "dim.xlsx", "single-quote", where="dimension")
    key = put("dim.xlsx", path.read_bytes())
    frames = convert(objects, make_event, key, {})
    assert frames["dim.csv"].rows() == [("1", "a")]


def test_taskconfig_cannot_raise_the_server_limits(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    key = put("report.xlsx", workbook(tmp_path / "report.xlsx"))
    config = {"maxCells": 10**15, "maxUncompressedBytes": 10**15}
    with use_limits(StepLimits(max_cells=20)), pytest.raises(InputError, match="limit of 20 cells"):
        excel_to_csv.handler(make_event("ToCsv", [key], config), None)
    with (
        use_limits(StepLimits(max_uncompressed_bytes=1000)),
        pytest.raises(InputError, match="over the limit"),
    ):
        excel_to_csv.handler(make_event("ToCsv", [key], config), None)


def test_taskconfig_can_lower_the_server_limits(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    key = put("report.xlsx", workbook(tmp_path / "report.xlsx"))
    with pytest.raises(InputError, match="limit of 20 cells"):
        excel_to_csv.handler(make_event("ToCsv", [key], {"maxCells": 20}), None)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>',
        '<!DOCTYPE worksheet SYSTEM "http://127.0.0.1:9/x.dtd">',
    ],
)
def test_a_sheet_with_a_dtd_is_refused(
    tmp_path: Path, put: Put, make_event: MakeEvent, doctype: str
) -> None:
    path = tmp_path / "dtd.xlsx"
    workbook(path)
    rewrite_sheet(path, lambda text: text.replace("?>", f"?>{doctype}", 1))
    key = put("dtd.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="declares a DTD"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_malformed_sheet_is_refused(tmp_path: Path, put: Put, make_event: MakeEvent) -> None:
    path = tmp_path / "broken.xlsx"
    workbook(path)
    rewrite_sheet(path, lambda text: text.replace("<sheetData>", "<sheetData><row r='1'><c r=1>"))
    key = put("broken.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="not well-formed XML"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def rewrite_sheet(path: Path, change: Callable[[str], str], *, encoding: str = "utf-8") -> None:
    """Apply ``change`` to the XML of the workbook's first sheet."""
    rewrite_part(path, "xl/worksheets/sheet1.xml", change, encoding=encoding)


def rewrite_part(
    path: Path, part: str, change: Callable[[str], str], *, encoding: str = "utf-8"
) -> None:
    """Apply ``change`` to the XML of one part of the workbook, written in ``encoding``."""
    with zipfile.ZipFile(path) as source:
        parts = [(member, source.read(member)) for member in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for member, data in parts:
            if member.filename == part:
                data = change(data.decode()).encode(encoding)
            out.writestr(member, data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"id,name\n1,a\n", "not an Excel workbook"),
        (b"PK\x03\x04 this is not really a zip", "not an Excel workbook"),
    ],
)
def test_files_that_are_not_workbooks_raise_input_error(
    put: Put, make_event: MakeEvent, data: bytes, message: str
) -> None:
    key = put("fake.xlsx", data)
    with pytest.raises(InputError, match=message):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_zip_without_a_workbook_inside_is_an_input_error(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    key = put("empty.xlsx", buffer.getvalue())
    with pytest.raises(InputError, match=r"empty\.xlsx cannot be opened as a workbook"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


# Each way of placing a cell at XFD1048576 that a search for plain `<c r="..."` tags within
# the sheet's dimension does not see: the quick check must hand these sheets to expat.
FAR_ROW = '<row r="1048576">{cells}</row></sheetData>'
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HIDDEN_FAR_CELLS = {
    "beyond the dimension": FAR_ROW.format(cells='<c r="XFD1048576"><v>1</v></c>'),
    "lower case": FAR_ROW.format(cells='<c r="xfd1048576"><v>1</v></c>'),
    "reference not first": FAR_ROW.format(cells='<c s="0" r="XFD1048576"><v>1</v></c>'),
    "prefixed": FAR_ROW.format(cells=f'<x:c xmlns:x="{MAIN_NS}" r="XFD1048576"><v>1</v></x:c>'),
    "no references": FAR_ROW.format(cells="<c><v>1</v></c>" * 16_384),
    "after a comment": "<!-- far -->" + FAR_ROW.format(cells='<c r="XFD1048576"/>'),
}


@pytest.mark.parametrize("construct", sorted(HIDDEN_FAR_CELLS))
def test_far_cells_hidden_from_the_quick_check_are_refused(
    tmp_path: Path, put: Put, make_event: MakeEvent, construct: str
) -> None:
    path = tmp_path / "far.xlsx"
    workbook(path)
    far = HIDDEN_FAR_CELLS[construct]
    rewrite_sheet(path, lambda text: text.replace("</sheetData>", far))
    key = put("far.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_utf16_sheet_is_measured_by_expat(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "far.xlsx"
    workbook(path)

    def to_utf16(text: str) -> str:
        far = text.replace("</sheetData>", FAR_ROW.format(cells='<c r="XFD1048576"/>'))
        return far.replace('encoding="UTF-8"', 'encoding="UTF-16"')

    rewrite_sheet(path, to_utf16, encoding="utf-16")
    key = put("far.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_dtd_in_any_part_is_refused(tmp_path: Path, put: Put, make_event: MakeEvent) -> None:
    path = tmp_path / "dtd.xlsx"
    workbook(path)
    doctype = '<!DOCTYPE styleSheet [<!ENTITY a "aaaaaaaaaa">]>'
    rewrite_part(path, "xl/styles.xml", lambda text: text.replace("?>", f"?>{doctype}", 1))
    key = put("dtd.xlsx", path.read_bytes())
    with pytest.raises(InputError, match=r"xl/styles\.xml declares a DTD"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_sheet_as_spreadsheet_programs_write_it_takes_the_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    workbook(path)
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo("xl/worksheets/sheet1.xml")
        # No expat fallback (_Declined) and the grid of its dimension, A1:F8.
        size, grid = workbook_limits._quick_scan(archive, member, "report.xlsx", 0, 10**9, 10**6)
    assert (size, grid) == (member.file_size, (8, 6))


SHEET = "xl/worksheets/sheet1.xml"


def rewrite_raw(path: Path, part: str, change: Callable[[bytes, zipfile.ZipInfo], bytes]) -> None:
    """Apply ``change`` to one part's compressed bytes, leaving its headers as they are."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo(part)
    header = member.header_offset
    names = int.from_bytes(data[header + 26 : header + 28], "little")
    extra = int.from_bytes(data[header + 28 : header + 30], "little")
    start = header + 30 + names + extra
    end = start + member.compress_size
    replaced = change(bytes(data[start:end]), member)
    assert len(replaced) == member.compress_size
    data[start:end] = replaced
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage",
    [
        # The first block's type is 3, which deflate reserves: no decompressor reads on.
        pytest.param(lambda raw, member: b"\x07" + raw[1:], id="invalid-deflate"),
        # The data stops half way: the member's last block never comes.
        pytest.param(
            lambda raw, member: raw[: len(raw) // 2] + bytes(len(raw) - len(raw) // 2),
            id="truncated-deflate",
        ),
    ],
)
def test_a_sheet_whose_compressed_data_is_damaged_is_an_input_error(
    tmp_path: Path,
    put: Put,
    make_event: MakeEvent,
    damage: Callable[[bytes, zipfile.ZipInfo], bytes],
) -> None:
    path = tmp_path / "damaged.xlsx"
    workbook(path)
    rewrite_raw(path, SHEET, damage)
    key = put("damaged.xlsx", path.read_bytes())
    with pytest.raises(InputError, match=r"damaged\.xlsx is a damaged or encrypted workbook"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_a_sheet_whose_checksum_does_not_match_is_an_input_error(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "crc.xlsx"
    workbook(path)
    # Same length, valid deflate, other text: the CRC-32 in the zip's headers no longer fits.
    rewrite_raw(path, SHEET, lambda raw, member: recompressed(raw, b"<v>1</v>", b"<v>7</v>"))
    key = put("crc.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="Bad CRC-32"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def recompressed(raw: bytes, old: bytes, new: bytes) -> bytes:
    """The deflate stream ``raw`` with ``old`` replaced in its text, padded to the same size."""
    text = zlib.decompress(raw, -zlib.MAX_WBITS)
    assert old in text
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    packed = packer.compress(text.replace(old, new)) + packer.flush()
    assert len(packed) <= len(raw)
    # Bytes after the final block are never read.
    return packed + bytes(len(raw) - len(packed))


def test_an_uncompressed_sheet_is_measured_too(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "stored.xlsx"
    workbook(path)
    rewrite_sheet(
        path, lambda text: text.replace("</sheetData>", FAR_ROW.format(cells='<c r="XFD1048576"/>'))
    )
    with zipfile.ZipFile(path) as source:
        parts = [(member, source.read(member)) for member in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        for member, data in parts:
            member.compress_type = zipfile.ZIP_STORED
            out.writestr(member, data)
    key = put("stored.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def test_the_quick_check_searches_every_piece_of_a_long_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pieces of 512 bytes (the first holds the root and the dimension), each searched on its
    # own: the far cell lies in a late search.
    monkeypatch.setattr(workbook_limits, "_PIECE_BYTES", 512)
    monkeypatch.setattr(workbook_limits, "CHUNK_BYTES", 512)
    path = tmp_path / "long.xlsx"
    workbook(path)
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo(SHEET)
        size, grid = workbook_limits._quick_scan(archive, member, "long.xlsx", 0, 10**9, 10**6)
    assert (size, grid) == (member.file_size, (8, 6))
    rewrite_sheet(
        path, lambda text: text.replace("</sheetData>", FAR_ROW.format(cells='<c r="G9"/>'))
    )
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo(SHEET)
        assert member.file_size > 3 * 512
        with pytest.raises(workbook_limits._Declined):
            workbook_limits._quick_scan(archive, member, "long.xlsx", 0, 10**9, 10**6)


def test_a_root_name_cut_at_the_end_of_the_first_read_is_not_taken_for_another(
    tmp_path: Path, put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first read ends inside ``<worksheet``: ``<works`` is no sheet's root, and the far
    # cell went unmeasured when the part was taken for something else.
    monkeypatch.setattr(workbook_limits, "_PIECE_BYTES", 100)
    monkeypatch.setattr(workbook_limits, "CHUNK_BYTES", 100)
    path = tmp_path / "cut.xlsx"
    workbook(path)

    def pad_and_reach_far(text: str) -> str:
        declaration, _, rest = text.partition("?>")
        padding = " " * (100 - len(declaration) - len("?><works"))
        far = FAR_ROW.format(cells='<c r="XFD1048576"/>')
        return declaration + "?>" + padding + rest.lstrip().replace("</sheetData>", far)

    rewrite_sheet(path, pad_and_reach_far)
    with zipfile.ZipFile(path) as archive:
        assert archive.read(SHEET)[:100].endswith(b"<works")
    key = put("cut.xlsx", path.read_bytes())
    with pytest.raises(InputError, match="1,048,576 rows x 16,384 columns"):
        excel_to_csv.handler(make_event("ToCsv", [key]), None)


def error_workbook(path: Path, errors: list[str]) -> bytes:
    """A sheet whose column 'andel' (numbers) and 'merknad' (text) hold formulas whose cached
    results are the given Excel errors, one row each, between rows of values."""
    book = xlsxwriter.Workbook(path)
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["kommune", "andel", "merknad", "dato"])
    sheet.write_row(1, 0, ["0301", 1.5, "ok"])
    sheet.write_datetime(1, 3, dt.datetime(2024, 1, 2), date)
    for row in range(2, len(errors) + 2):
        sheet.write_string(row, 0, f"K{row}")
        sheet.write_formula(row, 1, "=1/0", None, "#DIV/0!")
        sheet.write_formula(row, 2, "=NA()", None, "#N/A")
        sheet.write_formula(row, 3, "=NA()", None, "#N/A")
    last = len(errors) + 2
    sheet.write_row(last, 0, ["5001", 2, "siste"])
    sheet.write_datetime(last, 3, dt.datetime(2024, 1, 3), date)
    book.close()
    # xlsxwriter writes only the errors it knows as such: put the others in place.
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for member in source.infolist():
                part = source.read(member.filename)
                if member.filename == "xl/worksheets/sheet1.xml":
                    for error in errors:
                        part = part.replace(b"<v>#DIV/0!</v>", f"<v>{error}</v>".encode(), 1)
                        part = part.replace(b"<v>#N/A</v>", f"<v>{error}</v>".encode(), 2)
                target.writestr(member, part)
    return out.getvalue()


@pytest.mark.parametrize(
    "error",
    # #NAME? failed the column's type; the errors of newer Excel versions failed the sheet.
    [
        *("#DIV/0!", "#N/A", "#REF!", "#VALUE!", "#NUM!", "#NULL!", "#NAME?", "#SPILL!"),
        *("#CALC!", "#GETTING_DATA", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!"),
    ],
)
def test_error_cells_become_empty_values(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent, error: str
) -> None:
    key = put("feil.xlsx", error_workbook(tmp_path / "feil.xlsx", [error]))
    frames = convert(objects, make_event, key, {})
    assert frames["feil.csv"].rows() == [
        ("0301", "1.5", "ok", "2024-01-02"),
        ("K2", None, None, None),
        ("5001", "2", "siste", "2024-01-03"),
    ]


@pytest.mark.parametrize("chunk_bytes", [7, 64, 16 * 1024 * 1024])
def test_error_cells_of_every_kind_in_one_sheet(
    objects: LocalObjectStore,
    tmp_path: Path,
    put: Put,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
    chunk_bytes: int,
) -> None:
    # The copy rewrites a sheet in chunks: cells cut at a chunk's end are rewritten whole.
    monkeypatch.setattr(workbook_parts, "CHUNK_BYTES", chunk_bytes)
    errors = ["#NAME?", "#SPILL!", "#N/A", "#CALC!", "#NAME?"]
    key = put("feil.xlsx", error_workbook(tmp_path / "feil.xlsx", errors))
    frame = convert(objects, make_event, key, {})["feil.csv"]
    assert frame.get_column("andel").to_list() == ["1.5", None, None, None, None, None, "2"]
    assert frame.get_column("dato").to_list()[-1] == "2024-01-03"


@pytest.mark.parametrize("code", [0x1D, 0x07, 0x2A])  # #NAME?, #DIV/0!, #N/A
def test_error_cells_of_an_xls_become_empty_values(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent, code: int
) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Data")
    sheet.write(0, 0, "kommune")
    sheet.write(0, 1, "andel")
    sheet.write(1, 0, "Oslo")
    sheet.write(1, 1, 1.5)
    sheet.write(2, 0, "Bergen")
    sheet.row(2).set_cell_error(1, code)
    path = tmp_path / "feil.xls"
    book.save(str(path))
    key = put("feil.xls", path.read_bytes())
    assert convert(objects, make_event, key, {})["feil.csv"].rows() == [
        ("Oslo", "1.5"),
        ("Bergen", None),
    ]


def test_numbers_are_written_with_the_fifteen_digits_excel_shows(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # Excel stores a formula's result with all 17 digits of a double, noise included, and
    # shows 15: 0.1+0.2 was written 0.30000000000000004, and 0.1*30 as 3.0000000000000004.
    book = xlsxwriter.Workbook(tmp_path / "sum.xlsx")
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["kommune", "andel", "antall"])
    values = [("0301", 0.25, 3.5), ("1103", 0.75, 7.5), ("5001", 2.5, 12), ("3005", -1e-7, 4)]
    for row, (code, share, count) in enumerate(values, start=1):
        sheet.write_string(row, 0, code)
        sheet.write_number(row, 1, share)
        sheet.write_number(row, 2, count)
    book.close()
    # xlsxwriter writes 16 digits: put Excel's 17 in place.
    stored = {
        b"<v>0.25</v>": b"<v>0.30000000000000004</v>",
        b"<v>3.5</v>": b"<v>3.0000000000000004</v>",
        b"<v>0.75</v>": b"<v>33.333333333333336</v>",
        b"<v>7.5</v>": b"<v>6.9999999999999991</v>",
    }
    with zipfile.ZipFile(tmp_path / "sum.xlsx") as source:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
            for member in source.infolist():
                part = source.read(member.filename)
                for written, excel in stored.items():
                    part = part.replace(written, excel)
                target.writestr(member, part)
    key = put("sum.xlsx", out.getvalue())
    frame = convert(objects, make_event, key, {})["sum.csv"]
    assert frame.get_column("andel").to_list() == ["0.3", "33.3333333333333", "2.5", "-1e-7"]
    assert frame.get_column("antall").to_list() == ["3", "7", "12", "4"]


def test_dates_in_a_column_with_text_are_written_as_dates(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # A date cell in a column that also holds text was written "2024-03-01 00:00:00".
    book = xlsxwriter.Workbook(tmp_path / "datoer.xlsx")
    date = book.add_format({"num_format": "dd.mm.yyyy"})
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["kommune", "vedtatt", "merknad"])
    sheet.write_row(1, 0, ["0301", "ukjent", "2024-03-01 00:00:00"])
    sheet.write_string(2, 0, "1103")
    sheet.write_datetime(2, 1, dt.datetime(2024, 3, 1), date)
    sheet.write_number(2, 2, 12)
    sheet.write_string(3, 0, "5001")
    sheet.write_datetime(3, 1, dt.datetime(2024, 3, 2, 10, 30), stamp)
    sheet.write_string(3, 2, "tekst")
    book.close()
    key = put("datoer.xlsx", (tmp_path / "datoer.xlsx").read_bytes())
    frame = convert(objects, make_event, key, {})["datoer.csv"]
    assert frame.get_column("vedtatt").to_list() == ["ukjent", "2024-03-01", "2024-03-02T10:30:00"]
    # Text that reads like a date stays the text it is; numbers as General shows them.
    assert frame.get_column("merknad").to_list() == ["2024-03-01 00:00:00", "12", "tekst"]


@pytest.mark.parametrize("chunk_bytes", [1, 3, 7, 64, 16 * 1024 * 1024])
def test_a_worksheet_is_read_in_chunks_of_whole_cells(
    monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    monkeypatch.setattr(workbook_parts, "CHUNK_BYTES", chunk_bytes)
    xml = b'<row><c r="A1"><v>1</v></c><c r="B1" t="e"><v>#N/A</v></c></row><x/>'
    chunks = list(workbook_parts.whole_cells(io.BytesIO(xml)))
    assert b"".join(chunks) == xml
    # Every chunk but the last ends after a whole cell.
    assert all(chunk.endswith(b"</c>") for chunk in chunks[:-1])
