"""Event datasets: the ``source`` of a dataset, checking one event against its schema.

A dataset's ``source`` is ``{"type": "file"}`` (the default: files arrive by upload) or
``{"type": "event", "schema": ..., "key": [...], "time": ..., "batch": ...}``: flat JSON
events posted to the API. ``schema`` is a Frictionless Table Schema subset: ``fields`` with
``name``, ``type`` (string, integer, number, boolean, date, datetime) and ``constraints``
(required, minimum, maximum, enum, pattern, minLength, maxLength), and ``missingValues``
(strings that mean "no value"; Table Schema's default is ``[""]``). ``key`` names the fields
that identify a series (a sensor), ``time`` the field that orders its events, and the
optional ``id`` the field whose value identifies one event: an event whose id was accepted
before is a duplicate, accepted once (``repositories/events.py``). ``enrich``
adds columns of a lookup dataset to each accepted event (``catalogue.domain.enrichment``).
``sns.topics`` lists the Amazon SNS topics that may deliver events to
``.../events/sns`` (``catalogue.domain.sns``).
``batch`` (``maxEvents``, ``maxSeconds``) is kept for the history of events, which writes
accepted events to the lake in batch windows.

Pure Python on purpose: the API checks every posted event with it, and loads no data frame
library to do so.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from catalogue.domain.enrichment import enrich_errors
from catalogue.domain.errors import InvalidValues
from catalogue.domain.numbers import is_stored_number
from catalogue.domain.sns import sns_errors
from pipelines.steps.table_schema import FIRST_YEAR

FILE, EVENT = "file", "event"
FIELD_TYPES = ("string", "integer", "number", "boolean", "date", "datetime")
CONSTRAINTS = ("required", "minimum", "maximum", "enum", "pattern", "minLength", "maxLength")
NUMERIC = ("integer", "number")
# Types a series key may have (a key is text in URLs) and an event's time may have.
KEY_TYPES = ("string", "integer")
TIME_TYPES = ("datetime", "date", "integer", "number")
DEFAULT_BATCH = {"maxEvents": 10_000, "maxSeconds": 300}
MAX_FIELDS = 200
MAX_PATTERN = 500
# Separates the values of a key of several fields; "%" and "," inside a value are
# percent-encoded, so the text of a key names exactly one series.
KEY_SEPARATOR = ","
# A series key is a sort key: DynamoDB holds at most 1,024 bytes there.
MAX_KEY_BYTES = 1024
# An event is a reading, not a document: larger ones are refused (and kept only in part).
MAX_EVENT_BYTES = 16_384
# The texts and integers the history's json_to_parquet reads (RFC 3339 with seconds, the
# offset as Z, +hh:mm, +hhmm or +hh; Parquet INT64), so an accepted event never fails its
# window's run: datetime.fromisoformat also takes forms that step refuses (20260601T1200Z).
DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
)
DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
INTEGER_RANGE = range(-(2**63), 2**63)

Errors = dict[str, Any]


def is_event_source(dataset: Mapping[str, Any]) -> bool:
    """Whether the dataset takes events (rather than uploaded files)."""
    source = dataset.get("source")
    return isinstance(source, Mapping) and source.get("type") == EVENT


def check_source(source: object) -> dict[str, Any]:
    """The source, with defaults filled in; InvalidValues naming every broken field.

    The errors nest under ``source`` as the body does: ``{"source": {"time": [...]}}``.
    """
    normalised, errors = source_errors(source)
    if errors:
        raise InvalidValues("the dataset's source is not valid", {"source": errors})
    return normalised


def source_errors(source: object) -> tuple[dict[str, Any], Errors]:
    """The normalised source and the errors found in it (empty when it is valid)."""
    if not isinstance(source, Mapping):
        return {}, {"_schema": ["must be an object with a type (file or event)"]}
    kind = source.get("type", FILE)
    if kind == FILE:
        extra = sorted(set(source) - {"type"})
        return {"type": FILE}, {name: ["a file source takes no other fields"] for name in extra}
    if kind != EVENT:
        return {}, {"type": ["must be file or event"]}
    errors: Errors = {}
    unknown = set(source) - {"type", "schema", "key", "time", "id", "batch", "enrich", "sns"}
    for name in sorted(unknown):
        errors[name] = ["unknown field"]
    schema, schema_errors = _schema(source.get("schema"))
    if schema_errors:
        errors["schema"] = schema_errors
    types = {field["name"]: field["type"] for field in schema.get("fields", [])}
    key = source.get("key")
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        errors["key"] = ["must be a non-empty list of field names"]
    elif len(set(key)) != len(key):
        errors["key"] = ["names a field twice"]
    elif not schema_errors:
        problems = [_field_problem(name, types, KEY_TYPES) for name in key]
        if any(problems):
            errors["key"] = [problem for problem in problems if problem]
    time = source.get("time")
    if not isinstance(time, str) or not time:
        errors["time"] = ["must name the field that orders a series' events"]
    elif not schema_errors:
        problem = _field_problem(time, types, TIME_TYPES)
        if problem:
            errors["time"] = [problem]
        elif isinstance(key, list) and time in key:
            errors["time"] = ["the time field cannot be part of the key"]
    event_id = source.get("id")
    if event_id is not None:
        if not isinstance(event_id, str) or not event_id:
            errors["id"] = ["must name the field that identifies an event"]
        elif not schema_errors:
            problem = _field_problem(event_id, types, KEY_TYPES)
            if problem:
                errors["id"] = [problem]
    batch, batch_errors = _batch(source.get("batch"))
    if batch_errors:
        errors["batch"] = batch_errors
    enrich = source.get("enrich")
    if enrich is not None:
        enrich, enrich_problems = enrich_errors(enrich, {} if schema_errors else types)
        if enrich_problems:
            errors["enrich"] = enrich_problems
    sns = source.get("sns")
    if sns is not None:
        sns, sns_problems = sns_errors(sns)
        if sns_problems:
            errors["sns"] = sns_problems
    normalised: dict[str, Any] = {
        "type": EVENT,
        "schema": schema,
        "key": key,
        "time": time,
        "batch": batch,
    }
    if event_id is not None:
        normalised["id"] = event_id
    if enrich is not None:
        normalised["enrich"] = enrich
    if sns is not None:
        normalised["sns"] = sns
    return normalised, errors


def _field_problem(name: str, types: Mapping[str, str], allowed: Sequence[str]) -> str | None:
    if name not in types:
        return f"{name!r} is not a field of the schema"
    if types[name] not in allowed:
        return f"{name!r} is a {types[name]}; it must be one of {', '.join(allowed)}"
    return None


def _batch(batch: object) -> tuple[dict[str, int], Errors]:
    if batch is None:
        return dict(DEFAULT_BATCH), {}
    if not isinstance(batch, Mapping):
        return {}, {"_schema": ["must be an object with maxEvents and maxSeconds"]}
    errors: Errors = {}
    result = dict(DEFAULT_BATCH)
    for name in sorted(set(batch) - set(DEFAULT_BATCH)):
        errors[name] = ["unknown field"]
    for name in DEFAULT_BATCH:
        if name in batch:
            value = batch[name]
            if not _is_int(value) or value < 1:
                errors[name] = ["must be a positive integer"]
            else:
                result[name] = value
    return result, errors


def _schema(schema: object) -> tuple[dict[str, Any], Errors]:
    if not isinstance(schema, Mapping):
        return {}, {"_schema": ["must be a Table Schema object with fields"]}
    errors: Errors = {}
    for name in sorted(set(schema) - {"fields", "missingValues"}):
        errors[name] = ["unknown field"]
    missing = schema.get("missingValues", [""])
    if not isinstance(missing, list) or not all(isinstance(value, str) for value in missing):
        errors["missingValues"] = ["must be a list of strings"]
    fields = schema.get("fields")
    if not isinstance(fields, list) or not fields:
        errors["fields"] = ["must be a non-empty list of fields"]
        return {}, errors
    if len(fields) > MAX_FIELDS:
        errors["fields"] = [f"at most {MAX_FIELDS} fields"]
        return {}, errors
    checked: list[dict[str, Any]] = []
    field_errors: Errors = {}
    seen: set[str] = set()
    for index, field in enumerate(fields):
        result, problems = _field(field)
        if not problems and result["name"] in seen:
            problems = {"name": [f"{result['name']!r} is named twice"]}
        if problems:
            field_errors[str(index)] = problems
        else:
            seen.add(result["name"])
            checked.append(result)
    if field_errors:
        errors["fields"] = field_errors
    return {"fields": checked, "missingValues": missing}, errors


def _field(field: object) -> tuple[dict[str, Any], Errors]:
    if not isinstance(field, Mapping):
        return {}, {"_schema": ["must be an object with a name and a type"]}
    errors: Errors = {}
    name, kind = field.get("name"), field.get("type", "string")
    for extra in sorted(set(field) - {"name", "type", "constraints", "title", "description"}):
        errors[extra] = ["unknown field"]
    if not isinstance(name, str) or not name:
        errors["name"] = ["must be a non-empty string"]
    if kind not in FIELD_TYPES:
        errors["type"] = [f"must be one of {', '.join(FIELD_TYPES)}"]
        return {}, errors
    constraints = field.get("constraints", {})
    if not isinstance(constraints, Mapping):
        errors["constraints"] = ["must be an object"]
    else:
        problems = _constraint_errors(kind, constraints)
        if problems:
            errors["constraints"] = problems
    result = {name_: value for name_, value in field.items() if name_ != "constraints"}
    result["type"] = kind
    if isinstance(constraints, Mapping) and constraints:
        result["constraints"] = dict(constraints)
    return result, errors


def _constraint_errors(kind: str, constraints: Mapping[str, Any]) -> Errors:
    errors: Errors = {}
    for name, value in constraints.items():
        if name not in CONSTRAINTS:
            errors[name] = [f"unknown constraint; one of {', '.join(CONSTRAINTS)}"]
        elif name == "required" and not isinstance(value, bool):
            errors[name] = ["must be true or false"]
        elif name in ("minimum", "maximum") and (kind not in NUMERIC or not _is_number(value)):
            errors[name] = ["applies to integer and number fields, and is a number"]
        elif name in ("minLength", "maxLength") and (
            kind != "string" or not _is_int(value) or value < 0
        ):
            errors[name] = ["applies to string fields, and is a non-negative integer"]
        elif name == "pattern":
            if kind != "string" or not isinstance(value, str) or len(value) > MAX_PATTERN:
                errors[name] = ["applies to string fields, and is a regular expression"]
            else:
                try:
                    re.compile(value)
                except re.error as error:
                    errors[name] = [f"not a regular expression: {error}"]
        elif name == "enum":
            if not isinstance(value, list) or not value:
                errors[name] = ["must be a non-empty list of values"]
            elif any(_typed(kind, item)[1] for item in value):
                errors[name] = [f"every value must be a {kind}"]
    return errors


# -- one event ---------------------------------------------------------------------------


def check_event(source: Mapping[str, Any], event: object) -> tuple[dict[str, Any], Errors]:
    """The event's values (missing values as None) and its errors, ``{field: [reasons]}``.

    Key and time fields are required whatever their constraints say: an event without them
    belongs to no series. Fields outside the schema are refused, so a misspelt field is
    never taken for a missing one. ``event_checker`` does the same for many events.
    """
    return event_checker(source)(event)


def event_checker(source: Mapping[str, Any]) -> Callable[[object], tuple[dict[str, Any], Errors]]:
    """``check_event`` of ``source`` with the schema read once: a batch's events share it."""
    schema = source["schema"]
    missing = frozenset(schema.get("missingValues", [""]))
    always = {*source["key"], source["time"], *([source["id"]] if "id" in source else [])}
    names = frozenset(field["name"] for field in schema["fields"])
    keys = frozenset(source["key"])
    fields = [
        (
            field["name"],
            field["type"],
            field.get("constraints", {}),
            bool(field.get("constraints", {}).get("required")) or field["name"] in always,
            [
                _typed(field["type"], item)[0]
                for item in field.get("constraints", {}).get("enum", [])
            ],
        )
        for field in schema["fields"]
    ]

    def check(event: object) -> tuple[dict[str, Any], Errors]:
        if not isinstance(event, Mapping):
            return {}, {"_event": ["an event is a JSON object"]}
        if (
            _may_exceed(event)
            and len(json.dumps(event, ensure_ascii=False).encode()) > MAX_EVENT_BYTES
        ):
            return {}, {"_event": [f"larger than {MAX_EVENT_BYTES} bytes of JSON"]}
        errors: Errors = {}
        values: dict[str, Any] = {}
        if not names.issuperset(event):
            for name in sorted(set(event) - names):
                if name:
                    errors[name] = ["not a field of the schema"]
                else:
                    # No store keeps an empty key (the reject holds its errors).
                    errors["_event"] = ['a field without a name ("") is not a field of the schema']
        for name, kind, constraints, required, allowed in fields:
            raw = event.get(name)
            if raw is None or (isinstance(raw, str) and raw in missing):
                if required:
                    errors[name] = ["required"]
                values[name] = None
                continue
            value, problem = _typed(kind, raw)
            if problem:
                errors[name] = [problem]
                continue
            reasons = _constraint_failures(kind, constraints, value, allowed) if constraints else []
            if reasons:
                errors[name] = reasons
                continue
            if name in keys and raw == "":
                errors[name] = ["must not be empty: it names the series"]
                continue
            values[name] = raw
        if not errors and len(series_key(source, values).encode()) > MAX_KEY_BYTES:
            errors["_key"] = [f"the series key is longer than {MAX_KEY_BYTES} bytes"]
        if (
            not errors
            and "id" in source
            and len(str(values[source["id"]]).encode()) > MAX_KEY_BYTES
        ):
            errors[source["id"]] = [f"an event id is at most {MAX_KEY_BYTES} bytes"]
        return values, errors

    return check


