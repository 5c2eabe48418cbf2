"""csv_to_parquet: read a CSV with a Frictionless dialect and write zstd Parquet, streaming.

How the files of public data portals are read:

- Header names: an empty name becomes ``column_<position>`` (1-based, as with ``header: false``);
  a repeated name gets ``_2``, ``_3``... in order of appearance, skipping names already taken.
- A header line that ends with the delimiter has an unnamed last column: it is dropped when
  every row leaves it empty, else kept as ``column_<position>``.
- Rows with no value at all (blank lines, also at the end of the file) are dropped.
- An Excel ``sep=;`` first line is skipped and gives the delimiter; a different explicit
  ``delimiter`` option is an error.
- ``delimiter: "auto"`` sniffs the first 64 KB among ``, ; TAB |``; ``encoding: "auto"`` reads
  UTF-8 (with or without BOM) when the whole file is valid UTF-8, else cp1252.
- ``groupChar`` (top level, or per number field) removes thousands separators; a space also
  removes no-break spaces (U+00A0, U+202F), which spreadsheets write in Norwegian locales.

Types: a column is typed only by its Table Schema field; every other column is written as text,
exactly as in the file (``0101`` stays ``0101``). With ``inferTypes: true`` such a column is
typed when every value has the one form its type prints: ``0101``, ``+47``, ``1 234``, ``1.50``
and digit strings longer than 10 digits keep the column text. The Parquet file's schema and
the ``inferredTypes`` summary say what was chosen.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.objects import ObjectStore
from pipelines.steps.contract import ConfigError, InputError, OutputKey, StepResult
from pipelines.steps.runtime import run_step
from pipelines.steps.table_schema import (
    Field,
    TableSchema,
    TableSchemaDescriptor,
    parse_schema,
    polars_type,
    typed,
)
from pipelines.steps.tables import (
    column_names,
    encoding_message,
    fetch,
    filename,
    first_invalid_utf8,
    reading,
    store,
    transcode,
    workdir,
)

if TYPE_CHECKING:
    import polars as pl

# Encodings polars reads itself; anything else is transcoded to UTF-8 first.
NATIVE_ENCODINGS = ("utf-8", "utf-8-sig")
# Types polars parses while reading (fast); the rest are converted from text afterwards.
NATIVE_TYPES = ("string", "integer", "number")
NUMBER_TYPES = ("integer", "number", "year")
SNIFF_BYTES = 64 * 1024
SNIFF_DELIMITERS = ",;\t|"
DEFAULT_DELIMITER = ","
# Excel writes (and reads) this first line to name the delimiter, sometimes quoted.
_SEP_LINE = re.compile(r'^\ufeff?"?sep=(.)"?\r?\n')
# inferTypes: integers longer than this stay text (11-digit national ids, account numbers),
# and decimals with more digits than a float keeps exactly.
MAX_INFERRED_DIGITS = 10
MAX_NUMBER_DIGITS = 15
INFERRED_TYPES = ("integer", "number", "boolean", "date")
# Spaces that spreadsheets in Norwegian and French locales use as thousands separators.
_SPACES = "[ \u00a0\u202f]"


@dataclass(frozen=True, slots=True)
class CsvToParquetConfig:
    """Options of csv_to_parquet, named as in Frictionless CSV Dialect and Table Schema.

    ``delimiter`` defaults to ``,`` (or a ``sep=`` first line); ``"auto"`` sniffs it.
    ``encoding`` may be ``"auto"``. ``groupChar`` applies to every number field that does not
    name its own. A column without a ``schema`` field stays text (a Parquet string), so codes
    keep their leading zeros; ``inferTypes: true`` types such columns only where every value
    reads back as written (see ``inferred_types``). A value that fails its field's type is an
    InputError naming its row (the header is row 1), column and value.
    """

    delimiter: str | None = None
    quote_char: str = '"'
    double_quote: bool = True
    header: bool = True
    encoding: str = "utf-8"
    decimal_char: str = "."
    group_char: str | None = None
    comment_char: str | None = None
    schema: TableSchemaDescriptor | None = None
    infer_types: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """What was learnt about one file before reading it: where the table starts, its names."""

    delimiter: str
    skip_rows: int  # lines before the header (the ``sep=`` line)
    names: list[str]
    unnamed_last: str | None  # the column a trailing delimiter makes, if any


def check_config(config: CsvToParquetConfig) -> tuple[str, TableSchema | None]:
    """Return the normalised encoding (or ``auto``) and the parsed schema; raises ConfigError."""
    delimiter = config.delimiter
    if (
        delimiter is not None
        and delimiter != "auto"
        and (len(delimiter) != 1 or delimiter in "\r\n")
    ):
        raise ConfigError("delimiter", 'must be one character other than a line break, or "auto"')
    if len(config.quote_char) != 1 or config.quote_char in "\r\n":
        raise ConfigError("quoteChar", "must be a single character other than a line break")
    if not config.double_quote:
        raise ConfigError("doubleQuote", "only doubled quotes (true) are supported")
    if config.decimal_char not in (".", ","):
        raise ConfigError("decimalChar", "must be '.' or ','")
    if config.decimal_char == "," and delimiter == ",":
        raise ConfigError("decimalChar", "',' needs a delimiter other than ','")
    if config.group_char is not None and (
        len(config.group_char) != 1 or config.group_char == config.decimal_char
    ):
        raise ConfigError("groupChar", "must be one character other than the decimalChar")
    if config.encoding == "auto":
        encoding = "auto"
    else:
        try:
            encoding = codecs.lookup(config.encoding).name
        except LookupError:
            raise ConfigError("encoding", f"unknown encoding {config.encoding!r}") from None
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
            if source.stat().st_size == 0:
                raise InputError(f"{name} is empty")
            used = detect_encoding(source) if encoding == "auto" else encoding
            if used not in NATIVE_ENCODINGS:
                source = transcode(source, used, directory)
            target = directory / (PurePosixPath(name).stem + ".parquet")
            try:
                layout = read_layout(source, config, name=name)
                rows, inferred = convert(source, target, config, schema, layout, name=name)
            except InputError:
                if used in NATIVE_ENCODINGS:
                    check_utf8(source, name)
                raise
            outputs.append(store(objects, target, out(key, target.name), rows))
            # What detection chose is worth recording: the data owner can then pin it.
            if encoding == "auto":
                summary.setdefault("encodings", {})[name] = used
            if config.delimiter == "auto":
                summary.setdefault("delimiters", {})[name] = layout.delimiter
            if config.infer_types:
                summary.setdefault("inferredTypes", {})[name] = inferred
    return StepResult(
        keys=[output.key for output in outputs],
        outputs=outputs,
        summary={"rows": sum(output.rows or 0 for output in outputs), **summary},
    )


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` when the whole file is valid UTF-8, else ``cp1252`` (Windows' Western)."""
    return "utf-8-sig" if first_invalid_utf8(path) is None else "cp1252"


