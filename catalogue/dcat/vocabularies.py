"""Controlled vocabularies of DCAT-AP: the IRIs our dataset fields map to, as plain strings.

Kept free of rdflib so the publish gate can use the same tables without importing it.
"""

from __future__ import annotations

import re

from catalogue.domain import addresses
from pipelines import media_types

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
DATA_THEME_SCHEME = EU_AUTHORITY + "data-theme"
FILE_TYPE = EU_AUTHORITY + "file-type/"
LANGUAGE = EU_AUTHORITY + "language/"
FREQUENCY = EU_AUTHORITY + "frequency/"
ACCESS_RIGHT = EU_AUTHORITY + "access-right/"
LICENCE = EU_AUTHORITY + "licence/"
# The lifecycle status of a deprecated dataset (adms:status): the EU Dataset Status term on
# the dataset (DCAT 3's adms:status of a resource) and the EU Distribution Status term on each
# distribution, where DCAT-AP 3 and DCAT-AP-NO 3 define adms:status.
DATASET_DEPRECATED = EU_AUTHORITY + "dataset-status/DEPRECATED"
DISTRIBUTION_DEPRECATED = EU_AUTHORITY + "distribution-status/DEPRECATED"
DEPRECATED_LABEL = "Deprecated"
# DCAT-AP-NO 2.2 wants a distribution's adms:status from the ADMS Status vocabulary instead.
ADMS_STATUS = "http://purl.org/adms/status/"
ADMS_STATUS_SCHEME = ADMS_STATUS + "1.0"
ADMS_DEPRECATED = ADMS_STATUS + "Deprecated"
# IANA's own IRIs for its media types. DCAT-AP 3's vocabulary for dcat:mediaType is IANA's
# register, and its vocabulary shape (mdr-vocabularies.shape.ttl) matches
# "^http.*://www.iana.org/assignments/media-types/"; data.europa.eu maps the EU file types
# to these IRIs, and DCAT-AP-NO 2's examples use them too.
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
# The W3C's IRIs for IANA media types, the namespace DCAT-AP-NO 3 names. Its range shape for
# dcat:mediaType (a violation) only admits "^https://www.w3.org/ns/iana/media-types/application/*",
# so text/csv cannot be stated there; the EU file type in dct:format still names such a format.
W3C_MEDIA_TYPES = "https://www.w3.org/ns/iana/media-types/"
NO_MEDIA_TYPES = W3C_MEDIA_TYPES + "application/"
# Media type IRIs as people copy them, without their scheme: IANA's and the W3C's.
_MEDIA_TYPE_IRI_PREFIXES = (
    "www.iana.org/assignments/media-types/",
    "www.w3.org/ns/iana/media-types/",
)

# The application profiles the DCAT renderings meet. DCAT-AP 3 (the default) satisfies
# DCAT-AP 3.0.x; DCAT-AP-NO 3 differs only in the IRIs of media types (the W3C's, and
# application/* alone); DCAT-AP-NO 2 (what data.norge.no harvests as 2.2) differs from
# DCAT-AP 3 where the two cannot both hold: dcat:byteSize is xsd:decimal, not
# xsd:nonNegativeInteger, and spdx:checksum must use SHA-1, so the SHA-256 checksums are
# left out.
DCAT_AP_3 = "dcat-ap-3"
DCAT_AP_NO_3 = "dcat-ap-no-3"
DCAT_AP_NO_2 = "dcat-ap-no-2"
PROFILES = (DCAT_AP_3, DCAT_AP_NO_3, DCAT_AP_NO_2)

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

# Preferred labels of the EU Data Theme concepts: DCAT-AP 3 wants every skos:Concept
# in the feed to carry a skos:prefLabel.
DATA_THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENER": "Energy",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "INTR": "International issues",
    "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}
DATA_THEME_SCHEME_TITLE = "Data Theme"