def _may_exceed(event: Mapping[str, Any]) -> bool:
    """Whether the event's JSON may be over MAX_EVENT_BYTES: a bound costing no encoding.

    A character takes at most 6 bytes (an escape), a number or literal at most 32, and each
    field 6 more (quotes, colon, comma); nested values are measured for real. Measured: the
    encoding was a fifth of the cost of checking a small event.
    """
    bound = 2
    for name, value in event.items():
        if isinstance(value, str):
            bound += 6 * (len(name) + len(value)) + 6
        elif value is None or isinstance(value, bool | int | float):
            bound += 6 * len(name) + 38
        else:
            return True
    return bound > MAX_EVENT_BYTES


def _typed(kind: str, raw: object) -> tuple[Any, str | None]:
    """The value of ``raw`` as ``kind`` compares it, or a reason it is not one."""
    if kind == "string":
        return (raw, None) if isinstance(raw, str) else (None, "must be a string")
    if kind == "integer":
        if _is_int(raw) and raw in INTEGER_RANGE:
            return raw, None
        return None, "must be an integer from -2^63 to 2^63-1"
    if kind == "number":
        if not _is_number(raw) or not _is_finite(raw):  # type: ignore[arg-type]
            return None, "must be a number"
        # An event holds only numbers every store keeps, so every store takes the same events.
        if not is_stored_number(raw):  # type: ignore[arg-type]
            return None, "outside the numbers every store keeps (1e-130 to 1e126, 38 digits)"
        return raw, None
    if kind == "boolean":
        return (raw, None) if isinstance(raw, bool) else (None, "must be true or false")
    if kind == "date":
        if isinstance(raw, str) and DATE_TEXT.fullmatch(raw):
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                pass
            else:
                if day.year < FIRST_YEAR:
                    return None, f"must fall in the years {FIRST_YEAR} to 9999"
                return day, None
        return None, "must be a date, YYYY-MM-DD"
    return _moment(raw)


