"""Characters that text fields may hold: what XML 1.0 (and so the RDF/XML feed) can carry."""

from __future__ import annotations

import re

# XML 1.0's Char production, negated: C0 controls but TAB, LF and CR; surrogates; U+FFFE/U+FFFF.
# Written as the small set it is: a negated class over all of Unicode takes the regular
# expression compiler tens of milliseconds, paid on every cold start of the api function.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Refused in text fields on top of those: DEL and the C1 controls, which XML 1.0 allows but
# discourages, and which no title or description means to hold.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def forbidden_character(text: str) -> str | None:
    """Why ``text`` cannot be a text field's value (naming its first bad character), or None."""
    found = FORBIDDEN.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate"
    elif code in (0xFFFE, 0xFFFF):
        kind = "a noncharacter"
    else:
        kind = "a control character"
    return f"Holds U+{code:04X}, {kind}; text may not contain control characters."


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (values stored before the check)."""
    return XML_INVALID.sub("", text)