# EU Licence authority codes the feed accepts; DCAT-AP-NO's range shapes want every
# dct:license from that vocabulary.
LICENCES = frozenset(
    [
        "CC0",
        "CC_BY_4_0",
        "CC_BYSA_4_0",
        "CC_BYND_4_0",
        "CC_BYNC_4_0",
        "CC_BYNCSA_4_0",
        "CC_BYNCND_4_0",
        # Older licences many Norwegian datasets still carry (Geonorge maps them so too).
        "CC_BY_3_0",
        "CC_BYSA_3_0",
        "NLOD_1_0",
        "NLOD_2_0",
        "ODC_BY",
        "ODC_ODBL",
        "ODC_PDDL",
    ]
)
# Licence IRIs people paste, to their EU Licence code (compared without scheme and "/").
LICENCE_ALIASES = {
    "creativecommons.org/publicdomain/zero/1.0": "CC0",
    "creativecommons.org/licenses/by/4.0": "CC_BY_4_0",
    "creativecommons.org/licenses/by-sa/4.0": "CC_BYSA_4_0",
    "creativecommons.org/licenses/by-nd/4.0": "CC_BYND_4_0",
    "creativecommons.org/licenses/by-nc/4.0": "CC_BYNC_4_0",
    "creativecommons.org/licenses/by-nc-sa/4.0": "CC_BYNCSA_4_0",
    "creativecommons.org/licenses/by-nc-nd/4.0": "CC_BYNCND_4_0",
    "creativecommons.org/licenses/by/3.0": "CC_BY_3_0",
    "creativecommons.org/licenses/by/3.0/no": "CC_BY_3_0",
    "creativecommons.org/licenses/by-sa/3.0": "CC_BYSA_3_0",
    "creativecommons.org/licenses/by-sa/3.0/no": "CC_BYSA_3_0",
    "data.norge.no/nlod/no/1.0": "NLOD_1_0",
    "data.norge.no/nlod/en/1.0": "NLOD_1_0",
    "data.norge.no/nlod/no/2.0": "NLOD_2_0",
    "data.norge.no/nlod/en/2.0": "NLOD_2_0",
    "opendatacommons.org/licenses/by/1-0": "ODC_BY",
    "opendatacommons.org/licenses/odbl/1-0": "ODC_ODBL",
    "opendatacommons.org/licenses/pddl/1-0": "ODC_PDDL",
}

# The deed and legal code pages under a Creative Commons licence URL (``/deed.no``,
# ``/legalcode``, ``/legalcode.nb``).
_CC_PAGE = re.compile(r"/(?:deed|legalcode)(?:\.[a-z_-]+)?$")
# Licence IRIs the API takes (it wants URLs), for reasons that ask for one.
LICENCE_EXAMPLES = (
    LICENCE + "CC_BY_4_0",
    "https://creativecommons.org/licenses/by/4.0/",
    "https://data.norge.no/nlod/no/2.0",
)

GEONAMES = "http://sws.geonames.org/"
# Places DCAT-AP-NO's range shapes accept for dct:spatial (a violation otherwise).
PLACE_PREFIXES = (
    EU_AUTHORITY + "country/",
    EU_AUTHORITY + "continent/",
    EU_AUTHORITY + "place/",
    GEONAMES,
    "https://data.geonorge.no/administrativeEnheter/",
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
# Each language as people read it (the pages show these, never the codes).
LANGUAGE_NAMES = {
    "nb": "Norwegian Bokmål",
    "nn": "Norwegian Nynorsk",
    "no": "Norwegian",
    "se": "Northern Sami",
    "sv": "Swedish",
    "da": "Danish",
    "fi": "Finnish",
    "en": "English",
    "de": "German",
    "fr": "French",
}

# Spoken words to the EU Frequency authority's codes: every code accepted has one (the
# authority's own English label where it is one word), which the pages show for it.
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
    "biennial": "BIENNIAL",
    "triennial": "TRIENNIAL",
    "irregular": "IRREG",
    "other": "OTHER",
    "never": "NEVER",
    "unknown": "UNKNOWN",
}
FREQUENCY_CODES = frozenset(FREQUENCIES.values())


