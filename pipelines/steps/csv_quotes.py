"""Quotes polars reads silently wrong: a quote inside a quoted value that is not doubled.

Some exporters write ``"He said "hi" there"`` where CSV wants ``"He said ""hi"" there"``.
polars fails on some such values but reads others (an even number of stray quotes) as
``He said hi there``, dropping the quotes, or joins two fields into one, and says nothing.
Every quote such a value holds has a character other than the delimiter, a line break or
another quote on both sides; quotes as CSV writes them do not. ``StrayQuotes`` looks for
that in a thread beside the step's own read (polars leaves the interpreter free while it
reads); pieces holding quotes go through polars' regex engine (about 0.5 s of CPU for
130 MB with a quoted value in every field). A file without the quote byte at all is not
looked at (``Layout.has_quotes``, from ``csv_dialect.characters_in``).
A line found is parsed alone with the csv module: a quote inside a value that is not quoted
(``Skilt "Stopp"``) is text, as polars reads it.
"""

from __future__ import annotations

import csv
import re
import threading
from pathlib import Path

# Read in large pieces: polars' regex engine runs once a piece, and most pieces of a
# file with quotes hold one.
PIECE_BYTES = 8 * 1024 * 1024


class StrayQuotes:
    """A check, running in a thread, for a line with a quote not doubled in a quoted value.

    ``start`` begins it; ``found()`` waits for it and says whether such a line was found;
    ``stop()`` ends it early (a step that failed for another reason).
    """

    def __init__(self, path: Path, delimiter: str, quote: str) -> None:
        self._path = path
        self._delimiter = delimiter
        self._quote = quote
        self._stopped = threading.Event()
        self._found = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stray-quotes", daemon=True)

    @classmethod
    def start(cls, path: Path, delimiter: str, quote: str) -> StrayQuotes:
        check = cls(path, delimiter, quote)
        check._thread.start()
        return check

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()

    def found(self) -> bool:
        """Whether a line holds a quote not doubled in a quoted value; waits for the check."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._found

    def _run(self) -> None:
        try:
            self._found = self._scan()
        except BaseException as error:  # raised again in the thread that waits (found)
            self._error = error

    def _scan(self) -> bool:
        import polars as pl

        quote = self._quote.encode()
        others = f"{_escaped(self._delimiter)}{_escaped(self._quote)}\\r\\n"
        pattern = f"[^{others}]{_escaped(self._quote)}[^{others}]"
        line_pattern = re.compile(pattern)
        tail = b""
        with self._path.open("rb") as handle:
            while not self._stopped.is_set():
                piece = handle.read(PIECE_BYTES)
                # Whole lines only: a line cut at the piece's end waits for the next piece.
                buffer = tail + piece
                cut = buffer.rfind(b"\n") + 1 if piece else len(buffer)
                lines, tail = buffer[:cut], buffer[cut:]
                if quote in lines:
                    text = lines.decode("utf-8", errors="replace")
                    if pl.Series([text]).str.contains(pattern).item() and self._has_broken_line(
                        text, line_pattern
                    ):
                        return True
                if not piece:
                    return False
            return False

    def _has_broken_line(self, text: str, pattern: re.Pattern[str]) -> bool:
        for line in text.split("\n"):
            if self._quote in line and pattern.search(line):
                reader = csv.reader(
                    [line], delimiter=self._delimiter, quotechar=self._quote, strict=True
                )
                try:
                    next(reader, None)
                except csv.Error as error:
                    # A value left open may go on on the next line: that is no stray quote.
                    if "unexpected end of data" not in str(error):
                        return True
        return False


def _escaped(character: str) -> str:
    """A character as both Python's and polars' (Rust's) regular expressions read it."""
    return f"\\x{ord(character):02x}" if character.isascii() else character
