"""validate: Table Schema constraints, rejects, summaries and the onInvalid policies."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore
from pipelines.steps import csv_to_parquet, invalid_rows, tables, validate
from pipelines.steps.contract import ConfigError, InputError, StepError, ValidationFailed
from pipelines.steps.parquet_spill import Due
from tests.pipelines.steps.conftest import DATA, MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")

READINGS = b"""station,temperature,day,status,code
Blindern,12.5,2024-01-01,ok,AB-1
Tryvann,999,2024-01-02,ok,AB-2
Bygdoy,,2024-01-03,broken,AB-3
Lambertseter,-3,2024-13-40,ok,AB-4
Blindern,7,2024-01-05,ok,xx
Hovin,n/a,2024-01-06,ok,AB-6
"""
SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "station", "type": "string", "constraints": {"required": True}},
        {
            "name": "temperature",
            "type": "number",
            "constraints": {"required": True, "minimum": -60, "maximum": 85},
        },
        {"name": "day", "type": "date"},
        {"name": "status", "constraints": {"enum": ["ok", "maintenance"]}},
        {"name": "code", "constraints": {"pattern": "[A-Z]{2}-[0-9]+", "unique": True}},
    ],
    "missingValues": ["", "n/a"],
}


def rejects_of(objects: LocalObjectStore, key: str) -> list[dict[str, Any]]:
    return pl.read_csv(io.BytesIO(objects.get(key)), infer_schema=False).to_dicts()


def test_quarantine_writes_valid_rows_and_a_rejects_file(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("readings.csv", READINGS)
    config = {"schema": SCHEMA, "onInvalid": "quarantine"}
    result = validate.handler(make_event("Check", [key], config), None)
    [valid_key] = result["input"]["keys"]
    assert valid_key.endswith("/Check/readings.csv")
    valid = pl.read_csv(io.BytesIO(objects.get(valid_key)), infer_schema=False)
    assert valid.get_column("station").to_list() == ["Blindern"]
    assert valid.columns == ["station", "temperature", "day", "status", "code"]
    [_, rejects_output] = recorder.outputs
    assert rejects_output.key.endswith("/Check/readings-rejects.csv")
    assert rejects_of(objects, rejects_output.key) == [
        {
            "row": "3",
            "column": "temperature",
            "rule": "maximum",
            "value": "999",
            "message": "row 3, column temperature: 999 is above the maximum 85",
        },
        {
            "row": "4",
            "column": "temperature",
            "rule": "required",
            "value": None,
            "message": "row 4, column temperature: a value is required",
        },
        {
            "row": "4",
            "column": "status",
            "rule": "enum",
            "value": "broken",
            "message": "row 4, column status: 'broken' is not one of ok, maintenance",
        },
        {
            "row": "5",
            "column": "day",
            "rule": "type",
            "value": "2024-13-40",
            "message": "row 5, column day: '2024-13-40' is not a valid date (format %Y-%m-%d)",
        },
        {
            "row": "6",
            "column": "code",
            "rule": "pattern",
            "value": "xx",
            "message": "row 6, column code: 'xx' does not match the pattern [A-Z]{2}-[0-9]+",
        },
        {
            "row": "7",
            "column": "temperature",
            "rule": "required",
            "value": None,
            "message": "row 7, column temperature: a value is required",
        },
    ]
    summary = recorder.finished("Check")[5]
    assert summary["rows"] == 6
    assert summary["valid"] == 1
    assert summary["rejected"] == 5
    assert summary["byRule"] == {"maximum": 1, "required": 2, "enum": 1, "type": 1, "pattern": 1}


def test_fail_raises_validation_failed_with_owner_messages(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("readings.csv", READINGS)
    with pytest.raises(ValidationFailed) as raised:
        validate.handler(make_event("Check", [key], {"schema": SCHEMA}), None)
    assert raised.value.messages[0] == "row 3, column temperature: 999 is above the maximum 85"
    assert str(raised.value).startswith("5 of 6 rows are invalid: row 3, column temperature")
    finished = recorder.finished("Check")
    assert finished[3] == "FAILED"
    assert finished[4]["error"] == "ValidationFailed"
    assert finished[5]["rejected"] == 5
    assert recorder.outputs == []


def test_drop_keeps_valid_rows_and_writes_no_rejects(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("readings.csv", READINGS)
    validate.handler(make_event("Check", [key], {"schema": SCHEMA, "onInvalid": "drop"}), None)
    assert [output.rows for output in recorder.outputs] == [1]
    assert not any("rejects" in info.key for info in objects.list("intermediate/"))


def test_all_valid_rows_pass_through_unchanged(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # A no-break space groups thousands the way spreadsheets and SSB write them.
    data = 'id,when,amount\n1,03.04.2024,"1 204,5"\n2,04.04.2024,"709\u00a0037,25"\n'.encode()
    schema = {
        "fields": [
            {"name": "id", "type": "integer", "constraints": {"unique": True, "minimum": 1}},
            {"name": "when", "type": "date", "format": "%d.%m.%Y"},
            {"name": "amount", "type": "number", "decimalChar": ",", "groupChar": " "},
        ]
    }
    key = put("ok.csv", data)
    result = validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert objects.get(result["input"]["keys"][0]) == data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ({"type": "integer", "constraints": {"minimum": 10}}, "3", "3 is below the minimum 10"),
        ({"type": "integer"}, "3.5", "'3.5' is not a valid integer"),
        ({"constraints": {"minLength": 3}}, "ab", "'ab' is shorter than 3 characters"),
        ({"constraints": {"maxLength": 3}}, "abcd", "'abcd' is longer than 3 characters"),
        (
            {"type": "date", "constraints": {"maximum": "2024-12-31"}},
            "2025-01-01",
            "2025-01-01 is above the maximum 2024-12-31",
        ),
        ({"type": "boolean"}, "maybe", "'maybe' is not a valid boolean"),
        ({"type": "integer", "constraints": {"enum": [1, 2]}}, "3", "'3' is not one of 1, 2"),
        ({"type": "year"}, "MMXX", "'MMXX' is not a valid year"),
    ],
)
def test_each_rule_has_a_readable_message(
    put: Put, make_event: MakeEvent, field: dict[str, Any], value: str, message: str
) -> None:
    key = put("one.csv", f"id,x\n1,{value}\n".encode())
    schema = {"fields": [{"name": "x", **field}]}
    with pytest.raises(ValidationFailed) as raised:
        validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert raised.value.messages == [f"row 2, column x: {message}"]


def test_integer_enum_accepts_listed_values(put: Put, make_event: MakeEvent) -> None:
    key = put("one.csv", b"x\n1\n2\n")
    schema = {"fields": [{"name": "x", "type": "integer", "constraints": {"enum": [1, 2]}}]}
    result = validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert len(result["input"]["keys"]) == 1


def test_unique_and_primary_key_flag_every_duplicate(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("dup.csv", b"a,b,c\n1,x,u1\n1,y,u2\n1,x,u1\n2,x,u4\n")
    schema = {
        "fields": [{"name": "a"}, {"name": "b"}, {"name": "c", "constraints": {"unique": True}}],
        "primaryKey": ["a", "b"],
    }
    validate.handler(
        make_event("Check", [key], {"schema": schema, "onInvalid": "quarantine"}), None
    )
    rejects = rejects_of(objects, recorder.outputs[1].key)
    assert [(r["row"], r["rule"]) for r in rejects] == [
        ("2", "unique"),
        ("2", "primaryKey"),
        ("4", "unique"),
        ("4", "primaryKey"),
    ]
    assert (
        rejects[1]["message"]
        == "row 2, columns a, b: the primary key '1, x' appears more than once"
    )
    assert recorder.outputs[0].rows == 2


def test_a_primary_key_with_a_missing_part_is_named_in_its_message(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("dup.csv", b"a,b\n,x\n,x\n1,y\n")
    schema = {"fields": [{"name": "a"}, {"name": "b"}], "primaryKey": ["a", "b"]}
    with pytest.raises(ValidationFailed) as raised:
        validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert raised.value.messages == [
        "row 2, columns a, b: the primary key ', x' appears more than once",
        "row 3, columns a, b: the primary key ', x' appears more than once",
    ]
    validate.handler(
        make_event("Check", [key], {"schema": schema, "onInvalid": "quarantine"}), None
    )
    rejects = rejects_of(objects, recorder.outputs[1].key)
    assert [(r["row"], r["value"], r["message"]) for r in rejects] == [
        ("2", ", x", "row 2, columns a, b: the primary key ', x' appears more than once"),
        ("3", ", x", "row 3, columns a, b: the primary key ', x' appears more than once"),
    ]


def test_duplicates_are_found_across_many_key_partitions(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One partition per 64 bytes of input: the keys of a pair may land anywhere, and the
    # rejects still come out in row order with every duplicate and no other row.
    monkeypatch.setattr(validate, "INPUT_BYTES_PER_PARTITION", 64)
    # a repeats for the last 50 rows; (a, b) only for the odd ones among them.
    rows = [(n, f"k{n % 100}") for n in range(250)] + [
        (n - 200, f"k{n % 100}" if n % 2 else "other") for n in range(250, 300)
    ]
    data = "a,b\n" + "".join(f"{a},{b}\n" for a, b in rows)
    key = put("dup.csv", data.encode())
    schema = {
        "fields": [
            {"name": "a", "type": "integer", "constraints": {"unique": True}},
            {"name": "b"},
        ],
        "primaryKey": ["a", "b"],
    }
    validate.handler(
        make_event("Check", [key], {"schema": schema, "onInvalid": "quarantine"}), None
    )
    rejects = rejects_of(objects, recorder.outputs[1].key)
    counts_a = {a: sum(1 for row in rows if row[0] == a) for a, _ in rows}
    counts_ab = {pair: rows.count(pair) for pair in rows}
    expected = [
        (str(n + 2), rule)
        for n, row in enumerate(rows)
        for rule, count in (("unique", counts_a[row[0]]), ("primaryKey", counts_ab[row]))
        if count > 1
    ]
    assert [(line["row"], line["rule"]) for line in rejects] == expected
    assert recorder.outputs[0].rows == sum(
        1 for row in rows if counts_a[row[0]] == 1 and counts_ab[row] == 1
    )


def test_parquet_input_is_validated_with_its_own_types(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"id": [1, 2, 300], "name": ["a", None, "c"]}).write_parquet(buffer)
    key = put("t.parquet", buffer.getvalue())
    schema = {
        "fields": [
            {"name": "id", "type": "integer", "constraints": {"maximum": 100}},
            {"name": "name", "constraints": {"required": True}},
        ]
    }
    config = {"schema": schema, "onInvalid": "drop"}
    result = validate.handler(make_event("Check", [key], config), None)
    [output] = result["input"]["keys"]
    assert output.endswith(".parquet")
    assert pl.read_parquet(io.BytesIO(objects.get(output))).rows() == [(1, "a")]


def test_a_schema_column_missing_from_the_file_is_an_input_error(
    put: Put, make_event: MakeEvent
) -> None:
    key = put("t.csv", b"a;c\n1;2\n")
    config = {"delimiter": ";", "schema": {"fields": [{"name": "a"}, {"name": "b"}]}}
    with pytest.raises(InputError) as raised:
        validate.handler(make_event("Check", [key], config), None)
    # The columns found show a misspelt name or a wrong delimiter at a glance.
    assert (
        raised.value.message == "t.csv has no column 'b' named in the schema; its columns are a, c"
    )


def bound(kind: str, constraints: dict[str, Any]) -> dict[str, Any]:
    """A validate config with one field ``a`` of ``kind`` and ``constraints``."""
    return {"schema": {"fields": [{"name": "a", "type": kind, "constraints": constraints}]}}


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({}, "schema"),
        ({"schema": {"fields": []}, "onInvalid": "ignore"}, "onInvalid"),
        ({"schema": {"fields": [{"name": "a", "constraints": {"pattern": "("}}]}}, "pattern"),
        ({"schema": {"fields": [{"name": "a", "constraints": {"colour": 1}}]}}, "colour"),
        ({"schema": {"fields": [{"name": "a"}], "primaryKey": ["b"]}}, "primaryKey"),
        ({"schema": {"fields": "a"}}, "schema"),
        # Bounds and choices in another type than the field's would compare every row
        # with a value it can never equal, or fail the run blaming the file.
        (bound("integer", {"minimum": "abc"}), "constraints.minimum"),
        (bound("number", {"maximum": True}), "constraints.maximum"),
        (bound("string", {"minimum": 3}), "constraints.minimum"),
        (bound("date", {"minimum": "2020-13-45"}), "constraints.minimum"),
        (bound("date", {"maximum": 20200101}), "constraints.maximum"),
        (bound("integer", {"enum": ["x", 2]}), "constraints.enum"),
        # Bounds no value can meet would reject every row of every file.
        (bound("integer", {"minimum": 5, "maximum": 2}), "constraints.minimum"),
        (bound("number", {"minimum": "2.5", "maximum": 1}), "constraints.minimum"),
        (bound("date", {"minimum": "2024-02-01", "maximum": "2024-01-31"}), "constraints.minimum"),
        (bound("string", {"minLength": 5, "maxLength": 2}), "constraints.minLength"),
        # A length is a whole number of characters (it failed the run, not the save).
        (bound("string", {"maxLength": "ten"}), "constraints.maxLength"),
        (bound("string", {"minLength": -1}), "constraints.minLength"),
        (bound("string", {"maxLength": 2.5}), "constraints.maxLength"),
    ],
)
def test_bad_schemas_raise_config_error(
    put: Put, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    key = put("t.csv", b"a\n1\n")
    with pytest.raises(ConfigError) as raised:
        validate.handler(make_event("Check", [key], config), None)
    assert option in raised.value.key


def test_an_empty_file_is_an_input_error(put: Put, make_event: MakeEvent) -> None:
    key = put("t.csv", b"")
    with pytest.raises(InputError, match="is empty"):
        validate.handler(make_event("Check", [key], {"schema": {"fields": []}}), None)


def test_a_header_only_file_is_valid_and_empty(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("t.csv", b"a,b\n")
    validate.handler(make_event("Check", [key], {"schema": {"fields": [{"name": "a"}]}}), None)
    assert recorder.finished("Check")[5] == {"rows": 0, "valid": 0, "rejected": 0, "byRule": {}}


def test_fail_shows_the_first_messages_but_counts_every_broken_row(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    rows = "".join(f"{n}\n" for n in range(100, 125))
    key = put("many.csv", f"x\n{rows}".encode())
    schema = {"fields": [{"name": "x", "type": "integer", "constraints": {"maximum": 99}}]}
    with pytest.raises(ValidationFailed) as raised:
        validate.handler(make_event("Check", [key], {"schema": schema}), None)
    assert len(raised.value.messages) == validate.MESSAGES_IN_ERROR
    assert raised.value.messages[0] == "row 2, column x: 100 is above the maximum 99"
    summary = recorder.finished("Check")[5]
    assert summary["rejected"] == 25
    assert summary["byRule"] == {"maximum": 25}


def test_row_numbers_hold_across_a_file_read_in_many_batches(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # Enough rows for the streaming engine to split the file; the bad rows sit far apart.
    count = 300_000
    bad = {7, 65_537, 150_001, 299_999}
    values = pl.Series("x", [str(n) if n not in bad else "bad" for n in range(count)])
    buffer = io.BytesIO()
    pl.DataFrame([values, pl.Series("y", ["a"] * count)]).write_csv(buffer)
    key = put("long.csv", buffer.getvalue())
    schema = {"fields": [{"name": "x", "type": "integer"}, {"name": "y"}]}
    config = {"schema": schema, "onInvalid": "quarantine"}
    validate.handler(make_event("Check", [key], config), None)
    valid_output, rejects_output = recorder.outputs
    rejects = rejects_of(objects, rejects_output.key)
    # The header is row 1, so the value n sits on row n + 2.
    assert [int(r["row"]) for r in rejects] == [n + 2 for n in sorted(bad)]
    assert {r["value"] for r in rejects} == {"bad"}
    valid = pl.read_csv(io.BytesIO(objects.get(valid_output.key)), infer_schema=False)
    assert valid.height == valid_output.rows == count - len(bad)
    assert valid.get_column("x").to_list()[:8] == ["0", "1", "2", "3", "4", "5", "6", "8"]
    assert recorder.finished("Check")[5]["valid"] == count - len(bad)


# The CSV dialect: the same options as csv_to_parquet, and the valid rows written back in it.

PORTAL = DATA / "portal"


def test_reads_the_csv_dialect_and_writes_valid_rows_back_in_it(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    source = (PORTAL / "oslo-bydeler-cp1252.csv").read_bytes()
    key = put("bydeler.csv", source)
    schema = {
        "fields": [
            {"name": "bydel", "constraints": {"required": True}},
            {"name": "innbyggere", "type": "integer", "groupChar": " "},
            {"name": "areal_km2", "type": "number", "constraints": {"maximum": 18}},
        ]
    }
    config = {
        "delimiter": ";",
        "encoding": "cp1252",
        "decimalChar": ",",
        "schema": schema,
        "onInvalid": "quarantine",
    }
    result = validate.handler(make_event("Check", [key], config), None)
    [valid_key] = result["input"]["keys"]
    # cp1252, ';', CRLF and the header's empty last name, as uploaded (its lines copied,
    # not written again); 18,4 km2 is rejected and the blank lines at the end are not rows.
    assert objects.get(valid_key) == (
        "bydel;innbyggere;areal_km2;\r\n"
        "Grünerløkka;64 184;4,8;\r\n"
        "Østensjø;52 075;12,2;\r\n"
        "Vestre Aker;52 426;16,6;\r\n"
    ).encode("cp1252")
    summary = recorder.finished("Check")[5]
    assert (summary["rows"], summary["valid"], summary["rejected"]) == (4, 3, 1)
    rejects = rejects_of(objects, summary["rejectsKeys"][0])
    assert [(line["row"], line["value"]) for line in rejects] == [("3", "18,4")]


def test_a_sep_line_is_written_back_and_read_again_by_csv_to_parquet(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    key = put("excel.csv", (PORTAL / "excel-sep-line.csv").read_bytes())
    schema = {"fields": [{"name": "beløp", "type": "number", "groupChar": "."}]}
    checked = validate.handler(
        make_event("Check", [key], {"decimalChar": ",", "schema": schema}), None
    )
    [valid_key] = checked["input"]["keys"]
    assert objects.get(valid_key).startswith(b"sep=;\r\ndato;tidspunkt;bel\xc3\xb8p\r\n")
    converted = csv_to_parquet.handler(
        checked | {"step": "ToParquet", "config": {"decimalChar": ",", "schema": schema}}, None
    )
    [output] = converted["input"]["keys"]
    frame = pl.read_parquet(io.BytesIO(objects.get(output)))
    assert frame.get_column("beløp").to_list() == [1234.5, -12.75]


def test_without_a_header_rows_count_from_one(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("nh.csv", b"1;a\nx;b\n")
    schema = {"fields": [{"name": "column_1", "type": "integer"}]}
    config = {"delimiter": ";", "header": False, "schema": schema, "onInvalid": "quarantine"}
    result = validate.handler(make_event("Check", [key], config), None)
    assert objects.get(result["input"]["keys"][0]) == b"1;a\n"
    [rejects_key] = recorder.finished("Check")[5]["rejectsKeys"]
    assert [line["row"] for line in rejects_of(objects, rejects_key)] == ["2"]


# The valid rows are the input's own lines, copied, where one line is one row (csv_lines);
# elsewhere they are written again, and read back the same.

CODES = {"fields": [{"name": "code", "type": "integer"}, {"name": "name"}]}


def valid_output(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, data: bytes, **config: Any
) -> bytes:
    key = put("codes.csv", data)
    settings = {"schema": CODES, "onInvalid": "quarantine", **config}
    result = validate.handler(make_event("Check", [key], settings), None)
    return objects.get(result["input"]["keys"][0])


def test_valid_rows_keep_their_quotes_and_header_as_uploaded(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent
) -> None:
    # Written again, "0301" lost its quotes and the repeated name came back as name_2.
    data = b'code,name,name\n"0301","Oslo, sentrum",x\nbad,Moss,y\n0101,Halden,"z"\n'
    assert valid_output(objects, put, make_event, data) == (
        b'code,name,name\n"0301","Oslo, sentrum",x\n0101,Halden,"z"\n'
    )


@pytest.mark.parametrize(
    ("data", "copied"),
    [
        (b'code,name\n"0301",a\nbad,b\n0101,"c"\n', b'code,name\n"0301",a\n0101,"c"\n'),
        (b"code,name\n1,t\x1fwo\nbad,x\n3,say\n", b"code,name\n1,t\x1fwo\n3,say\n"),
    ],
    ids=["quotes", "unit-separator"],
)
def test_the_characters_validate_looks_for_are_found_in_one_scan_of_the_file(
    objects: LocalObjectStore,
    put: Put,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    copied: bytes,
) -> None:
    # The scan for the quote also looks for what copying the lines needs to know: it read
    # the whole file a second time (~45 ms for 190 MB).
    from pipelines.steps import csv_dialect, csv_lines

    scans: list[tuple[str, ...]] = []
    scan = csv_dialect.characters_in

    def counted(path: Path, *characters: str) -> set[str]:
        scans.append(characters)
        return scan(path, *characters)

    monkeypatch.setattr(csv_dialect, "characters_in", counted)
    monkeypatch.setattr(csv_lines, "characters_in", counted)
    assert valid_output(objects, put, make_event, data) == copied
    assert len(scans) == 1


@pytest.mark.parametrize(
    ("data", "config"),
    [
        # A quoted value across lines: more lines than rows.
        (b'code,name\n1,"two\nlines"\nbad,x\n3,"say ""hi"""\n', {}),
        # Comment lines have no row number.
        (b"code,name\n# made by hand\n1,two\nbad,x\n3,say\n", {"commentChar": "#"}),
        # The byte the copy reads lines by.
        (b"code,name\n1,t\x1fwo\nbad,x\n3,say\n", {}),
    ],
    ids=["quoted-newline", "comment-lines", "unit-separator"],
)
def test_valid_rows_are_written_again_where_lines_are_not_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, data: bytes, config: dict
) -> None:
    output = valid_output(objects, put, make_event, data, **config)
    rows = pl.read_csv(io.BytesIO(output), infer_schema=False).rows()
    expected = pl.read_csv(
        io.BytesIO(data), infer_schema=False, comment_prefix=config.get("commentChar")
    ).filter(pl.col("code") != "bad")
    assert rows == expected.rows()
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("data", "config", "expected"),
    [
        # Excel on Windows: the lines are copied, the title and the footnote written back.
        (
            b"Tabell 1: koder\r\ncode;name\r\n1;a\r\nbad;b\r\n3;c\r\nKilde: SSB\r\n",
            {"delimiter": ";", "headerRows": [2], "footerRows": 1},
            b"Tabell 1: koder\r\ncode;name\r\n1;a\r\n3;c\r\nKilde: SSB\r\n",
        ),
        (b"sep=;\r\ncode;name\r\n1;a\r\nbad;b\r\n", {}, b"sep=;\r\ncode;name\r\n1;a\r\n"),
        # A quoted value across lines: the rows are written again, the value as it was.
        (
            b'code,name\r\n1,"two\r\nlines"\r\nbad,x\r\n3,c\r\n',
            {},
            b'code,name\r\n1,"two\r\nlines"\r\n3,c\r\n',
        ),
        (
            "code,name\r\n1,Å\r\nbad,b\r\n".encode("cp1252"),
            {"encoding": "cp1252"},
            "code,name\r\n1,Å\r\n".encode("cp1252"),
        ),
        # No line end after the last row: one is added, as to a file of \n line ends.
        (b"code,name\r\n1,a\r\nbad,b\r\n3,c", {}, b"code,name\r\n1,a\r\n3,c\r\n"),
        (b"code,name\n1,a\nbad,b\n3,c\n", {}, b"code,name\n1,a\n3,c\n"),
        # Mixed line ends: the first line's is the file's.
        (b"code,name\r\n1,a\nbad,b\r\n3,c\n", {}, b"code,name\r\n1,a\r\n3,c\r\n"),
        (b"code,name\n1,a\r\nbad,b\r\n3,c\r\n", {}, b"code,name\n1,a\n3,c\n"),
        # CR alone (Excel for Mac's "CSV (Macintosh)"), title and footer rows included.
        (b"code,name\r1,a\rbad,b\r3,c\r", {}, b"code,name\r1,a\r3,c\r"),
        (
            b"Tabell 1: koder\rcode;name\r1;a\rbad;b\rKilde: SSB\r",
            {"delimiter": ";", "headerRows": [2], "footerRows": 1},
            b"Tabell 1: koder\rcode;name\r1;a\rKilde: SSB\r",
        ),
    ],
    ids=[
        "title-footer",
        "sep-line",
        "quoted-newline",
        "cp1252",
        "no-last",
        "lf",
        "mixed",
        "mixed-lf",
        "cr",
        "cr-title-footer",
    ],
)
def test_valid_rows_keep_the_line_ends_of_the_upload(
    objects: LocalObjectStore,
    put: Put,
    make_event: MakeEvent,
    data: bytes,
    config: dict,
    expected: bytes,
) -> None:
    # CRLF and CR files came back with LF line ends, title and footer rows included.
    assert valid_output(objects, put, make_event, data, **config) == expected


