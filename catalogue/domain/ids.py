"""Identifiers: dataset slugs, version ids, edition timestamps and distribution ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from catalogue.domain.errors import InvalidValue

MAX_ID_LENGTH = 64
DATASET_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
# ``YYYYMMDDTHHMMSS``, and ``-NNNNNN`` after it for further editions of the same second.
EDITION_ID = re.compile(r"^\d{8}T\d{6}(?:-\d{6})?$")
EDITION_FORMAT = "%Y%m%dT%H%M%S"
VERSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DISTRIBUTION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LATEST = "latest"
SUFFIX_LENGTH = 6
_SUFFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

# Letters NFKD does not decompose into ASCII; Norwegian titles are common here.
_TRANSLITERATION = str.maketrans(
    {"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "þ": "th", "ð": "d", "đ": "d", "ł": "l", "œ": "oe"}
)


def slugify(title: str) -> str:
    """Return the dataset id derived from a title: lowercase ``a-z0-9-``, 1 to 64 characters."""
    slug = ascii_words(title)[:MAX_ID_LENGTH].rstrip("-")
    return slug or "dataset"


def ascii_words(text: str) -> str:
    """The words of ``text`` in lowercase ASCII joined by ``-``, any length; "" if none.

    Norwegian letters are spelt out (``ø`` as ``o``), accents dropped; letters with no
    ASCII spelling (Cyrillic, Arabic, ...) are lost.
    """
    folded = text.casefold().translate(_TRANSLITERATION)
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def slug_candidates(slug: str, suffixes: Iterable[str]) -> Iterator[str]:
    """Yield ``slug``, then ``slug-<suffix>`` for each of ``suffixes``, at most 64 characters.

    The suffixes are random (``random_suffix``): a counter (``-2``, ``-3``) would tell how
    many datasets, hidden ones included, already hold the slug.
    """
    yield slug
    for suffix in suffixes:
        tail = f"-{suffix}"
        yield slug[: MAX_ID_LENGTH - len(tail)].rstrip("-") + tail


def random_suffix(entropy: bytes) -> str:
    """Six characters of ``a-z0-9`` made from (at least 4) random bytes."""
    number = int.from_bytes(entropy, "big")
    digits = []
    for _ in range(SUFFIX_LENGTH):
        number, digit = divmod(number, len(_SUFFIX_ALPHABET))
        digits.append(_SUFFIX_ALPHABET[digit])
    return "".join(digits)


def check_dataset_id(value: str) -> str:
    """Return ``value`` if it is a valid dataset id; raises InvalidValue(field="id")."""
    if not DATASET_ID.match(value):
        raise InvalidValue(
            "id", "must be 1-64 characters of a-z, 0-9 and '-', not starting or ending with '-'"
        )
    return value


def check_version_id(value: str) -> str:
    """Return ``value`` if it is a valid version id; raises InvalidValue(field="version")."""
    if not VERSION_ID.match(value):
        raise InvalidValue("version", "must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def edition_id(now: datetime) -> str:
    """The edition id for a moment: its UTC time as ``YYYYMMDDTHHMMSS``."""
    return now.astimezone(UTC).strftime(EDITION_FORMAT)


def next_edition_id(second: str, latest: str | None, skip: int = 0) -> str:
    """The edition id after ``latest``, the newest id of the same ``second``.

    An edition id is the second it was made in, ``YYYYMMDDTHHMMSS``; further editions of
    that second get ``-000001``, ``-000002``, ... after it, which sort after the plain id
    and before the next second, so ids stay in the order they were made and ``latest``
    stays the newest. ``skip`` spreads writers racing for the same number.
    """
    number = 0 if latest in (None, second) else int(latest.rsplit("-", 1)[1])
    return f"{second}-{number + 1 + skip:06d}"


def check_edition_id(value: str) -> str:
    """Return ``value`` if it is a valid edition id; raises InvalidValue(field="edition")."""
    if value == LATEST:
        raise InvalidValue("edition", "'latest' is an alias and cannot be stored")
    if not EDITION_ID.match(value):
        raise InvalidValue(
            "edition", "must be a UTC timestamp YYYYMMDDTHHMMSS, optionally with -NNNNNN"
        )
    try:
        datetime.strptime(value[:15], EDITION_FORMAT)
    except ValueError:
        raise InvalidValue("edition", "is not a real date and time") from None
    return value


def check_distribution_id(value: str) -> str:
    """Return ``value`` if it is a valid distribution id; raises InvalidValue(field="id")."""
    if not DISTRIBUTION_ID.match(value):
        raise InvalidValue("id", "must be 1-64 characters of a-z, 0-9, '.', '_' and '-'")
    return value


def next_version_id(existing: list[str]) -> str:
    """The next numeric version after the highest numeric one in ``existing``."""
    numbers = [int(v) for v in existing if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def incarnation_id(now: datetime, entropy: bytes) -> str:
    """The identity of one dataset's life under its id: ``YYYYMMDDTHHMMSS-<8 hex>``.

    The time first, so a dataset id's incarnations sort in the order they were created;
    the random part (from at least 4 bytes) tells apart two made in the same second.
    """
    return f"{edition_id(now)}-{entropy[:4].hex()}"
