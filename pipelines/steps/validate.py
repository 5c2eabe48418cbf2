"""validate: check rows against a Table Schema with vectorised polars expressions.

Reads a CSV input with the same CSV Dialect options as csv_to_parquet (``csv_dialect``), so
it can run before the conversion, and a Parquet input as it is. Writes the valid rows in the
input's own form (a CSV's valid rows are its own lines, copied, with its ``sep=`` line and
encoding, so the next step reads them with the same options; see ``csv_lines``) and, for
``onInvalid: quarantine``, a rejects file (a UTF-8 CSV) with one line per broken rule:
``row, column, rule, value, message``. Row numbers count the header as row 1, as a
spreadsheet does, so the first data row is row 2.

Every check (``schema_checks``) is a polars expression in one streaming plan, which reads
the input once and also sets the invalid rows aside, from which the rejects are written, so
memory does not grow with the file; a CSV's valid lines are then copied in one more, cheap
read. ``unique`` and ``primaryKey`` need
every key at once: they cost one more read of the input, with the keys spilled to hash
partitions on local disk (see ``_duplicate_keys``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from pipelines.objects import ObjectStore
from pipelines.steps.contract import OutputKey, StepResult, ValidationFailed
from pipelines.steps.csv_dialect import (
    CsvDialect,
    check_dialect,
    first_data_row,
    header_as_read,
    note_detected,
    open_csv,
    raise_malformed_row,
    restore_dialect,
    scan_options,
    sink_options,
)
from pipelines.steps.csv_lines import LOOKED_FOR, CopiedRows, copy_rows
from pipelines.steps.invalid_rows import InvalidRows
from pipelines.steps.runtime import run_step
from pipelines.steps.schema_checks import Check, plan
from pipelines.steps.table_schema import (
    TableSchema,
    TableSchemaDescriptor,
    check_columns,
    csv_missing_options,
    has_no_value,
    parse_schema,
)
from pipelines.steps.tables import (
    fetch,
    filename,
    memory_budget,
    reading,
    scan_table,
    sink_table,
    small_csv_chunks,
    store,
    table_format,
    workdir,
)

if TYPE_CHECKING:
    import polars as pl

FIRST_DATA_ROW = 2
MESSAGES_IN_ERROR = 10
# unique and primaryKey: one hash partition of keys on disk per this much input, so that
# finding a partition's duplicates holds about 1.5 M keys at a time.
INPUT_BYTES_PER_PARTITION = 128 * 1024 * 1024
MAX_PARTITIONS = 256
_PARTITION_SEED = 20240101
REJECT_COLUMNS = ("column", "rule", "value", "message")
# Numbers of rows a CSV's valid output leaves out, held to copy the other lines as they are
# (csv_lines), 4 bytes each: past this many, the valid rows are written again.
MAX_LEFT_OUT = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidateConfig(CsvDialect):
    """Options of validate: a CSV input's dialect, a Table Schema, what to do with bad rows.

    The dialect options (``delimiter``, ``quoteChar``, ``encoding``, ``decimalChar``, ...) are
    csv_to_parquet's, with the same defaults; they do not apply to Parquet inputs.
    """

    schema: TableSchemaDescriptor
    on_invalid: Literal["fail", "quarantine", "drop"] = "fail"


def check_config(config: ValidateConfig) -> tuple[str, TableSchema]:
    """Return the normalised encoding (or ``auto``) and the parsed schema; raises ConfigError."""
    return check_dialect(config), parse_schema(config.schema, decimal_char=config.decimal_char)


def run(
    objects: ObjectStore, config: ValidateConfig, keys: list[str], out: OutputKey
) -> StepResult:
    """Validate each input; returns the keys of the valid rows.

    Raises ValidationFailed (onInvalid: fail) when any row breaks the schema, ConfigError for
    an unusable schema, InputError for unreadable input or columns the schema names but the
    file lacks.
    """
    encoding, schema = check_config(config)
    outputs = []
    new_keys = []
    summary: dict[str, Any] = {"rows": 0, "valid": 0, "rejected": 0, "byRule": {}}
    with workdir() as directory:
        for key in keys:
            name = filename(key)
            source = fetch(objects, key, directory)
            rejects_path = directory / f"{PurePosixPath(name).stem}-rejects.csv"
            valid_path, counts, sha256 = _validate_input(
                source,
                key,
                config,
                encoding,
                schema,
                directory,
                detected=summary,
                # drop keeps no rejects; fail shows only the first few messages.
                rejects_path=None if config.on_invalid == "drop" else rejects_path,
                rejects_limit=MESSAGES_IN_ERROR if config.on_invalid == "fail" else None,
            )
            _add(summary, counts)
            if counts["rejected"] and config.on_invalid == "fail":
                raise ValidationFailed(_first_messages(rejects_path), summary)
            valid = store(objects, valid_path, out(key, name), counts["valid"], sha256=sha256)
            outputs.append(valid)
            new_keys.append(valid.key)
            if counts["rejected"] and config.on_invalid == "quarantine":
                rejects = store(
                    objects, rejects_path, out(key, rejects_path.name), counts["rejectLines"]
                )
                outputs.append(rejects)
                summary.setdefault("rejectsKeys", []).append(rejects.key)
    return StepResult(keys=new_keys, outputs=outputs, summary=summary)


def _validate_input(
    source: Path,
    key: str,
    config: ValidateConfig,
    encoding: str,
    schema: TableSchema,
    directory: Path,
    *,
    detected: dict[str, Any],
    rejects_path: Path | None,
    rejects_limit: int | None,
) -> tuple[Path, dict[str, Any], str | None]:
    """Validate one input file; returns the file of its valid rows, the counts and the
    file's sha256 where the copy of its rows took it (else None). What detection chose
    for a CSV goes into ``detected`` (``note_detected``)."""
    import polars as pl

    name = filename(key)
    valid_path = directory / name
    spill = Spill(
        directory / f"{PurePosixPath(name).stem}-invalid",
        directory / f"{PurePosixPath(name).stem}-left-out.parquet",
        directory / f"{PurePosixPath(name).stem}-keys",
        min(MAX_PARTITIONS, 1 + source.stat().st_size // INPUT_BYTES_PER_PARTITION),
    )
    if table_format(key) == "parquet":
        frame = scan_table(source, key)
        with reading(name):
            counts = _validate_file(
                frame,
                schema,
                lambda rows: sink_table(rows, valid_path, "parquet"),
                rejects_path,
                first_row=FIRST_DATA_ROW,
                name=name,
                rejects_limit=rejects_limit,
                spill=spill,
            )
        return valid_path, counts, None
    written = directory / f"{PurePosixPath(name).stem}.valid.utf8.csv"
    with open_csv(source, config, encoding, directory, name=name, look_for=LOOKED_FOR) as file:
        note_detected(detected, name, config, encoding, file)
        options = scan_options(config, file.layout)
        missing = csv_missing_options(schema, has_quotes=file.layout.has_quotes)
        frame = pl.scan_csv(file.path, **options, **missing)

        def locate() -> None:
            raise_malformed_row(file.path, config, file.layout, name=name)

        copied: list[CopiedRows] = []

        def copy_valid(leave_out: pl.Series, rows: int) -> bool:
            result = copy_rows(file, config, leave_out=leave_out, rows=rows, target=written)
            copied.extend([result] if result is not None else [])
            return result is not None

        with reading(name, locate=locate), small_csv_chunks():
            counts = _validate_file(
                frame,
                schema,
                lambda rows: rows.rename(header_as_read(file.layout)).sink_csv(
                    written, lazy=True, **sink_options(config, file.layout)
                ),
                rejects_path,
                first_row=first_data_row(config, file.layout),
                skip_blank_rows=True,
                name=name,
                rejects_limit=rejects_limit,
                spill=spill,
                copy_valid=copy_valid,
            )
    valid_path = restore_dialect(written, file, valid_path)
    # The copy's sha256 is of ``written``; restoring the dialect writes another file.
    sha256 = copied[0].sha256 if copied and valid_path == written else None
    return valid_path, counts, sha256


def _validate_file(
    frame: pl.LazyFrame,
    schema: TableSchema,
    sink_valid: Callable[[pl.LazyFrame], pl.LazyFrame],
    rejects_path: Path | None,
    *,
    first_row: int,
    name: str,
    skip_blank_rows: bool = False,
    rejects_limit: int | None = None,
    spill: Spill,
    copy_valid: Callable[[pl.Series, int], bool] | None = None,
) -> dict[str, Any]:
    """Write the valid rows and the rejects in one pass over the input; return the counts.

    One streaming plan reads the input once and computes, per row, one boolean: whether any
    check fails. Its one output is the valid rows (``sink_valid``), or with ``copy_valid``
    the numbers of the rows to leave out (invalid or blank), which ``copy_valid`` then
    leaves out of a copy of the input's lines, or, where it cannot copy, ``sink_valid``
    writes again (the rows by number; a file with more than ``MAX_LEFT_OUT`` of them is
    checked again instead, not to hold their numbers). ``InvalidRows`` takes
    the invalid rows, with the columns their checks read, from the same stream into files
    in ``spill.invalid_rows``, and counts the rows. A flag per check is then computed over
    the invalid rows alone, in two more passes over those files, for the counts of each
    broken rule and the rejects: per-check flag columns over every row cost the step
    about 5 % more CPU than the one boolean. ``sink_valid`` makes the lazy sink of the
    valid rows; ``rejects_path=None`` writes no rejects; ``first_row`` numbers the first
    row (the header is row 1), and rows keep their numbers when ``skip_blank_rows`` leaves
    out rows with no value (a CSV's blank lines, which csv_to_parquet drops too). Checks
    with a key (unique, primaryKey) first find the duplicated keys with ``_duplicate_keys``
    (a pass of its own, spilling to ``spill``) and join them back. Measured flat on the
    streaming engine (bench/steps.py).
    """
    import polars as pl

    frame_schema = frame.collect_schema()
    names = frame_schema.names()
    check_columns(schema, names, name=name)
    row = pl.col("__row")
    checked = plan(schema, frame_schema, row)
    found = checked.checks
    flag_names = [f"__check{n}" for n in range(len(found))]
    flags = [pl.col(flag) for flag in flag_names]
    frame = numbered = frame.with_row_index("__row", offset=first_row)
    # Blank rows are flagged, not filtered, before InvalidRows sees the rows: it puts them
    # back in order by their numbers, which a filter would leave with gaps.
    blank = pl.col("__blank")
    if skip_blank_rows:
        frame = frame.with_columns(has_no_value(names, schema).alias("__blank"))
    # What the checks read (typed values, missing values as null) is computed once, for
    # every check of the row; it is not carried past the one boolean, only the invalid
    # rows' source values are, and the second pass computes it again for them alone.
    checks = frame.with_columns(checked.prepare) if checked.prepare else frame
    fails = []
    duplicate_flags = []
    for n, check in enumerate(found):
        if not check.key:
            fails.append(check.fails)
            continue
        keyed = checks.filter(~blank) if skip_blank_rows else checks
        with memory_budget():
            duplicates = _duplicate_keys(keyed, check, spill, n)
        checks = checks.join(
            duplicates.select(
                *duplicates.collect_schema().names(), pl.lit(True).alias(f"__dup{n}")
            ),
            left_on=list(check.key),
            right_on=duplicates.collect_schema().names(),
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        duplicate_flags.append(f"__dup{n}")
        fails.append(check.fails & pl.col(f"__dup{n}").is_not_null())
    # No fill_null: every check is false, never null, where the value is missing.
    # Over every row, one boolean; the invalid rows (few, as a rule) are set aside with their
    # source values, and only they get a flag per check, in small passes of their own.
    invalid = pl.any_horizontal(fails) if fails else pl.lit(False)
    set_aside = [*names, "__row", *duplicate_flags]
    frame = checks.select(
        *set_aside,
        *([blank] if skip_blank_rows else []),
        (invalid & ~blank if skip_blank_rows else invalid).alias("__invalid"),
    )
    keep = ~pl.col("__invalid") & ~blank if skip_blank_rows else ~pl.col("__invalid")
    aside = InvalidRows(
        spill.invalid_rows,
        first=first_row,
        flag="__invalid",
        order="__row",
        blank="__blank" if skip_blank_rows else None,
    )
    seen = frame.map_batches(aside.see, streamable=True)
    try:
        if copy_valid is None:
            sink_valid(seen.filter(keep).select(names)).collect(engine="streaming")
        else:
            seen.filter(~keep).select("__row").sink_parquet(spill.left_out)
    except Exception:
        if aside.error is not None:
            raise aside.error from None
        raise
    if copy_valid is not None:
        left_out = pl.scan_parquet(spill.left_out)
        if left_out.select(pl.len()).collect().item() > MAX_LEFT_OUT:
            # A file mostly invalid: its rows are checked again rather than held by number.
            sink_valid(frame.filter(keep).select(names)).collect(engine="streaming")
        else:
            numbers = left_out.collect().get_column("__row")
            if not copy_valid(numbers, aside.seen):
                sink_valid(
                    numbered.filter(~pl.col("__row").is_in(numbers.implode())).select(names)
                ).collect(engine="streaming")
    rows = aside.rows
    invalid_rows = aside.in_order(frame.select(set_aside).collect_schema())
    if checked.prepare:
        invalid_rows = invalid_rows.with_columns(checked.prepare)
    invalid_rows = invalid_rows.with_columns(
        fail.alias(flag) for flag, fail in zip(flag_names, fails, strict=True)
    )
    counts = invalid_rows.select(pl.len(), *(flag.sum() for flag in flags))
    # Sorting the invalid rows, when the batches did not come as runs of rows, may need
    # more memory than the budget (only there: polars' memory manager costs the main pass
    # about 15 % of its time). The counts and the rejects are two passes over the invalid
    # rows: one plan with both outputs held the rows their shared part had read until the
    # slower one took them (validate's memory grew with the invalid rows, 138 -> 244 MB
    # from 1 to 10 GB of CSV with 1 % of them invalid); reading them twice costs little.
    with memory_budget():
        rejected, *totals = counts.collect(engine="streaming").row(0)
        if rejects_path is not None:
            if rejects_limit is not None:
                invalid_rows = invalid_rows.head(rejects_limit)
            sources = [*names, *(expr.meta.output_name() for expr in checked.prepare)]
            rejects = _rejects(invalid_rows, found, flags, row, sources)
            rejects.sink_csv(rejects_path, lazy=True).collect(engine="streaming")
    by_rule: dict[str, int] = {}
    for check, count in zip(found, totals, strict=True):
        if count:
            by_rule[check.rule] = by_rule.get(check.rule, 0) + count
    return {
        "rows": rows,
        "valid": rows - rejected,
        "rejected": rejected,
        "rejectLines": sum(by_rule.values()),
        "byRule": by_rule,
    }


@dataclass(frozen=True, slots=True)
class Spill:
    """Where validate writes to local disk: the invalid rows (a folder), the numbers of the
    rows the valid output leaves out (a file), and the keys of unique and primaryKey
    (``directory``, in ``partitions`` hash partitions)."""

    invalid_rows: Path
    left_out: Path
    directory: Path
    partitions: int


def _duplicate_keys(frame: pl.LazyFrame, check: Check, spill: Spill, n: int) -> pl.LazyFrame:
    """The keys of a keyed check that appear more than once, found in bounded memory.

    A first streaming pass over ``frame`` writes the key of every row where ``check.fails``
    holds to one of ``spill.partitions`` Parquet files by its hash; each partition's
    duplicated keys are then counted in memory, one partition at a time, and written out.
    Cost: one more read of the input and the key columns written once to local disk; memory
    is about one partition's keys (1/partitions of them) plus, in the main pass, the table of
    duplicated keys (small unless most keys repeat).
    """
    import polars as pl

    names = [f"__key{k}" for k in range(len(check.key))]
    keys = frame.filter(check.fails).select(
        key.alias(name) for key, name in zip(check.key, names, strict=True)
    )
    parts = spill.directory / f"check{n}"
    bucket = (pl.struct(names).hash(_PARTITION_SEED) % spill.partitions).alias("part")
    keys.sink_parquet(pl.PartitionBy(parts, key=bucket, include_key=False), mkdir=True)
    found = []
    for part in sorted(parts.glob("part=*")):
        target = parts / f"{part.name}.duplicates.parquet"
        pl.scan_parquet(part / "*.parquet").group_by(names).agg(pl.len().alias("__count")).filter(
            pl.col("__count") > 1
        ).select(names).sink_parquet(target)
        found.append(target)
    if not found:
        return pl.LazyFrame(schema=keys.collect_schema())
    return pl.scan_parquet(found)


def _rejects(
    invalid: pl.LazyFrame,
    found: list[Check],
    flags: list[pl.Expr],
    row: pl.Expr,
    sources: list[str],
) -> pl.LazyFrame:
    """One line per broken rule (row, column, rule, value, message), in row order.

    Each invalid row becomes one line per broken check by exploding the list of their
    indices; the value and message are then chosen by that index (``_chosen``). Exploding
    the values and messages as well (three list columns at once) held every invalid row's
    source strings until the end, growing with the file; a list of structs made with
    when/then was measured 10x slower. Only invalid rows reach here, so messages are
    formatted for them alone.
    """
    import polars as pl

    if not found:
        return invalid.select(
            row.alias("row"),
            *(pl.lit(None, dtype=pl.String).alias(label) for label in REJECT_COLUMNS),
        )
    check = pl.col("__broken")
    broken = pl.concat_list(
        [pl.when(flag).then(pl.lit(n, dtype=pl.Int32)) for n, flag in enumerate(flags)]
    ).list.drop_nulls()
    values = [
        item.value.cast(pl.String) if item.value is not None else pl.lit(None, dtype=pl.String)
        for item in found
    ]
    return (
        invalid.select(row, pl.col(sources), *flags, broken.alias("__broken"))
        .explode("__broken")
        .select(
            row.alias("row"),
            _pick([item.column for item in found], check).alias("column"),
            _pick([item.rule for item in found], check).alias("rule"),
            _chosen(values, check).alias("value"),
            _chosen([item.message for item in found], check).alias("message"),
        )
    )


def _chosen(options: list[pl.Expr], index: pl.Expr) -> pl.Expr:
    """The value of ``options[index]`` on each line.

    One masked branch per option, coalesced: a branch is null where ``index`` is another
    (so a null value stays null). Taking it from a ``concat_list`` of the options built a
    list per line and cost the step ~10x more (1.2 s of CPU for 120 k rejects).
    """
    import polars as pl

    return pl.coalesce(pl.when(index == n).then(option) for n, option in enumerate(options))


def _pick(labels: list[str], index: pl.Expr) -> pl.Expr:
    """The label at ``index`` in ``labels``.

    A list lookup: ``replace_strict`` with a mapping held every invalid row until the end
    in a multi-output streaming plan (memory grew with the file).
    """
    import polars as pl

    return pl.concat_list([pl.lit(label, dtype=pl.String) for label in labels]).list.get(index)


def _add(summary: dict[str, Any], counts: dict[str, Any]) -> None:
    for field_name in ("rows", "valid", "rejected"):
        summary[field_name] += counts[field_name]
    for rule, count in counts["byRule"].items():
        summary["byRule"][rule] = summary["byRule"].get(rule, 0) + count


def _first_messages(rejects_path: Any) -> list[str]:
    import polars as pl

    return (
        pl.scan_csv(rejects_path, infer_schema=False)
        .head(MESSAGES_IN_ERROR)
        .collect()
        .get_column("message")
        .to_list()
    )


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``."""
    return run_step(event, ValidateConfig, run)
