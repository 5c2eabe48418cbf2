"""csv_quotes: a quote not doubled inside a quoted value, found wherever the file holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.steps import csv_quotes
from pipelines.steps.csv_quotes import StrayQuotes

ROWS = b'id;navn\n1;"Fjord ""AS"""\n2;"a;b"\n3;Skilt "Stopp"\n4;"linje\nto"\n'


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (ROWS, False),
        (ROWS + b'5;"Kafe "Sentrum" AS"\n', True),
        (ROWS + b'5;"Kafe "A";"B" AS"', True),  # the last line, without a line break
        (b'"sep=;"\n' + ROWS, False),
        (b'id\tnavn\n1\t"Kafe "A" AS"\n', True),
    ],
)
@pytest.mark.parametrize("piece_bytes", [3, 16, 1024])
def test_finds_a_stray_quote_across_piece_edges(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    data: bytes,
    found: bool,
    piece_bytes: int,
) -> None:
    monkeypatch.setattr(csv_quotes, "PIECE_BYTES", piece_bytes)
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    delimiter = "\t" if b"\t" in data else ";"
    assert StrayQuotes.start(path, delimiter, '"').found() is found


def test_stop_ends_the_check(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(ROWS * 1000)
    check = StrayQuotes.start(path, ";", '"')
    check.stop()
    assert check.found() is False
