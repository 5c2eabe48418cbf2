"""Files as Norwegian and European data portals publish them, through the tabular steps.

The CSV files under tests/data/steps/portal/ imitate SSB, Oslo kommune, Eurostat and Excel
exports byte for byte (BOM, CRLF, cp1252, decimal comma, no-break spaces, ``sep=`` lines).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import xlsxwriter
import xlwt

from pipelines.objects import LocalObjectStore
from pipelines.steps import csv_to_parquet, excel_to_csv, preview, publish, transform, validate
from pipelines.steps.contract import ConfigError, InputError, ValidationFailed
from pipelines.steps.tables import column_names
from tests.pipelines.steps.conftest import DATA, MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
PORTAL = DATA / "portal"
SSB_MISSING = ["", ".", "..", "...", ":", "-"]
OSLO_HOUSEHOLDS = "oslo-husholdninger.csv"


def to_parquet(
    objects: LocalObjectStore,
    put: Put,
    make_event: MakeEvent,
    name: str,
    config: dict[str, Any],
    data: bytes | None = None,
) -> pl.DataFrame:
    key = put(name, (PORTAL / name).read_bytes() if data is None else data)
    result = csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    [output] = result["input"]["keys"]
    return pl.read_parquet(io.BytesIO(objects.get(output)))


def test_ssb_semicolon_decimal_comma_spaces_and_missing_markers(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [
            {"name": "region"},
            {"name": "år", "type": "year"},
            {"name": "folkemengde", "type": "integer", "groupChar": " "},
            {"name": "andel", "type": "number"},
        ],
        "missingValues": SSB_MISSING,
    }
    config = {"delimiter": ";", "decimalChar": ",", "schema": schema}
    frame = to_parquet(objects, put, make_event, "ssb-befolkning.csv", config)
    assert frame.columns == ["region", "år", "folkemengde", "andel"]  # no BOM in the name
    assert frame.schema["folkemengde"] == pl.Int64
    assert frame.rows() == [
        ("0301 Oslo", 2023, 709_037, 12.5),  # no-break spaces around and inside
        ("1103 Stavanger", 2023, 146_011, 3.1),
        ("5001 Trondheim", 2023, None, None),
        ("3401 Kongsvinger", 2023, None, None),
        ("9999 Uoppgitt", 2023, None, 0.0),
    ]


def test_top_level_group_char_applies_to_every_number_field(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [{"name": "folkemengde", "type": "integer"}],
        "missingValues": SSB_MISSING,
    }
    config = {"delimiter": ";", "decimalChar": ",", "groupChar": " ", "schema": schema}
    frame = to_parquet(objects, put, make_event, "ssb-befolkning.csv", config)
    assert frame.get_column("folkemengde").to_list() == [709_037, 146_011, None, None, None]


def test_cp1252_trailing_delimiter_and_blank_lines_at_the_end(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [
            {"name": "innbyggere", "type": "integer", "groupChar": " "},
            {"name": "areal_km2", "type": "number"},
        ]
    }
    config = {"delimiter": ";", "encoding": "cp1252", "decimalChar": ",", "schema": schema}
    frame = to_parquet(objects, put, make_event, "oslo-bydeler-cp1252.csv", config)
    # The empty column after the trailing ';' is dropped; the blank lines are not rows.
    assert frame.columns == ["bydel", "innbyggere", "areal_km2"]
    assert frame.rows() == [
        ("Grünerløkka", 64_184, 4.8),
        ("Søndre Nordstrand", 40_036, 18.4),
        ("Østensjø", 52_075, 12.2),
        ("Vestre Aker", 52_426, 16.6),
    ]


def test_a_trailing_column_with_values_is_kept_and_named_by_position(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = b"a;b;\n1;2;\n3;4;note\n"
    frame = to_parquet(objects, put, make_event, "t.csv", {"delimiter": ";"}, data)
    assert frame.rows() == [("1", "2", None), ("3", "4", "note")]
    assert frame.columns == ["a", "b", "column_3"]


@pytest.mark.parametrize("schema", [None, {"fields": [{"name": "b", "type": "integer"}]}])
def test_every_empty_column_of_a_padded_excel_export_is_dropped(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, schema: dict[str, Any] | None
) -> None:
    # Excel pads every line to the sheet's used width: formatted but empty cells on the right.
    data = b"a;b;;;\r\n1;2;;;\r\n3;4;;x;\r\n"
    config: dict[str, Any] = {"delimiter": ";"} | ({"schema": schema} if schema else {})
    frame = to_parquet(objects, put, make_event, "t.csv", config, data)
    assert frame.columns == ["a", "b", "column_4"]
    assert frame.get_column("column_4").to_list() == [None, "x"]


def test_oslo_household_codes_keep_their_leading_zeros_without_a_schema(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    frame = to_parquet(objects, put, make_event, OSLO_HOUSEHOLDS, {"delimiter": ";"})
    assert set(frame.schema.values()) == {pl.String}
    assert frame.get_column("delbydel_id").to_list()[:3] == ["0101", "0102", "0103"]
    assert frame.get_column("bydel_id").to_list()[:4] == ["01", "01", "01", "02"]
    assert frame.get_column("aleneboende").to_list()[:2] == ["1 523", "2 210"]


def test_columns_a_partial_schema_leaves_out_stay_text(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [{"name": "aleneboende", "type": "integer", "groupChar": " "}],
        "missingValues": ["", ":"],
    }
    config = {"delimiter": ";", "decimalChar": ",", "schema": schema}
    frame = to_parquet(objects, put, make_event, OSLO_HOUSEHOLDS, config)
    assert frame.schema["aleneboende"] == pl.Int64
    assert frame.get_column("aleneboende").to_list()[:2] == [1523, 2210]
    assert {column: frame.schema[column] for column in ("delbydel_id", "bydel_id", "år")} == {
        "delbydel_id": pl.String,
        "bydel_id": pl.String,
        "år": pl.String,
    }
    assert frame.row(0)[:5] == ("0101", "Lodalen", "01", "Gamle Oslo", "2023")


def test_auto_encoding_reads_cp1252_and_utf8_with_bom(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    config = {"delimiter": "auto", "encoding": "auto"}
    frame = to_parquet(objects, put, make_event, "oslo-bydeler-cp1252.csv", config)
    assert frame.get_column("bydel").to_list()[2] == "Østensjø"
    frame = to_parquet(objects, put, make_event, "ssb-befolkning.csv", config)
    assert frame.columns[1] == "år"
    summaries = [event[5] for event in recorder.events if event[0] == "finished"]
    assert summaries[0]["encodings"] == {"oslo-bydeler-cp1252.csv": "cp1252"}
    assert summaries[1]["encodings"] == {"ssb-befolkning.csv": "utf-8-sig"}
    assert summaries[1]["delimiters"] == {"ssb-befolkning.csv": ";"}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_auto_encoding_reads_excel_unicode_text(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    encoding: str,
) -> None:
    # Excel's "Unicode Text": UTF-16 with a byte-order mark, tab-delimited.
    text = "kommunenr\tnavn\r\n0301\tOslo\r\n3201\tBærum\r\n"
    data = ("\ufeff" + text).encode(encoding)
    config = {"delimiter": "auto", "encoding": "auto"}
    frame = to_parquet(objects, put, make_event, "unicode.csv", config, data)
    assert frame.columns == ["kommunenr", "navn"]
    assert frame.rows() == [("0301", "Oslo"), ("3201", "Bærum")]
    assert recorder.finished("ToParquet")[5]["encodings"] == {"unicode.csv": "utf-16"}


@pytest.mark.parametrize("encoding", ["latin-1", "ISO-8859-1"])
def test_a_cp1252_file_read_as_latin1_is_an_input_error_not_control_characters(
    put: Put, make_event: MakeEvent, encoding: str
) -> None:
    # Latin-1 has control characters where cp1252 has the euro sign, dashes and curly quotes.
    key = put("priser.csv", "vare;pris\r\nKaffe \u2013 stor;€ 35\r\n".encode("cp1252"))
    config = {"delimiter": ";", "encoding": encoding}
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert raised.value.message.startswith(
        "priser.csv has byte 0x96 at offset 17 (line 2), a control character in latin-1: "
        'the file is most likely cp1252 (Windows); set the encoding option to "cp1252"'
    )


def test_utf8_config_on_a_cp1252_file_names_the_option_offset_and_line(
    put: Put, make_event: MakeEvent, recorder: MemoryRecorder
) -> None:
    key = put("oslo.csv", (PORTAL / "oslo-bydeler-cp1252.csv").read_bytes())
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], {"delimiter": ";"}), None)
    # 'ü' of Grünerløkka is 0xfc in cp1252: offset 31, on line 2.
    assert raised.value.message == (
        "oslo.csv is not valid UTF-8: byte 0xfc at offset 31 (line 2); set the encoding "
        'option to the file\'s encoding, e.g. "cp1252", "latin-1", "utf-8", or "auto"'
    )
    assert recorder.finished("ToParquet")[4] == {
        "error": "InputError",
        "cause": raised.value.message,
    }


def test_a_bad_byte_deep_in_a_typed_column_is_located(put: Put, make_event: MakeEvent) -> None:
    rows = b"".join(b"%d;%d\n" % (n, n) for n in range(5000))
    key = put("deep.csv", b"id;value\n" + rows + b"5000;\xe6\n")
    schema = {"fields": [{"name": "value", "type": "integer"}]}
    with pytest.raises(InputError, match=r"byte 0xe6 at offset [0-9,]+ \(line 5002\)"):
        csv_to_parquet.handler(
            make_event("ToParquet", [key], {"delimiter": ";", "schema": schema}), None
        )


def test_a_byte_cp1252_leaves_undefined_is_located(put: Put, make_event: MakeEvent) -> None:
    key = put("x.csv", b"a\nok\nbad \x81 byte\n")
    with pytest.raises(InputError, match=r"not valid cp1252: byte 0x81 at offset 9 \(line 3\)"):
        csv_to_parquet.handler(make_event("ToParquet", [key], {"encoding": "cp1252"}), None)


def test_excel_sep_line_dotted_dates_and_dot_grouped_numbers(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [
            {"name": "dato", "type": "date", "format": "%d.%m.%Y"},
            {"name": "tidspunkt", "type": "datetime", "format": "%Y-%m-%d %H:%M"},
            {"name": "beløp", "type": "number", "groupChar": "."},
        ]
    }
    # No delimiter option: the sep= line gives it.
    frame = to_parquet(
        objects, put, make_event, "excel-sep-line.csv", {"decimalChar": ",", "schema": schema}
    )
    assert frame.rows() == [
        (dt.date(2024, 2, 1), dt.datetime(2024, 2, 1, 13, 45), 1234.5),
        (dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 0, 5), -12.75),
    ]


def test_a_sep_line_disagreeing_with_the_delimiter_option_is_an_input_error(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("s.csv", (PORTAL / "excel-sep-line.csv").read_bytes())
    with pytest.raises(InputError, match="declares sep=; on its first line, but the delimiter"):
        csv_to_parquet.handler(make_event("ToParquet", [key], {"delimiter": "|"}), None)


def test_quoted_delimiters_doubled_quotes_and_line_breaks(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    frame = to_parquet(objects, put, make_event, "quoted-fields.csv", {})
    assert frame.rows() == [
        ("1", "Bjørvika, Oslo", 'Sa "hei" og gikk'),
        ("2", "Tøyen", "linje én\r\nlinje to"),
        ("3", "Grønland", None),
    ]


def test_duplicate_and_empty_header_names_become_unique(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    frame = to_parquet(objects, put, make_event, "odd-header.csv", {"delimiter": ";"})
    # Empty -> column_<position>; repeats -> _2, _3 skipping names taken ('kode_2' is real).
    assert frame.columns == ["kode", "navn", "column_3", "navn_2", "kode_2"]
    assert frame.rows() == [("1", "a", "x", "b", "y"), ("2", "c", None, "d", "z")]


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        (["a", "a", "a"], ["a", "a_2", "a_3"]),
        (["a", "a", "a_2"], ["a", "a_3", "a_2"]),
        (["", " ", "column_2"], ["column_1", "column_2_2", "column_2"]),
        ([None, "x"], ["column_1", "x"]),
    ],
)
def test_column_names_are_deterministic(raw: list[str | None], names: list[str]) -> None:
    assert column_names(raw) == names


def test_a_file_that_is_only_a_header_gives_an_empty_table(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    schema = {"fields": [{"name": "modified", "type": "date"}]}
    frame = to_parquet(
        objects, put, make_event, "header-only.tsv", {"delimiter": "\t", "schema": schema}
    )
    assert frame.shape == (0, 3)
    assert frame.schema["modified"] == pl.Date
    assert recorder.outputs[0].rows == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eurostat-pipe.csv", "|"),
        ("ssb-befolkning.csv", ";"),
        ("header-only.tsv", "\t"),
        ("quoted-fields.csv", ","),
    ],
)
def test_auto_delimiter_sniffs_the_portal_dialects(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    name: str,
    expected: str,
) -> None:
    to_parquet(objects, put, make_event, name, {"delimiter": "auto"})
    assert recorder.finished("ToParquet")[5]["delimiters"] == {name: expected}


def test_eurostat_colon_markers_as_missing_values(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [{"name": year, "type": "number"} for year in ("2021", "2022", "2023")],
        "missingValues": [":"],
    }
    frame = to_parquet(
        objects, put, make_event, "eurostat-pipe.csv", {"delimiter": "|", "schema": schema}
    )
    assert frame.rows() == [
        ("NO", 5.2, 5.4, None),
        ("SE", 7.1, None, 7.6),
        ("EU27_2020", 6.0, 6.1, 6.2),
    ]


def test_five_hundred_columns_with_long_names(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    names = [f"Befolkning etter kjønn og alder, kolonne {n}: " + "å" * 200 for n in range(500)]
    header = ";".join(f'"{name}"' for name in names)
    rows = "\r\n".join(";".join(str(row * 1000 + n) for n in range(500)) for row in range(3))
    data = f"{header}\r\n{rows}\r\n".encode()
    frame = to_parquet(objects, put, make_event, "wide.csv", {"delimiter": ";"}, data)
    assert frame.shape == (3, 500)
    assert frame.columns == names
    assert frame.get_column(names[499]).to_list() == ["499", "1499", "2499"]


def test_blank_lines_in_the_middle_and_at_the_end_are_not_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = b"a,b\r\n1,x\r\n\r\n2,y\r\n\r\n\r\n\r\n"
    frame = to_parquet(objects, put, make_event, "blank.csv", {}, data)
    assert frame.rows() == [("1", "x"), ("2", "y")]


# The width of a table is its header's: rows that stop short, even the first, end in
# empty values.
SHORT_FIRST_ROWS = {
    "trailing delimiter on the header only": (
        b"kommunenr;navn;\r\n0301;Oslo\r\n1103;Stavanger\r\n",
        [("0301", "Oslo"), ("1103", "Stavanger")],
        ["kommunenr", "navn"],
    ),
    "first row with a field too few": (
        b"kommunenr;navn;merknad\r\n0301;Oslo\r\n1103;Stavanger;ny\r\n",
        [("0301", "Oslo", None), ("1103", "Stavanger", "ny")],
        ["kommunenr", "navn", "merknad"],
    ),
    "blank line after the header": (
        b"kommunenr;navn\r\n\r\n0301;Oslo\r\n",
        [("0301", "Oslo")],
        ["kommunenr", "navn"],
    ),
}


@pytest.mark.parametrize("case", SHORT_FIRST_ROWS)
def test_a_short_first_row_is_read_to_the_width_of_the_header(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, case: str
) -> None:
    data, rows, columns = SHORT_FIRST_ROWS[case]
    frame = to_parquet(objects, put, make_event, "kort.csv", {"delimiter": ";"}, data)
    assert frame.columns == columns
    assert frame.rows() == rows


@pytest.mark.parametrize("case", SHORT_FIRST_ROWS)
def test_validate_reads_a_short_first_row_to_the_width_of_the_header(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, case: str
) -> None:
    data, rows, columns = SHORT_FIRST_ROWS[case]
    schema = {"fields": [{"name": "kommunenr", "constraints": {"pattern": "[0-9]{4}"}}]}
    key = put("kort.csv", data)
    config = {"delimiter": ";", "schema": schema}
    result = validate.handler(make_event("Check", [key], config), None)
    [output] = result["input"]["keys"]
    frame = pl.read_csv(io.BytesIO(objects.get(output)), separator=";", infer_schema=False)
    assert frame.columns[: len(columns)] == columns
    assert frame.rows() == [row + (None,) * (frame.width - len(row)) for row in rows]


@pytest.mark.parametrize(
    ("data", "config", "message"),
    [
        (b"sep=;\r\n", {}, "is empty"),
        (b"\r\n\r\n", {}, "has no column names on its first line"),
        (b";;\n1;2;3\n", {"delimiter": ";"}, "has no column names on its first line"),
        (b"a,b\n1,2\n", {"delimiter": ";", "decimalChar": ","}, None),
        (b"ab|c;d\nx\n", {"delimiter": "auto"}, "cannot tell the delimiter"),
        (
            b"a,b\n1,2\n",
            {"delimiter": "auto", "decimalChar": ","},
            "cannot also be the decimalChar",
        ),
    ],
)
def test_unusable_portal_files_are_input_errors(
    put: Put, make_event: MakeEvent, data: bytes, config: dict[str, Any], message: str | None
) -> None:
    key = put("p.csv", data)
    if message is None:  # a ',' file read with ';' is one column, not an error
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
        return
    with pytest.raises(InputError, match=message):
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"groupChar": "."}, "groupChar"),
        ({"groupChar": "  "}, "groupChar"),
        ({"delimiter": "auto", "decimalChar": ","}, None),
        ({"delimiter": "", "decimalChar": ","}, "delimiter"),
    ],
)
def test_new_options_are_checked(
    put: Put, make_event: MakeEvent, config: dict[str, Any], option: str | None
) -> None:
    key = put("p.csv", b"a;b\n1;2\n")
    if option is None:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
        return
    with pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert raised.value.key == option


# A row longer than the header, after a sep= line, a value with a line break and a blank line.
RAGGED = b'sep=;\r\nkode;navn\r\n0301;"Oslo\r\nsentrum"\r\n\r\n1103;Stavanger;\r\n'


@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_a_row_longer_than_the_header_is_named_by_its_number(
    put: Put, make_event: MakeEvent, step: Any
) -> None:
    key = put("lang.csv", RAGGED)
    config = {"schema": {"fields": [{"name": "kode"}]}}
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.message == "lang.csv: row 4 has 3 fields, the header 2 (ragged rows)"


def test_without_a_header_a_long_row_is_measured_against_the_first(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("lang.csv", b"0301;Oslo\n1103;Stavanger;x\n")
    config = {"header": False, "delimiter": ";"}
    with pytest.raises(InputError, match="row 2 has 3 fields, the first row 2"):
        csv_to_parquet.handler(make_event("Step", [key], config), None)


# decimalChar "," makes "1.500" no number: in a Norwegian file it is 1 500 written with a dot
# as thousands separator, never 1.5.
DOTTED = b"kommune;areal\r\nOslo;454,03\r\nBergen;1.500\r\n"
AREA = {"fields": [{"name": "areal", "type": "number"}]}


def test_a_dot_in_a_number_with_a_decimal_comma_is_an_input_error(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("areal.csv", DOTTED)
    config = {"delimiter": ";", "decimalChar": ",", "schema": AREA}
    with pytest.raises(InputError, match=r"row 3, column 'areal': '1\.500' is not a valid number"):
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)


def test_validate_rejects_a_dot_in_a_number_with_a_decimal_comma(
    put: Put, make_event: MakeEvent, recorder: MemoryRecorder
) -> None:
    key = put("areal.csv", DOTTED)
    schema = {"fields": [{"name": "areal", "type": "number", "decimalChar": ","}]}
    config = {"delimiter": ";", "schema": schema, "onInvalid": "drop"}
    validate.handler(make_event("Check", [key], config), None)
    assert recorder.finished("Check")[5]["byRule"] == {"type": 1}


def test_a_field_whose_group_and_decimal_chars_are_one_is_a_config_error(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("areal.csv", DOTTED)
    schema = {"fields": [{"name": "areal", "type": "number", "decimalChar": ",", "groupChar": ","}]}
    with pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], {"schema": schema}), None)
    assert raised.value.key == "schema.fields[0].groupChar"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b'navn;by\r\n"Fjord";Bergen\r\n"Kafe" Sentrum;Oslo\r\n',
            "row 3 has a quoted value followed by more text before the delimiter",
        ),
        (
            b'navn;by\r\nFjord;Bergen\r\nKafe;"Oslo\r\nSkien;Skien\r\n',
            "row 3 has a quoted value that is never closed",
        ),
    ],
)
@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_a_broken_quote_is_named_by_its_row(
    put: Put, make_event: MakeEvent, step: Any, data: bytes, message: str
) -> None:
    key = put("kafe.csv", data)
    config = {"delimiter": ";", "schema": {"fields": [{"name": "navn"}]}}
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.message.startswith(f"kafe.csv: {message}")


@pytest.mark.parametrize(
    "data",
    [
        b'navn;by\r\n"Fjord";Bergen\r\n"Kafe "Sentrum" AS";Oslo\r\n"Bakeri";Skien\r\n',
        b'navn;by\r\n"Fjord";Bergen\r\n"Kafe "A";"B" AS";Oslo\r\n"Bakeri";Skien\r\n',
    ],
    ids=["a pair inside", "a pair around the delimiter"],
)
@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_quotes_not_doubled_inside_a_quoted_value_are_named_not_dropped(
    put: Put, make_event: MakeEvent, step: Any, data: bytes
) -> None:
    # Some exporters write a quote inside a quoted value as it is: polars read the value
    # without its quotes (and the second file's row as one value), and the step passed.
    key = put("kafe.csv", data)
    config = {"delimiter": ";", "schema": {"fields": [{"name": "navn"}]}}
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.message.startswith(
        "kafe.csv: row 3 has a quoted value followed by more text before the delimiter"
    )
    assert "quoteChar" in raised.value.message


@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_a_lone_quote_in_a_value_not_quoted_is_named_by_its_row(
    put: Put, make_event: MakeEvent, step: Any
) -> None:
    # An inch mark: polars failed with "cannot be read: CSV malformed: expected 0 rows, ...".
    data = b'navn;lengde\r\nSkilt "Stopp";1\r\nR\xc3\xb8r 1/2" galv;3\r\n"Fjord";2\r\n'
    key = put("ror.csv", data)
    config = {"delimiter": ";", "schema": {"fields": [{"name": "navn"}]}}
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.message == (
        "ror.csv: row 3 has a \" inside a value that is not quoted ('R\u00f8r 1/2\" galv'), "
        'which cannot be read: quote the value and write the " twice ("R\u00f8r 1/2"" galv"), '
        "or set the quoteChar option to a character the file does not hold"
    )


def test_quotes_in_a_value_not_quoted_are_read_as_they_are(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = b'navn;lengde\r\nSkilt "Stopp" 2;1\r\n"Fjord";2\r\n'
    frame = to_parquet(objects, put, make_event, "skilt.csv", {"delimiter": ";"}, data)
    assert frame.get_column("navn").to_list() == ['Skilt "Stopp" 2', "Fjord"]


# Table Schema string formats: email, uri, uuid, binary (base64).
CONTACTS = (
    "navn;epost;nettside;id\r\n"
    "Bydel Alna;postmottak@bal.oslo.kommune.no;https://www.oslo.kommune.no/bydeler/;"
    "6f1c3a1e-8d1b-4d7e-9a55-0c2f3b7e9a10\r\n"
    "Bydel Bjerke;postmottak(at)bbj.oslo.kommune.no;www.oslo.kommune.no;123\r\n"
)
CONTACT_SCHEMA = {
    "fields": [
        {"name": "epost", "format": "email"},
        {"name": "nettside", "format": "uri"},
        {"name": "id", "format": "uuid"},
    ]
}


def test_validate_checks_string_formats(
    put: Put, make_event: MakeEvent, objects: LocalObjectStore, recorder: MemoryRecorder
) -> None:
    key = put("kontakt.csv", CONTACTS.encode())
    config = {"delimiter": ";", "schema": CONTACT_SCHEMA, "onInvalid": "quarantine"}
    validate.handler(make_event("Check", [key], config), None)
    summary = recorder.finished("Check")[5]
    assert (summary["valid"], summary["rejected"], summary["byRule"]) == (1, 1, {"type": 3})
    [rejects] = summary["rejectsKeys"]
    messages = pl.read_csv(io.BytesIO(objects.get(rejects))).get_column("message").to_list()
    assert messages[0] == (
        "row 3, column epost: 'postmottak(at)bbj.oslo.kommune.no' is not a valid string "
        "(format email)"
    )


def test_csv_to_parquet_checks_string_formats(put: Put, make_event: MakeEvent) -> None:
    key = put("kontakt.csv", CONTACTS.encode())
    config = {"delimiter": ";", "schema": CONTACT_SCHEMA}
    with pytest.raises(InputError, match="row 3, column 'epost': 'postmottak"):
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)


def test_an_unknown_string_format_is_a_config_error(put: Put, make_event: MakeEvent) -> None:
    key = put("kontakt.csv", CONTACTS.encode())
    schema = {"fields": [{"name": "epost", "format": "e-mail"}]}
    with pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], {"schema": schema}), None)
    assert raised.value.key == "schema.fields[0].format"


# Table Schema: bareNumber false strips what stands before and after a number ("95 %",
# "kr 1 234,50"), leading minus signs kept.
PRICES = "vare;pris;andel\r\nmelk;kr 21,90;15 %\r\nsmør;kr 1 049,50;-2,5 %\r\nbrød;gratis;%\r\n"
PRICE_SCHEMA = {
    "fields": [
        {"name": "pris", "type": "number", "bareNumber": False, "groupChar": " "},
        {"name": "andel", "type": "number", "bareNumber": False},
    ]
}


def test_numbers_that_are_not_bare_lose_their_units(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = PRICES.replace("gratis", "kr 0").replace(";%", ";0 %").encode()
    config = {"delimiter": ";", "decimalChar": ",", "schema": PRICE_SCHEMA}
    frame = to_parquet(objects, put, make_event, "priser.csv", config, data)
    assert frame.rows() == [("melk", 21.9, 15.0), ("smør", 1049.5, -2.5), ("brød", 0.0, 0.0)]


def test_validate_accepts_numbers_that_are_not_bare_and_rejects_units_alone(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, recorder: MemoryRecorder
) -> None:
    key = put("priser.csv", PRICES.encode())
    config = {"delimiter": ";", "decimalChar": ",", "schema": PRICE_SCHEMA, "onInvalid": "drop"}
    validate.handler(make_event("Check", [key], config), None)
    summary = recorder.finished("Check")[5]
    assert summary["byRule"] == {"type": 2}  # brød: 'gratis' and '%' are no numbers
    assert (summary["valid"], summary["rejected"]) == (2, 1)


# Excel workbooks as municipalities and SSB publish them.


def befolkning_xlsx(path: Path) -> bytes:
    """A report sheet (title, blank rows, merged header), a hidden sheet and an empty one."""
    book = xlsxwriter.Workbook(path)
    date = book.add_format({"num_format": "dd.mm.yyyy"})
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet("Befolkning i Ås kommune")
    sheet.write_string(0, 0, "Tabell 1: Befolkning 1. januar")  # rows 2 and 3 stay blank
    sheet.write_string(3, 0, "kommune")
    sheet.merge_range(3, 1, 3, 2, "Antall", bold)  # B4:C4, the cell C4 is empty
    sheet.write_row(3, 3, ["dato", "sum", "kode", "kode", "målt"])
    for n in range(3):
        row = 4 + n
        sheet.write_string(row, 0, f"K{n}")
        sheet.write_number(row, 1, 10 + n)
        sheet.write_number(row, 2, 20 + n)
        sheet.write_datetime(row, 3, dt.datetime(2024, 2, 1 + n), date)
        sheet.write_formula(row, 4, f"=B{row + 1}+C{row + 1}", None, 30 + 2 * n)
        sheet.write_string(row, 5, "0301")  # a number stored as text keeps its zero
        sheet.write_string(row, 6, "x")
        sheet.write_number(row, 7, 45323 + n, date)  # a date serial shown as a date
    sheet.write_blank(4, 10, None, bold)  # formatted empty cells to the right and below
    sheet.write_blank(20, 0, None, bold)
    sheet.write_string(25, 9, "")
    hidden = book.add_worksheet("Oppslag")
    hidden.write_row(0, 0, ["kode", "navn"])
    hidden.write_row(1, 0, ["0301", "Oslo"])
    hidden.hide()
    book.add_worksheet("Tom")
    other = book.add_worksheet("Data 2024")
    other.write_row(0, 0, ["id", "verdi"])
    other.write_row(1, 0, [1, 2.5])
    book.close()
    return path.read_bytes()


def to_csv(
    objects: LocalObjectStore, make_event: MakeEvent, key: str, config: dict[str, Any]
) -> dict[str, pl.DataFrame]:
    result = excel_to_csv.handler(make_event("ToCsv", [key], config), None)
    return {
        output.rsplit("/", 1)[1]: pl.read_csv(io.BytesIO(objects.get(output)), infer_schema=False)
        for output in result["input"]["keys"]
    }


@pytest.fixture
def befolkning(tmp_path: Path, put: Put) -> str:
    return put("befolkning.xlsx", befolkning_xlsx(tmp_path / "befolkning.xlsx"))


def test_report_sheet_with_title_merged_header_formulas_and_dates(
    objects: LocalObjectStore, make_event: MakeEvent, befolkning: str
) -> None:
    config = {"sheet": "Befolkning i Ås kommune", "headerRow": 4}
    frame = to_csv(objects, make_event, befolkning, config)["befolkning.csv"]
    # The merged header's second cell is empty: named by position; 'kode' repeats.
    assert frame.columns == [
        "kommune",
        "Antall",
        "column_3",
        "dato",
        "sum",
        "kode",
        "kode_2",
        "målt",
    ]
    assert frame.rows() == [
        ("K0", "10", "20", "2024-02-01", "30", "0301", "x", "2024-02-01"),
        ("K1", "11", "21", "2024-02-02", "32", "0301", "x", "2024-02-02"),
        ("K2", "12", "22", "2024-02-03", "34", "0301", "x", "2024-02-03"),
    ]


def test_all_sheets_skip_hidden_and_empty_ones_and_name_files_in_ascii(
    objects: LocalObjectStore, make_event: MakeEvent, befolkning: str
) -> None:
    frames = to_csv(objects, make_event, befolkning, {"sheet": "*"})
    assert sorted(frames) == ["befolkning-Befolkning-i-As-kommune.csv", "befolkning-Data-2024.csv"]
    assert frames["befolkning-Data-2024.csv"].rows() == [("1", "2.5")]


@pytest.mark.parametrize(
    ("sheet", "rows"),
    [("Oppslag", [("0301", "Oslo")]), (2, [("0301", "Oslo")]), (4, [("1", "2.5")])],
)
def test_a_hidden_sheet_is_read_when_chosen_and_indexes_count_it(
    objects: LocalObjectStore, make_event: MakeEvent, befolkning: str, sheet: str | int, rows: list
) -> None:
    assert (
        to_csv(objects, make_event, befolkning, {"sheet": sheet})["befolkning.csv"].rows() == rows
    )


@pytest.mark.parametrize("sheet", ["Tom", 3])
def test_choosing_an_empty_sheet_is_an_input_error(
    make_event: MakeEvent, befolkning: str, sheet: str | int
) -> None:
    with pytest.raises(InputError, match=r"befolkning\.xlsx: sheet 'Tom' is empty"):
        excel_to_csv.handler(make_event("ToCsv", [befolkning], {"sheet": sheet}), None)


def test_a_text_cell_far_down_a_number_column_turns_it_to_text(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "mixed.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Data")
    sheet.write_string(0, 0, "antall")
    for row in range(1, 2001):
        sheet.write_number(row, 0, row)
    sheet.write_string(2001, 0, "1 234")  # beyond any sample of the first rows
    book.close()
    frame = to_csv(objects, make_event, put("mixed.xlsx", path.read_bytes()), {})["mixed.csv"]
    assert frame.height == 2001
    assert frame.get_column("antall").to_list()[-2:] == ["2000", "1 234"]


def test_xls_with_title_rows_hidden_sheet_and_norwegian_names(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Målinger 2023")
    date = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    sheet.write(0, 0, "Statistikk fra Bymiljøetaten")
    sheet.write_merge(2, 2, 1, 2, "Verdi")
    sheet.write(2, 0, "stasjon")
    sheet.write(3, 0, "Åsen")
    sheet.write(3, 1, 1.5)
    sheet.write(3, 2, 2)
    sheet.write(4, 0, "Økern")
    sheet.write(4, 1, dt.date(2023, 5, 17), date)
    hidden = book.add_sheet("skjult")
    hidden.write(0, 0, "x")
    hidden.visibility = 1
    path = tmp_path / "old.xls"
    book.save(str(path))
    key = put("old.xls", path.read_bytes())
    frames = to_csv(objects, make_event, key, {"sheet": "*", "headerRow": 3})
    assert list(frames) == ["old-Malinger-2023.csv"]
    frame = frames["old-Malinger-2023.csv"]
    assert frame.columns == ["stasjon", "Verdi", "column_3"]
    # A date cell among numbers is written as dates are, as in a column of dates.
    assert frame.rows() == [("Åsen", "1.5", "2"), ("Økern", "2023-05-17", None)]


def ssb_report(put: Put) -> str:
    return put("07459.xlsx", (PORTAL / "ssb-kommuner-rapport.xlsx").read_bytes())


@pytest.mark.parametrize("cells", ["A16:F23", "B16:F23", "a16:f23"])
def test_a_range_starting_at_an_empty_margin_column_reads_the_table(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, cells: str
) -> None:
    # Column A of the report holds no cell at all; the title and notes are outside the range.
    frame = to_csv(objects, make_event, ssb_report(put), {"range": cells})["07459.csv"]
    assert frame.columns == ["kommunenummer", "kommune", "år", "folkemengde", "andel (%)"]
    assert frame.height == 7
    assert frame.row(0) == ("0301", "Oslo", "2024", "717710", "12.8")


def test_a_range_over_a_margin_column_that_has_cells_elsewhere_drops_it(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "report.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Rapport")
    sheet.write_string(0, 0, "Tabell 1")  # A1: column A exists, but is empty in the range
    sheet.write_row(4, 1, ["kode", "antall"])
    sheet.write_row(5, 1, ["0301", 5])
    book.close()
    key = put("report.xlsx", path.read_bytes())
    frame = to_csv(objects, make_event, key, {"range": "A5:C6"})["report.csv"]
    assert frame.rows() == [("0301", "5")]
    assert frame.columns == ["kode", "antall"]


def test_a_range_with_no_cells_says_so(put: Put, make_event: MakeEvent) -> None:
    key = ssb_report(put)
    with pytest.raises(InputError, match="sheet '07459' is empty within the range H16:J23"):
        excel_to_csv.handler(make_event("ToCsv", [key], {"range": "H16:J23"}), None)


def test_workbook_cells_are_written_as_the_sheet_prints_them(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "tall.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Data")
    sheet.write_row(0, 0, ["kommunenummer", "andel", "stor"])
    for row, (code, share, big) in enumerate(
        [("0301", 12.5, 2.0**53 + 2), ("0220", 5.0, 12345678901.0), ("1103", 0.1, 3.0)], start=1
    ):
        sheet.write_string(row, 0, code)
        sheet.write_number(row, 1, share)
        sheet.write_number(row, 2, big)
    book.close()
    frame = to_csv(objects, make_event, put("tall.xlsx", path.read_bytes()), {})["tall.csv"]
    # Whole numbers print without '.0' even beside decimals; text codes keep their zeros.
    assert frame.rows() == [
        ("0301", "12.5", "9007199254740994.0"),  # beyond 2**53: not exact, the float's text
        ("0220", "5", "12345678901"),
        ("1103", "0.1", "3"),
    ]


def test_a_workbook_code_stays_a_code_through_csv_to_parquet(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    converted = excel_to_csv.handler(
        make_event("ToCsv", [ssb_report(put)], {"range": "A16:F23"}), None
    )
    result = csv_to_parquet.handler(converted | {"step": "ToParquet", "config": {}}, None)
    [output] = result["input"]["keys"]
    frame = pl.read_parquet(io.BytesIO(objects.get(output)))
    assert frame.schema["kommunenummer"] == pl.String
    assert frame.get_column("kommunenummer").to_list()[:5] == [
        "0301",
        "1103",
        "4601",
        "5001",
        "0220",
    ]


@pytest.mark.parametrize(
    ("sheet", "slug"),
    [
        ("Befolkning i Ås", "Befolkning-i-As"),
        ("Æøå ÆØÅ", "Aeoa-AeOA"),
        ("Tabell 1 (2024)", "Tabell-1-2024"),
        ("ØØØ", "OOO"),
        ("∑", "sheet"),
    ],
)
def test_sheet_names_become_ascii_file_names(sheet: str, slug: str) -> None:
    assert excel_to_csv.sheet_slug(sheet) == slug


@pytest.mark.parametrize(
    "config", [{"sheet": "Data 2024", "headerRow": 10}, {"sheet": 4, "range": "A5:B9"}]
)
def test_a_header_row_below_the_sheet_is_an_input_error(
    make_event: MakeEvent, recorder: MemoryRecorder, befolkning: str, config: dict[str, Any]
) -> None:
    with pytest.raises(InputError, match="sheet 'Data 2024' has no rows at the header row"):
        excel_to_csv.handler(make_event("ToCsv", [befolkning], config), None)
    assert recorder.finished("ToCsv")[4]["error"] == "InputError"


def test_times_of_day_and_durations_are_written_as_the_sheet_shows_them(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    path = tmp_path / "avganger.xlsx"
    book = xlsxwriter.Workbook(path)
    clock = book.add_format({"num_format": "hh:mm"})
    hours = book.add_format({"num_format": "[h]:mm:ss"})
    sheet = book.add_worksheet("Avganger")
    sheet.write_row(0, 0, ["linje", "avgang", "reisetid"])
    for row, (departure, days) in enumerate(
        [(dt.time(7, 15), 1.5), (dt.time(23, 59, 30), 1 / 24 / 60 * 45.5), (dt.time(0), -0.25)],
        start=1,
    ):
        sheet.write_string(row, 0, f"{row}")
        sheet.write_datetime(row, 1, departure, clock)
        sheet.write_number(row, 2, days, hours)
    book.close()
    frame = to_csv(objects, make_event, put("avganger.xlsx", path.read_bytes()), {})
    assert frame["avganger.csv"].rows() == [
        ("1", "07:15:00", "36:00:00"),
        ("2", "23:59:30", "0:45:30"),
        ("3", "00:00:00", "-6:00:00"),
    ]


# One rule for a datetime field without a format, in every step: RFC 3339, any offset.
STAMPS = ["2024-03-01T10:15:00Z", "2024-03-01T12:15:00+02:00", "2024-03-01T10:15:00.5Z"]


def test_a_datetime_without_a_format_reads_alike_from_csv_and_json(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # csv_to_parquet took only ...:00Z (and wrote no time zone); json_to_parquet any offset.
    from pipelines.steps import json_to_parquet

    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "at", "type": "datetime"}]}
    csv = "id,at\n" + "".join(f"{n},{stamp}\n" for n, stamp in enumerate(STAMPS))
    from_csv = to_parquet(objects, put, make_event, "t.csv", {"schema": schema}, csv.encode())
    lines = "".join(json.dumps({"id": n, "at": stamp}) + "\n" for n, stamp in enumerate(STAMPS))
    key = put("t.jsonl", lines.encode())
    config = {"schema": schema}
    [output] = json_to_parquet.handler(make_event("ToJson", [key], config), None)["input"]["keys"]
    from_json = pl.read_parquet(io.BytesIO(objects.get(output)))
    assert from_csv.schema == from_json.schema == {"id": pl.Int64, "at": pl.Datetime("us", "UTC")}
    assert from_csv.rows() == from_json.rows()
    utc = dt.UTC
    assert from_csv.get_column("at").to_list() == [
        dt.datetime(2024, 3, 1, 10, 15, tzinfo=utc),
        dt.datetime(2024, 3, 1, 10, 15, tzinfo=utc),
        dt.datetime(2024, 3, 1, 10, 15, 0, 500000, tzinfo=utc),
    ]


def test_validate_reads_a_datetime_without_a_format_as_csv_to_parquet_does(
    put: Put, make_event: MakeEvent
) -> None:
    schema = {
        "fields": [
            {
                "name": "at",
                "type": "datetime",
                "constraints": {"minimum": "2024-03-01T11:00:00+01:00"},
            }
        ]
    }
    stamps = [*STAMPS, "2024-03-01 10:15"]
    key = put("t.csv", ("at\n" + "\n".join(stamps) + "\n").encode())
    with pytest.raises(ValidationFailed) as raised:
        validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert raised.value.summary["rejected"] == 1
    assert "row 5, column at: '2024-03-01 10:15' is not a valid datetime" in str(raised.value)


@pytest.mark.parametrize(
    ("constraints", "key"),
    [
        ({"minimum": "2024-03-01"}, "minimum"),
        ({"minimum": "2024-03-02T00:00:00Z", "maximum": "2024-03-01T00:00:00Z"}, "minimum"),
    ],
)
def test_bounds_of_a_datetime_without_a_format_are_checked_at_save(
    put: Put, make_event: MakeEvent, constraints: dict[str, str], key: str
) -> None:
    schema = {"fields": [{"name": "at", "type": "datetime", "constraints": constraints}]}
    with pytest.raises(ConfigError) as raised:
        validate.handler(make_event("Check", [put("t.csv", b"at\n")], {"schema": schema}), None)
    assert raised.value.key == f"schema.fields[0].constraints.{key}"


# Excel for Mac's "CSV (Macintosh)" and older Mac programs end lines with CR alone.
MAC_LINES = b'kommune;antall;merknad\r0301;5;"to\rlinjer"\r3005;7;\r'


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_lines_ended_by_cr_alone_are_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, encoding: str
) -> None:
    # polars reads CR as no line end: the file was one header of four names and no rows.
    data = MAC_LINES.replace(b"linjer", "linjer æ".encode(encoding))
    config = {"delimiter": ";", "encoding": encoding}
    frame = to_parquet(objects, put, make_event, "mac.csv", config, data)
    assert frame.rows() == [("0301", "5", "to\nlinjer æ"), ("3005", "7", None)]


def test_validate_reads_lines_ended_by_cr_alone(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("mac.csv", MAC_LINES)
    schema = {"fields": [{"name": "antall", "type": "integer", "constraints": {"maximum": 6}}]}
    config = {"delimiter": ";", "schema": schema, "onInvalid": "drop"}
    result = validate.handler(make_event("Check", [key], config), None)
    [output] = result["input"]["keys"]
    # Rows end as uploaded; a line break inside a value is the \n it is read as.
    assert objects.get(output) == b'kommune;antall;merknad\r0301;5;"to\nlinjer"\r'


@pytest.mark.parametrize(
    ("header", "found"),
    [(b"kommune; antall", "' antall'"), (b"kommune;Antall ", "'Antall '")],
)
@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_a_column_that_differs_by_spaces_or_case_is_pointed_out(
    put: Put, make_event: MakeEvent, step: Any, header: bytes, found: str
) -> None:
    # Spaces around a name do not show in a list of names: "its columns are kommune,  antall".
    key = put("t.csv", header + b"\r\n0301;5\r\n")
    schema = {"fields": [{"name": "antall", "type": "integer"}]}
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], {"delimiter": ";", "schema": schema}), None)
    assert raised.value.message.endswith(
        f"; the file has {found}, which differs from 'antall' in spaces or case"
    )


def test_a_two_digit_year_is_no_four_digit_year(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # polars reads %Y from any number of digits: 1.3.24 was the year 24, silently.
    schema = {"fields": [{"name": "dato", "type": "date", "format": "%d.%m.%Y"}]}
    key = put("datoer.csv", b"id;dato\r\n1;1.3.2024\r\n2;1.3.24\r\n")
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(
            make_event("ToParquet", [key], {"delimiter": ";", "schema": schema}), None
        )
    assert raised.value.message == (
        "datoer.csv: row 3, column 'dato': '1.3.24' is not a valid date (format %d.%m.%Y)"
    )
    with pytest.raises(ValidationFailed) as failed:
        validate.handler(make_event("Check", [key], {"delimiter": ";", "schema": schema}), None)
    assert "row 3, column dato: '1.3.24' is not a valid date (format %d.%m.%Y)" in str(failed.value)


MAC_ROMAN_TEXT = "navn;by\rBjørn Dæhlie;Tromsø\rFrançois Hélène;Orléans\rÅse Nærø;Bodø\r"


@pytest.mark.parametrize("encoding", ["auto", "mac_roman", "macintosh"])
def test_a_mac_roman_file_reads_its_norwegian_and_french_letters(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    encoding: str,
) -> None:
    # Excel for Mac's "CSV (Macintosh)": Mac Roman, lines ended by CR. Read as cp1252, the
    # ø of Tromsø came out as ¿ and the æ of Dæhlie as ¾.
    data = MAC_ROMAN_TEXT.encode("mac_roman")
    config = {"delimiter": ";", "encoding": encoding}
    frame = to_parquet(objects, put, make_event, "mac.csv", config, data)
    assert frame.rows() == [
        ("Bjørn Dæhlie", "Tromsø"),
        ("François Hélène", "Orléans"),
        ("Åse Nærø", "Bodø"),
    ]
    if encoding == "auto":
        assert recorder.finished("ToParquet")[5]["encodings"] == {"mac.csv": "mac_roman"}


def test_auto_encoding_reads_mac_roman_that_cp1252_would_read_without_an_error(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # Every byte of these letters is defined in cp1252, as other letters: Troms¿, D¾hlie.
    data = "navn;by\rBjørn Dæhlie;Tromsø\rKåre;Båtsfjord\r".encode("mac_roman")
    config = {"delimiter": ";", "encoding": "auto"}
    frame = to_parquet(objects, put, make_event, "mac.csv", config, data)
    assert frame.rows() == [("Bjørn Dæhlie", "Tromsø"), ("Kåre", "Båtsfjord")]


def test_auto_encoding_reads_mac_roman_with_capitals_only_at_word_starts(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # No letter inside a word to tell by, but Mac Roman's Å is a byte cp1252 has not.
    data = "kommune;bydel\rÅs;Åsane\rÅlesund;Åmot\r".encode("mac_roman")
    config = {"delimiter": ";", "encoding": "auto"}
    frame = to_parquet(objects, put, make_event, "mac.csv", config, data)
    assert frame.rows() == [("Ås", "Åsane"), ("Ålesund", "Åmot")]


@pytest.mark.parametrize(
    "text",
    [
        "navn;by\r\nBjørn Dæhlie;Tromsø\r\nÅse Nærø;Bodø\r\n",
        "navn;by\r\nTROMSØ;BODØ\r\nit\u2019s;Grünerløkka\r\n",  # capitals and an apostrophe
        "vare;pris\r\nKaffe \u2013 stor;€ 35\r\n",
    ],
)
def test_auto_encoding_still_reads_cp1252_as_cp1252(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent, text: str
) -> None:
    config = {"delimiter": ";", "encoding": "auto"}
    frame = to_parquet(objects, put, make_event, "win.csv", config, text.encode("cp1252"))
    assert frame.rows() == [tuple(line.split(";")) for line in text.splitlines()[1:]]
    assert recorder.finished("ToParquet")[5]["encodings"] == {"win.csv": "cp1252"}


def test_validate_writes_a_mac_roman_file_back_in_mac_roman(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("mac.csv", MAC_ROMAN_TEXT.encode("mac_roman"))
    schema = {"fields": [{"name": "by", "constraints": {"required": True}}]}
    config = {"delimiter": ";", "encoding": "auto", "schema": schema}
    [valid] = validate.handler(make_event("Check", [key], config), None)["input"]["keys"]
    assert objects.get(valid).decode("mac_roman").splitlines() == MAC_ROMAN_TEXT.splitlines()


# Statistics Norway's PX-Web "semicolon separated with heading": a title line, a blank line,
# then the header (row 3 as a spreadsheet shows the file).
PX_WEB = (
    '"05803: Folkemengde, etter region, statistikkvariabel og år"\r\n'
    "\r\n"
    '"region";"statistikkvariabel";"år";"Personer"\r\n'
    '"0301 Oslo";"Folkemengde";"2023";709037\r\n'
    '"1103 Stavanger";"Folkemengde";"2023";146011\r\n'
    '"5001 Trondheim";"Folkemengde";"2023";mange\r\n'
    '"3401 Kongsvinger";"Folkemengde";"2023";18106\r\n'
).encode()
PX_WEB_SCHEMA = {"fields": [{"name": "Personer", "type": "integer"}]}


@pytest.mark.parametrize("delimiter", [";", "auto"])
def test_header_rows_skips_the_title_lines_above_the_header(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, delimiter: str
) -> None:
    data = PX_WEB.replace(b"mange", b"212660")
    config = {"delimiter": delimiter, "headerRows": [3], "schema": PX_WEB_SCHEMA}
    frame = to_parquet(objects, put, make_event, "px.csv", config, data)
    assert frame.columns == ["region", "statistikkvariabel", "år", "Personer"]
    assert frame.get_column("Personer").to_list() == [709037, 146011, 212660, 18106]


@pytest.mark.parametrize("step", [csv_to_parquet, transform])
def test_a_title_above_the_header_points_to_header_rows(
    put: Put, make_event: MakeEvent, step: Any
) -> None:
    # transform said only that the file "has a row with more fields than the header".
    key = put("px.csv", PX_WEB)
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], {"delimiter": ";"}), None)
    assert raised.value.message == (
        "px.csv: row 3 has 4 fields, the header 1 (ragged rows); if the rows above are a "
        "title, set headerRows to [3]"
    )


def test_header_rows_numbers_rows_as_the_file_shows_them(put: Put, make_event: MakeEvent) -> None:
    key = put("px.csv", PX_WEB)
    config = {"delimiter": ";", "headerRows": [3], "schema": PX_WEB_SCHEMA}
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert "row 6, column 'Personer': 'mange'" in raised.value.message
    ragged = put("ragged.csv", PX_WEB.replace(b"mange", b"1;2"))
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [ragged], config), None)
    assert raised.value.message == "ragged.csv: row 6 has 5 fields, the header 4 (ragged rows)"


def test_validate_with_header_rows_rejects_by_file_row_and_keeps_the_title(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("px.csv", PX_WEB)
    config = {
        "delimiter": ";",
        "headerRows": [3],
        "schema": PX_WEB_SCHEMA,
        "onInvalid": "quarantine",
    }
    result = validate.handler(make_event("Check", [key], config), None)
    [valid_key] = result["input"]["keys"]
    rejects_key = valid_key.replace("px.csv", "px-rejects.csv")
    rejects = pl.read_csv(io.BytesIO(objects.get(rejects_key)), infer_schema=False)
    assert rejects.select("row", "column", "value").rows() == [("6", "Personer", "mange")]
    # The valid rows in the file's own form: the next step reads them with the same options.
    lines = PX_WEB.decode().splitlines()
    assert objects.get(valid_key).decode().splitlines() == lines[:5] + lines[6:]
    frame = to_parquet(
        objects,
        put,
        make_event,
        "again.csv",
        {key: value for key, value in config.items() if key != "onInvalid"},
        objects.get(valid_key),
    )
    assert frame.height == 3


def test_transform_with_header_rows_names_the_file_row_and_keeps_the_title(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("px.csv", PX_WEB)
    config = {"delimiter": ";", "headerRows": [3], "cast": {"Personer": "integer"}}
    with pytest.raises(InputError) as raised:
        transform.handler(make_event("Shape", [key], config), None)
    assert (
        raised.value.message == "px.csv: row 6, column 'Personer': 'mange' is not a valid integer"
    )
    config = {"delimiter": ";", "headerRows": [3], "filter": "Personer != 'mange'"}
    [output] = transform.handler(make_event("Shape", [key], config), None)["input"]["keys"]
    lines = objects.get(output).decode().splitlines()
    assert lines[:4] == [
        '"05803: Folkemengde, etter region, statistikkvariabel og år"',
        "",
        "region;statistikkvariabel;år;Personer",
        "0301 Oslo;Folkemengde;2023;709037",
    ]
    assert len(lines) == 6


@pytest.mark.parametrize(
    "config",
    [
        {"headerRows": [2, 3]},
        {"headerRows": [0]},
        {"headerRows": []},
        {"headerRows": ["3"]},
        {"headerRows": [3], "header": False},
    ],
)
@pytest.mark.parametrize("step", [csv_to_parquet, validate, transform])
def test_header_rows_other_than_one_row_number_is_a_config_error(
    put: Put, make_event: MakeEvent, config: dict[str, Any], step: Any
) -> None:
    key = put("px.csv", PX_WEB)
    if step is validate:
        config = config | {"schema": PX_WEB_SCHEMA}
    with pytest.raises(ConfigError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.key == "headerRows"


@pytest.mark.parametrize("comment_char", [None, "#"])
def test_header_rows_after_a_bom_and_a_sep_line(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, comment_char: str | None
) -> None:
    # Excel hides the sep= line: the title is row 1, the header row 2.
    data = "\ufeffsep=;\r\nTabell 1: Skoler\r\nskole;elever\r\nBjølsen;410\r\nÅs;x\r\n"
    config: dict[str, Any] = {
        "headerRows": [2],
        "schema": {"fields": [{"name": "elever", "type": "integer"}]},
        "onInvalid": "quarantine",
    }
    if comment_char:  # the valid rows are then written by polars, not copied as lines
        config["commentChar"] = comment_char
    key = put("skoler.csv", data.encode())
    [valid] = validate.handler(make_event("Check", [key], config), None)["input"]["keys"]
    rejects = pl.read_csv(io.BytesIO(objects.get(valid.replace(".csv", "-rejects.csv"))))
    assert rejects.get_column("row").to_list() == [4]
    assert objects.get(valid).decode("utf-8-sig").splitlines() == [
        "sep=;",
        "Tabell 1: Skoler",
        "skole;elever",
        "Bjølsen;410",
    ]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (9, "px.csv has no row 9 for the header (headerRows)"),
        (2, "px.csv has no column names on row 2 (headerRows)"),
    ],
)
def test_a_header_row_the_file_lacks_is_an_input_error(
    put: Put, make_event: MakeEvent, row: int, message: str
) -> None:
    key = put("px.csv", PX_WEB)
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(
            make_event("ToParquet", [key], {"delimiter": ";", "headerRows": [row]}), None
        )
    assert raised.value.message == message


# A table with its notes below it, as a spreadsheet exports one.
WITH_NOTES = (
    "kommune;personer;endring\r\n"
    "Oslo;709037;1,2\r\n"
    "Bergen;291940;0,8\r\n"
    "Ås;21120;\r\n"
    ";;\r\n"
    "Kilde: SSB, tabell 07459;;\r\n"
    "* Foreløpige tall;;\r\n"
).encode()
NOTES_SCHEMA = {"fields": [{"name": "personer", "type": "integer"}]}


@pytest.mark.parametrize("step", [csv_to_parquet, validate, transform])
def test_rows_that_look_like_footnotes_are_an_input_error_naming_them(
    put: Put, make_event: MakeEvent, step: Any
) -> None:
    # They were read as two more kommuner, of no people.
    key = put("notes.csv", WITH_NOTES)
    config: dict[str, Any] = {"delimiter": ";"}
    if step is validate:
        config["schema"] = NOTES_SCHEMA
    with pytest.raises(InputError) as raised:
        step.handler(make_event("Step", [key], config), None)
    assert raised.value.message == (
        "notes.csv: the last 2 rows look like footnotes, not data ('Kilde: SSB, tabell 07459'; "
        "'* Foreløpige tall'); set the footerRows option to 2 to leave them out, or to 0 to "
        "read them as data"
    )


@pytest.mark.parametrize(
    "data",
    [
        # No blank row, no delimiters on the note's line.
        b"kommune;personer\nOslo;709037\nTallene for 2024 er forelopige\n",
        # A marker alone.
        b"kommune;personer\nOslo;709037\n(1) Fra 2020 inkludert Ulvik;\n",
        b"kommune,personer\nOslo,709037\nSource: Statistics Norway,\n",
    ],
)
def test_other_footnote_shapes_are_pointed_out(
    put: Put, make_event: MakeEvent, data: bytes
) -> None:
    key = put("notes.csv", data)
    with pytest.raises(InputError, match="the last row looks like footnotes"):
        csv_to_parquet.handler(make_event("ToParquet", [key], {"delimiter": "auto"}), None)


@pytest.mark.parametrize(
    "data",
    [
        b"kommune;personer\nOslo;709037\nBergen;\n",  # a last row without its value
        b"kommune;personer\nOslo;709037\n\nBergen;\n\n",
        b"kommune\nOslo\n\nKilde: SSB\n",  # one column: a note and a value look alike
        b"kommune;personer\nOslo;\nBergen;\n",  # no row has more than its first value
        b'kommune;merknad\nOslo;"to\nlinjer"\nBergen;"x\ny"\n',  # a line of a quoted value
    ],
)
def test_rows_that_only_lack_values_are_no_footnotes(
    put: Put, make_event: MakeEvent, data: bytes
) -> None:
    key = put("rows.csv", data)
    csv_to_parquet.handler(make_event("ToParquet", [key], {"delimiter": ";"}), None)


def test_footer_rows_leaves_out_the_notes(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    config = {"delimiter": ";", "decimalChar": ",", "footerRows": 2, "schema": NOTES_SCHEMA}
    frame = to_parquet(objects, put, make_event, "notes.csv", config, WITH_NOTES)
    assert frame.rows() == [
        ("Oslo", 709037, "1,2"),
        ("Bergen", 291940, "0,8"),
        ("Ås", 21120, None),
    ]
    frame = to_parquet(
        objects, put, make_event, "notes.csv", {"delimiter": ";", "footerRows": 0}, WITH_NOTES
    )
    assert frame.get_column("kommune").to_list()[-2:] == [
        "Kilde: SSB, tabell 07459",
        "* Foreløpige tall",
    ]


def test_validate_and_transform_write_the_footer_back_below_the_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = WITH_NOTES.replace(b"291940", b"mange")
    key = put("notes.csv", data)
    config = {
        "delimiter": ";",
        "footerRows": 2,
        "schema": NOTES_SCHEMA,
        "onInvalid": "quarantine",
    }
    result = validate.handler(make_event("Check", [key], config), None)
    [valid] = result["input"]["keys"]
    rejects = pl.read_csv(io.BytesIO(objects.get(valid.replace(".csv", "-rejects.csv"))))
    assert rejects.select("row", "value").rows() == [(3, "mange")]
    lines = data.decode().splitlines()
    assert objects.get(valid).decode().splitlines() == lines[:2] + lines[3:]
    config = {"delimiter": ";", "footerRows": 2, "filter": "kommune != 'Oslo'"}
    [output] = transform.handler(make_event("Shape", [key], config), None)["input"]["keys"]
    assert objects.get(output).decode().splitlines() == [lines[0], *lines[2:]]


def test_more_footer_rows_than_rows_is_an_input_error(put: Put, make_event: MakeEvent) -> None:
    key = put("notes.csv", b"kommune;personer\nOslo;1\n\nKilde: SSB\n* Forelopig\n")
    with pytest.raises(InputError) as raised:
        config = {"delimiter": ";", "footerRows": 4}
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert raised.value.message == (
        "notes.csv: footerRows is 4, but the file has only 3 rows below its header"
    )


def test_negative_footer_rows_is_a_config_error(put: Put, make_event: MakeEvent) -> None:
    key = put("notes.csv", WITH_NOTES)
    with pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], {"footerRows": -1}), None)
    assert raised.value.key == "footerRows"


def with_notes_xlsx(path: Path) -> bytes:
    """A sheet whose table ends in a blank row and two notes, a merged one across A:C."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Befolkning")
    sheet.write_row(0, 0, ["år", "personer", "andel"])
    sheet.write_row(1, 0, [2022, 699827, 12.5])
    sheet.write_row(2, 0, [2023, 709037, 12.7])
    sheet.merge_range(4, 0, 4, 2, "Kilde: SSB, tabell 07459")
    sheet.write_string(5, 0, "* Foreløpige tall")
    book.close()
    return path.read_bytes()


