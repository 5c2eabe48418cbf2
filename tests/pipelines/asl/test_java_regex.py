"""Java regular expressions rewritten for Python's ``re``: each case is what Java's
``Pattern.compile(regex, flags).matcher(text).matches()`` answers."""

from __future__ import annotations

import pytest

from pipelines.asl.java_regex import JavaRegexError, compile_java


@pytest.mark.parametrize(
    ("regex", "flags", "text", "matches"),
    [
        (r"ab\Z", "", "ab", True),
        (r"ab\z", "", "ab", True),
        (r"a\Rb", "", "a\r\nb", True),
        (r"a\Rb", "x", "a\u2028b", True),
        (r"a\hb", "", "a\u00a0b", True),
        (r"a\vb", "", "a\u0085b", True),
        (r"a\Vb", "", "a\nb", False),
        (r"\e\cA\0101", "", "\x1b\x01A", True),
        (r"a.b", "d", "a\rb", True),
        (r"a.b", "", "a\u2029b", False),
        (r"[^\W]+", "", "Åse", False),
        (r"[\S&]+", "", "a&b", True),
        (r"\p{gc=Lu}\p{IsLl}+", "", "Åse", True),
        (r"\p{L&}+", "", "Ǆ", True),
        (r"\p{XDigit}+", "i", "CAFE", True),
        (r"(?i)ÅSE", "", "åse", False),
        (r"(?i)ÅSE", "u", "åse", True),
        (r"\Q.*\E", "", "ab", False),
        (r"\Q[a]\E", "", "[a]", True),
        (r"a\/b", "", "a/b", True),
    ],
)
def test_pattern_matches_as_in_java(regex: str, flags: str, text: str, matches: bool) -> None:
    assert (compile_java(regex, flags).fullmatch(text) is not None) is matches


@pytest.mark.parametrize(
    ("regex", "flags", "message"),
    [
        (r"(?U)\w", "", "inline flag group"),
        (r"(?#note)a", "", "(?#...)"),
        (r"\X", "", r"\X is not supported"),
        (r"\p{InGreek}", "", r"\p{InGreek} is not supported"),
        (r"\x{110000}", "", "is not a code point"),
        (r"\k", "", "needs a group name"),
        (r"[ab", "", "is not closed"),
        (r"a", "g", "unknown flag 'g'"),
    ],
)
def test_construct_without_a_python_equivalent_is_refused_by_name(
    regex: str, flags: str, message: str
) -> None:
    with pytest.raises(JavaRegexError) as raised:
        compile_java(regex, flags)
    assert message in str(raised.value)
