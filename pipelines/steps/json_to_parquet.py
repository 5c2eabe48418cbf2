"""json_to_parquet: read JSON Lines or a JSON array of objects and write zstd Parquet, streaming.

The input is JSON Lines (one object per line; blank lines are skipped) or one JSON array of
objects, told apart by the first character that is not a space. JSON Lines stream through
polars (its anonymous memory stays flat whatever the file's size); an array is first
rewritten as JSON Lines one element at a time, so it does not have to fit in memory either.

Types: a field of the ``schema`` (a Table Schema, as an event dataset's source holds) is read
as text and converted to its type as csv_to_parquet converts a CSV column, with the schema's
``missingValues``; a ``datetime`` field without a ``format`` takes ISO 8601 / RFC 3339 with a
UTC offset (``2026-06-01T12:00:00+02:00``, ``...Z``, fractions of a second) and is stored in
UTC, as in every step (``table_schema.ISO_DATETIME``). Fields outside the schema are kept
with the types polars infers from all their values (``otherFields: keep``, which costs one
more read of the input) or left out (``drop``).
A record that is not a JSON object, or a value that fails its field's type, is an InputError
naming the record (the first object is record 1).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pipelines.objects import CHUNK_BYTES, ObjectStore
from pipelines.steps.contract import InputError, OutputKey, StepResult
from pipelines.steps.runtime import run_step
from pipelines.steps.table_schema import (
    Field,
    TableSchema,
    TableSchemaDescriptor,
    parse_schema,
    polars_type,
    raise_first_bad_value,
    takes_any_text,
    typed,
)
from pipelines.steps.tables import fetch, filename, reading, store, workdir

if TYPE_CHECKING:
    import polars as pl

_WHITESPACE = b" \t\r\n"
_UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True, kw_only=True)
class JsonToParquetConfig:
    """Options of json_to_parquet: a Table Schema typing the fields, and the other fields.

    Without a ``schema`` every field takes the type polars infers from all its values.
    ``otherFields`` says what becomes of fields the schema does not name: ``keep`` them
    (types inferred) or ``drop`` them. Nested objects and arrays stay nested (Parquet
    structs and lists).
    """

    schema: TableSchemaDescriptor | None = None
    other_fields: Literal["keep", "drop"] = "keep"


def check_config(config: JsonToParquetConfig) -> TableSchema | None:
    """The parsed schema; raises ConfigError."""
    if config.schema is None:
        return None
    return parse_schema(config.schema)


def run(
    objects: ObjectStore, config: JsonToParquetConfig, keys: list[str], out: OutputKey
) -> StepResult:
    """Convert each JSON key to Parquet.

    Raises ConfigError for unusable options, InputError for files that are not JSON Lines or
    an array of objects, or whose values do not fit the schema.
    """
    schema = check_config(config)
    outputs = []
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            lines = as_json_lines(source, directory, name=name)
            target = directory / (PurePosixPath(name).stem + ".parquet")
            rows = convert(lines, target, schema, config.other_fields, name=name)
            outputs.append(store(objects, target, out(key, target.name), rows))
    return StepResult(
        keys=[output.key for output in outputs],
        outputs=outputs,
        summary={"rows": sum(output.rows or 0 for output in outputs)},
    )


def as_json_lines(path: Path, directory: Path, *, name: str) -> Path:
    """The file itself when it holds JSON Lines; a JSON array rewritten as JSON Lines.

    Raises InputError for an array whose text is not JSON or holds something else than
    objects, naming the element.
    """
    with path.open("rb") as handle:
        head = handle.read(64)
    start = head.removeprefix(_UTF8_BOM).lstrip(_WHITESPACE)
    if not start.startswith(b"["):
        # polars reads no byte-order mark (Windows tools write one): a copy without it.
        return _without_bom(path, directory, name=name) if head.startswith(_UTF8_BOM) else path
    target = directory / (PurePosixPath(name).stem + ".lines.json")
    with target.open("w", encoding="utf-8") as writer:
        for number, element in enumerate(array_elements(path, name=name), start=1):
            if not isinstance(element, dict):
                raise InputError(f"{name}: record {number} is not a JSON object")
            writer.write(json.dumps(element, ensure_ascii=False, separators=(",", ":")))
            writer.write("\n")
    return target


def _without_bom(path: Path, directory: Path, *, name: str) -> Path:
    """A copy of ``path`` under ``directory`` without its leading UTF-8 byte-order mark."""
    target = directory / (PurePosixPath(name).stem + ".nobom.json")
    with path.open("rb") as source, target.open("wb") as out:
        source.seek(len(_UTF8_BOM))
        while chunk := source.read(CHUNK_BYTES):
            out.write(chunk)
    return target


class _NotJson(ValueError):
    """A constant Python reads but JSON has not (NaN, Infinity)."""


def _reject_constant(constant: str) -> Any:
    raise _NotJson(f"{constant} is not a JSON value (write null, or the number as text)")


def array_elements(path: Path, *, name: str) -> Iterator[Any]:
    """Yield the elements of the JSON array in ``path`` one at a time, reading in chunks.

    Only the text of the element being decoded is held. Raises InputError when the text is
    not one JSON array, naming the record where it stops being one.
    """
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    with path.open("r", encoding="utf-8-sig") as reader:
        text = _ArrayText(reader)
        if text.next_char() != "[":
            raise InputError(f"{name} is not a JSON array")
        text.position += 1
        if text.next_char() == "]":
            text.position += 1
        else:
            number = 0
            while True:
                number += 1
                yield text.decode(decoder, f"{name}: record {number}")
                char = text.next_char()
                text.position += 1
                if char == "]":
                    break
                if char != ",":
                    raise InputError(f"{name}: record {number} is not followed by ',' or ']'")
        if text.next_char() != "":
            raise InputError(f"{name}: text after the end of the JSON array")


class _ArrayText:
    """The unread text of a JSON array, read chunk by chunk."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader
        self.buffer = ""
        self.position = 0
        self.at_end = False

    def _more(self) -> bool:
        chunk = self.reader.read(CHUNK_BYTES)
        # What was decoded is dropped: memory holds one element's text, not the file.
        self.buffer, self.position = self.buffer[self.position :] + chunk, 0
        self.at_end = not chunk
        return bool(chunk)

    def next_char(self) -> str:
        """The next character that is not white space ('' at the end); does not consume it."""
        while True:
            while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n":
                self.position += 1
            if self.position < len(self.buffer) or not self._more():
                return self.buffer[self.position : self.position + 1]

    def decode(self, decoder: json.JSONDecoder, where: str) -> Any:
        """Decode the value that starts here, reading more text while it may be cut short."""
        self.next_char()
        while True:
            try:
                value, end = decoder.raw_decode(self.buffer, self.position)
            except _NotJson as error:
                raise InputError(f"{where} is not JSON: {error}") from None
            except json.JSONDecodeError as error:
                if self._more():
                    continue
                raise InputError(f"{where} is not JSON: {error.msg}") from None
            # A number at the very end of the buffer may go on in the next chunk.
            if end == len(self.buffer) and not self.at_end and self._more():
                continue
            self.position = end
            return value


