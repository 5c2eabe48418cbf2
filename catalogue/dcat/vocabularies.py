"""Controlled vocabularies of DCAT-AP: the IRIs our dataset fields map to, as plain strings.

Kept free of rdflib so the publish gate can use the same tables without importing it.
"""

from __future__ import annotations

import re

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
DATA_THEME_SCHEME = EU_AUTHORITY + "data-theme"
FILE_TYPE = EU_AUTHORITY + "file-type/"
LANGUAGE = EU_AUTHORITY + "language/"
FREQUENCY = EU_AUTHORITY + "frequency/"
ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"

# The EU Data Theme codes DCAT-AP-NO accepts (its SHACL lists these 13; the EU's
# provisional OP_DATPRO is not among them).
DATA_THEMES = frozenset(
    [
        "AGRI",
        "ECON",
        "EDUC",
        "ENER",
        "ENVI",
        "GOVE",
        "HEAL",
        "INTR",
        "JUST",
        "REGI",
        "SOCI",
        "TECH",
        "TRAN",
    ]
)

ACCESS_RIGHTS = {
    "public": "PUBLIC",
    "restricted": "RESTRICTED",
    "non-public": "NON_PUBLIC",
}

# ISO 639-1 codes (what people type) to the EU Language authority's ISO 639-3 codes.
LANGUAGES = {
    "nb": "NOB",
    "nn": "NNO",
    "no": "NOR",
    "en": "ENG",
    "se": "SME",
    "sv": "SWE",
    "da": "DAN",
    "de": "DEU",
    "fr": "FRA",
    "fi": "FIN",
}
# The reverse, for language tags on literals (rdf:langString wants BCP 47 tags).
LANGUAGE_TAGS = {code: tag for tag, code in LANGUAGES.items()}

# Spoken words to the EU Frequency authority's codes.
FREQUENCIES = {
    "continuous": "UPDATE_CONT",
    "realtime": "UPDATE_CONT",
    "hourly": "HOURLY",
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "biweekly": "BIWEEKLY",
    "monthly": "MONTHLY",
    "bimonthly": "BIMONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "yearly": "ANNUAL",
    "irregular": "IRREG",
    "never": "NEVER",
    "unknown": "UNKNOWN",
}
FREQUENCY_CODES = frozenset(FREQUENCIES.values()) | {"OTHER", "TRIENNIAL", "BIENNIAL"}

# IANA media type to the EU File Type authority's code.
FILE_TYPES = {
    "text/csv": "CSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/ld+json": "JSON_LD",
    "application/vnd.apache.parquet": "PARQUET",
    "application/x-parquet": "PARQUET",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.ms-excel": "XLS",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/turtle": "RDF_TURTLE",
    "application/rdf+xml": "RDF_XML",
    "application/zip": "ZIP",
    "text/plain": "TXT",
    "application/pdf": "PDF",
}
# File type codes we know a media type for, for distributions that give only ``format``.
MEDIA_TYPES_BY_FILE_TYPE = {
    "CSV": "text/csv",
    "JSON": "application/json",
    "GEOJSON": "application/geo+json",
    "JSON_LD": "application/ld+json",
    "PARQUET": "application/vnd.apache.parquet",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "XLS": "application/vnd.ms-excel",
    "XML": "application/xml",
    "RDF_TURTLE": "text/turtle",
    "RDF_XML": "application/rdf+xml",
    "ZIP": "application/zip",
    "TXT": "text/plain",
    "PDF": "application/pdf",
}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def is_iri(value: object) -> bool:
    """True if ``value`` is an absolute http(s) IRI."""
    return isinstance(value, str) and value.startswith(("http://", "https://")) and " " not in value


def is_email(value: object) -> bool:
    """True if ``value`` looks like an e-mail address (one @, a dot in the domain)."""
    return isinstance(value, str) and bool(_EMAIL.match(value))


def theme_iri(theme: str) -> str | None:
    """The EU Data Theme IRI of a code (``ENVI``) or IRI; None if it is neither."""
    if theme.startswith(DATA_THEME_SCHEME + "/"):
        code = theme.removeprefix(DATA_THEME_SCHEME + "/")
        return theme if code in DATA_THEMES else None
    code = theme.strip().upper()
    return f"{DATA_THEME_SCHEME}/{code}" if code in DATA_THEMES else None


def language_iri(language: str) -> str | None:
    """The EU Language IRI of ``nb``, ``NOB`` or the IRI itself; None if unknown."""
    if language.startswith(LANGUAGE):
        return language
    code = LANGUAGES.get(language.strip().lower(), language.strip().upper())
    return LANGUAGE + code if code in LANGUAGE_TAGS else None


def language_tag(language: str | None, default: str = "nb") -> str:
    """The BCP 47 tag for literals in ``language`` (``nb`` for ``NOB``), else ``default``."""
    if not language:
        return default
    iri = language_iri(language)
    return LANGUAGE_TAGS[iri.removeprefix(LANGUAGE)] if iri else default


def frequency_iri(value: str) -> str | None:
    """The EU Frequency IRI of ``daily``, ``DAILY`` or the IRI itself; None if unknown."""
    if value.startswith(FREQUENCY):
        return value if value.removeprefix(FREQUENCY) in FREQUENCY_CODES else None
    word = value.strip().lower()
    if word in FREQUENCIES:
        return FREQUENCY + FREQUENCIES[word]
    code = value.strip().upper()
    return FREQUENCY + code if code in FREQUENCY_CODES else None


def access_right_iri(access_rights: str) -> str | None:
    """The EU Access Right IRI of ``public``, ``restricted`` or ``non-public``."""
    code = ACCESS_RIGHTS.get(access_rights)
    return ACCESS_RIGHT + code if code else None


def media_type_iri(media_type: str | None) -> str | None:
    """The IANA IRI of a media type (parameters dropped); None if it is not one."""
    if not media_type:
        return None
    bare = media_type.split(";", 1)[0].strip().lower()
    return IANA_MEDIA_TYPES + bare if _MEDIA_TYPE.match(bare) else None


def file_type_iri(file_format: str | None, media_type: str | None) -> str | None:
    """The EU File Type IRI from ``format`` (``CSV``, ``parquet``) or else the media type."""
    if file_format:
        code = file_format.strip().upper().removeprefix(".")
        if code in MEDIA_TYPES_BY_FILE_TYPE or code in FILE_TYPES.values():
            return FILE_TYPE + code
    if media_type:
        known = FILE_TYPES.get(media_type.split(";", 1)[0].strip().lower())
        if known:
            return FILE_TYPE + known
    return None
