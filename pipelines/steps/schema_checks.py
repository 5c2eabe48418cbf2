"""The checks a Table Schema asks for, as polars expressions: validate's rules.

``plan`` turns a schema into one ``Check`` per rule and column (type, required, minimum,
maximum, minLength, maxLength, pattern, enum, unique) and one for the primary key, over
columns it computes once (``Plan.prepare``); the validate step runs them in one streaming
plan.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pipelines.steps.table_schema import (
    Field,
    TableSchema,
    polars_type,
    takes_any_text,
    typed,
    with_whole_years,
)

if TYPE_CHECKING:
    import polars as pl


@dataclass(frozen=True, slots=True)
class Check:
    """One rule on one column: where it fails, and how to say so.

    A check with a ``key`` (unique, primaryKey) fails where ``fails`` holds and the row's
    key appears more than once in the file, which the validate step finds beforehand.
    """

    column: str
    rule: str
    fails: pl.Expr
    message: pl.Expr
    value: pl.Expr | None = None
    key: tuple[pl.Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """The checks over a frame, and the columns computed once before them.

    ``prepare`` adds each field's value with missing values as null and its typed value (a
    non-strict conversion, so a bad value becomes null); every check of the field then reads
    those columns instead of converting the text again.
    """

    prepare: list[pl.Expr]
    checks: list[Check]


def plan(schema: TableSchema, frame_schema: pl.Schema, row: pl.Expr) -> Plan:
    """Every check the schema asks for, over the input frame plus ``Plan.prepare``."""
    import polars as pl

    prepare: list[pl.Expr] = []
    found: list[Check] = []
    for n, item in enumerate(schema.fields):
        raw, value, computed = _columns(item, schema, frame_schema, n)
        prepare += computed
        text = raw.cast(pl.String)

        def say(template: str, *args: pl.Expr, column: str = item.name) -> pl.Expr:
            return pl.format("row {}, column {}: " + template, row, pl.lit(column), *args)

        field_checks = _constraint_checks(item, raw, value, text, say)
        if value is not raw:
            # A value read as the field's type (a string field, a typed Parquet column)
            # cannot break the type rule, so no check is spent on it.
            type_check = Check(
                item.name,
                "type",
                raw.is_not_null() & value.is_null(),
                say("{} is not a valid {}", _quoted(text), pl.lit(_type_label(item))),
            )
            field_checks.insert(0, type_check)
        found += [
            check if check.value is not None else replace(check, value=text)
            for check in field_checks
        ]
    if schema.primary_key:
        label = ", ".join(schema.primary_key)
        # A missing part shows as nothing: the key is still one, and keys with a missing
        # part that repeat are duplicates (a null part made the whole message null).
        key_text = pl.concat_str(
            [pl.col(name).cast(pl.String).fill_null("") for name in schema.primary_key],
            separator=", ",
            ignore_nulls=False,
        )
        found.append(
            Check(
                label,
                "primaryKey",
                pl.lit(True),
                pl.format(
                    "row {}, columns {}: the primary key {} appears more than once",
                    row,
                    pl.lit(label),
                    _quoted(key_text),
                ),
                key_text,
                key=tuple(pl.col(name) for name in schema.primary_key),
            )
        )
    return Plan(prepare, found)


def _columns(
    item: Field, schema: TableSchema, frame_schema: pl.Schema, n: int
) -> tuple[pl.Expr, pl.Expr, list[pl.Expr]]:
    """The column as read (missing values as null), converted to the field's type, and the
    expressions that compute them once."""
    import polars as pl

    raw = pl.col(item.name)
    computed = []
    if frame_schema[item.name] == pl.String:
        extra_missing = [value for value in schema.missing_values if value != ""]
        if extra_missing:
            as_read = pl.when(raw.is_in(extra_missing)).then(None).otherwise(raw)
            computed.append(as_read.alias(f"__raw{n}"))
            raw = pl.col(f"__raw{n}")
        else:
            as_read = raw
        if takes_any_text(item):
            return raw, raw, computed
        conversion = typed(item, as_read, strict=False, check_years=False)
    elif frame_schema[item.name] == polars_type(item):
        return raw, raw, computed
    else:
        conversion = raw.cast(polars_type(item), strict=False)
    computed.append(conversion.alias(f"__value{n}"))
    value = pl.col(f"__value{n}")
    if frame_schema[item.name] == pl.String:
        # On the value computed once: within the conversion, polars parsed the text twice
        # (validate took 10 % longer).
        value = with_whole_years(item, value, strict=False)
    return raw, value, computed


def _type_label(item: Field) -> str:
    """The type a value failed, with the format it was read in (as csv_to_parquet says it)."""
    return f"{item.type} (format {item.format})" if item.format else item.type


def _quoted(text: pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.concat_str([pl.lit("'"), text, pl.lit("'")])


def _constraint_value(item: Field, value: Any) -> pl.Expr:
    """A constraint's bound in the field's own type (dates are given as text)."""
    import polars as pl

    if item.type in ("date", "datetime", "time") and isinstance(value, str):
        return typed(item, pl.lit(value), strict=True)
    return pl.lit(value)


def _constraint_checks(
    item: Field, raw: pl.Expr, value: pl.Expr, text: pl.Expr, say: Any
) -> list[Check]:
    import polars as pl

    constraints = item.constraints
    has_value = value.is_not_null()
    found = []
    if constraints.get("required") or False:
        found.append(Check(item.name, "required", raw.is_null(), say("a value is required")))
    shown = text
    if "minimum" in constraints:
        bound = constraints["minimum"]
        found.append(
            Check(
                item.name,
                "minimum",
                has_value & (value < _constraint_value(item, bound)),
                say("{} is below the minimum {}", shown, pl.lit(str(bound))),
            )
        )
    if "maximum" in constraints:
        bound = constraints["maximum"]
        found.append(
            Check(
                item.name,
                "maximum",
                has_value & (value > _constraint_value(item, bound)),
                say("{} is above the maximum {}", shown, pl.lit(str(bound))),
            )
        )
    length = text.str.len_chars()
    if "minLength" in constraints:
        bound = int(constraints["minLength"])
        found.append(
            Check(
                item.name,
                "minLength",
                has_value & (length < bound),
                say("{} is shorter than {} characters", _quoted(text), pl.lit(str(bound))),
            )
        )
    if "maxLength" in constraints:
        bound = int(constraints["maxLength"])
        found.append(
            Check(
                item.name,
                "maxLength",
                has_value & (length > bound),
                say("{} is longer than {} characters", _quoted(text), pl.lit(str(bound))),
            )
        )
    if "pattern" in constraints:
        pattern = constraints["pattern"]
        found.append(
            Check(
                item.name,
                "pattern",
                has_value & ~text.str.contains(f"^(?:{pattern})$"),
                say("{} does not match the pattern {}", _quoted(text), pl.lit(pattern)),
            )
        )
    if "enum" in constraints:
        allowed = constraints["enum"]
        options = pl.Series([str(option) for option in allowed], dtype=pl.String)
        allowed_values = options if item.type in ("string", "any") else _typed_series(item, options)
        found.append(
            Check(
                item.name,
                "enum",
                has_value & ~value.is_in(allowed_values.to_list()),
                say("{} is not one of {}", _quoted(text), pl.lit(", ".join(map(str, allowed)))),
            )
        )
    if constraints.get("unique"):
        found.append(
            Check(
                item.name,
                "unique",
                has_value,
                say("{} appears more than once", _quoted(text)),
                key=(value,),
            )
        )
    return found


def _typed_series(item: Field, options: pl.Series) -> pl.Series:
    import polars as pl

    return pl.select(typed(item, pl.lit(options), strict=False)).to_series()
