"""transform: declarative cast, derive, filter, rename and select, in that order.

Expressions use the small language of ``pipelines.steps.expressions``; no code is executed.
A CSV input is read with the same CSV Dialect options as csv_to_parquet and validate
(``csv_dialect``) and written back in its own form (delimiter, quotes, ``sep=`` line,
encoding; numbers with the ``decimalChar``), so the step can follow validate on a file as
uploaded. CSV columns arrive as text, so ``cast`` a column before comparing it with numbers;
a ``number`` cast reads the ``decimalChar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from pipelines.objects import ObjectStore
from pipelines.steps.contract import ConfigError, InputError, OutputKey, StepResult
from pipelines.steps.csv_dialect import CsvDialect, check_dialect, note_detected, step_table
from pipelines.steps.expressions import ExpressionError, compile_expression
from pipelines.steps.runtime import run_step
from pipelines.steps.table_schema import DEFAULT_FORMATS, Field, raise_first_bad_value, typed
from pipelines.steps.tables import (
    fetch,
    filename,
    reading,
    store,
    table_format,
    without_blank_rows,
    workdir,
)

if TYPE_CHECKING:
    import polars as pl

CastType = Literal["string", "integer", "number", "boolean", "date", "datetime", "time", "year"]
CAST_TYPES: tuple[str, ...] = get_args(CastType)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransformConfig(CsvDialect):
    """Options of transform: a CSV input's dialect, then the changes, each optional, which
    apply in the order listed."""

    cast: dict[str, CastType] | None = None
    derive: dict[str, str] | None = None
    filter: str | None = None
    rename: dict[str, str] | None = None
    select: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled transform: a function from the input columns to the output frame."""

    config: TransformConfig
    derived: list[tuple[str, pl.Expr, set[str]]]
    condition: tuple[pl.Expr, set[str]] | None

    def apply(
        self, frame: pl.LazyFrame, columns: list[str], *, name: str, hint: str
    ) -> pl.LazyFrame:
        """Apply the steps, checking each column name against the frame; raises ConfigError.

        Each derive and the filter is first run on no rows of the frame's types, so an
        expression the types do not allow (text compared with a number) raises InputError
        naming the file ``name`` and the option, with ``hint`` on the types, before a row
        is read: polars would say neither.
        """
        import polars as pl

        config = self.config
        available = list(columns)
        for column, kind in (config.cast or {}).items():
            _require(available, column, f"cast.{column}")
            frame = frame.with_columns(_cast(column, kind, config.decimal_char))
        with reading(name):
            probe = pl.LazyFrame(schema=frame.collect_schema())
        for column, expression, reads in self.derived:
            for read in sorted(reads):
                _require(available, read, f"derive.{column}")
            frame = frame.with_columns(expression.alias(column))
            probe = _tried(
                probe.with_columns(expression.alias(column)),
                f"derive.{column}",
                name,
                _text_hint(probe, reads, hint),
            )
            if column not in available:
                available.append(column)
        if self.condition is not None:
            expression, reads = self.condition
            for read in sorted(reads):
                _require(available, read, "filter")
            frame = frame.filter(expression)
            _tried(probe.filter(expression), "filter", name, _text_hint(probe, reads, hint))
        if config.rename:
            for column in config.rename:
                _require(available, column, f"rename.{column}")
            frame = frame.rename(config.rename)
            available = [config.rename.get(column, column) for column in available]
        if config.select is not None:
            for column in config.select:
                _require(available, column, "select")
            frame = frame.select(config.select)
        return frame

    def reads(self, columns: list[str]) -> list[str]:
        """The input columns the output depends on (all of them without ``select``)."""
        config = self.config
        if config.select is None:
            return list(columns)
        renamed = {new: old for old, new in (config.rename or {}).items()}
        wanted = {renamed.get(column, column) for column in config.select}
        wanted |= set(config.cast or {})
        for _, _, reads in self.derived:
            wanted |= reads
        if self.condition is not None:
            wanted |= self.condition[1]
        found = [column for column in columns if column in wanted]
        return found or list(columns)


def _text_hint(probe: pl.LazyFrame, reads: set[str], hint: str) -> str:
    """``hint`` where the expression reads a text column, else nothing."""
    import polars as pl

    schema = probe.collect_schema()
    return hint if any(schema.get(column) == pl.String for column in reads) else ""


def _tried(probe: pl.LazyFrame, option: str, name: str, hint: str) -> pl.LazyFrame:
    """``probe`` (a frame of no rows) run; raises InputError naming the option it fails on,
    with ``hint`` (if any)."""
    import polars as pl

    try:
        return probe.collect().lazy()
    except pl.exceptions.PolarsError as error:
        message = str(error).strip().splitlines()[0]
        raise InputError(f"{name}: {option}: {message}" + (f"; {hint}" if hint else "")) from None