def _moment(raw: object) -> tuple[datetime | None, str | None]:
    reason = "must be a date and time with seconds and a time zone (2026-06-01T12:00:00Z)"
    if not isinstance(raw, str) or not DATETIME_TEXT.fullmatch(raw):
        return None, reason
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None, reason
    try:
        in_utc = moment.astimezone(UTC)  # as sort_time compares it
    except OverflowError:
        in_utc = None
    # The history's steps take an earlier year for one written short (table_schema.whole_year).
    if in_utc is None or in_utc.year < FIRST_YEAR:
        return None, f"must fall in the years {FIRST_YEAR} to 9999 in UTC"
    return moment, None


def _constraint_failures(
    kind: str, constraints: Mapping[str, Any], value: Any, allowed: list[Any]
) -> list[str]:
    """Why ``value`` breaks ``constraints``; ``allowed`` is the enum's values, typed."""
    reasons = []
    if "minimum" in constraints and value < constraints["minimum"]:
        reasons.append(f"below the minimum {constraints['minimum']}")
    if "maximum" in constraints and value > constraints["maximum"]:
        reasons.append(f"above the maximum {constraints['maximum']}")
    if "enum" in constraints and value not in allowed:
        reasons.append(f"not one of {', '.join(map(str, constraints['enum']))}")
    if "minLength" in constraints and len(value) < constraints["minLength"]:
        reasons.append(f"shorter than {constraints['minLength']} characters")
    if "maxLength" in constraints and len(value) > constraints["maxLength"]:
        reasons.append(f"longer than {constraints['maxLength']} characters")
    if "pattern" in constraints and re.fullmatch(constraints["pattern"], value) is None:
        reasons.append(f"does not match {constraints['pattern']}")
    return reasons


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer beyond a float's range
        return False


