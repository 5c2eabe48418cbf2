"""Characters that text fields may hold: what XML 1.0 (and so the RDF/XML feed) can carry."""

from __future__ import annotations

import re

# XML 1.0's Char production, negated: C0 controls but TAB, LF and CR; surrogates; U+FFFE/U+FFFF.
XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Refused in text fields on top of those: DEL and the C1 controls, which XML 1.0 allows but
# discourages, and which no title or description means to hold.
FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