def _require(available: list[str], column: str, option: str) -> None:
    if column not in available:
        raise ConfigError(option, f"there is no column {column!r}")


def _field(column: str, kind: str, decimal_char: str) -> Field:
    decimals = decimal_char if kind == "number" else "."
    return Field(column, kind, DEFAULT_FORMATS.get(kind), decimal_char=decimals)


def _cast(column: str, kind: str, decimal_char: str) -> pl.Expr:
    import polars as pl

    item = _field(column, kind, decimal_char)
    source = pl.col(column)
    if kind == "string":
        return source.cast(pl.String)
    # Text is parsed strictly: a value that does not convert stops the step, naming it.
    return typed(item, source.cast(pl.String), strict=True).alias(column)


def _raise_first_bad_cast(
    frame: pl.LazyFrame, cast: dict[str, str], decimal_char: str, *, first_row: int, name: str
) -> None:
    """Raise InputError naming the first value a ``cast`` cannot convert, if one cannot.

    Rows are numbered as validate numbers them: ``first_row`` is the number of the first
    row of ``frame`` (2, the row after the header, unless the CSV dialect says otherwise).
    """
    import polars as pl

    checks = []
    for column, kind in cast.items():
        if kind == "string":
            continue
        item = _field(column, kind, decimal_char)
        text = pl.col(column).cast(pl.String)
        checks.append((item, text.is_not_null() & typed(item, text, strict=False).is_null()))
    raise_first_bad_value(frame, checks, first=first_row, where=("row", "column"), name=name)


def compile_plan(config: TransformConfig) -> Plan:
    """Check the options and compile the expressions; raises ConfigError naming the option."""
    check_dialect(config)
    for column, kind in (config.cast or {}).items():
        if kind not in CAST_TYPES:
            raise ConfigError(f"cast.{column}", f"must be one of {', '.join(CAST_TYPES)}")
    derived = []
    for column, text in (config.derive or {}).items():
        if not isinstance(text, str):
            raise ConfigError(f"derive.{column}", "must be an expression in text")
        derived.append((column, *_compile(text, f"derive.{column}")))
    condition = _compile(config.filter, "filter") if config.filter is not None else None
    for old, new in (config.rename or {}).items():
        if not isinstance(new, str) or not new:
            raise ConfigError(f"rename.{old}", "must be the new column name")
    if config.select is not None and not all(isinstance(name, str) for name in config.select):
        raise ConfigError("select", "must be a list of column names")
    return Plan(config, derived, condition)


def _compile(text: str, option: str) -> tuple[pl.Expr, set[str]]:
    try:
        return compile_expression(text)
    except ExpressionError as error:
        raise ConfigError(option, str(error)) from None


def run(
    objects: ObjectStore, config: TransformConfig, keys: list[str], out: OutputKey
) -> StepResult:
    """Transform each input into a file of the same format.

    Raises ConfigError for bad options or unknown columns, InputError when values do not
    convert or an expression does not fit the column types.
    """
    import polars as pl

    plan = compile_plan(config)
    encoding = check_dialect(config)
    outputs = []
    detected: dict[str, Any] = {}
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            with step_table(source, key, config, encoding, directory) as table:
                if table.file is not None:
                    note_detected(detected, name, config, encoding, table.file)
                rows, hint = table.frame, "the cast option changes a column's type"
                if table_format(key) == "csv":
                    # Blank lines read as rows of nulls: csv_to_parquet and validate drop
                    # them too. The unfiltered frame numbers the rows as the file's lines.
                    # Only the columns the output needs are read (polars reads no others,
                    # so a ragged row's extra fields do not stop a select of the first).
                    rows = without_blank_rows(rows, plan.reads(table.columns))
                    hint = (
                        "the columns of a CSV file are text until the cast option gives them a type"
                    )
                result = plan.apply(rows, table.columns, name=name, hint=hint)
                with reading(name, locate=table.locate):
                    try:
                        counts = pl.collect_all(
                            [table.sink(result), result.select(pl.len())], engine="streaming"
                        )
                    except pl.exceptions.PolarsError:
                        # polars names neither the row nor, for booleans, the value: find them.
                        _raise_first_bad_cast(
                            table.frame,
                            config.cast or {},
                            config.decimal_char,
                            first_row=table.first_row,
                            name=name,
                        )
                        raise
                target = table.written()
            if not target.exists():
                raise InputError(f"{name}: the transform produced no file")
            outputs.append(store(objects, target, out(key, name), counts[-1].item()))
    summary = {"rows": sum(output.rows or 0 for output in outputs), **detected}
    return StepResult([output.key for output in outputs], outputs, summary)


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, TransformConfig, run)
