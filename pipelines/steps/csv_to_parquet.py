"""csv_to_parquet: read a CSV with a Frictionless dialect and write zstd Parquet, streaming.

How the files of public data portals are read (the dialect as ``csv_dialect`` reads it):

- A header line that ends with the delimiter has unnamed last columns (one per delimiter it
  ends with): each is dropped when every row leaves it empty, else kept as
  ``column_<position>``.
- Rows with no value at all (blank lines, also at the end of the file) are dropped.
- ``groupChar`` (top level, or per number field) removes thousands separators; a space also
  removes no-break spaces (U+00A0, U+202F), which spreadsheets write in Norwegian locales,
  and either of those removes the other spaces too, as validate reads them.

Types: a column is typed only by its Table Schema field; every other column is written as text,
exactly as in the file (``0101`` stays ``0101``). With ``inferTypes: true`` such a column is
typed when every value has the one form its type prints: ``0101``, ``+47``, ``1 234``, ``1.50``
and digit strings longer than 10 digits keep the column text. The Parquet file's schema and
the ``inferredTypes`` summary say what was chosen.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.objects import ObjectStore
from pipelines.steps.contract import ConfigError, OutputKey, StepResult
from pipelines.steps.csv_dialect import (
    CsvDialect,
    Layout,
    check_dialect,
    first_data_row,
    note_detected,
    open_csv,
    raise_malformed_row,
    scan_options,
)
from pipelines.steps.runtime import run_step
from pipelines.steps.table_schema import (
    GROUP_SPACES,
    Field,
    TableSchema,
    TableSchemaDescriptor,
    check_columns,
    csv_missing_options,
    has_no_value,
    parse_schema,
    polars_type,
    raise_first_bad_value,
    takes_any_text,
    typed,
    whole_year,
    with_whole_years,
)
from pipelines.steps.tables import fetch, filename, reading, small_csv_chunks, store, workdir

if TYPE_CHECKING:
    import polars as pl

# Types polars parses while reading (fast); the rest are converted from text afterwards.
NATIVE_TYPES = ("string", "integer", "number")
NUMBER_TYPES = ("integer", "number", "year")
# inferTypes: integers longer than this stay text (11-digit national ids, account numbers),
# and decimals with more digits than a float keeps exactly.
MAX_INFERRED_DIGITS = 10
MAX_NUMBER_DIGITS = 15
INFERRED_TYPES = ("integer", "number", "boolean", "date")
# CSV read in chunks of 4 MB, not validate's 1 MB: ~7 % faster (0.99x against 0.92x of bare
# polars in bench/steps.py's figure) for ~45 MB more memory. Either way memory grows by ~80 MB
# from 1.1 to 10.1 GB, in polars' Parquet writer (the same scan into CSV stays flat).
CONVERSION_CHUNK_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvToParquetConfig(CsvDialect):
    """Options of csv_to_parquet: the CSV Dialect (``CsvDialect``) and a Table Schema.

    ``groupChar`` applies to every number field that does not name its own. A column without
    a ``schema`` field stays text (a Parquet string), so codes keep their leading zeros;
    ``inferTypes: true`` types such columns only where every value reads back as written (see
    ``inferred_types``). ``decimalChar`` (like ``groupChar``) reads the columns that are
    typed: number fields of the schema and, with ``inferTypes``, inferred numbers (``1,5``
    becomes 1.5); without either, ``1,5`` stays the text it is. A value that fails its
    field's type is an InputError naming its row (the header is row 1), column and value.
    """

    group_char: str | None = None
    schema: TableSchemaDescriptor | None = None
    infer_types: bool = False


def check_config(config: CsvToParquetConfig) -> tuple[str, TableSchema | None]:
    """Return the normalised encoding (or ``auto``) and the parsed schema; raises ConfigError."""
    encoding = check_dialect(config)
    if config.group_char is not None and (
        len(config.group_char) != 1 or config.group_char == config.decimal_char
    ):
        raise ConfigError("groupChar", "must be one character other than the decimalChar")
    schema = (
        parse_schema(config.schema, decimal_char=config.decimal_char)
        if config.schema is not None
        else None
    )
    if schema is not None and config.group_char is not None:
        schema = dataclasses.replace(
            schema,
            fields=tuple(
                dataclasses.replace(item, group_char=config.group_char)
                if item.type in NUMBER_TYPES and item.group_char is None
                else item
                for item in schema.fields
            ),
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
    summary: dict[str, Any] = {}
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            target = directory / (PurePosixPath(name).stem + ".parquet")
            with open_csv(source, config, encoding, directory, name=name) as file:
                rows, inferred = convert(file.path, target, config, schema, file.layout, name=name)
            outputs.append(store(objects, target, out(key, target.name), rows))
            note_detected(summary, name, config, encoding, file)
            if config.infer_types:
                summary.setdefault("inferredTypes", {})[name] = inferred
    return StepResult(
        keys=[output.key for output in outputs],
        outputs=outputs,
        summary={"rows": sum(output.rows or 0 for output in outputs), **summary},
    )


def convert(
    source: Path,
    target: Path,
    config: CsvToParquetConfig,
    schema: TableSchema | None,
    layout: Layout,
    *,
    name: str,
) -> tuple[int, dict[str, str]]:
    """Stream one UTF-8 CSV into a zstd Parquet file; returns its row count and inferred types.

    Columns without a schema field stay text unless ``inferTypes`` is set (see
    ``inferred_types``). Raises InputError naming the row, column and value of the first
    value that fails its declared type.
    """
    import polars as pl

    options = scan_options(config, layout)
    inferred: dict[str, str] = {}

    def locate() -> None:
        raise_malformed_row(source, config, layout, name=name)

    with reading(name, locate=locate), small_csv_chunks(CONVERSION_CHUNK_BYTES):
        if schema is None:
            frame = pl.scan_csv(source, **options)
            # Blank lines read as rows of nulls; a row with no value carries no data.
            frame = frame.filter(~has_no_value(layout.names, None))
        else:
            frame = _scan_with_schema(source, schema, options, layout, name=name)
        if config.infer_types:
            declared = {item.name for item in schema.fields} if schema is not None else set()
            undeclared = [column for column in layout.names if column not in declared]
            inferred = inferred_types(frame, undeclared, config.decimal_char)
            frame = frame.with_columns(
                typed(
                    _inferred_field(column, kind, config.decimal_char), pl.col(column), strict=True
                )
                for column, kind in inferred.items()
            )
        try:
            # Pushing this predicate into the CSV scan takes time quadratic in the number of
            # columns (18 s for 2,000); evaluated after the scan it costs nothing measurable.
            frame.sink_parquet(
                target,
                compression="zstd",
                optimizations=pl.QueryOptFlags(predicate_pushdown=False),
            )
        except pl.exceptions.PolarsError:
            if schema is not None:
                # polars names neither the row nor (for conversions) the column: find them.
                first_row = first_data_row(config, layout)
                _raise_first_bad_value(source, schema, options, layout, first_row, name=name)
            raise
        if layout.unnamed_trailing:
            _drop_if_empty(target, layout.unnamed_trailing)
        return pl.scan_parquet(target).select(pl.len()).collect().item(), inferred


def _drop_if_empty(target: Path, columns: tuple[str, ...]) -> None:
    """Drop the columns trailing delimiters made where no row has a value in them."""
    import polars as pl

    has_values = (
        pl.scan_parquet(target).select(pl.col(columns).is_not_null().any()).collect().row(0)
    )
    empty = [column for column, has_value in zip(columns, has_values, strict=True) if not has_value]
    if not empty:
        return
    # Parquet to Parquet: cheap beside parsing the CSV again, and only for such files.
    trimmed = target.with_suffix(".trimmed.parquet")
    pl.scan_parquet(target).drop(empty).sink_parquet(trimmed, compression="zstd")
    trimmed.replace(target)


def _scan_with_schema(
    source: Path, schema: TableSchema, options: dict[str, Any], layout: Layout, *, name: str
) -> Any:
    import polars as pl

    check_columns(schema, layout.names, name=name)
    overrides: dict[str, pl.DataType] = {}
    conversions = []
    # Checked on the converted values, apart: within the conversion, the text was parsed
    # twice.
    years = []
    for item in schema.fields:
        # Numbers with a group character or a decimal comma need text clean-up (polars'
        # decimal_comma reads both "1,5" and "1.500" as 1.5, whatever the field's
        # decimalChar); the rest polars parses natively while reading.
        plain_number = (
            item.bare_number
            and item.group_char is None
            and item.decimal_char == "."
            and not options["decimal_comma"]
        )
        # A string with a format (email, uri, ...) is checked as a conversion is; so is a
        # number where an empty value is no missing value, which polars would read as null.
        is_native = (item.type == "string" and item.format is None) or (
            item.type in NATIVE_TYPES
            and item.type != "string"
            and plain_number
            and schema.empty_is_missing
        )
        if is_native:
            overrides[item.name] = polars_type(item)
            continue
        overrides[item.name] = pl.String()
        conversions.append(_conversion(item, strict=True, check_years=False).alias(item.name))
        if whole_year(item, pl.col(item.name)) is not None:
            years.append(with_whole_years(item, pl.col(item.name), strict=True).alias(item.name))
    missing = csv_missing_options(schema, has_quotes=layout.has_quotes)
    frame = pl.scan_csv(source, schema_overrides=overrides, **missing, **options)
    # Blank lines read as rows of nulls; a row with no value carries no data. Left out
    # before the conversions, which would fail on the empty strings of such a row.
    frame = frame.filter(~has_no_value(layout.names, schema))
    if conversions:
        frame = frame.with_columns(conversions)
    return frame.with_columns(years) if years else frame


def _conversion(item: Field, *, strict: bool, check_years: bool = True) -> pl.Expr:
    """The expression turning the field's text column into its type (see ``typed``)."""
    import polars as pl

    column = pl.col(item.name)
    if (
        item.type in NUMBER_TYPES
        and item.group_char is not None
        and item.group_char in GROUP_SPACES
    ):
        column = column.str.replace_all(f"[{GROUP_SPACES}]", "")
        item = dataclasses.replace(item, group_char=None)
    return typed(item, column, strict=strict, check_years=check_years)


