"""footers: footnotes below a table, found from the end of a file wherever its read starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.steps import footers
from pipelines.steps.footers import TableRow, suspected_footnotes

LINES = {"delimiter": ";", "quote": '"', "comment": None}


@pytest.mark.parametrize(
    ("rows", "notes"),
    [
        ([["a", "1"], [], ["Kilde: SSB", ""]], ["Kilde: SSB"]),
        (
            [["a", "1"], ["* provisional", ""], ["¹ break in series", ""]],
            ["* provisional", "¹ break in series"],
        ),
        ([["a", "1"], ["Bergen", ""]], []),
        ([["a", "1"], [], ["Bergen", ""]], []),  # a name alone, set apart
        ([["a", "1"], [], ["Tall for 2024", ""]], ["Tall for 2024"]),
        ([["Kilde: SSB", ""]], []),  # no row of data above
    ],
)
def test_suspected_footnotes(rows: list[list[str]], notes: list[str]) -> None:
    table = [TableRow(values) for values in rows]
    assert suspected_footnotes(table, 2) == notes


def test_a_note_below_a_row_longer_than_the_read_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(footers, "TAIL_BYTES", 64)
    path = tmp_path / "wide.csv"
    path.write_bytes(b"a;b\nx;" + b"y" * 1000 + b"\n\nKilde: SSB\n")
    assert footers.csv_footnotes(path, **LINES, width=2) == ["Kilde: SSB"]


def test_footer_rows_past_the_first_read_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(footers, "TAIL_BYTES", 32)
    path = tmp_path / "notes.csv"
    body = b"a;b\n" + b"".join(b"%d;%d\n" % (n, n) for n in range(50))
    notes = b'\n"note\none"\n' + b"".join(b"note %d\n" % n for n in range(20))
    path.write_bytes(body + notes)
    footer = footers.csv_footer(path, 21, **LINES, body_start=4, name="notes.csv")
    assert (footer.offset, footer.text) == (len(body), notes.decode())
