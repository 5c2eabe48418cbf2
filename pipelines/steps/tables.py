"""Reading and writing the tables steps work on: files fetched from and stored to an ObjectStore."""

from __future__ import annotations

import codecs
import json
import os
import re
import shutil
import tempfile
import threading
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pipelines.errors import InvalidValue
from pipelines.objects import (
    CHUNK_BYTES,
    ObjectNotFound,
    ObjectStore,
    download,
    local_file,
    move_in,
)
from pipelines.steps.contract import InputError, StepError, StepOutput

if TYPE_CHECKING:
    import polars as pl

FORMATS = {".csv": "csv", ".parquet": "parquet"}
# First bytes of workbooks: .xlsx is a zip archive (with an xl/ folder), .xls an OLE file.
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}
# Friendlier words for the polars errors hostile files cause.
# polars' words for a row longer than the header, and for a broken quote (every column is
# read as text, so only a quote stops a value from parsing as one; a lone quote inside a
# value not quoted makes polars count its rows wrong).
_MALFORMED_ROWS = ("more fields than defined", "as dtype `str`", "CSV malformed")
_POLARS_HINTS = {
    "invalid utf-8": "is not valid UTF-8; set the encoding option (e.g. cp1252)",
    "more fields than defined": "has a row with more fields than the header (ragged rows)",
    "empty csv": "is empty",
    "empty data": "is empty",
}
# polars reads a CSV file in chunks of 32 MB, two per thread in flight, which made most of a
# CSV step's memory (validate: ~300 of ~470 MB anonymous on a 1 GB file, and more the further
# the readers ran ahead of the sink). Chunks of 1 MB hold about a third of that for validate
# (its ~40 expressions pay per batch: 4 MB chunks were ~9 % faster and held ~50 % more);
# csv_to_parquet reads in chunks of its own (``CONVERSION_CHUNK_BYTES``). A row longer than a
# chunk is still read whole.
CSV_CHUNK_BYTES = 1024 * 1024
_CSV_CHUNK_VARIABLE = "POLARS_CSV_CHUNK_SIZE"
# Work polars holds whole (a sort, the hash table of a group_by) spills to its temporary
# folder past this budget: validate's keys of unique and primaryKey, and its invalid rows
# when they must be sorted. Plans that only stream need none, and the memory manager costs
# them time (a CSV scan -> sink took ~15 % longer within it), so only those queries run in it.
MEMORY_BUDGET_MB = 256
_MEMORY_BUDGET_VARIABLE = "POLARS_OOC_MEMORY_BUDGET_MB"
_settings_lock = threading.Lock()
# Variables set by small_csv_chunks and memory_budget: how many steps are inside each.
_settings_users: dict[str, int] = {}


@contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for a step's local files, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="brygge-step-") as name:
        yield Path(name)


def filename(key: str) -> str:
    """The last segment of a key."""
    return PurePosixPath(key).name


def check_not_workbook(path: Path, name: str) -> None:
    """Raise InputError when a file meant as CSV text is a workbook or a zip archive.

    Decided by the first bytes, not the name: a workbook uploaded as ``.csv`` would otherwise
    fail with a misleading encoding hint.
    """
    with path.open("rb") as handle:
        magic = handle.read(len(OLE_MAGIC))
    if magic == OLE_MAGIC or (magic.startswith(ZIP_MAGIC) and _is_xlsx(path)):
        raise InputError(
            f"{name}: this is an Excel workbook; use excel_to_csv to turn its sheets into CSV"
        )
    if magic.startswith(ZIP_MAGIC):
        raise InputError(f"{name} is a zip archive, not CSV text; upload the file inside it")


