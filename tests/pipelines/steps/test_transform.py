"""transform: cast, derive, filter, rename and select, declared in the config."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import transform
from pipelines.steps.contract import ConfigError, InputError
from tests.pipelines.steps.conftest import MakeEvent, Put, data_file
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")


def test_cast_derive_filter_rename_select_in_order(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    config = {
        "cast": {"height_m": "number", "planted": "date"},
        "derive": {
            "height_cm": "round(height_m * 100)",
            "decade": "year(planted) - year(planted) % 10",
        },
        "filter": "height_cm >= 800 and species <> 'XXX'",
        "rename": {"tree_id": "id"},
        "select": ["id", "height_cm", "decade"],
    }
    result = transform.handler(make_event("Shape", [key], config), None)
    [output] = result["input"]["keys"]
    frame = pl.read_csv(io.BytesIO(objects.get(output)))
    assert frame.rows() == [(1, 1250.0, 2000), (2, 800.0, 1990), (3, 1525.0, 2010)]
    assert recorder.outputs[0].rows == 3


def test_parquet_stays_parquet_with_types(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"n": [1, 2, 3], "s": ["a", "b", "c"]}).write_parquet(buffer)
    key = put("t.parquet", buffer.getvalue())
    result = transform.handler(make_event("Shape", [key], {"filter": "n > 1"}), None)
    [output] = result["input"]["keys"]
    assert pl.read_parquet(io.BytesIO(objects.get(output))).rows() == [(2, "b"), (3, "c")]


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"filter": "height_m >"}, "filter"),
        ({"filter": "nope = 1"}, "filter"),
        ({"derive": {"x": "os.system('id')"}}, "derive.x"),
        ({"derive": {"x": 5}}, "derive.x"),
        ({"cast": {"height_m": "float64"}}, "cast.height_m"),
        ({"cast": {"nope": "number"}}, "cast.nope"),
        ({"rename": {"nope": "x"}}, "rename.nope"),
        ({"select": ["tree_id", "nope"]}, "select"),
        ({"rename": {"tree_id": "id"}, "select": ["tree_id"]}, "select"),
        ({"sql": "select 1"}, "sql"),
    ],
)
def test_bad_options_name_the_option(
    put: Put, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    key = put("trees.csv", data_file("trees.csv"))
    with pytest.raises(ConfigError) as raised:
        transform.handler(make_event("Shape", [key], config), None)
    assert raised.value.key == option


@pytest.mark.parametrize(
    ("data", "cast", "message"),
    [
        (b"n\n1\ntwo\n", {"n": "integer"}, "row 3, column 'n': 'two' is not a valid integer"),
        (
            "kommune,aktiv\nOslo,true\nÅs,ja\n".encode(),
            {"aktiv": "boolean"},
            "row 3, column 'aktiv': 'ja' is not a valid boolean",
        ),
        (
            b"n,dato\n1,2024-01-01\n2,\n3,31.12.2023\n",
            {"n": "integer", "dato": "date"},
            "row 4, column 'dato': '31.12.2023' is not a valid date (format %Y-%m-%d)",
        ),
    ],
)
def test_a_value_that_does_not_cast_is_named_by_row_and_column(
    put: Put, make_event: MakeEvent, data: bytes, cast: dict[str, str], message: str
) -> None:
    key = put("t.csv", data)
    with pytest.raises(InputError) as raised:
        transform.handler(make_event("Shape", [key], {"cast": cast}), None)
    assert raised.value.message == f"t.csv: {message}"


def test_comparing_text_with_a_number_is_an_input_error(put: Put, make_event: MakeEvent) -> None:
    key = put("t.csv", b"n\n1\n")
    with pytest.raises(InputError):
        transform.handler(make_event("Shape", [key], {"filter": "n > 1"}), None)


def test_a_csv_in_its_own_dialect_is_read_and_written_back_in_it(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    budgets = "skole;budsjett\r\nBjølsen;1234,50\r\nÅs;-\r\nKjelsås;10,25\r\n"
    key = put("budsjett.csv", budgets.encode("latin-1"))
    config = {
        "delimiter": ";",
        "encoding": "latin-1",
        "decimalChar": ",",
        "derive": {"er_tom": "budsjett == '-'"},
        "filter": "not er_tom",
        "select": ["skole", "budsjett"],
    }
    result = transform.handler(make_event("Tidy", [key], config), None)
    [output] = result["input"]["keys"]
    assert objects.get(output).decode("latin-1").splitlines() == [
        "skole;budsjett",
        "Bjølsen;1234,50",
        "Kjelsås;10,25",
    ]


def test_a_number_cast_reads_and_writes_the_decimal_char(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("budsjett.csv", "skole;budsjett\nBjølsen;1234,5\nÅs;10,25\n".encode())
    config = {
        "delimiter": ";",
        "decimalChar": ",",
        "cast": {"budsjett": "number"},
        "filter": "budsjett > 100",
    }
    result = transform.handler(make_event("Tidy", [key], config), None)
    [output] = result["input"]["keys"]
    assert objects.get(output).decode().splitlines() == ["skole;budsjett", "Bjølsen;1234,5"]


def test_blank_lines_of_a_csv_are_no_rows(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # They were written out as rows of empty values (;;), and counted.
    key = put("t.csv", b"kommune;antall\r\n0301;5\r\n\r\n3005;x7\r\n\r\n")
    with pytest.raises(InputError) as raised:
        transform.handler(
            make_event("Shape", [key], {"delimiter": ";", "cast": {"antall": "integer"}}), None
        )
    # Rows keep the numbers a spreadsheet shows: the blank line is row 3.
    assert raised.value.message == "t.csv: row 4, column 'antall': 'x7' is not a valid integer"
    key = put("t.csv", b"kommune;antall\r\n0301;5\r\n\r\n3005;7\r\n\r\n")
    config = {"delimiter": ";", "cast": {"antall": "integer"}, "derive": {"dobbel": "antall * 2"}}
    [output] = transform.handler(make_event("Shape", [key], config), None)["input"]["keys"]
    # Written back with the upload's CRLF line ends.
    assert objects.get(output) == b"kommune;antall;dobbel\r\n0301;5;10\r\n3005;7;14\r\n"
    assert recorder.outputs[0].rows == 2


def test_a_csv_of_cr_line_ends_is_written_back_with_them(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # Excel for Mac's "CSV (Macintosh)": it came back with LF line ends.
    key = put("t.csv", b"kommune;antall\r0301;5\r3005;7\r")
    config = {"delimiter": ";", "cast": {"antall": "integer"}, "derive": {"dobbel": "antall * 2"}}
    [output] = transform.handler(make_event("Shape", [key], config), None)["input"]["keys"]
    assert objects.get(output) == b"kommune;antall;dobbel\r0301;5;10\r3005;7;14\r"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"derive": {"dobbel": "antall * 2"}},
            "t.csv: derive.dobbel: arithmetic on dtypes str and dyn int is not allowed",
        ),
        ({"filter": "antall > 3"}, "t.csv: filter: cannot compare string with numeric type"),
    ],
)
def test_an_expression_on_a_text_column_names_its_option_and_the_cast(
    put: Put, make_event: MakeEvent, config: dict[str, Any], message: str
) -> None:
    # The message blamed the file: "t.csv cannot be read: cannot compare string with ...".
    key = put("t.csv", b"kommune;antall\n0301;5\n")
    with pytest.raises(InputError) as raised:
        transform.handler(make_event("Shape", [key], {"delimiter": ";", **config}), None)
    assert raised.value.message.startswith(message)
    assert raised.value.message.endswith(
        "; the columns of a CSV file are text until the cast option gives them a type"
    )


def test_an_expression_on_typed_columns_is_not_told_to_cast(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("t.csv", b"kommune;vedtatt\n0301;2024-03-01\n")
    config = {"delimiter": ";", "cast": {"vedtatt": "date"}, "filter": "vedtatt > '2024-01-01'"}
    with pytest.raises(InputError) as raised:
        transform.handler(make_event("Shape", [key], config), None)
    assert raised.value.message.startswith("t.csv: filter: cannot compare")
    assert "cast" not in raised.value.message
