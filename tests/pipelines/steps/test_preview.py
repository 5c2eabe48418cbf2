"""Previews of tabular files: Table Schema, first rows, statistics, flat on large files."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.steps import preview
from pipelines.steps.preview import table_preview


def test_a_parquet_preview_has_schema_rows_and_statistics(tmp_path: Path) -> None:
    path = tmp_path / "air.parquet"
    pl.DataFrame(
        {
            "station": ["Alna", "Alna", "Bygdøy", None] * 30,
            "value": [1.5, 2.5, None, 4.0] * 30,
            "count": [1, 2, 3, 4] * 30,
        }
    ).write_parquet(path)
    found = table_preview(path, "air.parquet")
    assert found is not None
    assert found["schema"] == {
        "fields": [
            {"name": "station", "type": "string"},
            {"name": "value", "type": "number"},
            {"name": "count", "type": "integer"},
        ]
    }
    assert found["rowCount"] == 120
    assert len(found["rows"]) == 50
    assert found["rows"][0] == ["Alna", 1.5, 1]
    station, value, count = (found["statistics"][name] for name in ("station", "value", "count"))
    assert station["nonNull"] == 90 and station["distinct"] == 2
    assert station["top"] == [{"value": "Alna", "count": 60}, {"value": "Bygdøy", "count": 30}]
    assert (station["min"], station["max"]) == ("Alna", "Bygdøy")
    assert "mean" not in station
    assert value["nonNull"] == 90 and value["distinct"] == 3
    assert (value["min"], value["max"], value["mean"]) == (1.5, 4.0, 8.0 / 3)
    assert "top" not in value
    assert count["distinct"] == 4 and count["distinctIsApproximate"] is False


def test_a_csv_is_described_as_text(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,name\n1,a\n2,b\n2,b\n")
    found = table_preview(path, "a.csv")
    assert found is not None
    assert [field["type"] for field in found["schema"]["fields"]] == ["string", "string"]
    assert found["rows"] == [["1", "a"], ["2", "b"], ["2", "b"]]
    assert found["statistics"]["id"]["top"][0] == {"value": "2", "count": 2}


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        # A Norwegian export: ';' between values, a decimal comma inside them.
        (
            "stasjon;tid;pm10\nKirkeveien;2026-01-01T00:00;12,5\nBjørndal;2026-01-01T01:00;9\n",
            "utf-8",
        ),
        (
            "sep=;\nstasjon;tid;pm10\nKirkeveien;2026-01-01T00:00;12,5\nBjørndal;2026-01-01T01:00;9\n",
            "utf-8",
        ),
        (
            "stasjon\ttid\tpm10\nKirkeveien\t2026-01-01T00:00\t12,5\nBjørndal\t2026-01-01T01:00\t9\n",
            "cp1252",
        ),
    ],
)
def test_a_csv_is_described_by_its_own_delimiter_and_encoding(
    tmp_path: Path, text: str, encoding: str
) -> None:
    path = tmp_path / "luft.csv"
    path.write_bytes(text.encode(encoding))
    found = table_preview(path, "luft.csv")
    assert found is not None
    assert [field["name"] for field in found["schema"]["fields"]] == ["stasjon", "tid", "pm10"]
    assert found["rowCount"] == 2
    assert found["rows"] == [
        ["Kirkeveien", "2026-01-01T00:00", "12,5"],
        ["Bjørndal", "2026-01-01T01:00", "9"],
    ]


def test_a_csv_of_only_a_header_has_its_columns_and_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "tom.csv"
    path.write_text("stasjon;pm10\n")
    found = table_preview(path, "tom.csv")
    assert found is not None
    assert [field["name"] for field in found["schema"]["fields"]] == ["stasjon", "pm10"]
    assert (found["rowCount"], found["rows"]) == (0, [])


def test_a_header_whose_delimiter_is_ambiguous_is_read_with_commas(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("a,b;c\n1,2;3\n")
    found = table_preview(path, "a.csv")
    assert found is not None
    assert [field["name"] for field in found["schema"]["fields"]] == ["a", "b;c"]


def test_other_files_have_no_preview(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "empty.csv").write_text("")
    assert table_preview(tmp_path / "a.json", "a.json") is None
    assert table_preview(tmp_path / "empty.csv", "empty.csv") is None


def test_distinct_counts_turn_approximate_above_the_threshold(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(preview, "EXACT_DISTINCT_ROWS", 100)
    monkeypatch.setattr(preview, "TOP_VALUES_MAX_DISTINCT", 10)
    path = tmp_path / "many.parquet"
    pl.DataFrame({"n": list(range(1000)), "text": [f"v{i}" for i in range(1000)]}).write_parquet(
        path
    )
    found = table_preview(path, "many.parquet")
    assert found is not None
    stats = found["statistics"]
    assert stats["n"]["distinctIsApproximate"] is True
    assert 900 <= stats["n"]["distinct"] <= 1100
    # Too many distinct values to count each: no top values, memory stays bounded.
    assert "top" not in stats["text"]


def test_a_wide_table_of_long_text_fits_the_preview_by_leaving_out_statistics(
    tmp_path: Path,
) -> None:
    # 300 free-text columns (a survey's answers): their top values, minima and maxima alone
    # took some 480 KB, past the 400 KB a DynamoDB item holds.
    path = tmp_path / "survey.parquet"
    pl.DataFrame(
        {
            f"answer {column}": [f"{row}{column} " + "ord " * 60 for row in range(6)]
            for column in range(300)
        }
    ).write_parquet(path)
    described = table_preview(path, "survey.parquet")
    assert described is not None
    described.pop("schema")  # as publish keeps it: beside the preview

    fitted = preview.fitted(described)

    assert len(json.dumps(fitted).encode()) <= preview.PREVIEW_MAX_BYTES
    assert fitted["rowCount"] == 6
    assert fitted["statistics"]["answer 0"]["nonNull"] == 6
