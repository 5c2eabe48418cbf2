"""enrich: add columns from a lookup table by a left join that keeps the input's row order.

A CSV input is read with the same CSV Dialect options as csv_to_parquet and validate
(``csv_dialect``) and written back in its own form (delimiter, quotes, ``sep=`` line,
encoding), so the step can follow validate on a file as uploaded. A CSV lookup is read as
publishing describes one (``preview.csv_input``): its delimiter and encoding found from the
file (``"auto"``), title rows above its header and notes below its rows left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pipelines.objects import ObjectStore
from pipelines.steps.contract import (
    ConfigError,
    InputError,
    OutputKey,
    StepResult,
    UnmatchedRows,
)
from pipelines.steps.csv_dialect import (
    CsvDialect,
    StepTable,
    check_dialect,
    note_detected,
    scan_options,
    step_table,
)
from pipelines.steps.lookups import LookupSource, parse_lookup
from pipelines.steps.options import JsonSchema
from pipelines.steps.preview import AS_FOUND, csv_input
from pipelines.steps.runtime import environment, run_step
from pipelines.steps.tables import (
    FORMATS,
    fetch,
    filename,
    reading,
    scan_table,
    store,
    table_format,
    without_blank_rows,
    workdir,
)

if TYPE_CHECKING:
    from pathlib import Path

    import polars as pl

EXAMPLES_IN_ERROR = 5
# Latest distribution keys of a dataset, from the catalogue.
LatestKeys = Callable[[str], list[str]]
# ``lookup`` names one source: a dataset's latest distribution, or one object key.
Lookup = Annotated[
    dict[str, Any],
    JsonSchema(
        {
            "type": "object",
            "properties": {
                "dataset": {"type": "string", "minLength": 1},
                "key": {"type": "string", "minLength": 1},
            },
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
        }
    ),
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EnrichConfig(CsvDialect):
    """Options of enrich: a CSV input's dialect (as csv_to_parquet's), then the join.

    ``lookup``: ``{"dataset": id}`` (its latest distribution: a dataset the owner team of
    the run's dataset may read) or ``{"key": object key}`` (an object of the run's dataset).
    ``on``: the join column, a list of them, or ``{input column: lookup column}``.
    ``columns``: lookup columns to add (default: all but the join columns).
    ``unmatched``: rows without a match are kept (lookup columns empty), dropped, or fail.
    """

    lookup: Lookup
    on: str | list[str] | dict[str, str]
    columns: list[str] | None = None
    unmatched: Literal["keep", "drop", "fail"] = "keep"


def join_columns(config: EnrichConfig) -> tuple[list[str], list[str]]:
    """The (input, lookup) join column names; raises ConfigError."""
    on = config.on
    if isinstance(on, str):
        pairs = [(on, on)]
    elif isinstance(on, list):
        pairs = [(name, name) for name in on]
    else:
        pairs = list(on.items())
    if not pairs or not all(isinstance(a, str) and isinstance(b, str) for a, b in pairs):
        raise ConfigError("on", "must name at least one column")
    return [left for left, _ in pairs], [right for _, right in pairs]


def lookup_keys(config: EnrichConfig, latest_keys: LatestKeys) -> list[str]:
    """The object keys holding the lookup table; raises ConfigError or InputError."""
    lookup = parse_lookup(config.lookup)
    if lookup.key is not None:
        return [lookup.key]
    keys = [key for key in latest_keys(str(lookup.dataset)) if _is_table(key)]
    if not keys:
        raise InputError(f"dataset {lookup.dataset!r} has no published CSV or Parquet distribution")
    return keys


def lookups(config: EnrichConfig) -> list[LookupSource]:
    """What the config reads besides the run's objects; raises ConfigError."""
    return [parse_lookup(config.lookup)]


def _is_table(key: str) -> bool:
    return any(key.lower().endswith(suffix) for suffix in FORMATS)


def load_lookup(
    objects: ObjectStore,
    keys: list[str],
    config: EnrichConfig,
    right_on: list[str],
    directory: Path,
) -> pl.DataFrame:
    """Read the lookup table (it is small: it is held in memory) and check its keys."""
    import polars as pl

    frames = []
    for key in keys:
        source = fetch(objects, key, directory)
        if table_format(key) == "parquet":
            with reading(filename(key)):
                frames.append(scan_table(source, key).collect())
            continue
        # A lookup published as it was uploaded keeps its own delimiter, encoding, title
        # and notes: it is read as its preview describes it.
        with csv_input(source, filename(key), directory, check_quotes=True) as file:
            scan = pl.scan_csv(file.path, **scan_options(AS_FOUND, file.layout))
            with reading(filename(key)):
                frames.append(scan.collect())
    with reading("lookup"):
        table = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    missing = [name for name in right_on if name not in table.columns]
    if missing:
        raise ConfigError("on", f"the lookup has no column {missing[0]!r}")
    added = config.columns or [name for name in table.columns if name not in right_on]
    unknown = [name for name in added if name not in table.columns]
    if unknown:
        raise ConfigError("columns", f"the lookup has no column {unknown[0]!r}")
    join_keys = [pl.col(name).cast(pl.String).alias(f"__key{n}") for n, name in enumerate(right_on)]
    # A row with a missing key part matches no input row (the join never matches nulls):
    # blank lines at the end of a CSV, say. Left out, such rows are no duplicates either.
    table = (
        table.select(*join_keys, *added)
        .drop_nulls(pl.col("^__key.*$"))
        .with_columns(pl.lit(True).alias("__matched"))
    )
    duplicated = table.filter(pl.struct(pl.col("^__key.*$")).is_duplicated())
    if duplicated.height:
        example = ", ".join(str(value) for value in duplicated.row(0)[: len(right_on)])
        raise InputError(f"the lookup has more than one row for the key ({example})")
    return table


