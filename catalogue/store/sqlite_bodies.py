"""Decoding the SQLite store's item bodies: json's values, read by orjson where it agrees.

Decoding is most of what reading a page of items costs, and orjson reads a body in about
a third of json's time. The two agree on every document json writes but one: an integer
literal of 19 digits or more (past 64 bits), which orjson reads as a float. A body with
19 digits in a row anywhere (in a number or not) is left to json, and so is one orjson
refuses (``NaN``, ``1e400``, a lone surrogate's escape), and every body where orjson is not
installed (an environment made before it joined setup.cfg).
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - setup.cfg installs it
    orjson = None

# Bodies are written compact and without surrounding space (sqlite_rows._body): the
# decoder's own entry point skips json.loads' two whitespace scans.
_json_decode = json.JSONDecoder().raw_decode
# Every ASCII digit becomes "0" and every other byte "x", so a run of digits is found by a
# substring search (a regular expression takes longer than the decoding it saves).
_DIGITS = bytes(0x30 if 0x30 <= code <= 0x39 else 0x78 for code in range(256))
# The shortest integer literal orjson may read otherwise than json (2**63 has 19 digits).
_LONG_DIGITS = b"0" * 19


def decode_body(body: str) -> Any:
    """The value json reads from ``body`` (a stored item's compact JSON text)."""
    if orjson is not None:
        encoded = body.encode("utf-8", "surrogatepass")
        if _LONG_DIGITS not in encoded.translate(_DIGITS):
            try:
                return orjson.loads(encoded)
            except orjson.JSONDecodeError:
                pass
    return _json_decode(body)[0]