def test_a_sheet_whose_last_rows_look_like_footnotes_is_an_input_error(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # They were written as two more years, and made the year column text.
    key = put("notes.xlsx", with_notes_xlsx(tmp_path / "notes.xlsx"))
    with pytest.raises(InputError) as raised:
        excel_to_csv.handler(make_event("ToCsv", [key], {}), None)
    assert raised.value.message == (
        "notes.xlsx, sheet 'Befolkning': the last 2 rows look like footnotes, not data "
        "('Kilde: SSB, tabell 07459'; '* Foreløpige tall'); set the footerRows option to 2 "
        "to leave them out, or to 0 to read them as data"
    )


def test_footer_rows_leaves_out_a_sheets_notes(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    key = put("notes.xlsx", with_notes_xlsx(tmp_path / "notes.xlsx"))
    frame = to_csv(objects, make_event, key, {"footerRows": 2})["notes.csv"]
    assert frame.rows() == [("2022", "699827", "12.5"), ("2023", "709037", "12.7")]
    frame = to_csv(objects, make_event, key, {"footerRows": 0})["notes.csv"]
    assert frame.height == 4
    with pytest.raises(InputError, match="footerRows is 5, but it has 4 rows"):
        to_csv(objects, make_event, key, {"footerRows": 5})
    with pytest.raises(ConfigError):
        to_csv(objects, make_event, key, {"footerRows": -2})


def test_footer_rows_counts_a_quoted_value_across_lines_as_one_row(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = b'kommune;merknad\nOslo;"to\nlinjer"\nBergen;x\n"Kilde: SSB;\nse ssb.no"\n'
    frame = to_parquet(objects, put, make_event, "q.csv", {"delimiter": ";", "footerRows": 1}, data)
    assert frame.rows() == [("Oslo", "to\nlinjer"), ("Bergen", "x")]


def without_formula_results(source: Path, target: Path) -> bytes:
    """A copy of an .xlsx with every formula's result taken out, as programs that do not
    calculate (openpyxl) write formulas."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for member in original.infolist():
            data = original.read(member)
            if "worksheets/" in member.filename:
                data = re.sub(rb"(</f>)<v>[^<]*</v>", rb"\1", data)
            copy.writestr(member, data)
    return target.read_bytes()


def totals_xlsx(path: Path) -> Path:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Budsjett")
    sheet.write_row(0, 0, ["post", "2023", "2024", "sum"])
    for row in range(1, 4):
        sheet.write_row(row, 0, [f"post {row}", 10 * row, 20 * row])
        sheet.write_formula(row, 3, f"=B{row + 1}+C{row + 1}", None, 30 * row)
    sheet.write_string(4, 0, "sum")
    sheet.write_formula(4, 3, "=SUM(D2:D4)", None, 180)
    book.close()
    return path


def test_a_formula_without_its_result_is_an_input_error_not_an_empty_cell(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    source = totals_xlsx(tmp_path / "budsjett.xlsx")
    frame = to_csv(objects, make_event, put("a.xlsx", source.read_bytes()), {})["a.csv"]
    assert frame.get_column("sum").to_list() == ["30", "60", "90", "180"]
    # Read, the sum column came out empty.
    key = put("b.xlsx", without_formula_results(source, tmp_path / "b.xlsx"))
    for config in ({}, {"sheet": "*"}, {"range": "A1:D4"}):
        with pytest.raises(InputError) as raised:
            excel_to_csv.handler(make_event("ToCsv", [key], config), None)
        assert raised.value.message == (
            "b.xlsx, sheet 'Budsjett': cell D2 holds a formula without its result (the "
            "workbook was written by a program that does not calculate formulas), which would "
            "be read as empty; open and save the workbook in a spreadsheet program, or write "
            "values instead of formulas"
        )
    # Formulas outside the cells read do not matter.
    frame = to_csv(objects, make_event, key, {"range": "A1:C4"})["b.csv"]
    assert frame.columns == ["post", "2023", "2024"]


@pytest.mark.parametrize("date_1904", [False, True])
def test_times_of_day_of_a_workbook_in_either_date_system(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent, date_1904: bool
) -> None:
    # Excel for Mac long counted days from 1904: a time of day is then on 1904-01-01, and
    # came out as 1904-01-01T07:15:00.
    path = tmp_path / "avganger.xlsx"
    book = xlsxwriter.Workbook(path, {"date_1904": date_1904})
    clock = book.add_format({"num_format": "hh:mm"})
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet = book.add_worksheet("Avganger")
    sheet.write_row(0, 0, ["dato", "avgang", "merknad"])
    for row, (date, departure, note) in enumerate(
        [
            (dt.date(2024, 2, 29), dt.time(7, 15), "ok"),
            (dt.date(1999, 12, 31), dt.time(23, 59), None),
        ],
        start=1,
    ):
        sheet.write_datetime(row, 0, date, day)
        sheet.write_datetime(row, 1, departure, clock)
        if note:
            sheet.write_string(row, 2, note)
        else:
            sheet.write_datetime(row, 2, dt.time(12, 30), clock)  # a time among text
    book.close()
    frame = to_csv(objects, make_event, put("avganger.xlsx", path.read_bytes()), {})
    assert frame["avganger.csv"].rows() == [
        ("2024-02-29", "07:15:00", "ok"),
        ("1999-12-31", "23:59:00", "12:30:00"),
    ]


@pytest.mark.parametrize("repeated", [False, True])  # fastexcel's names, or the row read again
def test_dates_and_numbers_in_a_header_row_are_named_as_the_sheet_shows_them(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent, repeated: bool
) -> None:
    # Daily columns were named 2024-01-01 00:00:00.
    path = tmp_path / "dager.xlsx"
    book = xlsxwriter.Workbook(path)
    day = book.add_format({"num_format": "dd.mm.yyyy"})
    sheet = book.add_worksheet("Dager")
    sheet.write_row(0, 0, ["stasjon", "stasjon" if repeated else "id"])
    sheet.write_number(0, 2, 2020)
    sheet.write_datetime(0, 3, dt.datetime(2024, 1, 1), day)
    sheet.write_datetime(0, 4, dt.datetime(2024, 1, 1, 8, 30), day)
    sheet.write_row(1, 0, ["Blindern", "x", 1, 2, 3])
    book.close()
    frame = to_csv(objects, make_event, put("dager.xlsx", path.read_bytes()), {})["dager.csv"]
    assert frame.columns[2:] == ["2020", "2024-01-01", "2024-01-01T08:30:00"]


def test_a_header_cell_merged_from_the_row_above_takes_its_name(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # A report's two header rows: "region" merged down over both, "Folkemengde" across two
    # columns above "Menn" and "Kvinner". The region column was named column_1.
    path = tmp_path / "rapport.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Rapport")
    sheet.write_string(0, 0, "Tabell 3")
    sheet.merge_range(2, 0, 3, 0, "region")
    sheet.merge_range(2, 1, 2, 2, "Folkemengde")
    sheet.write_row(3, 1, ["Menn", "Kvinner"])
    sheet.merge_range(2, 3, 3, 4, "Andel")  # two columns: the second stays unnamed
    sheet.write_row(4, 0, ["Oslo", 350000, 359000, 0.5, 0.5])
    book.close()
    key = put("rapport.xlsx", path.read_bytes())
    frame = to_csv(objects, make_event, key, {"headerRow": 4})["rapport.csv"]
    assert frame.columns == ["region", "Menn", "Kvinner", "Andel", "column_5"]


def test_header_rows_counts_a_quoted_title_across_lines_as_one_row(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    data = b'Tabell 1;"Folkemengde\nper kommune"\nkommune;n\nOslo;1\n'
    config = {"delimiter": ";", "headerRows": [2]}
    frame = to_parquet(objects, put, make_event, "t.csv", config, data)
    assert frame.rows() == [("Oslo", "1")]
    # validate writes the whole title back (its second line was lost).
    key = put("v.csv", data)
    schema = {"fields": [{"name": "n", "type": "integer"}]}
    [valid] = validate.handler(make_event("Check", [key], config | {"schema": schema}), None)[
        "input"
    ]["keys"]
    assert objects.get(valid) == data


def table_with_totals_xlsx(path: Path) -> bytes:
    """An Excel table (Insert > Table) with its Total Row shown, and a note below it."""
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Befolkning")
    columns = [
        {"header": "kommune", "total_string": "Totalt"},
        {"header": "personer", "total_function": "sum", "total_value": 1000977},
    ]
    rows = [["Oslo", 709037], ["Bergen", 291940]]
    sheet.add_table("A1:B4", {"data": rows, "columns": columns, "total_row": True})
    sheet.write_string(5, 0, "Kilde: SSB")
    book.close()
    return path.read_bytes()


def test_the_totals_row_of_an_excel_table_is_an_input_error_not_a_row(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # It was written as one more kommune, of all the people.
    key = put("tabell.xlsx", table_with_totals_xlsx(tmp_path / "tabell.xlsx"))
    with pytest.raises(InputError) as raised:
        excel_to_csv.handler(make_event("ToCsv", [key], {}), None)
    assert raised.value.message == (
        "tabell.xlsx, sheet 'Befolkning': row 4 is the totals row of the Excel table 'Table1', "
        "not data; set the footerRows option to 2 to leave it out (and the rows below it), or "
        "to 0 to read it as data"
    )
    frame = to_csv(objects, make_event, key, {"footerRows": 2})["tabell.csv"]
    assert frame.rows() == [("Oslo", "709037"), ("Bergen", "291940")]
    frame = to_csv(objects, make_event, key, {"range": "A1:B3"})["tabell.csv"]
    assert frame.height == 2


@pytest.mark.parametrize("group_char", [" ", "\u00a0", "\u202f"])
@pytest.mark.parametrize("step", [csv_to_parquet, validate])
def test_any_space_as_group_char_takes_every_space_spreadsheets_write(
    put: Put, make_event: MakeEvent, recorder: MemoryRecorder, group_char: str, step: Any
) -> None:
    # validate rejected 12\u202f345 for a groupChar of \u00a0, which csv_to_parquet read.
    key = put("g.csv", "k;n\nA;1\u00a0234\nB;12\u202f345\nC;1 000 000\n".encode())
    schema = {"fields": [{"name": "n", "type": "integer", "groupChar": group_char}]}
    step.handler(make_event("Step", [key], {"delimiter": ";", "schema": schema}), None)
    assert recorder.finished("Step")[5]["rows"] == 3


# A report exported with its numbers right-aligned by spaces, as fixed-width tables are.
PADDED = b"kommune;innbyggere;andel\r\n0301 Oslo;  709037;12.5\r\n1103 Stavanger;146011;3.1\r\n"


@pytest.mark.parametrize("kind", ["integer", "number"])
def test_a_padded_number_is_read_by_csv_to_parquet_and_refused_by_validate(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, kind: str
) -> None:
    # Table Schema's bareNumber (true by default) refuses it; csv_to_parquet leaves plain
    # numbers to polars' reader, which takes the spaces before a number and reads the value
    # the export meant (reading numbers as text to refuse them cost ~10 % of its time).
    config = {"delimiter": ";", "schema": {"fields": [{"name": "innbyggere", "type": kind}]}}
    frame = to_parquet(objects, put, make_event, "padded.csv", config, PADDED)
    assert frame.get_column("innbyggere").to_list() == [709_037, 146_011]
    key = put("padded.csv", PADDED)
    with pytest.raises(ValidationFailed, match="row 2, column innbyggere: '  709037' is not"):
        validate.handler(make_event("Check", [key], config), None)


def test_bare_number_false_reads_a_padded_number_in_both_steps(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    schema = {"fields": [{"name": "innbyggere", "type": "integer", "bareNumber": False}]}
    config = {"delimiter": ";", "schema": schema}
    frame = to_parquet(objects, put, make_event, "padded.csv", config, PADDED)
    assert frame.get_column("innbyggere").to_list() == [709_037, 146_011]
    key = put("padded.csv", PADDED)
    validate.handler(make_event("Check", [key], config), None)
    assert recorder.finished("Check")[5]["rejected"] == 0


@pytest.mark.parametrize(("encoding", "named"), [("utf-8", "UTF-8"), ("cp1252", "cp1252")])
def test_a_mac_roman_file_read_in_another_encoding_points_to_mac_roman(
    put: Put, make_event: MakeEvent, encoding: str, named: str
) -> None:
    # Excel for Mac's "CSV (Macintosh)": the message named cp1252, which reads Tromsø as
    # Troms¿, and not the encoding the letters fit.
    data = "kommune;navn\r1506;Ålesund\r5501;Tromsø\r".encode("mac_roman")
    key = put("kommuner.csv", data)
    config = {"delimiter": ";", "encoding": encoding}
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert raised.value.message == (
        f"kommuner.csv is not valid {named}: byte 0x81 at offset 18 (line 2); its letters "
        'read as Mac Roman (Excel for Mac\'s "CSV (Macintosh)"): set the encoding option to '
        '"mac_roman", or to "auto"'
    )


# The PX-Web title as it is exported: quoted (so one value), or not (split at its commas).
PX_WEB_UNQUOTED_TITLE = PX_WEB.replace(
    b'"05803: Folkemengde, etter region, statistikkvariabel og \xc3\xa5r"',
    b"05803: Folkemengde, etter region, statistikkvariabel og \xc3\xa5r",
)


@pytest.mark.parametrize("data", [PX_WEB, PX_WEB_UNQUOTED_TITLE])
def test_a_published_csv_with_title_rows_is_described_by_its_header_and_rows(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent, data: bytes
) -> None:
    # validate writes the title back above the header; publishing such a file failed as
    # ragged rows (a quoted title) or described the title as the columns (one not quoted).
    key = put("px.csv", data)
    config = {"delimiter": ";", "headerRows": [3], "schema": PX_WEB_SCHEMA, "onInvalid": "drop"}
    checked = validate.handler(make_event("Check", [key], config), None)
    publish.handler(make_event("Publish", checked["input"]["keys"]), None)
    [distribution] = recorder.distributions.values()
    assert [field["name"] for field in distribution["schema"]["fields"]] == [
        "region",
        "statistikkvariabel",
        "år",
        "Personer",
    ]
    assert distribution["preview"]["rowCount"] == 3
    assert distribution["preview"]["rows"][0] == ["0301 Oslo", "Folkemengde", "2023", "709037"]


def test_a_csv_whose_first_row_is_wider_than_the_rows_below_keeps_it_as_header(
    tmp_path: Path,
) -> None:
    # Rows that stop short of the header are no sign of a title above it.
    path = tmp_path / "short.csv"
    path.write_text("kommune;navn;merknad\n0301;Oslo\n1103;Stavanger\n")
    found = preview.table_preview(path, "short.csv")
    assert found is not None
    assert [field["name"] for field in found["schema"]["fields"]] == ["kommune", "navn", "merknad"]
    assert found["rowCount"] == 2


def notes_per_sheet_xlsx(path: Path) -> bytes:
    """A municipal workbook whose sheets end in different notes: two, one, none."""
    book = xlsxwriter.Workbook(path)
    for title, notes in (
        ("Befolkning", ["Kilde: SSB, tabell 07459", "* Foreløpige tall"]),
        ("Areal", ["Kilde: Kartverket"]),
        ("Bydeler", []),
    ):
        sheet = book.add_worksheet(title)
        sheet.write_row(0, 0, ["bydel", "verdi"])
        for row, (bydel, value) in enumerate([("Gamle Oslo", 62_000), ("Grorud", 27_000)], 1):
            sheet.write_row(row, 0, [bydel, value])
        for row, note in enumerate(notes, 4):
            sheet.write_string(row, 0, note)
    book.close()
    return path.read_bytes()


def test_one_footer_count_for_every_sheet_does_not_cut_rows_of_data(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # footerRows: 2 left out Areal's last row of data with its one note, and Bydeler's two
    # rows, without a word.
    key = put("bydeler.xlsx", notes_per_sheet_xlsx(tmp_path / "bydeler.xlsx"))
    with pytest.raises(InputError) as raised:
        excel_to_csv.handler(make_event("ToCsv", [key], {"sheet": "*", "footerRows": 2}), None)
    assert raised.value.message == (
        "bydeler.xlsx, sheet 'Areal': footerRows is 2, but its last 2 rows hold data, not "
        "only notes (the row 'Grorud'); give footerRows per sheet, such as "
        '{"Befolkning": 2, "Areal": 1}'
    )


def test_footer_rows_per_sheet_leaves_out_each_sheets_notes(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    key = put("bydeler.xlsx", notes_per_sheet_xlsx(tmp_path / "bydeler.xlsx"))
    config = {"sheet": "*", "footerRows": {"Befolkning": 2, "Areal": 1}}
    frames = to_csv(objects, make_event, key, config)
    assert list(frames) == ["bydeler-Befolkning.csv", "bydeler-Areal.csv", "bydeler-Bydeler.csv"]
    for frame in frames.values():
        assert frame.rows() == [("Gamle Oslo", "62000"), ("Grorud", "27000")]
    with pytest.raises(ConfigError, match=r"bydeler\.xlsx has no sheet 'Arael'"):
        to_csv(objects, make_event, key, {"sheet": "*", "footerRows": {"Arael": 1}})
    with pytest.raises(ConfigError, match="footerRows"):
        to_csv(objects, make_event, key, {"sheet": "*", "footerRows": {"Areal": -1}})


def test_notes_on_one_sheet_of_every_sheet_point_to_footer_rows_per_sheet(
    tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    key = put("bydeler.xlsx", notes_per_sheet_xlsx(tmp_path / "bydeler.xlsx"))
    with pytest.raises(InputError) as raised:
        excel_to_csv.handler(make_event("ToCsv", [key], {"sheet": "*"}), None)
    assert raised.value.message.endswith(
        'set the footerRows option to {"Befolkning": 2} to leave them out of this sheet, '
        "or to 0 to read them as data"
    )


def test_a_published_csv_with_a_footer_is_described_without_its_notes(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # validate writes the footer back below the rows; the preview counted the blank row and
    # the note as rows of the table.
    data = PX_WEB.replace(b"mange", b"212660") + b'\r\n"Kilde: SSB, tabell 05803"\r\n'
    key = put("px.csv", data)
    config = {"delimiter": ";", "headerRows": [3], "footerRows": 1, "schema": PX_WEB_SCHEMA}
    checked = validate.handler(make_event("Check", [key], config), None)
    publish.handler(make_event("Publish", checked["input"]["keys"]), None)
    [distribution] = recorder.distributions.values()
    assert distribution["preview"]["rowCount"] == 4
    assert distribution["preview"]["rows"][-1] == [
        "3401 Kongsvinger",
        "Folkemengde",
        "2023",
        "18106",
    ]


def test_one_footer_count_leaves_a_sheet_of_one_column_to_the_count(
    objects: LocalObjectStore, tmp_path: Path, put: Put, make_event: MakeEvent
) -> None:
    # In one column a note and a value look alike: the count is all there is to go by.
    book = xlsxwriter.Workbook(tmp_path / "steder.xlsx")
    book.add_worksheet("Steder").write_column(0, 0, ["sted", "Oslo", "Bergen", "", "Kilde: SSB"])
    book.close()
    key = put("steder.xlsx", (tmp_path / "steder.xlsx").read_bytes())
    frames = to_csv(objects, make_event, key, {"sheet": "*", "footerRows": 1})
    assert frames["steder-Steder.csv"].rows() == [("Oslo",), ("Bergen",)]


@pytest.mark.parametrize("step", ["csv_to_parquet", "validate", "transform", "enrich"])
def test_every_csv_step_says_which_encoding_and_delimiter_it_detected(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent, step: str
) -> None:
    # Only csv_to_parquet said so: a pipeline that checks the file first told nothing.
    from pipelines.steps import enrich

    key = put(
        "kommuner.csv", "kode;navn\r\n0301;Oslo\r\n5001;Trondheim Tråante Sør\r\n".encode("cp1252")
    )
    config: dict[str, Any] = {"encoding": "auto", "delimiter": "auto"}
    if step == "validate":
        config["schema"] = {"fields": [{"name": "kode", "type": "string"}]}
    if step == "enrich":
        lookup = put("fylker.csv", b"kode,fylke\n0301,Oslo\n")
        config |= {"lookup": {"key": lookup}, "on": "kode"}
    handlers = {
        "csv_to_parquet": csv_to_parquet,
        "validate": validate,
        "transform": transform,
        "enrich": enrich,
    }
    handlers[step].handler(make_event("Step", [key], config), None)
    summary = recorder.finished("Step")[5]
    assert summary["encodings"] == {"kommuner.csv": "cp1252"}
    assert summary["delimiters"] == {"kommuner.csv": ";"}
