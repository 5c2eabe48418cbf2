"""csv_dialect: the first rows read from a file's start agree with a scan of the whole file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pipelines.steps import csv_dialect

# Files whose first rows a cut at some byte could change: quoted line breaks in the header
# and in the first row, doubled quotes, a quote never closed, comments, a sep= line, blank
# lines, a header alone.
# (Bytes that are not UTF-8 further on fail the step's read later, inside open_csv, which
# names them: tests/pipelines/steps/test_portal_files.py.)
FILES = {
    "plain": b"a;b\n1;2\n3;4\n",
    "quoted header": b'"long\nname";b\n1;2\n',
    "quoted first row": b'a;b\n"x\ny\nz";2\n3;4\n',
    "doubled quotes": b'a;b\n"he said ""hi\nthere""";2\n5;6\n',
    "comment": b"# note\na;b\n# more\n1;2\n",
    "sep line": b"sep=;\na;b\n1;2\n",
    "blank lines": b"a;b\n\n\n1;2\n",
    "header only": b"a;b\n",
    "quote never closed": b'a;b\n1;"never closed\n2;3\n',
    "header without newline": b"a;b",
}
LAYOUT = {"has_header": False, "separator": ";", "quote_char": '"', "infer_schema": False}


def result_of(read: Any) -> Any:
    """Rows and names read, or the kind of error raised."""
    try:
        frame = read()
    except pl.exceptions.PolarsError as error:
        return type(error).__name__
    return frame.columns, frame.rows()


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize(
    "options",
    [
        LAYOUT,  # read_layout: the header row
        {**LAYOUT, "skip_rows": 1},  # the first row after the header
        {**LAYOUT, "comment_prefix": "#"},
    ],
    ids=["header", "first row", "comments"],
)
def test_first_rows_from_the_start_of_the_file_match_a_scan_of_it(
    name: str, options: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "file.csv"
    path.write_bytes(FILES[name])
    expected = result_of(lambda: pl.scan_csv(path, **options, n_rows=1).collect())
    # Every cut, from inside the first line to past the end of the file.
    for head_bytes in range(1, len(FILES[name]) + 2):
        monkeypatch.setattr(csv_dialect, "HEAD_BYTES", head_bytes)
        found = result_of(lambda: csv_dialect.first_rows(path, options, 1))
        if isinstance(expected, str) and not isinstance(found, str):
            # The scan parses past the first row and fails on a later one (here a blank
            # first line, then two fields); the step's full read fails on it the same way.
            continue
        assert found == expected, f"{name}, first {head_bytes} bytes"


def test_layout_of_a_file_longer_than_the_head_reads_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(csv_dialect, "HEAD_BYTES", 64)
    path = tmp_path / "wide.csv"
    path.write_text("sep=;\n" + ";".join(f"column {n}" for n in range(40)) + "\n")
    layout = csv_dialect.read_layout(path, csv_dialect.CsvDialect(), name="wide.csv")
    assert layout.skip_rows == 1
    assert layout.names == [f"column {n}" for n in range(40)]
    options = csv_dialect.scan_options(csv_dialect.CsvDialect(), layout)
    assert pl.scan_csv(path, **options).collect().shape == (0, 40)
    with path.open("a") as out:
        out.write(";".join("x" * 10 for _ in range(40)) + "\n")
    assert pl.scan_csv(path, **options).collect().shape == (1, 40)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 1024])
def test_characters_in_finds_each_character_in_one_scan_across_chunk_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(csv_dialect, "CHUNK_BYTES", chunk)
    path = tmp_path / "t.csv"
    path.write_bytes("ab\r\ncæ\x1fd\n".encode())
    assert csv_dialect.characters_in(path, "\r", "\x1f", '"', "æ") == {"\r", "\x1f", "æ"}
    assert csv_dialect.characters_in(path, "ø") == set()