def _is_xlsx(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(member.startswith("xl/") for member in archive.namelist())
    except zipfile.BadZipFile:
        return False


def table_format(key: str) -> str:
    """``csv`` or ``parquet`` from the key's suffix; raises InputError for other files."""
    suffix = PurePosixPath(key).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{filename(key)}: expected a .csv or .parquet file")
    return FORMATS[suffix]


def fetch(objects: ObjectStore, key: str, directory: Path) -> Path:
    """A local file with the object's bytes: the real file for a local store, else a download.

    Raises InputError when the object does not exist.
    """
    try:
        path = local_file(objects, key)
        if path is not None:
            if not path.is_file():
                raise ObjectNotFound(key)
            return path
        target = directory / "in" / key.replace("/", "_")
        target.parent.mkdir(exist_ok=True)
        return download(objects, key, target)
    except ObjectNotFound:
        raise InputError(f"input object {key!r} does not exist") from None
    except InvalidValue as error:
        raise InputError(
            f"input {key!r} is not an object key of the lake: {error.reason}"
        ) from None


def store(
    objects: ObjectStore,
    path: Path,
    key: str,
    rows: int | None = None,
    *,
    sha256: str | None = None,
) -> StepOutput:
    """Store a local file of the step's work directory under ``key`` (it is moved, not copied).

    ``sha256``: the file's, where the step took it while writing the file, so that a store
    keeping files locally need not read it again.
    """
    info = move_in(objects, key, path, sha256=sha256)
    if info is None:
        with path.open("rb") as body:
            content_type = MEDIA_TYPES.get(table_format_or_none(key))
            info = objects.put(key, body, content_type=content_type)
    return StepOutput(key=key, bytes=info.bytes, sha256=info.sha256 or "", rows=rows)


def table_format_or_none(key: str) -> str:
    return FORMATS.get(PurePosixPath(key).suffix.lower(), "")


@contextmanager
def reading(name: str, *, locate: Callable[[], None] | None = None) -> Iterator[None]:
    """Turn the errors a malformed file raises while reading it into InputError naming it.

    ``locate`` is called when polars finds a row longer than the header or a broken quote
    (polars says not where): it may raise an InputError that names the row.
    """
    import polars as pl

    try:
        yield
    except StepError:
        raise
    except (pl.exceptions.PolarsError, UnicodeError, OSError, ValueError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        # The whole text: a value with a line break in it cuts polars' first line short.
        if locate is not None and any(fragment in str(error) for fragment in _MALFORMED_ROWS):
            locate()
        for fragment, hint in _POLARS_HINTS.items():
            if fragment in message.lower():
                raise InputError(f"{name} {hint}") from None
        raise InputError(f"{name} cannot be read: {message}") from None


@contextmanager
def small_csv_chunks(chunk_bytes: int | None = None) -> Iterator[None]:
    """Run the polars queries inside with CSV files read in chunks of ``chunk_bytes``
    (default ``CSV_CHUNK_BYTES``).

    polars has no option for it but an environment variable, which it reads when a query
    starts: it is set for the queries inside only, so other polars work in the process (a
    benchmark's baseline) keeps polars' default. A value the environment already has wins,
    as does the size of a step already inside in another thread.
    """
    size = CSV_CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    with _polars_variable(_CSV_CHUNK_VARIABLE, str(size)):
        yield


@contextmanager
def memory_budget() -> Iterator[None]:
    """Run the polars queries inside with buffers past ``MEMORY_BUDGET_MB`` spilled to disk.

    As ``small_csv_chunks``, through an environment variable set for the queries inside
    only (a value the environment already has wins); polars reads this one when its
    configuration is loaded again, which setting it through ``pl.Config.load`` does.
    """
    with _polars_variable(_MEMORY_BUDGET_VARIABLE, str(MEMORY_BUDGET_MB)):
        yield


@contextmanager
def _polars_variable(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment while any step is inside (steps may run in threads
    of one process); left alone when the environment had it first."""
    with _settings_lock:
        users = _settings_users.get(name, 0)
        owned = users > 0 or name not in os.environ
        if owned:
            if users == 0:
                _set_polars_variable(name, value)
            _settings_users[name] = users + 1
    try:
        yield
    finally:
        if owned:
            with _settings_lock:
                _settings_users[name] -= 1
                if _settings_users[name] == 0:
                    del _settings_users[name]
                    _set_polars_variable(name, None)


def _set_polars_variable(name: str, value: str | None) -> None:
    """Set (None: remove) the variable, and have polars read its configuration again."""
    import polars as pl

    pl.Config.load(json.dumps({"environment": {name: value}}))


def transcode(path: Path, encoding: str, directory: Path) -> Path:
    """Copy a text file into UTF-8 in chunks (polars reads only UTF-8); returns the new path.

    Raises InputError naming the byte offset and line of the first byte not valid in
    ``encoding``.
    """
    target = directory / (path.stem + ".utf8" + path.suffix)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    is_latin1 = codecs.lookup(encoding).name == "iso8859-1"
    offset = lines = 0
    with path.open("rb") as source, target.open("w", encoding="utf-8", newline="") as out:
        while True:
            chunk = source.read(CHUNK_BYTES)
            try:
                text = decoder.decode(chunk, final=not chunk)
                if is_latin1 and (control := _C1_CONTROL.search(text)):
                    # Latin-1 decodes every byte: cp1252's euro sign, dashes and quotes would pass
                    # silently as control characters no text holds. One byte a character.
                    position = control.start()
                    line = lines + _line_ends(chunk, position) + 1
                    raise InputError(
                        f"{path.name} has byte 0x{chunk[position : position + 1].hex()} at "
                        f"offset {offset + position:,} (line {line}), a control character in "
                        "latin-1: the file is most likely cp1252 (Windows); set the encoding "
                        'option to "cp1252"'
                    )
                out.write(text)
            except UnicodeDecodeError as error:
                # Single-byte codecs keep no state between chunks: the position is exact.
                position = max(error.start, 0)
                raise InputError(
                    encoding_message(
                        path.name,
                        encoding,
                        offset + position,
                        lines + _line_ends(chunk, position) + 1,
                        chunk[position : position + 1],
                        fits=western_encoding(path),
                    )
                ) from None
            if not chunk:
                break
            offset += len(chunk)
            lines += _line_ends(chunk, len(chunk))
    return target


def _line_ends(data: bytes, end: int) -> int:
    """The line ends in ``data[:end]``: LF, CRLF, and CR alone (Excel for Mac's CSV), which
    a file is transcoded before it is given LF line ends."""
    return data.count(b"\n", 0, end) + data.count(b"\r", 0, end) - data.count(b"\r\n", 0, end)


# Files that are not UTF-8 are told apart among these (western_encoding), by the bytes above
# 0x7f that follow an ASCII letter: enough of them to decide.
WESTERN_ENCODINGS = ("cp1252", "mac_roman")
GUESS_WORD_BYTES = 4096
_WORD_BYTE = re.compile(rb"[A-Za-z][\x80-\xff]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")

# C1 control characters: what latin-1 makes of the bytes cp1252 uses for the euro sign,
# dashes, curly quotes and the like.
_C1_CONTROL = re.compile("[\x80-\x9f]")


def first_invalid_utf8(path: Path) -> tuple[int, int, bytes] | None:
    """The (byte offset, 1-based line, byte) of the first byte that is not UTF-8, or None.

    Streams the file in chunks; Python's UTF-8 decoder runs at memory speed on ASCII.
    """
    offset = lines = 0
    pending = b""
    with path.open("rb") as source:
        while True:
            chunk = source.read(CHUNK_BYTES)
            data = pending + chunk
            try:
                _, consumed = codecs.utf_8_decode(data, "strict", not chunk)
            except UnicodeDecodeError as error:
                line = lines + data.count(b"\n", 0, error.start) + 1
                return offset + error.start, line, data[error.start : error.start + 1]
            lines += data.count(b"\n", 0, consumed)
            offset += consumed
            pending = data[consumed:]
            if not chunk:
                return None


def western_encoding(path: Path) -> str:
    """``mac_roman`` when more of the file's non-ASCII bytes inside words read as letters in
    Mac Roman than in cp1252, else ``cp1252``.

    A byte after an ASCII letter is, in Western text, most often a letter of the same word
    (the ø of Tromsø, the é of Orléans): lowercase after a lowercase letter. The two
    encodings put letters at different bytes: Mac Roman's ø is cp1252's ¿, its æ cp1252's
    ¾, and cp1252's ø is Mac Roman's ¯. Ties go to cp1252, by far the more common, unless
    the file holds a byte cp1252 leaves undefined (Mac Roman's Å, ç, è, ê): then it cannot
    be cp1252. Reads until ``GUESS_WORD_BYTES`` such bytes have been seen, or the file ends.
    """
    counts: Counter[bytes] = Counter()
    is_not_cp1252 = False
    with path.open("rb") as handle:
        previous = b""
        while sum(counts.values()) < GUESS_WORD_BYTES and (chunk := handle.read(CHUNK_BYTES)):
            counts.update(_WORD_BYTE.findall(previous + chunk))
            is_not_cp1252 = is_not_cp1252 or _CP1252_UNDEFINED.search(chunk) is not None
            previous = chunk[-1:]
    votes = {
        encoding: sum(count for pair, count in counts.items() if _reads_as_letter(pair, encoding))
        for encoding in WESTERN_ENCODINGS
    }
    if votes["mac_roman"] > votes["cp1252"] or (
        is_not_cp1252 and votes["mac_roman"] == votes["cp1252"]
    ):
        return "mac_roman"
    return "cp1252"


def _reads_as_letter(pair: bytes, encoding: str) -> bool:
    """Whether the second byte of ``pair`` (an ASCII letter, then a byte above 0x7f) reads
    in ``encoding`` as a letter that may follow the first one inside a word."""
    character = pair[1:].decode(encoding, errors="ignore")
    if character == "\u2019":  # an apostrophe (it's) in either encoding: no vote
        return True
    return character.islower() if chr(pair[0]).islower() else character.isalpha()


def encoding_message(
    name: str, encoding: str, offset: int, line: int, byte: bytes, *, fits: str | None = None
) -> str:
    """What a data owner reads when a file is not in the encoding its config names; ``fits``
    is the encoding its letters read as (``western_encoding``), if known."""
    where = (
        f"{name} is not valid {encoding}: byte 0x{byte.hex()} at offset {offset:,} (line {line})"
    )
    if fits == "mac_roman" and codecs.lookup(encoding).name != "mac-roman":
        # Named apart: the usual advice, cp1252, reads such a file without an error but
        # with the wrong letters (Tromsø as Troms¿).
        return (
            f'{where}; its letters read as Mac Roman (Excel for Mac\'s "CSV (Macintosh)"): '
            'set the encoding option to "mac_roman", or to "auto"'
        )
    return (
        f"{where}; "
        'set the encoding option to the file\'s encoding, e.g. "cp1252", "latin-1", '
        '"utf-8", or "auto"'
    )


def column_names(raw: list[str | None]) -> list[str]:
    """Unique names from a header row: empty ones by position, repeats numbered."""
    # Names the file gives are kept where possible; made-up names step around them.
    given = {value for value in raw if value is not None and value.strip()}
    seen: set[str] = set()
    unique = []
    for n, value in enumerate(raw, start=1):
        is_given = value is not None and bool(value.strip())
        base = value if is_given else f"column_{n}"
        candidate, count = base, 1
        while candidate in seen or (not (is_given and count == 1) and candidate in given):
            count += 1
            candidate = f"{base}_{count}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def scan_text_table(path: Path, *, name: str) -> pl.LazyFrame:
    """Scan a CSV written by a step (comma, double quote, UTF-8 with or without BOM) as text.

    Every column stays a string, so values pass through unchanged: typing is the job of
    validate and csv_to_parquet, which know the Table Schema.
    """
    import polars as pl

    if path.stat().st_size == 0:
        raise InputError(f"{name} is empty")
    check_not_workbook(path, name)
    with reading(name):
        return pl.scan_csv(path, infer_schema=False)


def without_blank_rows(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    """The rows of a CSV scan that hold a value in ``columns``: a blank line reads as a row
    of nulls, which csv_to_parquet and validate drop as well.

    The test is a column of its own, then filtered on: the same test as the filter's
    predicate was pushed into the CSV scan, which took 16-40 s for 2,000 columns and 200
    rows in a plan with two outputs (0.1 s this way).
    """
    import polars as pl

    has_value = pl.any_horizontal(pl.col(columns).is_not_null()).alias("__has_value")
    return frame.with_columns(has_value).filter(pl.col("__has_value")).drop("__has_value")


def scan_table(path: Path, key: str) -> pl.LazyFrame:
    """Scan a step input: CSV as text, Parquet with its own types."""
    import polars as pl

    name = filename(key)
    if table_format(key) == "parquet":
        with reading(name):
            return pl.scan_parquet(path)
    return scan_text_table(path, name=name)


def sink_table(frame: pl.LazyFrame, path: Path, fmt: str) -> pl.LazyFrame:
    """A lazy sink of ``frame`` into ``path``; run it with ``polars.collect_all``."""
    if fmt == "parquet":
        return frame.sink_parquet(path, compression="zstd", lazy=True)
    return frame.sink_csv(path, lazy=True)


def copy_file(source: Path, target: Path) -> Path:
    """Copy a local file in chunks."""
    with source.open("rb") as reader, target.open("wb") as writer:
        shutil.copyfileobj(reader, writer, CHUNK_BYTES)
    return target