def _first_words(words: dict[str, str]) -> dict[str, str]:
    """Each code of ``words`` (word -> code) with the first word naming it, in that order."""
    found: dict[str, str] = {}
    for word, code in words.items():
        found.setdefault(code, word)
    return found


# Each frequency code as people say it (the pages show these, never the codes).
FREQUENCY_WORDS = _first_words(FREQUENCIES)

# IANA media type to the EU File Type authority's code: the table's own media type mappings
# (file-type NAL, "mime-type-cellar") where it has one, else the type IANA registered for the
# format (TSV, ODS, GeoPackage, ...), and the unregistered names in common use (x-parquet,
# x-netcdf, x-esri-shape).
FILE_TYPES = {
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
    "application/json": "JSON",
    "application/geo+json": "GEOJSON",
    "application/ld+json": "JSON_LD",
    "application/vnd.apache.parquet": "PARQUET",
    "application/x-parquet": "PARQUET",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.ms-excel": "XLS",
    "application/vnd.oasis.opendocument.spreadsheet": "ODS",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/msword": "DOC",
    "application/vnd.oasis.opendocument.text": "ODT",
    "application/xml": "XML",
    "text/xml": "XML",
    "text/turtle": "RDF_TURTLE",
    "application/rdf+xml": "RDF_XML",
    "application/n-triples": "RDF_N_TRIPLES",
    "application/n-quads": "RDF_N_QUADS",
    "application/trig": "RDF_TRIG",
    "text/n3": "N3",
    "application/zip": "ZIP",
    "application/gzip": "GZIP",
    "application/x-gzip": "GZIP",
    "application/x-tar": "TAR",
    "application/x-7z-compressed": "7Z",
    "application/x-bzip2": "BZIP2",
    "text/plain": "TXT",
    "application/pdf": "PDF",
    "text/html": "HTML",
    "application/xhtml+xml": "XHTML",
    "application/vnd.shp": "SHP",
    "application/x-esri-shape": "SHP",
    "application/x-shapefile": "SHP",
    "x-gis/x-shapefile": "SHP",
    "application/geopackage+sqlite3": "GPKG",
    "application/netcdf": "NETCDF",
    "application/x-netcdf": "NETCDF",
    "application/x-hdf": "HDF",
    "application/x-hdf5": "HDF",
    "application/vnd.google-earth.kml+xml": "KML",
    "application/vnd.google-earth.kmz": "KMZ",
    "application/gml+xml": "GML",
    "image/tiff": "TIFF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/svg+xml": "SVG",
    "image/webp": "WEBP",
    "application/atom+xml": "ATOM",
    "application/rss+xml": "RSS",
    "application/yaml": "YAML",
    "application/x-yaml": "YAML",
    "text/yaml": "YAML",
    "application/sql": "SQL",
    "application/sparql-query": "SPARQLQ",
    "application/sparql-results+xml": "SPARQLQRES",
    "text/calendar": "ICS",
    "application/x-dbf": "DBF",
    "application/vnd.ms-powerpoint": "PPT",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
    "application/rtf": "RTF",
    "text/rtf": "RTF",
}
# File type codes to the media type a distribution that gives only ``format`` is stated with.
MEDIA_TYPES_BY_FILE_TYPE = {
    "CSV": "text/csv",
    "TSV": "text/tab-separated-values",
    "JSON": "application/json",
    "GEOJSON": "application/geo+json",
    "JSON_LD": "application/ld+json",
    "PARQUET": "application/vnd.apache.parquet",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "XLS": "application/vnd.ms-excel",
    "ODS": "application/vnd.oasis.opendocument.spreadsheet",
    "XML": "application/xml",
    "RDF_TURTLE": "text/turtle",
    "RDF_XML": "application/rdf+xml",
    "RDF_N_TRIPLES": "application/n-triples",
    "ZIP": "application/zip",
    "GZIP": "application/gzip",
    "TXT": "text/plain",
    "PDF": "application/pdf",
    "GPKG": "application/geopackage+sqlite3",
    "KML": "application/vnd.google-earth.kml+xml",
    "GML": "application/gml+xml",
}
# Codes of the EU File Type table a ``format`` may name, beyond those above: formats with
# no media type of their own (a shapefile's parts, an Esri geodatabase, ...).
FILE_TYPE_CODES = frozenset(FILE_TYPES.values()) | {
    "DBF",
    "GDB",
    "GEOTIFF",
    "GRID_ASCII",
    "LAS",
    "LAZ",
}
# Names people give a format, to the EU File Type code (compared in upper case).
FILE_TYPE_ALIASES = {
    "JSON-LD": "JSON_LD",
    "JSONLD": "JSON_LD",
    "TURTLE": "RDF_TURTLE",
    "TTL": "RDF_TURTLE",
    "RDF/XML": "RDF_XML",
    "N-TRIPLES": "RDF_N_TRIPLES",
    "NT": "RDF_N_TRIPLES",
    "SHAPEFILE": "SHP",
    "GEOPACKAGE": "GPKG",
    "NC": "NETCDF",
    "HDF5": "HDF",
    "TIF": "TIFF",
    "JPG": "JPEG",
    "YML": "YAML",
    "GZ": "GZIP",
    "HTM": "HTML",
}