def check_utf8(path: Path, name: str) -> None:
    """Raise InputError at the first byte that is not UTF-8, if any."""
    invalid = first_invalid_utf8(path)
    if invalid is not None:
        raise InputError(encoding_message(name, "UTF-8", *invalid))


def read_layout(path: Path, config: CsvToParquetConfig, *, name: str) -> Layout:
    """Find the delimiter, the lines to skip and the column names of a UTF-8 file.

    Raises InputError when the file is empty, not UTF-8, or its delimiter cannot be found.
    """
    import polars as pl

    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    declared = _SEP_LINE.match(head)
    skip_rows = 1 if declared else 0
    if declared and config.delimiter not in (None, "auto", declared.group(1)):
        raise InputError(
            f"{name} declares sep={declared.group(1)} on its first line, but the delimiter "
            f"option is {config.delimiter!r}; remove the option or make them agree"
        )
    if declared:
        delimiter = declared.group(1)
    elif config.delimiter == "auto":
        delimiter = sniff_delimiter(head, name=name)
    else:
        delimiter = config.delimiter or DEFAULT_DELIMITER
    if config.decimal_char == "," and delimiter == ",":
        if declared or config.delimiter == "auto":
            raise InputError(f"{name} is delimited by ',', which cannot also be the decimalChar")
        raise ConfigError("decimalChar", "',' needs a delimiter other than ','")
    with reading(name):
        first = pl.scan_csv(
            path,
            has_header=False,
            separator=delimiter,
            quote_char=config.quote_char,
            comment_prefix=config.comment_char,
            skip_rows=skip_rows,
            n_rows=1,
            infer_schema=False,
        ).collect()
    if first.height == 0:
        raise InputError(f"{name} is empty")
    raw = list(first.row(0))
    if not config.header:
        return Layout(delimiter, skip_rows, _positional_names(raw), None)
    if all(value is None or not value.strip() for value in raw):
        raise InputError(f"{name} has no column names on its first line")
    unnamed_last = len(raw) > 1 and not (raw[-1] or "").strip()
    names = column_names(raw)
    return Layout(delimiter, skip_rows, names, names[-1] if unnamed_last else None)


