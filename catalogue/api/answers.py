"""JSON answers of the hot read views: jsonify's very bytes, written by orjson.

Flask's ``jsonify`` (json.dumps, ASCII only, keys in their order, compact, a newline) is
most of what answering a page of datasets costs past reading it. orjson writes the same
document in a tenth of the time; the few characters it writes differently (non-ASCII text
and DEL, which json escapes) are escaped after, as json does. Floats it writes in its own
notation (1e16, not 1e+16; null for NaN), so callers only ask for documents that cannot
hold one. Anything orjson refuses (a date, a Decimal, a lone surrogate, an integer past
64 bits) goes to jsonify, and so does everything where orjson is not installed (an
environment made before it joined setup.cfg).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app
from flask.json.provider import DefaultJSONProvider

try:
    import orjson
except ImportError:  # pragma: no cover - setup.cfg installs it
    orjson = None

# Characters json's ensure_ascii escapes and orjson writes as they are (it escapes the
# controls, the quote and the backslash as json does).
_UNESCAPED = re.compile("[\x7f-\U0010ffff]")
# Types orjson would write itself where Flask's provider has its own way: sent to default,
# which refuses them, so jsonify writes them.
_OPTIONS = (
    orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
    if orjson is not None
    else 0
)


# The provider's own dumps: a subclass writing otherwise is left to jsonify.
_PLAIN_DUMPS = DefaultJSONProvider.dumps


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is for jsonify to write")


def json_bytes(data: Any) -> bytes | None:
    """``data`` as ``jsonify`` writes it; None when only jsonify can say.

    ``data`` must hold no float (see the module's docstring).
    """
    return _json_bytes(current_app, data)


def _json_bytes(app: Flask, data: Any) -> bytes | None:
    provider = app.json
    if (
        orjson is None
        or type(provider).dumps is not _PLAIN_DUMPS
        or not provider.ensure_ascii  # type: ignore[attr-defined]
        or provider.sort_keys  # type: ignore[attr-defined]
        or provider.compact is False  # type: ignore[attr-defined]
        or (provider.compact is None and app.debug)  # type: ignore[attr-defined]
    ):
        return None
    try:
        written = orjson.dumps(data, default=_refuse, option=_OPTIONS)
    except TypeError:
        return None
    if written.isascii() and b"\x7f" not in written:
        return written
    return _UNESCAPED.sub(_escape, written.decode("utf-8")).encode("ascii")


def answer(
    schema: ma.Schema | None,
    result: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    *,
    floatless: bool,
) -> Response:
    """The response flask-smorest's ``response`` would make of ``result`` dumped by ``schema``.

    ``schema`` None: ``result`` is the dump already. ``floatless``: the caller knows the
    dump holds no float, so orjson may write it.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    dumped = result if schema is None else schema.dump(result)
    body = _json_bytes(app, dumped) if floatless else None
    if body is None:
        response = app.json.response(dumped)
    else:
        response = app.response_class(body, mimetype="application/json")
    if headers:
        # One add per header: Headers.extend takes any mapping or iterable and asks which
        # it was given, a third of what adding two headers costs.
        add = response.headers.add
        for name, value in headers.items():
            add(name, value)
    response.status_code = status
    return response
