"""csv_to_parquet: read a CSV with a Frictionless dialect and write zstd Parquet, streaming."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.objects import ObjectStore
from pipelines.steps.contract import ConfigError, InputError, OutputKey, StepResult
from pipelines.steps.runtime import run_step
from pipelines.steps.table_schema import TableSchema, parse_schema, polars_type, typed
from pipelines.steps.tables import fetch, filename, reading, store, transcode, workdir

# Encodings polars reads itself; anything else is transcoded to UTF-8 first.
NATIVE_ENCODINGS = ("utf-8", "utf-8-sig")
# Types polars parses while reading (fast); the rest are converted from text afterwards.
NATIVE_TYPES = ("string", "integer", "number")
HEADER_SCAN_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class CsvToParquetConfig:
    """Options of csv_to_parquet, named as in Frictionless CSV Dialect and Table Schema."""

    delimiter: str = ","
    quote_char: str = '"'
    double_quote: bool = True
    header: bool = True
    encoding: str = "utf-8"
    decimal_char: str = "."
    comment_char: str | None = None
    schema: dict[str, Any] | None = None


def check_config(config: CsvToParquetConfig) -> tuple[str, TableSchema | None]:
    """Return the normalised encoding and the parsed schema; raises ConfigError."""
    for option, value in (("delimiter", config.delimiter), ("quoteChar", config.quote_char)):
        if len(value) != 1 or value in "\r\n":
            raise ConfigError(option, "must be a single character other than a line break")
    if not config.double_quote:
        raise ConfigError("doubleQuote", "only doubled quotes (true) are supported")
    if config.decimal_char not in (".", ","):
        raise ConfigError("decimalChar", "must be '.' or ','")
    if config.decimal_char == "," and config.delimiter == ",":
        raise ConfigError("decimalChar", "',' needs a delimiter other than ','")
    try:
        encoding = codecs.lookup(config.encoding).name
    except LookupError:
        raise ConfigError("encoding", f"unknown encoding {config.encoding!r}") from None
    schema = (
        parse_schema(config.schema, decimal_char=config.decimal_char)
        if config.schema is not None
        else None
    )
    return encoding, schema


def run(
    objects: ObjectStore, config: CsvToParquetConfig, keys: list[str], out: OutputKey
) -> StepResult:
    """Convert each CSV key to Parquet.

    Raises ConfigError for unusable options, InputError for files that do not parse (wrong
    encoding, ragged rows, values that do not fit the schema).
    """
    encoding, schema = check_config(config)
    outputs = []
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            if source.stat().st_size == 0:
                raise InputError(f"{name} is empty")
            if encoding in NATIVE_ENCODINGS:
                check_header(source, name)
            else:
                source = transcode(source, encoding, directory)
            target = directory / (PurePosixPath(name).stem + ".parquet")
            rows = convert(source, target, config, schema, name=name)
            outputs.append(store(objects, target, out(key, target.name), rows))
    return StepResult(
        keys=[output.key for output in outputs],
        outputs=outputs,
        summary={"rows": sum(output.rows or 0 for output in outputs)},
    )


def check_header(path: Path, name: str) -> None:
    """Raise InputError when the first line is not UTF-8 (polars decodes names leniently)."""
    with path.open("rb") as handle:
        first_line = handle.readline(HEADER_SCAN_BYTES)
    try:
        first_line.decode("utf-8")
    except UnicodeDecodeError as error:
        # A cut in the middle of a character at the scan limit is not an error.
        if len(first_line) < HEADER_SCAN_BYTES or error.start < len(first_line) - 4:
            raise InputError(
                f"{name} is not valid UTF-8; set the encoding option (e.g. latin-1)"
            ) from None


def convert(
    source: Path,
    target: Path,
    config: CsvToParquetConfig,
    schema: TableSchema | None,
    *,
    name: str,
) -> int:
    """Stream one UTF-8 CSV into a zstd Parquet file; returns its row count."""
    import polars as pl

    options: dict[str, Any] = {
        "separator": config.delimiter,
        "quote_char": config.quote_char,
        "has_header": config.header,
        "comment_prefix": config.comment_char,
        "decimal_comma": config.decimal_char == ",",
    }
    if not config.header:
        # 1-based names, as excel_to_csv gives them (polars' own default changed across versions).
        options["with_column_names"] = _positional_names
    with reading(name):
        if schema is None:
            frame = pl.scan_csv(source, infer_schema_length=10_000, **options)
        else:
            frame = _scan_with_schema(source, schema, options, name=name)
        frame.sink_parquet(target, compression="zstd")
        return pl.scan_parquet(target).select(pl.len()).collect().item()


def _positional_names(names: list[str]) -> list[str]:
    return [f"column_{n + 1}" for n in range(len(names))]


def _scan_with_schema(
    source: Path, schema: TableSchema, options: dict[str, Any], *, name: str
) -> Any:
    import polars as pl

    header = pl.scan_csv(source, infer_schema=False, n_rows=0, **options).collect_schema()
    columns = header.names()
    missing = [item.name for item in schema.fields if item.name not in columns]
    if missing:
        raise InputError(f"{name} has no column {missing[0]!r} named in the schema")
    overrides: dict[str, pl.DataType] = {}
    conversions = []
    for item in schema.fields:
        # Numbers with a group character or a decimal char other than the file's need text
        # clean-up; the rest polars parses natively while reading.
        plain_number = item.group_char is None and item.decimal_char == (
            "," if options["decimal_comma"] else "."
        )
        if item.type in NATIVE_TYPES and (item.type == "string" or plain_number):
            overrides[item.name] = polars_type(item)
        else:
            overrides[item.name] = pl.String()
            conversions.append(typed(item, pl.col(item.name), strict=True).alias(item.name))
    frame = pl.scan_csv(
        source,
        schema_overrides=overrides,
        null_values=list(schema.missing_values),
        infer_schema_length=10_000,
        **options,
    )
    return frame.with_columns(conversions) if conversions else frame


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, CsvToParquetConfig, run)