def _raise_first_bad_value(
    source: Path,
    schema: TableSchema,
    options: dict[str, Any],
    layout: Layout,
    first_row: int,
    *,
    name: str,
) -> None:
    """Raise InputError naming the first value that fails its field's type, if one does.

    Runs only after a conversion failed: a second pass reading every column as text.
    ``first_row`` is the number of the first data row (the header is row 1).
    """
    import polars as pl

    fields = [item for item in schema.fields if not takes_any_text(item)]
    if not fields:
        return
    # A blank line, which the conversion leaves out, holds no bad value.
    has_value = ~has_no_value(options["new_columns"], schema)
    checks = [
        (
            item,
            has_value & pl.col(item.name).is_not_null() & _conversion(item, strict=False).is_null(),
        )
        for item in fields
    ]
    missing = csv_missing_options(schema, has_quotes=layout.has_quotes)
    text = pl.scan_csv(source, **missing, **options)
    raise_first_bad_value(text, checks, first=first_row, where=("row", "column"), name=name)


def inferred_types(frame: pl.LazyFrame, columns: list[str], decimal_char: str) -> dict[str, str]:
    """The Table Schema type of each text column whose every value reads back as written.

    One streaming pass over the file. A column is typed only when all its values have the
    one form that type prints them in: integers of at most 10 digits without a leading zero
    or ``+`` (11-digit national ids and account numbers stay text), decimals with the
    ``decimal_char`` and at most 15 digits, ``true``/``false``, ISO dates. Columns with any
    other value (``0101``, ``+47``, ``1 234``, ``N/A``) or with no value stay text.
    """
    import polars as pl

    if not columns:
        return {}
    decimal = re.escape(decimal_char)
    # A whole part as printed: no leading zero, no sign but '-', at most 10 digits.
    whole = f"(0|[1-9][0-9]{{0,{MAX_INFERRED_DIGITS - 1}}})"
    checks = []
    for n, column in enumerate(columns):
        value = pl.col(column)
        tests = {
            "integer": value.str.contains(f"^-?{whole}$") & (value != "-0"),
            # A decimal keeps one trailing zero at most: 1.50 would come back as 1.5.
            "number": value.str.contains(f"^-?{whole}({decimal}(0|[0-9]*[1-9]))?$")
            & (value != "-0")
            & (value.str.count_matches("[0-9]") <= MAX_NUMBER_DIGITS),
            "boolean": value.is_in(["true", "false"]),
            "date": value.str.contains("^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
            & value.str.to_date("%Y-%m-%d", strict=False).is_not_null(),
        }
        has_value = value.is_not_null().any()
        checks += [
            (has_value & (value.is_null() | test).all()).alias(f"{n}:{kind}")
            for kind, test in tests.items()
        ]
    [passed] = frame.select(checks).collect(engine="streaming").rows(named=True)
    found = {}
    for n, column in enumerate(columns):
        kind = next((kind for kind in INFERRED_TYPES if passed[f"{n}:{kind}"]), None)
        if kind is not None:
            found[column] = kind
    return found


def _inferred_field(column: str, kind: str, decimal_char: str) -> Field:
    """The Table Schema field an inferred type stands for."""
    return Field(
        name=column,
        type=kind,
        format="%Y-%m-%d" if kind == "date" else None,
        decimal_char=decimal_char,
        true_values=("true",),
        false_values=("false",),
    )


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, CsvToParquetConfig, run)
