"""Frictionless Table Schema: parse a schema and turn its fields into polars expressions.

Each field becomes an expression that converts its text column into the field's type, with
explicit formats only (inference halves CSV throughput, and row-by-row guesses disagree).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from pipelines.steps.contract import ConfigError, InputError
from pipelines.steps.options import JsonSchema

if TYPE_CHECKING:
    import polars as pl

TYPES = ("string", "integer", "number", "boolean", "date", "datetime", "time", "year", "any")
# A datetime field's default format, in every step: RFC 3339 (ISO 8601) with any UTC offset
# (``Z``, ``+02:00``) and optional fractions of a second, read into UTC. Table Schema's own
# default form, ``2024-03-01T10:15:00Z``, is one of its forms.
ISO_DATETIME = "%Y-%m-%dT%H:%M:%S%.f%#z"
DEFAULT_FORMATS = {"date": "%Y-%m-%d", "datetime": ISO_DATETIME, "time": "%H:%M:%S"}
# The same values as Python reads them (bounds are checked when a schema is saved).
_ISO_DATETIME_TEXT = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$"
)
# strftime directives of a UTC offset: values with one are stored in UTC.
_OFFSET_DIRECTIVES = ("%z", "%#z", "%:z", "%::z")
# Thousands separators that are one for a groupChar of any of them: a space, a no-break
# space and a narrow no-break space (spreadsheets in Norwegian and French locales).
GROUP_SPACES = " \u00a0\u202f"
DEFAULT_TRUE = ("true", "True", "TRUE", "1")
DEFAULT_FALSE = ("false", "False", "FALSE", "0")
# Table Schema's string formats, as patterns of the whole value (as frictionless-py checks
# them: an address with one @ and a dot after it, a URI with a scheme, a UUID, base64).
STRING_FORMATS = {
    "email": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    "uri": r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$",
    "uuid": r"^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$",
    "binary": r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$",
}
CONSTRAINT_SCHEMAS: dict[str, Any] = {
    "required": {"type": "boolean"},
    "unique": {"type": "boolean"},
    "minimum": {"type": ["number", "string"]},
    "maximum": {"type": ["number", "string"]},
    "minLength": {"type": "integer", "minimum": 0},
    "maxLength": {"type": "integer", "minimum": 0},
    "pattern": {"type": "string"},
    "enum": {"type": "array", "minItems": 1},
}
CONSTRAINTS = tuple(CONSTRAINT_SCHEMAS)
# The field types minimum and maximum apply to, as in the Table Schema specification.
ORDERED_TYPES = ("integer", "number", "year", "date", "datetime", "time")
_WHOLE_NUMBER = re.compile(r"^[+-]?[0-9]+$")
_ONE_CHARACTER = {"type": "string", "minLength": 1, "maxLength": 1}
_STRINGS = {"type": "array", "items": {"type": "string"}}
# The Table Schema descriptors the steps read, as JSON Schema: the Frictionless properties
# Brygge uses or documents, nothing else, so a misspelt property is an error, not ignored.
JSON_SCHEMA: dict[str, Any] = {
    "title": "Table Schema",
    "description": "A Frictionless Table Schema (https://specs.frictionlessdata.io/table-schema/)"
    f" with the field types {', '.join(TYPES)}.",
    "type": "object",
    "required": ["fields"],
    "properties": {
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "title": {"type": "string"},
                    "description": {"type": "string"},
                    "example": {},
                    "rdfType": {"type": "string"},
                    "type": {"type": "string", "enum": list(TYPES), "default": "string"},
                    "format": {"type": "string"},
                    "decimalChar": _ONE_CHARACTER,
                    "groupChar": _ONE_CHARACTER,
                    "bareNumber": {"type": "boolean"},
                    "trueValues": _STRINGS,
                    "falseValues": _STRINGS,
                    "constraints": {
                        "type": "object",
                        "properties": CONSTRAINT_SCHEMAS,
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
            },
        },
        "missingValues": {**_STRINGS, "default": [""]},
        "primaryKey": {"type": ["string", "array"], "items": {"type": "string"}},
        "title": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}
# The type of a config option that holds a Table Schema: its options' JSON Schema is the above.
TableSchemaDescriptor = Annotated[dict[str, Any], JsonSchema(JSON_SCHEMA)]


@dataclass(frozen=True, slots=True)
class Field:
    """One column of a Table Schema."""

    name: str
    type: str = "string"
    format: str | None = None
    decimal_char: str = "."
    group_char: str | None = None
    bare_number: bool = True  # false: text before and after the number is dropped ("95 %")
    true_values: tuple[str, ...] = DEFAULT_TRUE
    false_values: tuple[str, ...] = DEFAULT_FALSE
    constraints: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TableSchema:
    """The parts of a Table Schema the steps use."""

    fields: tuple[Field, ...]
    missing_values: tuple[str, ...] = ("",)
    primary_key: tuple[str, ...] = ()

    def field(self, name: str) -> Field | None:
        return next((item for item in self.fields if item.name == name), None)

    @property
    def empty_is_missing(self) -> bool:
        """Whether an empty value is missing; ``missingValues: []`` makes it a value."""
        return "" in self.missing_values


def csv_missing_options(schema: TableSchema, *, has_quotes: bool) -> dict[str, Any]:
    """``polars.scan_csv`` arguments reading the schema's missing values, and no others, as null.

    polars reads an empty value as null only when it is not quoted: ``""`` is missing by
    the default ``missingValues`` too, which ``null_values`` says, and with no ``""`` among
    them neither is missing. Table Schema compares the text, however it was quoted. In a
    file without quotes (``has_quotes`` false) the empty ones need no ``null_values``,
    which cost a comparison per value (about 3 % of validate's time).
    """
    missing = [value for value in schema.missing_values if has_quotes or value != ""]
    return {
        "null_values": missing or None,
        "empty_string_is_null": schema.empty_is_missing,
    }


def has_no_value(columns: list[str], schema: TableSchema | None) -> pl.Expr:
    """Whether a row of these text columns holds no value: a blank line, which polars reads
    as a row of nulls, or of empty strings where an empty value is no missing value."""
    import polars as pl

    if schema is None or schema.empty_is_missing:
        return pl.all_horizontal(pl.col(columns).is_null())
    return pl.all_horizontal(pl.col(columns).is_null() | (pl.col(columns) == ""))


def parse_schema(raw: Any, *, option: str = "schema", decimal_char: str = ".") -> TableSchema:
    """Read a Table Schema descriptor; raises ConfigError naming the bad part."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        raise ConfigError(option, "must be a Table Schema object with a 'fields' list")
    fields = tuple(
        _parse_field(item, f"{option}.fields[{n}]", decimal_char)
        for n, item in enumerate(raw["fields"])
    )
    names = [item.name for item in fields]
    if len(set(names)) != len(names):
        raise ConfigError(f"{option}.fields", "field names must be unique")
    missing = raw.get("missingValues", [""])
    if not isinstance(missing, list) or not all(isinstance(value, str) for value in missing):
        raise ConfigError(f"{option}.missingValues", "must be a list of strings")
    primary_key = raw.get("primaryKey", [])
    if isinstance(primary_key, str):
        primary_key = [primary_key]
    if not isinstance(primary_key, list) or any(name not in names for name in primary_key):
        raise ConfigError(f"{option}.primaryKey", "must name fields of the schema")
    return TableSchema(fields, tuple(missing), tuple(primary_key))


def _parse_field(raw: Any, option: str, decimal_char: str) -> Field:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise ConfigError(option, "must be an object with a 'name'")
    kind = raw.get("type", "string")
    if kind not in TYPES:
        raise ConfigError(f"{option}.type", f"must be one of {', '.join(TYPES)}, not {kind!r}")
    fmt = raw.get("format")
    if fmt in (None, "default"):
        fmt = DEFAULT_FORMATS.get(kind)
    elif kind in DEFAULT_FORMATS and (fmt == "any" or "%" not in str(fmt)):
        raise ConfigError(f"{option}.format", "give an explicit strftime pattern such as %d.%m.%Y")
    elif kind == "string" and fmt not in STRING_FORMATS:
        choices = ", ".join(["default", *STRING_FORMATS])
        raise ConfigError(f"{option}.format", f"must be one of {choices}, not {fmt!r}")
    constraints = raw.get("constraints", {})
    if not isinstance(constraints, dict):
        raise ConfigError(f"{option}.constraints", "must be an object")
    unknown = sorted(set(constraints) - set(CONSTRAINTS))
    if unknown:
        raise ConfigError(f"{option}.constraints.{unknown[0]}", "is not a supported constraint")
    if "pattern" in constraints:
        try:
            re.compile(constraints["pattern"])
        except (re.error, TypeError) as error:
            raise ConfigError(f"{option}.constraints.pattern", f"invalid: {error}") from None
    if "enum" in constraints and not isinstance(constraints["enum"], list):
        raise ConfigError(f"{option}.constraints.enum", "must be a list")
    decimal_char = raw.get("decimalChar", decimal_char)
    if raw.get("groupChar") is not None and raw["groupChar"] == decimal_char:
        raise ConfigError(f"{option}.groupChar", "must differ from the decimalChar")
    item = Field(
        name=raw["name"],
        type=kind,
        format=fmt,
        decimal_char=decimal_char,
        group_char=raw.get("groupChar"),
        bare_number=raw.get("bareNumber", True),
        true_values=tuple(raw.get("trueValues", DEFAULT_TRUE)),
        false_values=tuple(raw.get("falseValues", DEFAULT_FALSE)),
    )
    return dataclasses.replace(item, constraints=_typed_constraints(item, constraints, option))


def _typed_constraints(item: Field, constraints: dict[str, Any], option: str) -> dict[str, Any]:
    """The constraints with ``minimum``/``maximum`` in the field's type; raises ConfigError.

    A bound or an ``enum`` value of a numeric field may be given as text, as frictionless
    reads it (``"2"``, ``"1,5"`` with a decimal comma); a date, datetime or time bound is
    text in the field's format. A value that is not of the field's type would compare every
    row with something it can never equal, or fail the run blaming the file.
    """
    typed_constraints = dict(constraints)
    for name in ("minimum", "maximum"):
        if name not in constraints:
            continue
        where = f"{option}.constraints.{name}"
        if item.type not in ORDERED_TYPES:
            raise ConfigError(
                where, f"applies to {', '.join(ORDERED_TYPES)} fields, not {item.type}"
            )
        typed_constraints[name] = _in_field_type(item, constraints[name], where)
    if item.type in ("integer", "number", "year") and isinstance(constraints.get("enum"), list):
        for value in constraints["enum"]:
            _in_field_type(item, value, f"{option}.constraints.enum")
    for name in ("minLength", "maxLength"):
        value = constraints.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(
                f"{option}.constraints.{name}",
                f"must be a whole number of characters, 0 or more, not {value!r}",
            )
    # Bounds no value can meet reject every row of every file: a mistake, said at save.
    low, high = constraints.get("minLength"), constraints.get("maxLength")
    if low is not None and high is not None and low > high:
        raise ConfigError(
            f"{option}.constraints.minLength",
            f"{low} is more than the maxLength {high}: no value could pass",
        )
    low, high = typed_constraints.get("minimum"), typed_constraints.get("maximum")
    if low is not None and high is not None and _above(item, low, high):
        raise ConfigError(
            f"{option}.constraints.minimum",
            f"{low!r} is above the maximum {high!r}: no value could pass",
        )
    return typed_constraints


def _above(item: Field, low: Any, high: Any) -> bool:
    """Whether the bound ``low`` is above ``high`` (dates, datetimes and times as text in
    the field's format; a format Python cannot read, with polars' own directives, is not
    compared)."""
    if item.type in ("date", "datetime", "time"):
        try:
            low = _parsed_bound(item, low)
            high = _parsed_bound(item, high)
        except ValueError:
            return False
    return bool(low > high)


def _parsed_bound(item: Field, value: str) -> datetime.datetime:
    """A date, datetime or time bound read as its field reads it; raises ValueError."""
    if item.format == ISO_DATETIME:
        if not _ISO_DATETIME_TEXT.match(value):
            raise ValueError(f"time data {value!r} does not match format {item.format!r}")
        return datetime.datetime.fromisoformat(value)
    return datetime.datetime.strptime(value, str(item.format))


def _in_field_type(item: Field, value: Any, where: str) -> Any:
    """``value`` as a bound of the field: a number for numeric fields, else the text."""
    problem = f"{value!r} is not {'an' if item.type == 'integer' else 'a'} {item.type}"
    if item.type in ("date", "datetime", "time"):
        if not isinstance(value, str):
            raise ConfigError(where, f"{problem}: give it as text in the format {item.format}")
        try:
            _parsed_bound(item, value)
        except ValueError as error:
            # Python does not know every directive polars does (%.f, %:z): those run as given.
            if "does not match format" in str(error) or "unconverted data" in str(error):
                raise ConfigError(where, f"{problem} in the format {item.format}") from None
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(where, problem)
    if isinstance(value, str):
        text = value.replace(item.group_char, "") if item.group_char else value
        text = text.replace(item.decimal_char, ".")
        try:
            number = float(text) if item.type == "number" else None
        except ValueError:
            raise ConfigError(where, problem) from None
        if number is None and not _WHOLE_NUMBER.match(text):
            raise ConfigError(where, problem)
        return number if number is not None else int(text)
    if item.type != "number" and not float(value).is_integer():
        raise ConfigError(where, problem)
    return value


def check_columns(schema: TableSchema, columns: list[str], *, name: str) -> None:
    """Raise InputError when the file ``name`` lacks a column the schema names.

    The message lists the columns the file has (the first 20), so a misspelt name shows, and
    points out a column that differs from the name only in spaces or case.
    """
    missing = [item.name for item in schema.fields if item.name not in columns]
    if missing:
        shown = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
        message = (
            f"{name} has no column {missing[0]!r} named in the schema; its columns are {shown}"
        )
        # Spaces around a name do not show in the list above.
        wanted = missing[0].strip().casefold()
        near = next((column for column in columns if column.strip().casefold() == wanted), None)
        if near is not None:
            message += (
                f"; the file has {near!r}, which differs from {missing[0]!r} in spaces or case"
            )
        raise InputError(message)


def takes_any_text(item: Field) -> bool:
    """Whether every text is a valid value of the field: no type and no format to check."""
    return item.type == "any" or (item.type == "string" and item.format is None)


def polars_type(item: Field) -> pl.DataType:
    """The polars type a field's values take (a datetime read with a UTC offset: in UTC)."""
    import polars as pl

    if item.type == "datetime" and any(
        directive in (item.format or "") for directive in _OFFSET_DIRECTIVES
    ):
        return pl.Datetime("us", "UTC")
    return {
        "string": pl.String(),
        "any": pl.String(),
        "integer": pl.Int64(),
        "number": pl.Float64(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
        "datetime": pl.Datetime("us"),
        "time": pl.Time(),
        "year": pl.Int32(),
    }[item.type]


def typed(item: Field, column: pl.Expr, *, strict: bool, check_years: bool = True) -> pl.Expr:
    """Convert a text column into the field's type; with ``strict=False`` bad values are null.

    ``check_years=False`` leaves out ``with_whole_years``, for a caller that applies it to
    the value it keeps: within one expression polars parses the text twice.
    """
    import polars as pl

    kind = item.type
    if kind == "string" and item.format in STRING_FORMATS:
        matches = column.str.contains(STRING_FORMATS[item.format])
        if strict:
            # As for booleans: a cast that fails on the first value not in the format.
            failed = column.cast(pl.Boolean, strict=True).cast(pl.String)
            return pl.when(column.is_not_null() & ~matches).then(failed).otherwise(column)
        return pl.when(matches).then(column)
    if kind in ("string", "any"):
        return column
    if kind in ("integer", "number", "year"):
        # No strip: Table Schema numbers carry no padding, and stripping copies every value.
        text = column
        if not item.bare_number and kind != "year":
            # As frictionless-py reads it: what precedes a digit or a minus sign, and what
            # follows the last digit ("kr 1 234,50", "95 %", "EUR -5").
            text = text.str.replace_all(r"^[^-0-9]+|[^0-9]+$", "")
        if item.group_char and item.group_char in GROUP_SPACES:
            # A space as group separator comes as a no-break space (or a narrow one) from
            # spreadsheets and SSB, whichever space the schema names: one file mixes them.
            text = text.str.replace_all(f"[{GROUP_SPACES}]", "")
        elif item.group_char:
            text = text.str.replace_all(item.group_char, "", literal=True)
        if item.decimal_char != ".":
            # A dot left over (not the group char, removed above) is no decimal point here:
            # "1.500" must not read as 1.5. An underscore makes the cast fail on it.
            text = text.str.replace_all(".", "_", literal=True)
            text = text.str.replace(item.decimal_char, ".", literal=True)
        return text.cast(polars_type(item), strict=strict)
    if kind == "boolean":
        truthy = column.is_in(list(item.true_values))
        falsy = column.is_in(list(item.false_values))
        result = pl.when(truthy).then(True).when(falsy).then(False).otherwise(None)
        if strict:
            # Strict conversion fails loudly on the first unknown word, like a cast would.
            bad = column.is_not_null() & ~truthy & ~falsy
            return pl.when(bad).then(column.cast(pl.Boolean, strict=True)).otherwise(result)
        return result
    # No cache: polars' cache of parsed strings costs more than it saves, even for a date
    # column of 1,500 distinct values in 2 M rows (measured 15-20% more CPU with it).
    if kind == "date":
        parsed = column.str.to_date(item.format, strict=strict, cache=False)
    elif kind == "datetime":
        parsed = column.str.to_datetime(item.format, time_unit="us", strict=strict, cache=False)
    else:
        return column.str.to_time(item.format, strict=strict, cache=False)
    return with_whole_years(item, parsed, strict=strict) if check_years else parsed


def with_whole_years(item: Field, value: pl.Expr, *, strict: bool) -> pl.Expr:
    """``value`` (the field's parsed column) without the values whose year ``whole_year``
    finds misread: null, or with ``strict`` a failure as a strict conversion fails."""
    import polars as pl

    year_read = whole_year(item, value)
    if year_read is None:
        return value
    if strict:
        # A cast that fails where a year is misread.
        misread = ((~year_read).cast(pl.Int8) * -1).cast(pl.UInt8, strict=True)
        return pl.when(misread == 0).then(value)
    return pl.when(year_read).then(value)


# The first year a date or datetime read with %Y may have: an earlier one is taken for a year
# written with fewer digits (whole_year), by every step and by the events the API takes.
FIRST_YEAR = 1000


def whole_year(item: Field, parsed: pl.Expr) -> pl.Expr | None:
    """Where a date or datetime read with ``%Y`` has its year whole; None for other fields.

    polars reads ``%Y`` from any number of digits: ``1.3.24`` with ``%d.%m.%Y`` was the year
    24. A year before 1000 is taken for such a misreading: one comparison of the parsed
    value, where checking the text would cost as much as parsing it.
    """
    import polars as pl

    if item.type not in ("date", "datetime") or "%Y" not in str(item.format):
        return None
    return parsed >= pl.lit(datetime.datetime(FIRST_YEAR, 1, 1)).cast(polars_type(item))


def table_schema_type(dtype: pl.DataType) -> str:
    """The Table Schema type describing a polars column type (for published schemas)."""
    import polars as pl

    if dtype.is_integer():
        return "integer"
    if dtype.is_float() or dtype.is_decimal():
        return "number"
    if dtype == pl.Boolean:
        return "boolean"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    if dtype == pl.Time:
        return "time"
    if dtype == pl.String:
        return "string"
    return "any"


def raise_first_bad_value(
    text: pl.LazyFrame,
    checks: list[tuple[Field, pl.Expr]],
    *,
    first: int,
    where: tuple[str, str],
    name: str,
) -> None:
    """Raise InputError naming the first value for which its check holds, if one does.

    ``text`` holds the fields as text; each check is (field, expression true where its value
    fails). Rows are numbered from ``first``; ``where`` names a row and a column as the file
    does (``("row", "column")`` for CSV, ``("record", "field")`` for JSON).
    """
    import polars as pl

    if not checks:
        return
    fails = [fail for _, fail in checks]
    found = (
        text.with_row_index("__row", offset=first)
        .filter(pl.any_horizontal(fails))
        .select(
            "__row",
            *(fail.alias(f"__fails{n}") for n, fail in enumerate(fails)),
            *(pl.col(item.name).alias(f"__value{n}") for n, (item, _) in enumerate(checks)),
        )
        .head(1)
        .collect()
    )
    if found.height == 0:
        return
    row = found.row(0, named=True)
    for n, (item, _) in enumerate(checks):
        if row[f"__fails{n}"]:
            expected = f"{item.type} (format {item.format})" if item.format else item.type
            raise InputError(
                f"{name}: {where[0]} {row['__row']}, {where[1]} {item.name!r}: "
                f"{row[f'__value{n}']!r} is not a valid {expected}"
            )
