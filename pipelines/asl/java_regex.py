"""Java regular expressions (a JSONPath filter's ``=~ /.../flags``) in Python's ``re``.

AWS evaluates filters with a Java library, so a pattern means what ``java.util.regex`` makes of
it. Where Python's ``re`` reads the same text differently, the pattern is rewritten:

- ``\\w \\d \\s`` and case-insensitive matching are ASCII unless the ``u`` or ``U`` flag asks
  for Unicode (Python's are Unicode by default: ``/\\w+/`` would match ``Åse``);
- ``.`` does not match ``\\r``, ``\\u0085``, ``\\u2028`` or ``\\u2029`` either (``d``: only
  ``\\n``), ``\\v`` is any vertical space, ``\\h`` any horizontal space, ``\\R`` a line break;
- ``\\p{L}``, ``\\p{Lu}``, ``\\pN``, ``\\p{IsL}``, ``\\p{gc=Lu}`` (Unicode general categories,
  as Python's Unicode database has them), ``\\p{Alpha}``, ``\\p{Punct}`` and the other POSIX
  classes (ASCII), ``\\p{IsLetter}``, ``\\p{IsDigit}``, ``\\p{IsPunctuation}``, and their
  ``\\P`` negations;
- ``\\Q...\\E`` quoting, ``(?<name>...)`` and ``\\k<name>``, ``\\z``, ``\\Z``, ``\\e``,
  ``\\cX``, ``\\0nn`` and ``\\x{h...h}``.

Constructs Python cannot express are refused with ``JavaRegexError`` naming them: a class
inside a class (``[a-z[0-9]]``) or an intersection (``[a-z&&[^e]]``), scripts and blocks
(``\\p{IsLatin}``, ``\\p{InGreek}``), other Unicode properties, ``\\G``, ``\\X``, and the
Python-only ``(?P...)`` and ``(?#...)`` that Java rejects.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata

# Java's flag letters; d (UNIX_LINES), u (UNICODE_CASE) and U (UNICODE_CHARACTER_CLASS)
# change how the pattern is rewritten rather than mapping to a flag of re.
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
FLAG_LETTERS = frozenset("imsxduU")
_LINE_TERMINATORS = "\n\r\x85\u2028\u2029"
_HORIZONTAL = " \t\xa0\u1680\u180e\u2000-\u200a\u202f\u205f\u3000"
_VERTICAL = "\n\x0b\f\r\x85\u2028\u2029"
_ASCII_CLASSES = {"w": "a-zA-Z0-9_", "d": "0-9", "s": " \t\n\x0b\f\r"}
# java.util.regex's POSIX classes, ASCII-only without the U flag.
_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\x00-\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \t",
    "Cntrl": "\x00-\x1f\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \t\n\x0b\f\r",
}
# Unicode properties that Java's Character methods define by general category.
_BY_CATEGORY = {
    "letter": "L",
    "digit": "Nd",
    "punctuation": "P",
    "control": "Cc",
    "titlecase": "Lt",
}
_CATEGORY_PREFIX = re.compile(r"(?:Is|gc=|general_category=)?(\w\w?|L&)$")


class JavaRegexError(ValueError):
    """A Java pattern uses a construct this engine cannot reproduce in Python's ``re``."""


def compile_java(source: str, flags: str = "") -> re.Pattern[str]:
    """Compile a Java regular expression with Java's flag letters (``imsxduU``).

    Raises JavaRegexError naming a construct that cannot be rewritten, and re.error for a
    pattern that is invalid.
    """
    unknown = sorted(set(flags) - FLAG_LETTERS)
    if unknown:
        raise JavaRegexError(f"unknown flag {unknown[0]!r} (Java's are {''.join(FLAG_LETTERS)})")
    is_unicode = "U" in flags
    python_flags = 0
    for letter in flags:
        python_flags |= _FLAGS.get(letter, 0)
    if not is_unicode and "u" not in flags:
        # Java matches case-insensitively in ASCII only unless told otherwise.
        python_flags |= re.ASCII
    translated = _Translator(source, is_unicode, "d" in flags, "s" in flags).translate()
    return re.compile(translated, python_flags)


