"""csv_to_parquet: dialects, encodings, Table Schema types, and hostile files."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import csv_to_parquet
from pipelines.steps.contract import ConfigError, InputError
from tests.pipelines.steps.conftest import MakeEvent, Put, data_file
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
ZSTD_FRAME_MAGIC = bytes.fromhex("28b52ffd")


def convert(
    objects: LocalObjectStore, make_event: MakeEvent, key: str, config: dict[str, Any]
) -> pl.DataFrame:
    result = csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    [output] = result["input"]["keys"]
    return pl.read_parquet(io.BytesIO(objects.get(output)))


def test_writes_zstd_parquet_under_the_step_folder_and_records_it(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    result = csv_to_parquet.handler(make_event("ToParquet", [key]), None)
    output = "intermediate/green/trees/version=1/edition=20240101T000000/ToParquet/trees.parquet"
    assert result["input"] == {"keys": [output]}
    assert result["run"] == "run-1"
    frame = pl.read_parquet(io.BytesIO(objects.get(output)))
    # No schema: every column is text, as written.
    assert frame.get_column("tree_id").to_list() == ["1", "2", "3", "4"]
    assert frame.get_column("height_m").to_list() == ["12.5", "8", "15.25", "3"]
    [written] = recorder.outputs
    assert (written.key, written.rows, written.bytes) == (output, 4, objects.head(output).bytes)
    assert recorder.finished("ToParquet")[3] == "SUCCEEDED"
    # zstd-compressed pages are zstd frames, which start with this magic number.
    assert ZSTD_FRAME_MAGIC in objects.get(output)


def test_schema_gives_types_and_explicit_date_formats(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("stations.csv", data_file("stations-latin1.csv"))
    schema = {
        "fields": [
            {"name": "stasjon", "type": "string"},
            {"name": "måling", "type": "number", "groupChar": " "},
            {"name": "dato", "type": "date", "format": "%d.%m.%Y"},
        ]
    }
    config = {"delimiter": ";", "encoding": "latin-1", "decimalChar": ",", "schema": schema}
    frame = convert(objects, make_event, key, config)
    assert frame.schema == {"stasjon": pl.String, "måling": pl.Float64, "dato": pl.Date}
    assert frame.rows() == [
        ("Blåsen", 12.5, dt.date(2024, 4, 3)),
        ("Tåsen", -3.25, dt.date(2024, 4, 4)),
        ("Østensjø", 1204.0, dt.date(2024, 4, 5)),
    ]


def test_datetime_boolean_and_integer_fields(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put(
        "events.csv",
        b"id,at,ok\n1,2024-03-01 10:15,ja\n2,2024-03-02 23:59,nei\n3,,\n",
    )
    schema = {
        "fields": [
            {"name": "id", "type": "integer"},
            {"name": "at", "type": "datetime", "format": "%Y-%m-%d %H:%M"},
            {"name": "ok", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nei"]},
        ]
    }
    frame = convert(objects, make_event, key, {"schema": schema})
    assert frame.rows() == [
        (1, dt.datetime(2024, 3, 1, 10, 15), True),
        (2, dt.datetime(2024, 3, 2, 23, 59), False),
        (3, None, None),
    ]


@pytest.mark.parametrize(
    ("name", "encoding", "expected"),
    [
        ("prices-cp1252.csv", "cp1252", ["Coffee €", "Tea \u2013 green"]),  # en dash: 0x96
        ("bom.csv", "utf-8-sig", ["Åse", "Øyvind"]),
        ("bom.csv", "utf-8", ["Åse", "Øyvind"]),
    ],
)
def test_encodings(
    objects: LocalObjectStore,
    put: Put,
    make_event: MakeEvent,
    name: str,
    encoding: str,
    expected: list[str],
) -> None:
    key = put(name, data_file(name))
    frame = convert(objects, make_event, key, {"encoding": encoding})
    assert frame.columns[0] in ("item", "id")  # a BOM never ends up in the first name
    assert frame.get_column(frame.columns[1 if name == "bom.csv" else 0]).to_list() == expected


def test_quote_char_and_comment_lines(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("q.csv", b"# exported 2024\na|b\n'x|y'|1\n'it''s'|2\n")
    frame = convert(
        objects, make_event, key, {"delimiter": "|", "quoteChar": "'", "commentChar": "#"}
    )
    assert frame.rows() == [("x|y", "1"), ("it's", "2")]


def test_no_header_names_columns_by_position(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("nh.csv", b"1,a\n2,b\n")
    frame = convert(objects, make_event, key, {"header": False})
    assert frame.columns == ["column_1", "column_2"]
    assert frame.height == 2


def test_formula_looking_values_stay_text(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("f.csv", b"name,note\na,\"=cmd|' /C calc'!A0\"\nb,@SUM(1+1)\n")
    frame = convert(objects, make_event, key, {})
    assert frame.get_column("note").to_list() == ["=cmd|' /C calc'!A0", "@SUM(1+1)"]


def test_a_ten_thousand_column_header_converts(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    header = ",".join(f"c{n}" for n in range(10_000))
    row = ",".join(str(n) for n in range(10_000))
    key = put("wide.csv", f"{header}\n{row}\n".encode())
    frame = convert(objects, make_event, key, {})
    assert frame.shape == (1, 10_000)
    assert frame.get_column("c9999").to_list() == ["9999"]


@pytest.mark.parametrize(
    ("data", "config", "message"),
    [
        ("Blåsen,1\n".encode("latin-1"), {}, "not valid UTF-8"),
        (b"\xff\xfe\x00\x01", {"encoding": "utf-8"}, "not valid UTF-8"),
        (b"a,b\n1,2\n3,4,5\n", {}, "ragged"),
        (b"", {}, "empty"),
        (b"a,b\n1,x\n", {"schema": {"fields": [{"name": "b", "type": "integer"}]}}, "'b'"),
        (b"a\n1\n", {"schema": {"fields": [{"name": "b"}]}}, "no column 'b'"),
        (b"a\n\x81\n", {"encoding": "cp1252"}, "not valid cp1252"),
        (b'a,b\n1,"never closed\n2,3\n', {}, "bad.csv: row 2 has a quoted value that is never"),
    ],
)
def test_hostile_files_raise_input_error(
    put: Put,
    make_event: MakeEvent,
    recorder: MemoryRecorder,
    data: bytes,
    config: dict[str, Any],
    message: str,
) -> None:
    key = put("bad.csv", data)
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert message in str(raised.value)
    finished = recorder.finished("ToParquet")
    assert finished[3:5] == ("FAILED", {"error": "InputError", "cause": raised.value.message})


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"delimter": ";"}, "delimter"),
        ({"delimiter": ";;"}, "delimiter"),
        ({"decimalChar": ","}, "decimalChar"),
        ({"encoding": "klingon"}, "encoding"),
        ({"doubleQuote": False}, "doubleQuote"),
        ({"header": "yes"}, "header"),
        ({"schema": {"fields": [{"name": "d", "type": "date", "format": "any"}]}}, "format"),
        ({"schema": {"fields": [{"name": "d", "type": "colour"}]}}, "type"),
    ],
)
def test_bad_options_raise_config_error_naming_them(
    put: Put, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    with pytest.raises(ConfigError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert option in raised.value.key


def test_a_missing_input_object_is_an_input_error(make_event: MakeEvent) -> None:
    key = "raw/green/trees/version=1/edition=20240101T000000/gone.csv"
    with pytest.raises(InputError, match="does not exist"):
        csv_to_parquet.handler(make_event("ToParquet", [key]), None)


# Types: a column is typed by its schema field, else text; inferTypes never changes a value.


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        (["0101", "0102"], pl.String),  # a leading zero
        (["01", "1"], pl.String),
        (["+47", "22"], pl.String),  # a plus sign
        (["1 234", "5"], pl.String),  # a thousands separator
        (["01019912345", "12345678901"], pl.String),  # 11-digit national ids
        (["1234567890", "-5", "0"], pl.Int64),
        (["-0", "5"], pl.String),
        (["1.5", "2", "-0.25", "3.0"], pl.Float64),
        (["1.50", "2.5"], pl.String),  # 1.50 would come back as 1.5
        (["1e5", "2"], pl.String),
        (["0.1234567890123456", "1"], pl.String),  # more digits than a float keeps
        (["true", "false"], pl.Boolean),
        (["True", "false"], pl.String),
        (["2024-02-29", "2023-12-31"], pl.Date),
        (["2023-02-29", "2023-12-31"], pl.String),  # no such day
        ([*(["5"] * 10_001), "N/A"], pl.String),  # every value counts, not a sample
    ],
)
def test_infer_types_types_a_column_only_when_every_value_reads_back_as_written(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    values: list[str],
    dtype: pl.DataType,
) -> None:
    data = "n,value\n" + "".join(f"{n},{value}\n" for n, value in enumerate(values))
    key = put("values.csv", data.encode())
    frame = convert(objects, make_event, key, {"inferTypes": True})
    assert frame.schema["value"] == dtype
    if dtype == pl.String:
        assert frame.get_column("value").to_list() == values
    else:
        inferred = recorder.finished("ToParquet")[5]["inferredTypes"]["values.csv"]
        assert inferred["value"] == {pl.Int64: "integer", pl.Float64: "number"}.get(
            dtype, str(dtype).lower()
        )


def test_infer_types_reads_the_decimal_char_and_leaves_schema_fields_alone(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("d.csv", b"kode;andel;antall\n0301;12,5;7\n1103;3;8\n")
    schema = {"fields": [{"name": "antall", "type": "string"}]}
    config = {"delimiter": ";", "decimalChar": ",", "inferTypes": True, "schema": schema}
    frame = convert(objects, make_event, key, config)
    assert frame.schema == {"kode": pl.String, "andel": pl.Float64, "antall": pl.String}
    assert frame.rows() == [("0301", 12.5, "7"), ("1103", 3.0, "8")]


@pytest.mark.parametrize(
    ("field", "good", "bad", "reason"),
    [
        ({"type": "integer"}, "5", "N/A", "'N/A' is not a valid integer"),
        ({"type": "number", "groupChar": " "}, "1 234,5", "N/A", "'N/A' is not a valid number"),
        (
            {"type": "date", "format": "%d.%m.%Y"},
            "01.02.2024",
            "31.02.2024",
            "'31.02.2024' is not a valid date (format %d.%m.%Y)",
        ),
        ({"type": "boolean"}, "true", "kanskje", "'kanskje' is not a valid boolean"),
    ],
)
def test_a_value_failing_its_type_names_its_row_column_and_value(
    put: Put,
    make_event: MakeEvent,
    recorder: MemoryRecorder,
    field: dict[str, Any],
    good: str,
    bad: str,
    reason: str,
) -> None:
    # Far beyond any sample: rows 2..10,001 are good, the header is row 1.
    rows = "".join(f"{n};{good}\n" for n in range(10_000))
    key = put("målinger.csv", f"id;verdi\n{rows}10000;{bad}\n".encode())
    schema = {"fields": [{"name": "verdi", **field}]}
    config = {"delimiter": ";", "decimalChar": ",", "schema": schema}
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)
    assert raised.value.message == f"målinger.csv: row 10002, column 'verdi': {reason}"
    assert recorder.finished("ToParquet")[4]["cause"] == raised.value.message


def test_without_a_header_the_first_data_row_is_row_one(put: Put, make_event: MakeEvent) -> None:
    key = put("nh.csv", b"1\n2\nx\n")
    config = {"header": False, "schema": {"fields": [{"name": "column_1", "type": "integer"}]}}
    with pytest.raises(InputError, match=r"nh\.csv: row 3, column 'column_1': 'x' is not"):
        csv_to_parquet.handler(make_event("ToParquet", [key], config), None)


# A workbook is told apart by its first bytes, whatever its name.


def xls_bytes(path: Path) -> bytes:
    import xlwt

    book = xlwt.Workbook()
    book.add_sheet("Ark1").write(0, 0, "kode")
    book.save(str(path))
    return path.read_bytes()


def xlsx_bytes(path: Path) -> bytes:
    import xlsxwriter

    book = xlsxwriter.Workbook(path)
    book.add_worksheet("Ark1").write_string(0, 0, "kode")
    book.close()
    return path.read_bytes()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data.csv", "kode\n0301\n")
    return buffer.getvalue()


@pytest.mark.parametrize("make", [xls_bytes, xlsx_bytes])
@pytest.mark.parametrize("name", ["befolkning.csv", "befolkning.xlsx"])
@pytest.mark.parametrize("encoding", ["utf-8", "auto", "cp1252"])
def test_a_workbook_is_named_as_one_not_given_an_encoding_hint(
    tmp_path: Path, put: Put, make_event: MakeEvent, make: Any, name: str, encoding: str
) -> None:
    key = put(name, make(tmp_path / "book"))
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(make_event("ToParquet", [key], {"encoding": encoding}), None)
    assert raised.value.message == (
        f"{name}: this is an Excel workbook; use excel_to_csv to turn its sheets into CSV"
    )


def test_a_zip_archive_is_named_as_one(put: Put, make_event: MakeEvent) -> None:
    key = put("data.csv", zip_bytes())
    with pytest.raises(InputError, match=r"data\.csv is a zip archive, not CSV text"):
        csv_to_parquet.handler(make_event("ToParquet", [key]), None)


def test_the_csv_is_read_in_small_chunks_of_long_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 64 bytes, set for the conversion only: edges fall inside values and rows.
    monkeypatch.delenv("POLARS_CSV_CHUNK_SIZE", raising=False)
    monkeypatch.delenv("POLARS_OOC_MEMORY_BUDGET_MB", raising=False)
    monkeypatch.setattr(csv_to_parquet, "CONVERSION_CHUNK_BYTES", 64)
    seen = []
    sink_parquet = pl.LazyFrame.sink_parquet

    def recording(self: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append(
            (os.environ.get("POLARS_CSV_CHUNK_SIZE"), os.environ.get("POLARS_OOC_MEMORY_BUDGET_MB"))
        )
        return sink_parquet(self, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "sink_parquet", recording)
    notes = ["x" * (n % 7 * 40 + 1) if n % 5 else "line one\nline two" for n in range(300)]
    expected = pl.DataFrame({"id": list(range(300)), "note": notes})
    buffer = io.BytesIO()
    expected.write_csv(buffer)
    key = put("long-rows.csv", buffer.getvalue())
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "note"}]}
    frame = convert(objects, make_event, key, {"schema": schema})
    assert frame.equals(expected)
    # One output, nothing to spill: no memory budget, which costs the conversion time.
    assert seen == [("64", None)]
    assert "POLARS_CSV_CHUNK_SIZE" not in os.environ
    assert "POLARS_OOC_MEMORY_BUDGET_MB" not in os.environ


EMPTIES = b'id;navn;antall\n1;;5\n2;"";6\n\n3;Skien;7\n'


def test_an_empty_value_quoted_or_not_is_missing_by_default(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("tomme.csv", EMPTIES)
    schema = {"fields": [{"name": "navn"}, {"name": "antall", "type": "integer"}]}
    frame = convert(objects, make_event, key, {"delimiter": ";", "schema": schema})
    assert frame.get_column("navn").to_list() == [None, None, "Skien"]


def test_no_missing_values_make_an_empty_string_a_value(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # missingValues: [] -- an empty value is the string '', quoted or not: it was null.
    key = put("tomme.csv", EMPTIES)
    schema = {"fields": [{"name": "navn"}], "missingValues": []}
    frame = convert(objects, make_event, key, {"delimiter": ";", "schema": schema})
    assert frame.rows() == [("1", "", "5"), ("2", "", "6"), ("3", "Skien", "7")]


def test_no_missing_values_make_an_empty_number_an_error(put: Put, make_event: MakeEvent) -> None:
    # An empty value that is not missing is no integer: it was read as null.
    key = put("tomme.csv", b"id;antall\n1;5\n\n2;\n")
    schema = {"fields": [{"name": "antall", "type": "integer"}], "missingValues": []}
    with pytest.raises(InputError) as raised:
        csv_to_parquet.handler(
            make_event("ToParquet", [key], {"delimiter": ";", "schema": schema}), None
        )
    assert raised.value.message == "tomme.csv: row 4, column 'antall': '' is not a valid integer"
