"""Media types: one rule for what names one (RFC 6838's names, RFC 9110's parameters).

A distribution's ``mediaType``, publish's ``mediaType`` option and the DCAT feed's IANA IRIs
all take a name such as ``text/csv``, in any case, with parameters if any
(``text/csv; charset=utf-8``, ``text/csv;header="present"``).
"""

from __future__ import annotations

import re

_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*"
_TOKEN = r"[A-Za-z0-9!#$%&'*+.^_`|~-]+"
# Also an OpenAPI ``pattern``: ECMA-262 reads it as Python does.
PATTERN = rf'^{_NAME}/{_NAME}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|"[^"\\]*"))*$'
_MEDIA_TYPE = re.compile(PATTERN)


def is_media_type(value: str) -> bool:
    """Whether ``value`` names a media type, with parameters or without."""
    return _MEDIA_TYPE.match(value.strip()) is not None


def bare(media_type: str) -> str:
    """The type without its parameters, in lower case: ``text/csv``."""
    return media_type.split(";", 1)[0].strip().lower()