class _Translator:
    def __init__(self, source: str, is_unicode: bool, is_unix_lines: bool, is_dotall: bool):
        self.source = source
        self.is_unicode = is_unicode
        self.is_unix_lines = is_unix_lines
        # An inline (?s) makes '.' Python's again: leave it as written then.
        self.is_dotall = is_dotall or re.search(r"\(\?[a-zA-Z]*s", source) is not None
        self.position = 0
        self.out: list[str] = []

    def fail(self, construct: str, reason: str) -> JavaRegexError:
        return JavaRegexError(f"{construct} {reason}, in /{self.source}/")

    def translate(self) -> str:
        source = self.source
        while self.position < len(source):
            char = source[self.position]
            if char == "\\":
                self.out.append(self.escape(in_class=False))
            elif char == "[":
                self.out.append(self.character_class())
            elif char == "(":
                self.out.append(self.group())
            elif char == "." and not self.is_dotall:
                self.position += 1
                ends = "\n" if self.is_unix_lines else _LINE_TERMINATORS
                self.out.append(_set(_ranges(ends), True, False))
            else:
                self.position += 1
                self.out.append(char)
        return "".join(self.out)

    def group(self) -> str:
        source, start = self.source, self.position
        if source.startswith("(?<", start) and source[start + 3 : start + 4] not in ("=", "!"):
            self.position += 3
            return "(?P<"
        if source.startswith("(?P", start):
            raise self.fail("(?P...)", "is Python's syntax; Java names a group (?<name>...)")
        if source.startswith("(?#", start):
            raise self.fail("(?#...)", "is not a Java construct (Java has no comment groups)")
        flags = re.match(r"\(\?([a-zA-Z-]*)[:)]", source[start:])
        if flags is not None and set(flags.group(1)) & set("duU"):
            raise self.fail(
                f"the inline flag group {flags.group(0)}",
                "changes d, u or U midway, which is not supported; pass the flag after the "
                "closing / instead",
            )
        self.position += 1
        return "("

    def character_class(self) -> str:
        """Rewrite ``[...]`` (the position is at its ``[``)."""
        source = self.source
        start = self.position
        self.position += 1
        parts = ["["]
        if source.startswith("^", self.position):
            parts.append("^")
            self.position += 1
        is_first = True
        while True:
            if self.position >= len(source):
                raise self.fail(f"the class {source[start:]}", "is not closed")
            char = source[self.position]
            if char == "]" and not is_first:
                self.position += 1
                parts.append("]")
                return "".join(parts)
            if char == "[":
                raise self.fail(
                    f"the class {source[start : self.position + 1]}...",
                    "holds another class, which is not supported; list the characters in one class",
                )
            if source.startswith("&&", self.position):
                raise self.fail(
                    f"the class {source[start : self.position + 2]}...",
                    "intersects classes (&&), which is not supported",
                )
            if char == "\\":
                parts.append(self.escape(in_class=True))
            else:
                self.position += 1
                # Doubled & ~ | mean nothing in Java's classes but set operations in
                # Python's future ones: escaped, they stay characters.
                parts.append("\\" + char if char in "&~|[" else char)
            is_first = False

    def escape(self, *, in_class: bool) -> str:
        """Rewrite the escape at the position (its backslash); ``in_class``: inside ``[...]``."""
        source = self.source
        start = self.position
        if start + 1 >= len(source):
            raise self.fail("a trailing backslash", "escapes nothing")
        letter = source[start + 1]
        self.position += 2
        if letter == "Q":
            end = source.find("\\E", self.position)
            quoted = source[self.position :] if end < 0 else source[self.position : end]
            self.position = len(source) if end < 0 else end + 2
            return "".join(_literal(char) for char in quoted)
        if letter in "pP":
            return self.property(letter == "P", in_class)
        if letter in "wdsWDS":
            return self.shorthand(letter, in_class)
        if letter in "hHvV":
            chars = _HORIZONTAL if letter in "hH" else _VERTICAL
            return _set(_ranges(chars), letter.isupper(), in_class)
        if letter == "R" and not in_class:
            return rf"(?:\r\n|{_set(_ranges(_VERTICAL), False, False)})"
        if letter == "z" and not in_class:
            return r"\Z"
        if letter == "Z" and not in_class:
            return rf"(?=(?:\r\n|{_set(_ranges(_LINE_TERMINATORS), False, False)})?\Z)"
        if letter == "k" and not in_class:
            named = re.match(r"<([A-Za-z][A-Za-z0-9]*)>", source[self.position :])
            if named is None:
                raise self.fail(source[start : start + 3], "needs a group name: \\k<name>")
            self.position += named.end()
            return f"(?P={named.group(1)})"
        if letter == "e":
            return _literal("\x1b")
        if letter == "c":
            if self.position >= len(source):
                raise self.fail("\\c", "needs a control letter")
            self.position += 1
            return _literal(chr(ord(source[self.position - 1]) ^ 64))
        if letter == "0":
            digits = re.match(r"[0-3]?[0-7]{1,2}|[0-7]", source[self.position :])
            if digits is None:
                raise self.fail("\\0", "needs octal digits (\\0n, \\0nn or \\0mnn)")
            self.position += digits.end()
            return _literal(chr(int(digits.group(0), 8)))
        if letter == "x" and source.startswith("{", self.position):
            end = source.find("}", self.position)
            code = source[self.position + 1 : end] if end > 0 else ""
            if not re.fullmatch(r"[0-9a-fA-F]{1,6}", code) or int(code, 16) > sys.maxunicode:
                raise self.fail(f"\\x{{{code}}}", "is not a code point")
            self.position = end + 1
            return _literal(chr(int(code, 16)))
        if letter in "bBA" and not in_class:
            return "\\" + letter
        if letter in "GX":
            raise self.fail(f"\\{letter}", "is not supported")
        if letter.isdigit() and not in_class:
            return "\\" + letter
        if letter in "tnrfaux" or letter == "N" or not letter.isalnum():
            # Escapes that mean the same in both, and any escaped punctuation.
            return "\\" + letter
        raise self.fail(f"\\{letter}", "is not an escape Java knows")

    def shorthand(self, letter: str, in_class: bool) -> str:
        if self.is_unicode:
            return "\\" + letter
        return _set(_ranges(_ASCII_CLASSES[letter.lower()]), letter.isupper(), in_class)

    def property(self, is_negated: bool, in_class: bool) -> str:
        """Rewrite ``\\p{Name}`` or ``\\pX`` (the position is after the ``p``)."""
        source = self.source
        if source.startswith("{", self.position):
            end = source.find("}", self.position)
            if end < 0:
                raise self.fail(f"\\p{source[self.position :]}", "is not closed")
            name = source[self.position + 1 : end]
            self.position = end + 1
        else:
            name = source[self.position : self.position + 1]
            self.position += 1
        shown = f"\\{'P' if is_negated else 'p'}{{{name}}}"
        if name in _POSIX:
            if self.is_unicode:
                raise self.fail(shown, "under the U flag (Unicode POSIX classes) is not supported")
            return _set(_ranges(_POSIX[name]), is_negated, in_class)
        category = _CATEGORY_PREFIX.match(name)
        if category is not None and _category_ranges(category.group(1)):
            ranges = _category_ranges(category.group(1))
        elif name.lower().removeprefix("is") in _BY_CATEGORY:
            ranges = _category_ranges(_BY_CATEGORY[name.lower().removeprefix("is")])
        else:
            raise self.fail(
                shown,
                "is not supported (general categories such as \\p{L} or \\p{Lu}, the POSIX "
                "classes such as \\p{Alpha}, and IsLetter, IsDigit, IsPunctuation are)",
            )
        return _set(ranges, is_negated, in_class)


