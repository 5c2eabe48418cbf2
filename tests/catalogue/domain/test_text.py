"""Which characters text fields refuse and XML drops, checked over every code point."""

from __future__ import annotations

import re

from catalogue.domain.text import FORBIDDEN, XML_INVALID, forbidden_character, xml_safe

EVERY_CODE_POINT = "".join(map(chr, range(0x110000)))
# XML 1.0's Char production, as the specification writes it.
XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
C1_AND_DEL = {chr(code) for code in range(0x7F, 0xA0)}


def test_xml_invalid_is_exactly_what_the_xml_char_production_excludes() -> None:
    invalid = set(XML_INVALID.findall(EVERY_CODE_POINT))
    allowed = set(XML_CHAR.findall(EVERY_CODE_POINT))
    assert invalid.isdisjoint(allowed)
    assert len(invalid) + len(allowed) == 0x110000


def test_text_fields_refuse_xml_invalid_characters_and_the_c1_controls() -> None:
    forbidden = set(FORBIDDEN.findall(EVERY_CODE_POINT))
    assert forbidden == set(XML_INVALID.findall(EVERY_CODE_POINT)) | C1_AND_DEL


def test_the_reason_names_the_first_bad_character() -> None:
    assert forbidden_character("Luftkvalitet i Oslo, 2026 😀") is None
    assert forbidden_character("a\x85b\x01") == (
        "Holds U+0085, a control character; text may not contain control characters."
    )
    assert "a lone surrogate" in (forbidden_character("x\ud800") or "")
    assert "a noncharacter" in (forbidden_character("\uffff") or "")
    assert xml_safe("a\x00b\x7fc\ufffed") == "ab\x7fcd"