def sniff_delimiter(head: str, *, name: str) -> str:
    """The delimiter csv.Sniffer finds in the first complete lines; raises InputError."""
    sample = head.lstrip("\ufeff")
    if "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]
    first_line = sample.split("\n", 1)[0]
    if not any(candidate in first_line for candidate in SNIFF_DELIMITERS):
        return DEFAULT_DELIMITER  # one column: any delimiter reads it the same
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFF_DELIMITERS).delimiter
    except csv.Error:
        pass
    # The sniffer wants two consistent lines; a header alone still shows its delimiter.
    counts = {candidate: first_line.count(candidate) for candidate in SNIFF_DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    if sorted(counts.values())[-2] == counts[best]:
        raise InputError(f"cannot tell the delimiter of {name}; set the delimiter option")
    return best


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

    options: dict[str, Any] = {
        "separator": layout.delimiter,
        "quote_char": config.quote_char,
        "has_header": False,
        "skip_rows": layout.skip_rows + (1 if config.header else 0),
        "new_columns": layout.names,
        "comment_prefix": config.comment_char,
        "decimal_comma": config.decimal_char == ",",
        # Text unless a schema field says otherwise: a guess turns the code 0101 into 101.
        "infer_schema": False,
    }
    inferred: dict[str, str] = {}
    with reading(name):
        if schema is None:
            frame = pl.scan_csv(source, **options)
        else:
            frame = _scan_with_schema(source, schema, options, layout, name=name)
        # Blank lines read as rows of nulls; a row with no value carries no data.
        frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))
        if not _has_rows(source, options):
            frame = pl.LazyFrame(schema=_empty_schema(layout.names, schema))
        elif config.infer_types:
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
                first_row = 2 if config.header else 1
                _raise_first_bad_value(source, schema, options, first_row, name=name)
            raise
        if layout.unnamed_last is not None:
            _drop_if_empty(target, layout.unnamed_last)
        return pl.scan_parquet(target).select(pl.len()).collect().item(), inferred


def _has_rows(source: Path, options: dict[str, Any]) -> bool:
    """Whether anything follows the header (polars calls a header-only file empty)."""
    import polars as pl

    try:
        pl.scan_csv(source, **{**options, "n_rows": 1}).collect()
    except pl.exceptions.NoDataError:
        return False
    return True


def _empty_schema(names: list[str], schema: TableSchema | None) -> dict[str, pl.DataType]:
    """Column types of a table without rows: the Table Schema's, else text."""
    import polars as pl

    fields = {item.name: item for item in schema.fields} if schema is not None else {}
    return {
        column: polars_type(fields[column]) if column in fields else pl.String() for column in names
    }


def _drop_if_empty(target: Path, column: str) -> None:
    """Drop the column a trailing delimiter made when no row has a value in it."""
    import polars as pl

    has_values = pl.scan_parquet(target).select(pl.col(column).is_not_null().any()).collect()
    if has_values.item():
        return
    # Parquet to Parquet: cheap beside parsing the CSV again, and only for such files.
    trimmed = target.with_suffix(".trimmed.parquet")
    pl.scan_parquet(target).drop(column).sink_parquet(trimmed, compression="zstd")
    trimmed.replace(target)


def _positional_names(names: list[Any]) -> list[str]:
    return [f"column_{n + 1}" for n in range(len(names))]


def _scan_with_schema(
    source: Path, schema: TableSchema, options: dict[str, Any], layout: Layout, *, name: str
) -> Any:
    import polars as pl

    missing = [item.name for item in schema.fields if item.name not in layout.names]
    if missing:
        raise InputError(
            f"{name} has no column {missing[0]!r} named in the schema; its columns are "
            f"{', '.join(layout.names[:20])}{' ...' if len(layout.names) > 20 else ''}"
        )
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
            continue
        overrides[item.name] = pl.String()
        conversions.append(_conversion(item, strict=True).alias(item.name))
    frame = pl.scan_csv(
        source,
        schema_overrides=overrides,
        null_values=list(schema.missing_values),
        **options,
    )
    return frame.with_columns(conversions) if conversions else frame


def _conversion(item: Field, *, strict: bool) -> pl.Expr:
    """The expression turning the field's text column into its type."""
    import polars as pl

    column = pl.col(item.name)
    if item.type in NUMBER_TYPES and item.group_char is not None and item.group_char in _SPACES:
        column = column.str.replace_all(_SPACES, "")
        item = dataclasses.replace(item, group_char=None)
    return typed(item, column, strict=strict)


def _raise_first_bad_value(
    source: Path, schema: TableSchema, options: dict[str, Any], first_row: int, *, name: str
) -> None:
    """Raise InputError naming the first value that fails its field's type, if one does.

    Runs only after a conversion failed: a second pass reading every column as text.
    ``first_row`` is the number of the first data row (the header is row 1).
    """
    import polars as pl

    fields = [item for item in schema.fields if item.type not in ("string", "any")]
    if not fields:
        return
    fails = [
        pl.col(item.name).is_not_null() & _conversion(item, strict=False).is_null()
        for item in fields
    ]
    text = pl.scan_csv(source, null_values=list(schema.missing_values), **options)
    found = (
        text.with_row_index("__row", offset=first_row)
        .filter(pl.any_horizontal(fails))
        .select(
            "__row",
            *(fail.alias(f"__fails{n}") for n, fail in enumerate(fails)),
            *(pl.col(item.name).alias(f"__value{n}") for n, item in enumerate(fields)),
        )
        .head(1)
        .collect()
    )
    if found.height == 0:
        return
    row = found.row(0, named=True)
    for n, item in enumerate(fields):
        if row[f"__fails{n}"]:
            expected = f"{item.type} (format {item.format})" if item.format else item.type
            raise InputError(
                f"{name}: row {row['__row']}, column {item.name!r}: "
                f"{row[f'__value{n}']!r} is not a valid {expected}"
            )


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