Ranges = tuple[tuple[int, int], ...]


def _literal(char: str) -> str:
    """A character as a pattern that matches it alone, in or out of a class."""
    return re.escape(char) if char.isprintable() and char.isascii() else f"\\U{ord(char):08x}"


def _ranges(chars: str) -> Ranges:
    """Read a class body written with raw characters and ``x-y`` ranges (this module's
    tables), as sorted code point ranges."""
    found: list[tuple[int, int]] = []
    i = 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            found.append((ord(chars[i]), ord(chars[i + 2])))
            i += 3
        else:
            found.append((ord(chars[i]), ord(chars[i])))
            i += 1
    return tuple(sorted(found))


def _set(ranges: Ranges, is_negated: bool, in_class: bool) -> str:
    """A class of ``ranges`` or of what they leave out; inside another class, its body (a
    negation then as the ranges it leaves out)."""
    if not in_class:
        return f"[{'^' if is_negated else ''}{_body(ranges)}]"
    return _body(_complement(ranges) if is_negated else ranges)


def _body(ranges: Ranges) -> str:
    return "".join(
        _literal(chr(low)) if low == high else f"{_literal(chr(low))}-{_literal(chr(high))}"
        for low, high in ranges
    )


def _complement(ranges: Ranges) -> Ranges:
    """The ranges of every code point that ``ranges`` (sorted) leave out."""
    left_out: list[tuple[int, int]] = []
    following = 0
    for low, high in ranges:
        if low > following:
            left_out.append((following, low - 1))
        following = max(following, high + 1)
    if following <= sys.maxunicode:
        left_out.append((following, sys.maxunicode))
    return tuple(left_out)


@functools.cache
def _categories() -> dict[str, list[tuple[int, int]]]:
    """Every general category's code point ranges, read once from the Unicode database."""
    found: dict[str, list[tuple[int, int]]] = {}
    category = unicodedata.category
    previous, start = category("\x00"), 0
    for code in range(1, sys.maxunicode + 2):
        current = category(chr(code)) if code <= sys.maxunicode else ""
        if current != previous:
            found.setdefault(previous, []).append((start, code - 1))
            previous, start = current, code
    return found


@functools.cache
def _category_ranges(name: str) -> Ranges:
    """The ranges of a general category (``Lu``), a major class (``L``) or ``LC``/``L&``;
    empty for a name that is none of these."""
    table = _categories()
    if name in ("LC", "L&"):
        wanted = ["Lu", "Ll", "Lt"]
    elif len(name) == 1:
        wanted = [key for key in table if key.startswith(name)]
    else:
        wanted = [name] if name in table else []
    merged: list[tuple[int, int]] = []
    for low, high in sorted(r for key in wanted for r in table[key]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)