def eu_code(value: str, table: str) -> str | None:
    """The code of ``value`` if it is an IRI of the EU authority ``table`` (``data-theme``).

    The EU publishes its IRIs with http; the https form people copy from a browser names the
    same term.
    """
    iri = value.strip()
    if iri.startswith("https://"):
        iri = "http://" + iri.removeprefix("https://")
    prefix = f"{EU_AUTHORITY}{table}/"
    return iri.removeprefix(prefix) if iri.startswith(prefix) else None


def theme_code(theme: str) -> str | None:
    """The EU Data Theme code of a code (``ENVI``, ``envi``) or its IRI; None if neither."""
    code = eu_code(theme, "data-theme")
    code = theme.strip().upper() if code is None else code
    return code if code in DATA_THEMES else None


def theme_filter(theme: str) -> str:
    """The code a theme filter looks for: ``theme_code``, or the value as given if none."""
    return theme_code(theme) or theme


def frequency_value(value: str) -> str | None:
    """The EU Frequency code (``DAILY``) of a word (``daily``), a code or its IRI, in any case.

    One stored form: a dataset written ``daily`` and one written ``DAILY`` are updated alike,
    and both say so in the same words. None if it is none of these.
    """
    iri = frequency_iri(value)
    return None if iri is None else iri.removeprefix(FREQUENCY)


def language_code(language: str) -> str | None:
    """The ISO 639-1 code (``nb``) of itself, an EU Language code (``NOB``) or its IRI."""
    code = eu_code(language, "language")
    if code is None:
        code = LANGUAGES.get(language.strip().lower(), language.strip().upper())
    return LANGUAGE_TAGS.get(code)


def access_rights_value(value: str) -> str | None:
    """``public``, ``restricted`` or ``non-public`` from itself or its EU Access Right IRI."""
    code = eu_code(value, "access-right")
    if code is None:
        return value if value in ACCESS_RIGHTS else None
    return next((word for word, known in ACCESS_RIGHTS.items() if known == code), None)


def licence_value(licence: str) -> str:
    """The EU Licence IRI of a code of that vocabulary (``CC_BY_4_0``), else ``licence``."""
    code = licence.strip().upper()
    return LICENCE + code if code in LICENCES else licence


def file_type_code(file_format: str) -> str:
    """The code of an EU File Type IRI (``.../file-type/CSV``), else ``file_format``."""
    return eu_code(file_format, "file-type") or file_format


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
    code = eu_code(value, "frequency")
    if code is not None:
        return FREQUENCY + code if code in FREQUENCY_CODES else None
    word = value.strip().lower()
    if word in FREQUENCIES:
        return FREQUENCY + FREQUENCIES[word]
    code = value.strip().upper()
    return FREQUENCY + code if code in FREQUENCY_CODES else None