def test_a_mostly_invalid_file_is_checked_again_for_its_valid_rows(
    objects: LocalObjectStore, put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past MAX_LEFT_OUT rows to leave out, their numbers are not held.
    monkeypatch.setattr(validate, "MAX_LEFT_OUT", 1)
    data = b"code,name\nbad,a\n1,b\nworse,c\n\n3,d\n"
    assert valid_output(objects, put, make_event, data) == b"code,name\n1,b\n3,d\n"


@pytest.mark.parametrize(
    ("config", "option"),
    [
        ({"delimiter": ";;"}, "delimiter"),
        ({"encoding": "klingon"}, "encoding"),
        ({"decimalChar": ";"}, "decimalChar"),
        ({"delimiter": ",", "decimalChar": ","}, "decimalChar"),
        ({"quoteChar": ""}, "quoteChar"),
    ],
)
def test_bad_dialect_options_raise_config_error_naming_them(
    put: Put, make_event: MakeEvent, config: dict[str, Any], option: str
) -> None:
    key = put("t.csv", b"a\n1\n")
    with pytest.raises(ConfigError) as raised:
        validate.handler(make_event("Check", [key], {**config, "schema": {"fields": []}}), None)
    assert raised.value.key == option


def test_a_workbook_is_named_as_one(tmp_path: Path, put: Put, make_event: MakeEvent) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(tmp_path / "book.xlsx")
    book.add_worksheet("Ark1").write_string(0, 0, "kode")
    book.close()
    key = put("kommuner.csv", (tmp_path / "book.xlsx").read_bytes())
    with pytest.raises(InputError) as raised:
        validate.handler(make_event("Check", [key], {"schema": {"fields": []}}), None)
    assert raised.value.message == (
        "kommuner.csv: this is an Excel workbook; use excel_to_csv to turn its sheets into CSV"
    )


def test_the_csv_is_read_in_small_chunks_and_polars_default_comes_back(
    put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # polars' own 32 MB chunks, several in flight, were most of validate's memory. The
    # memory budget costs the main pass time and it has nothing to spill: only the pass
    # over the invalid rows (which may sort them) runs within it.
    monkeypatch.delenv("POLARS_CSV_CHUNK_SIZE", raising=False)
    monkeypatch.delenv("POLARS_OOC_MEMORY_BUDGET_MB", raising=False)
    seen: list[tuple[str | None, str | None]] = []
    collect = pl.LazyFrame.collect

    def recording(frame: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append(
            (os.environ.get("POLARS_CSV_CHUNK_SIZE"), os.environ.get("POLARS_OOC_MEMORY_BUDGET_MB"))
        )
        return collect(frame, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", recording)
    key = put("readings.csv", READINGS)
    validate.handler(
        make_event("Check", [key], {"schema": SCHEMA, "onInvalid": "quarantine"}), None
    )
    chunks, budget = str(tables.CSV_CHUNK_BYTES), str(tables.MEMORY_BUDGET_MB)
    assert (chunks, None) in seen
    # The last two: the invalid rows' counts, then their rejects.
    assert seen[-2:] == [(chunks, budget), (chunks, budget)]
    assert "POLARS_CSV_CHUNK_SIZE" not in os.environ
    assert "POLARS_OOC_MEMORY_BUDGET_MB" not in os.environ


def test_a_failure_setting_invalid_rows_aside_is_reported_with_its_cause(
    put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Due) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(invalid_rows, "BATCH_BYTES_PER_FILE", 1)
    monkeypatch.setattr(Due, "write", full)
    key = put("readings.csv", READINGS)
    with pytest.raises(StepError, match="No space left on device"):
        validate.handler(
            make_event("Check", [key], {"schema": SCHEMA, "onInvalid": "quarantine"}), None
        )


def test_a_parquet_input_is_validated_within_the_memory_budget(
    put: Put, make_event: MakeEvent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLARS_OOC_MEMORY_BUDGET_MB", raising=False)
    seen = []
    collect = pl.LazyFrame.collect

    def recording(frame: pl.LazyFrame, *args: Any, **kwargs: Any) -> Any:
        seen.append(os.environ.get("POLARS_OOC_MEMORY_BUDGET_MB"))
        return collect(frame, *args, **kwargs)

    monkeypatch.setattr(pl.LazyFrame, "collect", recording)
    buffer = io.BytesIO()
    pl.DataFrame({"id": [1, 2, 300], "name": ["a", None, "c"]}).write_parquet(buffer)
    key = put("t.parquet", buffer.getvalue())
    schema = {"fields": [{"name": "id", "type": "integer", "constraints": {"maximum": 10}}]}
    validate.handler(make_event("Check", [key], {"schema": schema, "onInvalid": "drop"}), None)
    # The last: the invalid rows' counts (drop writes no rejects).
    assert seen[-1] == str(tables.MEMORY_BUDGET_MB)
    assert "POLARS_OOC_MEMORY_BUDGET_MB" not in os.environ


def test_rows_longer_than_a_read_chunk_pass_through_unchanged(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Chunks of 64 bytes: chunk edges fall inside values, quoted line breaks and long rows.
    monkeypatch.delenv("POLARS_CSV_CHUNK_SIZE", raising=False)
    monkeypatch.setattr(tables, "CSV_CHUNK_BYTES", 64)
    lines = [b"id,note"]
    for n in range(1, 400):
        note = b'"line one\nline ""two"""' if n % 5 == 0 else b"x" * (n % 7 * 40)
        lines.append(b"%d,%s" % (n if n % 50 else -n, note))
    data = b"\n".join(lines) + b"\n"
    key = put("long-rows.csv", data)
    schema = {"fields": [{"name": "id", "type": "integer", "constraints": {"minimum": 1}}]}
    config = {"schema": schema, "onInvalid": "quarantine"}
    validate.handler(make_event("Check", [key], config), None)
    valid_output, rejects_output = recorder.outputs
    kept = b"\n".join(line for n, line in enumerate(lines) if n == 0 or n % 50) + b"\n"
    assert objects.get(valid_output.key) == kept
    assert [int(r["row"]) for r in rejects_of(objects, rejects_output.key)] == [
        n + 1 for n in range(50, 400, 50)
    ]


def test_bounds_and_choices_given_as_text_are_read_in_the_fields_type(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # As frictionless reads them: a constraint's value in the field's lexical form.
    key = put("t.csv", b"n,day\n1,01.02.2026\n5,01.01.2025\n12,15.03.2026\n")
    schema = {
        "fields": [
            {
                "name": "n",
                "type": "integer",
                "constraints": {"minimum": "2", "enum": ["1", 5, "12"]},
            },
            {
                "name": "day",
                "type": "date",
                "format": "%d.%m.%Y",
                "constraints": {"minimum": "01.01.2026"},
            },
        ]
    }
    config = {"schema": schema, "onInvalid": "drop"}
    validate.handler(make_event("Check", [key], config), None)
    assert recorder.finished("Check")[5]["byRule"] == {"minimum": 2}


# Unquoted and quoted empty values: Table Schema compares the text, not how it was quoted.
EMPTIES = b'id;navn;antall\n1;;5\n2;"";6\n3;Oslo;\n4;Bergen;""\n\n5;Skien;7\n'
EMPTIES_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "integer"},
        {"name": "navn", "constraints": {"required": True}},
        {"name": "antall", "type": "integer"},
    ]
}


def test_an_empty_value_quoted_or_not_is_missing_by_default(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # A quoted "" passed 'required', and failed an integer field as '' is not an integer.
    key = put("tomme.csv", EMPTIES)
    config = {"delimiter": ";", "schema": EMPTIES_SCHEMA, "onInvalid": "quarantine"}
    validate.handler(make_event("Check", [key], config), None)
    [_, rejects] = recorder.outputs
    assert [
        (reject["row"], reject["column"], reject["rule"])
        for reject in rejects_of(objects, rejects.key)
    ] == [("2", "navn", "required"), ("3", "navn", "required")]


def test_no_missing_values_make_an_empty_string_a_value(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    # missingValues: [] -- nothing is missing: '' is a string, and no integer.
    key = put("tomme.csv", EMPTIES)
    schema = {**EMPTIES_SCHEMA, "missingValues": []}
    config = {"delimiter": ";", "schema": schema, "onInvalid": "quarantine"}
    validate.handler(make_event("Check", [key], config), None)
    [valid, rejects] = recorder.outputs
    assert [
        (reject["row"], reject["column"], reject["rule"], reject["value"])
        for reject in rejects_of(objects, rejects.key)
    ] == [("4", "antall", "type", ""), ("5", "antall", "type", "")]
    assert objects.get(valid.key) == b'id;navn;antall\n1;;5\n2;"";6\n5;Skien;7\n'
    assert recorder.finished("Check")[5]["rows"] == 5  # the blank line is no row


@pytest.mark.parametrize(
    ("data", "config"),
    [
        (b"code,name\n1,a\nbad,b\n3,c\n", {}),  # copied as byte ranges, hashed as copied
        (b"code,name\r\n1,a\r\nbad,b\r\n3,c\r\n", {}),  # copied by polars
        (b"sep=;\ncode;name\n1;a\nbad;b\n", {}),  # the sep= line written back after
        ("code,name\n1,Ås\nbad,b\n".encode("cp1252"), {"encoding": "cp1252"}),
    ],
    ids=["ranges", "crlf", "sep-line", "cp1252"],
)
def test_the_recorded_sha256_and_size_are_the_stored_files(
    objects: LocalObjectStore,
    recorder: MemoryRecorder,
    put: Put,
    make_event: MakeEvent,
    data: bytes,
    config: dict,
) -> None:
    key = put("codes.csv", data)
    settings = {"schema": CODES, "onInvalid": "quarantine", **config}
    validate.handler(make_event("Check", [key], settings), None)
    assert len(recorder.outputs) == 2
    for output in recorder.outputs:
        stored = objects.get(output.key)
        assert output.sha256 == hashlib.sha256(stored).hexdigest()
        assert output.bytes == len(stored)
