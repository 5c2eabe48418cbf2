"""Step options as JSON Schema: derived from a step's config dataclass, and checked against it.

The config dataclass is the one source of truth. ``options_schema`` turns its fields (type
hints, defaults, ``Literal`` choices, and ``Annotated[..., JsonSchema(...)]`` such as the
Table Schema) into a JSON Schema document; ``schema_problems`` checks a value against such a
document and returns every problem at once, each with the path of the option
(``schema.fields[1].type``).
Only the keywords these documents use are understood; this module imports no data library,
so the catalogue checks pipelines with it.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import re
import types
import typing
from dataclasses import dataclass
from typing import Any

from pipelines.steps.contract import camel_case

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_SIMPLE_TYPES = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}
_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


class JsonSchema:
    """``Annotated`` metadata giving an option's JSON Schema instead of the one its type gives.

    ``Annotated[dict[str, Any], JsonSchema({...})]``; hashed by identity, as ``typing``
    hashes the metadata of an ``Annotated`` type inside a union.
    """

    __slots__ = ("schema",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason an options object is not valid; ``path`` is empty for the object itself."""

    path: str
    reason: str


def options_schema(config_type: type, *, title: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a step's options object, from its config dataclass.

    Options are the fields in camelCase, described by ``field(metadata={"description": ...})``
    when given; a field without a default is required; no other option is allowed (as
    ``build_config`` rejects unknown keys).
    """
    hints = typing.get_type_hints(config_type, include_extras=True)
    properties: dict[str, Any] = {}
    required = []
    for spec in dataclasses.fields(config_type):
        name = camel_case(spec.name)
        prop = type_schema(hints[spec.name])
        if "description" in spec.metadata:
            prop["description"] = spec.metadata["description"]
        if spec.default is not dataclasses.MISSING:
            prop["default"] = _json_value(spec.default)
        elif spec.default_factory is not dataclasses.MISSING:
            prop["default"] = _json_value(spec.default_factory())
        else:
            required.append(name)
        properties[name] = prop
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT}
    if title:
        schema["title"] = title
    if config_type.__doc__:
        schema["description"] = _dedent_doc(config_type.__doc__)
    schema.update(type="object", properties=properties, additionalProperties=False)
    if required:
        schema["required"] = required
    return schema


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of values of one Python type hint."""
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        extras = [item for item in hint.__metadata__ if isinstance(item, JsonSchema)]
        return dict(extras[0].schema) if extras else type_schema(typing.get_args(hint)[0])
    if hint is Any:
        return {}
    if hint in _SIMPLE_TYPES:
        return {"type": _SIMPLE_TYPES[hint]}
    if origin is typing.Literal:
        choices = list(typing.get_args(hint))
        kinds = sorted({_SIMPLE_TYPES[type(choice)] for choice in choices})
        return {"type": kinds[0] if len(kinds) == 1 else kinds, "enum": choices}
    if origin in (typing.Union, types.UnionType):
        members = [type_schema(arg) for arg in typing.get_args(hint)]
        if all(set(member) == {"type"} for member in members):
            kinds = [member["type"] for member in members]
            return {"type": kinds}
        return {"anyOf": members}
    if origin in (list, tuple) or hint in (list, tuple):
        args = [arg for arg in typing.get_args(hint) if arg is not Ellipsis]
        return {"type": "array", **({"items": type_schema(args[0])} if args else {})}
    if origin is dict or hint is dict:
        args = typing.get_args(hint)
        values = type_schema(args[1]) if args else {}
        return {"type": "object", **({"additionalProperties": values} if values else {})}
    raise TypeError(f"no JSON Schema for the type hint {hint!r}")


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    return value


def _dedent_doc(doc: str) -> str:
    lines = doc.strip().splitlines()
    return "\n".join(line.strip() for line in lines)


# Checking ----------------------------------------------------------------------------------


def schema_problems(schema: dict[str, Any], value: Any, path: str = "") -> list[Problem]:
    """Every way ``value`` breaks ``schema``, each with the path that leads to it."""
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_type(value, kind) for kind in allowed):
            return [Problem(path, f"must be {_type_words(allowed)}, not {_shown(value)}")]
    if "anyOf" in schema:
        return _any_of_problems(schema["anyOf"], value, path)
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(_shown(choice) for choice in schema["enum"])
        return [Problem(path, f"must be one of {choices}, not {_shown(value)}")]
    if isinstance(value, str):
        return _string_problems(schema, value, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return [Problem(path, f"must be at least {schema['minimum']}, not {value}")]
        return []
    if isinstance(value, list):
        return _array_problems(schema, value, path)
    if isinstance(value, dict):
        return _object_problems(schema, value, path)
    return []


def _any_of_problems(members: list[dict[str, Any]], value: Any, path: str) -> list[Problem]:
    results = [schema_problems(member, value, path) for member in members]
    if any(not problems for problems in results):
        return []
    # The member whose type fits explains best what is wrong; else name every type allowed.
    fitting = [
        problems
        for member, problems in zip(members, results, strict=True)
        if "type" not in member or any(_is_type(value, kind) for kind in _types(member))
    ]
    if fitting:
        return fitting[0]
    allowed = [kind for member in members for kind in _types(member)]
    return [Problem(path, f"must be {_type_words(allowed)}, not {_shown(value)}")]


def _string_problems(schema: dict[str, Any], value: str, path: str) -> list[Problem]:
    problems = []
    if "minLength" in schema and len(value) < schema["minLength"]:
        problems.append(Problem(path, f"must have at least {schema['minLength']} character(s)"))
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        problems.append(Problem(path, f"must have at most {schema['maxLength']} character(s)"))
    if "pattern" in schema and not re.search(schema["pattern"], value):
        problems.append(Problem(path, f"must match {schema['pattern']}, not {_shown(value)}"))
    return problems


def _array_problems(schema: dict[str, Any], value: list[Any], path: str) -> list[Problem]:
    problems = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(Problem(path, f"must have at least {schema['minItems']} item(s)"))
    if "items" in schema:
        for index, item in enumerate(value):
            problems.extend(schema_problems(schema["items"], item, f"{path}[{index}]"))
    return problems


def _object_problems(schema: dict[str, Any], value: dict[str, Any], path: str) -> list[Problem]:
    properties: dict[str, Any] = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    known = ", ".join(properties)
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        return [Problem(path, f"needs at least {schema['minProperties']} of the keys {known}")]
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return [Problem(path, f"takes at most {schema['maxProperties']} of the keys {known}")]
    problems = [
        Problem(_join(path, name), "is required")
        for name in schema.get("required", [])
        if name not in value
    ]
    for name, item in value.items():
        where = _join(path, str(name))
        if name in properties:
            problems.extend(schema_problems(properties[name], item, where))
        elif extra is False:
            problems.append(Problem(where, _unknown_key(str(name), list(properties), path)))
        elif isinstance(extra, dict):
            problems.extend(schema_problems(extra, item, where))
    return problems


def _unknown_key(name: str, known: list[str], path: str) -> str:
    word = "option" if not path else "key"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown {word}; {hint}known {word}s: {', '.join(known)}"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _types(member: dict[str, Any]) -> list[str]:
    kinds = member.get("type", [])
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _is_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    python = {
        "string": str,
        "boolean": bool,
        "object": dict,
        "array": list,
        "null": type(None),
    }[kind]
    return isinstance(value, python)


def _type_words(kinds: list[str]) -> str:
    words = list(dict.fromkeys(_TYPE_WORDS[kind] for kind in kinds))
    return " or ".join(words)


def _shown(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return json.dumps(value, ensure_ascii=False)[:80]