def theme_label(theme_iri: str) -> str | None:
    """The English preferred label of an EU Data Theme IRI; None if it is not one."""
    return DATA_THEME_LABELS.get(theme_iri.removeprefix(DATA_THEME_SCHEME + "/"))


def licence_iri(licence: object) -> str | None:
    """The EU Licence IRI of a code (``CC_BY_4_0``), an EU IRI or a known licence URL.

    Returns None for anything else: DCAT-AP-NO only admits the EU Licence vocabulary.
    """
    if not isinstance(licence, str) or not licence.strip():
        return None
    value = licence.strip()
    if value.startswith(LICENCE):
        return value if value.removeprefix(LICENCE) in LICENCES else None
    if value.upper() in LICENCES:
        return LICENCE + value.upper()
    bare = value.split("://", 1)[-1].removeprefix("www.").rstrip("/").lower()
    if bare.startswith("creativecommons.org/"):
        # A licence's deed (summary) and legal code pages, in any language, name it too.
        bare = _CC_PAGE.sub("", bare)
    code = LICENCE_ALIASES.get(bare)
    return LICENCE + code if code else None


def is_place_iri(value: object) -> bool:
    """True if ``value`` names a place from a vocabulary DCAT-AP-NO accepts for dct:spatial."""
    return addresses.is_iri(value) and str(value).startswith(PLACE_PREFIXES)


def concept_scheme(iri: str) -> str | None:
    """The concept scheme a vocabulary term belongs to, as its publisher states it.

    EU authority tables (``.../authority/language/NOB`` is in ``.../authority/language``),
    GeoNames and ADMS Status; None for other IRIs, whose scheme this catalogue does not know.
    """
    if iri.startswith(EU_AUTHORITY):
        table = iri.removeprefix(EU_AUTHORITY).split("/", 1)[0]
        return EU_AUTHORITY + table if table else None
    if iri.startswith(GEONAMES):
        return GEONAMES.rstrip("/")
    if iri.startswith(ADMS_STATUS):
        return ADMS_STATUS_SCHEME
    return None


def access_right_iri(access_rights: str) -> str | None:
    """The EU Access Right IRI of ``public``, ``restricted`` or ``non-public``."""
    code = ACCESS_RIGHTS.get(access_rights)
    return ACCESS_RIGHT + code if code else None


def media_type_iri(media_type: str | None, profile: str = DCAT_AP_3) -> str | None:
    """The IRI ``profile`` names a media type by (parameters dropped).

    None if it is not a media type, or if the profile cannot state it (DCAT-AP-NO 3: only
    application/* types).
    """
    if not media_type:
        return None
    if not media_types.is_media_type(media_type):
        return None
    if profile == DCAT_AP_NO_3:
        iri = W3C_MEDIA_TYPES + media_types.bare(media_type)
        return iri if iri.startswith(NO_MEDIA_TYPES) else None
    return IANA_MEDIA_TYPES + media_types.bare(media_type)


def media_type_value(media_type: str) -> str:
    """The media type an IANA IRI names (``.../media-types/text/csv``), else ``media_type``.

    Both IRI forms in use: IANA's registry pages and the W3C's (with or without its
    ``#Resource``), by http or https.
    """
    value = media_type.strip()
    bare = value.split("://", 1)[-1]
    for prefix in _MEDIA_TYPE_IRI_PREFIXES:
        if value.lower().startswith(("http://", "https://")) and bare.startswith(prefix):
            return bare.removeprefix(prefix).removesuffix("#Resource")
    return media_type


def file_type_iri(file_format: str | None, media_type: str | None) -> str | None:
    """The EU File Type IRI from ``format`` (``CSV``, ``parquet``) or else the media type."""
    if file_format:
        code = file_format.strip().upper().removeprefix(".")
        code = FILE_TYPE_ALIASES.get(code, code)
        if code in FILE_TYPE_CODES:
            return FILE_TYPE + code
    if media_type:
        known = FILE_TYPES.get(media_type.split(";", 1)[0].strip().lower())
        if known:
            return FILE_TYPE + known
    return None