def run(
    objects: ObjectStore,
    config: EnrichConfig,
    keys: list[str],
    out: OutputKey,
    latest_keys: LatestKeys | None = None,
) -> StepResult:
    """Left-join each input with the lookup; returns the enriched files' keys.

    Raises UnmatchedRows (``unmatched: fail``), ConfigError, InputError.
    """
    left_on, right_on = join_columns(config)
    encoding = check_dialect(config)
    sources = lookup_keys(config, latest_keys or (lambda dataset: []))
    outputs = []
    summary: dict[str, Any] = {"rows": 0, "matched": 0, "unmatched": 0}
    with workdir() as directory:
        lookup = load_lookup(objects, sources, config, right_on, directory)
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            with step_table(source, key, config, encoding, directory) as table:
                target, kept = _enrich_table(table, key, config, lookup, left_on, summary)
                if table.file is not None:
                    note_detected(summary, name, config, encoding, table.file)
            outputs.append(store(objects, target, out(key, name), kept))
    return StepResult([output.key for output in outputs], outputs, summary)


def _enrich_table(
    table: StepTable,
    key: str,
    config: EnrichConfig,
    lookup: pl.DataFrame,
    left_on: list[str],
    summary: dict[str, Any],
) -> tuple[Path, int]:
    """Join one input with the lookup and add its counts to ``summary``; returns the file
    to store and the rows written in it. Raises UnmatchedRows, ConfigError, InputError."""
    import polars as pl

    name = filename(key)
    columns = table.columns
    added = [column for column in lookup.columns if not column.startswith("__")]
    missing = [column for column in left_on if column not in columns]
    if missing:
        raise InputError(f"{name} has no join column {missing[0]!r}")
    clashes = [column for column in added if column in columns]
    if clashes:
        raise ConfigError("columns", f"{clashes[0]!r} is already a column of {name}")
    # Numbered before blank lines go, so that rows keep the numbers of the file.
    numbered = table.frame.with_row_index("__row", offset=table.first_row)
    if table_format(key) == "csv":
        numbered = without_blank_rows(numbered, columns)
    joined = numbered.with_columns(
        pl.col(column).cast(pl.String).alias(f"__key{n}") for n, column in enumerate(left_on)
    ).join(
        lookup.lazy(),
        on=[f"__key{n}" for n in range(len(left_on))],
        how="left",
        maintain_order="left",
    )
    is_matched = pl.col("__matched").fill_null(False)
    result = joined.filter(is_matched) if config.unmatched == "drop" else joined
    totals = joined.select(pl.len().alias("rows"), is_matched.sum().alias("matched"))
    examples = joined.filter(~is_matched).select("__row", *left_on).head(EXAMPLES_IN_ERROR)
    with reading(name, locate=table.locate):
        *_, counts, unmatched = pl.collect_all(
            [table.sink(result.select(*columns, *added)), totals, examples],
            engine="streaming",
        )
    rows, matched = counts.row(0)
    summary["rows"] += rows
    summary["matched"] += matched
    summary["unmatched"] += rows - matched
    if rows > matched and config.unmatched == "fail":
        raise UnmatchedRows(rows - matched, _describe(unmatched, left_on))
    return table.written(), matched if config.unmatched == "drop" else rows


def _describe(unmatched: pl.DataFrame, left_on: list[str]) -> list[str]:
    return [
        f"row {row[0]}: "
        + ", ".join(f"{column} {value!r}" for column, value in zip(left_on, row[1:], strict=True))
        for row in unmatched.iter_rows()
    ]


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``; a ``{"dataset": id}`` lookup asks the recorder for its keys."""
    _, recorder = environment()

    def run_with_catalogue(
        objects: ObjectStore, config: EnrichConfig, keys: list[str], out: OutputKey
    ) -> StepResult:
        return run(objects, config, keys, out, recorder.latest_distribution_keys)

    return run_step(event, EnrichConfig, run_with_catalogue, lookups=lookups)