# -- series and time ---------------------------------------------------------------------


def series_key(source: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    """The text naming an event's series: its key values, percent-escaped, comma-joined.

    ``{"sensorId": "s-1"}`` is ``s-1``; key ``["site", "depth"]`` with ``"a,b"`` and 2 is
    ``a%2Cb,2``. Put in a URL, the text is percent-encoded once more, as any path segment.
    """
    return KEY_SEPARATOR.join(_escape(str(values[name])) for name in source["key"])


def _escape(value: str) -> str:
    return value.replace("%", "%25").replace(KEY_SEPARATOR, "%2C")


def sort_time(source: Mapping[str, Any], values: Mapping[str, Any]) -> str | int | float:
    """The event's time as the store compares it: UTC ISO text of fixed width, or a number.

    Offsets are folded into UTC so ``12:00+02:00`` and ``10:00Z`` are the same moment.
    """
    field = next(f for f in source["schema"]["fields"] if f["name"] == source["time"])
    value = values[source["time"]]
    if field["type"] == "datetime":
        moment = datetime.fromisoformat(value).astimezone(UTC)
        # Not strftime: its %Y leaves years before 1000 unpadded (not fixed width), and it
        # costs twice as much.
        return moment.isoformat(timespec="microseconds")[:26] + "Z"
    if field["type"] == "date":
        return date.fromisoformat(value).isoformat()
    return value  # type: ignore[no-any-return]