def convert(
    source: Path,
    target: Path,
    schema: TableSchema | None,
    other_fields: str,
    *,
    name: str,
) -> int:
    """Stream one JSON Lines file into a zstd Parquet file; returns its row count."""
    import polars as pl

    with reading(name):
        if _is_empty(source):
            pl.DataFrame(schema=_empty_schema(schema)).write_parquet(target, compression="zstd")
            return 0
        declared: dict[str, pl.DataType] = (
            {item.name: pl.String() for item in schema.fields} if schema else {}
        )
        columns = dict(declared)
        try:
            if schema is None or other_fields == "keep":
                # Types of the other fields from all their values; a declared field no
                # record has is still a column (of nulls): the schema is given in full.
                inferred = pl.scan_ndjson(source, infer_schema_length=None).collect_schema()
                columns.update(
                    (column, kind) for column, kind in inferred.items() if column not in declared
                )
            frame = pl.scan_ndjson(source, schema=columns)
            if schema is not None:
                frame = frame.with_columns(_conversions(schema, strict=True))
            frame.sink_parquet(target, compression="zstd")
        except pl.exceptions.PolarsError:
            _raise_first_bad_record(source, schema, name=name)
            raise
        return int(pl.scan_parquet(target).select(pl.len()).collect().item())


def _conversions(schema: TableSchema, *, strict: bool) -> list[pl.Expr]:
    import polars as pl

    missing = list(schema.missing_values)
    expressions = []
    for item in schema.fields:
        text = pl.col(item.name)
        if missing:
            text = pl.when(text.is_in(missing)).then(None).otherwise(text)
        expressions.append(typed(_as_text_field(item), text, strict=strict).alias(item.name))
    return expressions


def _as_text_field(item: Field) -> Field:
    # JSON writes booleans as true/false whatever the schema's trueValues say.
    if item.type == "boolean":
        return dataclasses.replace(
            item,
            true_values=(*item.true_values, "true"),
            false_values=(*item.false_values, "false"),
        )
    return item


def _is_empty(path: Path) -> bool:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            if chunk.strip(_WHITESPACE):
                return False
    return True


def _empty_schema(schema: TableSchema | None) -> dict[str, pl.DataType]:

    if schema is None:
        return {}
    return {item.name: polars_type(item) for item in schema.fields}


def _raise_first_bad_record(source: Path, schema: TableSchema | None, *, name: str) -> None:
    """Raise InputError naming the first record that is not an object or fails its types.

    Runs only after the conversion failed: a pass over the lines, then one over the text.
    """
    import polars as pl

    number = 0
    with source.open("rb") as lines:
        for line in lines:
            if not line.strip():
                continue
            number += 1
            try:
                record = json.loads(line, parse_constant=_reject_constant)
            except json.JSONDecodeError as error:
                if error.pos >= len(line.rstrip()):
                    # An object written across lines (pretty-printed), or holding the array.
                    raise InputError(
                        f"{name}: record {number} is not JSON: the line ends before the "
                        "object does (JSON Lines hold one whole object a line): write one "
                        "object a line, or one JSON array of the objects"
                    ) from None
                raise InputError(f"{name}: record {number} is not JSON: {error}") from None
            except ValueError as error:
                raise InputError(f"{name}: record {number} is not JSON: {error}") from None
            if not isinstance(record, dict):
                raise InputError(f"{name}: record {number} is not a JSON object")
    if schema is None:
        return
    missing = list(schema.missing_values)
    checks = [
        (
            item,
            pl.col(item.name).is_not_null()
            & ~pl.col(item.name).is_in(missing)
            & conversion.is_null(),
        )
        for item, conversion in zip(schema.fields, _conversions(schema, strict=False), strict=True)
        if not takes_any_text(item)
    ]
    text = pl.scan_ndjson(source, schema={item.name: pl.String() for item in schema.fields})
    raise_first_bad_value(text, checks, first=1, where=("record", "field"), name=name)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, JsonToParquetConfig, run)
