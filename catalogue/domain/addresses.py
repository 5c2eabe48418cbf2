"""Addresses the catalogue states about itself and its datasets: http(s) IRIs and e-mail.

Plain functions over strings, so the settings check them at start-up and the DCAT
descriptions write them, by one rule.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# RFC 3987's authority: userinfo@, then a host name (or an [IPv6] literal), then a port.
_AUTHORITY = re.compile(
    r"(?:(?:[\w.~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*@)?"
    r"(?:(?:[\w.~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+|\[[0-9A-Fa-f:.]+\])"
    r"(?::[0-9]*)?"
)
# What an IRI's path, query and fragment cannot hold as it is (RFC 3987): controls, space,
# <>"{}|\^` and the brackets, and a "%" that starts no escape.
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`\[\]\x7f]|%(?![0-9A-Fa-f]{2})')


def is_iri(value: object) -> bool:
    """True if ``value`` is an absolute http(s) IRI: a host (and port) an IRI can name, no
    white space. Other characters of its path, query or fragment are escaped by ``iri``."""
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        return False
    if any(char.isspace() for char in value):
        return False
    authority = re.split(r"[/?#]", value.split("://", 1)[1], maxsplit=1)[0]
    return _AUTHORITY.fullmatch(authority) is not None


def iri(value: str) -> str:
    """An http(s) IRI (``is_iri``) as an RDF document may hold it.

    Characters its path, query and fragment may not hold (``|``, ``"``, ``{``, a stray ``%``,
    a second ``#``; accepted in URLs the API stores) are percent-encoded, as a browser
    sends them: written as they are, one of them makes strict parsers refuse a whole feed.
    """
    if _NOT_IN_IRI.search(value) is None and value.count("#") < 2:
        return value
    scheme, separator, rest = value.partition("://")
    if not separator:
        return _NOT_IN_IRI.sub(_percent_encoded, value)
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]  # [an IPv6 literal] stays
    before, hash_mark, fragment = rest[len(authority) :].partition("#")
    escaped = f"{scheme}://{authority}" + _NOT_IN_IRI.sub(_percent_encoded, before)
    if hash_mark:
        escaped += "#" + _NOT_IN_IRI.sub(_percent_encoded, fragment).replace("#", "%23")
    return escaped


def _percent_encoded(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode())


def is_email(value: object) -> bool:
    """True if ``value`` looks like an e-mail address (one @, a dot in the domain)."""
    return isinstance(value, str) and bool(_EMAIL.match(value))
