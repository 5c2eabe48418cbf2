"""The pieces every DCAT description shares: vocabulary terms, agents, contact points, text
and time literals.

Each ``add_*`` appends ``(predicate, object)`` facts about a subject and states what the
objects need of their own (a term's type and scheme, an agent's name) in ``Statements``.
The vocabulary lookups remember their answers: every dataset of a feed asks the same few.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from catalogue.dcat import vocabularies as vocab
from catalogue.dcat.rdf import (
    DCAT,
    DCT,
    FOAF,
    SKOS,
    TYPE,
    VCARD,
    XSD_DATE,
    XSD_DATETIME,
    Facts,
    Literal,
    Statements,
)
from catalogue.domain import addresses
from catalogue.domain.ids import MAX_ID_LENGTH, ascii_words

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EDITION_ID = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:-\d{6})?$")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_WORD = re.compile(r"\w+")
# RFC 6068: an address in a mailto IRI keeps letters, digits, unreserved and these delimiters.
_MAILTO_KEPT = "-._~!$'()*+,;:@"
_MAILTO_ESCAPES = str.maketrans(
    {
        chr(code): f"%{code:02X}"
        for code in range(0x21, 0x7F)
        if not chr(code).isalnum() and chr(code) not in _MAILTO_KEPT
    }
)
# Hex digits of a name's digest in a publisher IRI: distinct for any real set of names.
_DIGEST_LENGTH = 10


T = TypeVar("T")


def _remembered(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` (a pure vocabulary lookup) remembering its answers.

    Every dataset of a feed asks the same few questions (its licence, themes, language);
    an unhashable argument, which no record should hold, is answered without memory.
    """
    cached = functools.lru_cache(maxsize=1024)(function)

    def lookup(*args: Any) -> T:
        try:
            return cached(*args)
        except TypeError:
            return function(*args)

    return lookup


theme_iri = _remembered(vocab.theme_iri)
theme_label = _remembered(vocab.theme_label)
licence_iri = _remembered(vocab.licence_iri)
language_tag = _remembered(vocab.language_tag)
language_iri = _remembered(vocab.language_iri)
frequency_iri = _remembered(vocab.frequency_iri)
file_type_iri = _remembered(vocab.file_type_iri)
media_type_iri = _remembered(vocab.media_type_iri)
concept_scheme = _remembered(vocab.concept_scheme)
access_right_iri = _remembered(vocab.access_right_iri)
is_place_iri = _remembered(vocab.is_place_iri)


def add_agent(out: Statements, base_url: str, publisher: str) -> str:
    """Add a ``foaf:Agent`` for a publisher given as an IRI or a name; returns its node."""
    if addresses.is_iri(publisher):
        agent = addresses.iri(publisher)
        name = publisher.rstrip("/").rsplit("/", 1)[-1]
    else:
        agent = f"{base_url.rstrip('/')}/publishers/{publisher_slug(publisher)}"
        name = publisher
    facts: Facts = [(TYPE, FOAF + "Agent"), (TYPE, FOAF + "Organization")]
    # The first name given to an agent stays (several datasets may name the same one).
    if not out.objects(agent, FOAF + "name"):
        facts.append((FOAF + "name", Literal(name)))
    out.state(agent, facts)
    return agent


def publisher_slug(name: str) -> str:
    """The last segment of the IRI of a publisher known by name.

    An ASCII name gives its words (``Oslo kommune``: ``oslo-kommune``), as it always has.
    Any other name would lose letters that way (``Bø`` and ``Bå`` both ``b``, a Cyrillic
    name nothing at all), and two publishers would share one agent and its name: it gets
    its words spelt in ASCII and a digest of the name itself (case, spacing and Unicode
    composition aside), so distinct names stay apart and one name keeps one IRI.
    """
    slug = _NOT_SLUG.sub("-", name.lower()).strip("-")
    if name.isascii() and slug:
        return slug
    words = _WORD.findall(unicodedata.normalize("NFC", name).casefold())
    digest = hashlib.sha256(" ".join(words).encode()).hexdigest()[:_DIGEST_LENGTH]
    words_slug = ascii_words(name)[:MAX_ID_LENGTH].rstrip("-")
    return f"{words_slug or 'publisher'}-{digest}"


def add_contact_point(
    out: Statements, facts: Facts, subject: str, contact: Mapping[str, Any] | None
) -> None:
    """Add a ``vcard:Kind`` contact point (an Organization, as DCAT-AP-NO asks)."""
    if not contact or not (contact.get("name") or contact.get("email")):
        return
    node = f"{subject}#contactPoint"
    facts.append((DCAT + "contactPoint", node))
    card: Facts = [(TYPE, VCARD + "Kind"), (TYPE, VCARD + "Organization")]
    if contact.get("name"):
        card.append((VCARD + "fn", Literal(contact["name"])))
    if contact.get("email"):
        card.append((VCARD + "hasEmail", mailto_iri(contact["email"])))
    if addresses.is_iri(contact.get("url")):
        card.append((VCARD + "hasURL", addresses.iri(contact["url"])))
    out.state(node, card)


def mailto_iri(email: str) -> str:
    """The ``mailto:`` IRI of an e-mail address (RFC 6068).

    ``#``, ``?``, ``%``, ``&`` and ``=`` may stand in an address but would start a fragment,
    a query or an escape in the IRI: such ASCII characters are percent-encoded. Letters
    beyond ASCII stay as they are, as an IRI allows.
    """
    return "mailto:" + email.translate(_MAILTO_ESCAPES)


def add_text(facts: Facts, predicate: str, text: Any, tag: str) -> None:
    """Add a language-tagged literal (DCAT-AP-NO wants rdf:langString) if there is text."""
    if isinstance(text, str) and text.strip():
        facts.append((predicate, Literal(text, tag)))


def add_language(out: Statements, facts: Facts, language: str | None) -> None:
    """Add ``dct:language`` as an EU Language IRI typed ``dct:LinguisticSystem``."""
    iri = language_iri(language) if language else None
    if iri:
        add_term(out, facts, DCT + "language", iri, DCT + "LinguisticSystem")


def add_term(out: Statements, facts: Facts, predicate: str, iri: str, rdf_type: str) -> None:
    """Add a controlled-vocabulary term with its ``rdf:type`` and ``skos:inScheme``.

    DCAT-AP 3 checks the type (pyshacl runs without inference); DCAT-AP-NO 2 checks that
    the term is in its vocabulary (``skos:inScheme``), as the vocabulary itself states.
    """
    facts.append((predicate, iri))
    if (iri, rdf_type) in out.described:
        return
    out.described.add((iri, rdf_type))
    scheme = concept_scheme(iri)
    out.state(
        iri, [(TYPE, rdf_type), (SKOS + "inScheme", scheme)] if scheme else [(TYPE, rdf_type)]
    )


def add_license(out: Statements, facts: Facts, licence: str | None) -> None:
    """Add ``dct:license`` as an EU Licence IRI typed ``dct:LicenseDocument``, if it maps to one."""
    iri = licence_iri(licence)
    if iri:
        add_term(out, facts, DCT + "license", iri, DCT + "LicenseDocument")


def add_temporal(
    out: Statements, facts: Facts, subject: str, temporal: Mapping[str, Any] | None
) -> None:
    """Add ``dct:temporal`` as a ``dct:PeriodOfTime`` with ``dcat:startDate``/``endDate``."""
    if not temporal or not (temporal.get("start") or temporal.get("end")):
        return
    period = f"{subject}#temporal"
    facts.append((DCT + "temporal", period))
    times: Facts = [(TYPE, DCT + "PeriodOfTime")]
    add_time(times, DCAT + "startDate", temporal.get("start"))
    add_time(times, DCAT + "endDate", temporal.get("end"))
    out.state(period, times)


def add_time(facts: Facts, predicate: str, value: str | None) -> None:
    """Add an ISO 8601 value as an ``xsd:date`` or ``xsd:dateTime`` literal."""
    if not value:
        return
    if _DATE.match(value):
        facts.append((predicate, Literal(value, None, XSD_DATE)))
    else:
        facts.append((predicate, Literal(canonical_datetime(value), None, XSD_DATETIME)))


def latest_change(
    dataset: Mapping[str, Any],
    distributions: Iterable[Mapping[str, Any]] = (),
    editions: Iterable[Mapping[str, Any]] = (),
) -> str | None:
    """When the dataset itself last changed: its metadata, or the data its latest edition brought.

    DCAT's ``dct:modified`` is "a change to the actual resource, not a change to the catalog
    record": a new edition changes the dataset without touching the record's ``modified``.
    """
    times = [dataset.get("modified")]
    times.extend(edition.get("created") for edition in editions)
    times.extend(distribution.get("created") for distribution in distributions)
    return latest_time(times) or dataset.get("modified")


def latest_time(values: Iterable[str | None]) -> str | None:
    """The latest of ISO 8601 dates and date-times, as written; None if none can be read.

    Compared as instants (``Z`` and ``+01:00`` alike; a date is its midnight, UTC).
    """
    latest, latest_instant = None, None
    for value in values:
        instant = _instant(value) if value else None
        if instant is not None and (latest_instant is None or instant > latest_instant):
            latest, latest_instant = value, instant
    return latest


def _instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def canonical_datetime(value: str) -> str:
    """The lexical form rdflib (and so every earlier feed) gives an ``xsd:dateTime`` value.

    rdflib reads the value with ``datetime.fromisoformat`` and writes ``isoformat()`` back
    (``Z`` becomes ``+00:00``); a value that does not parse keeps its form.
    """
    try:
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        return value


def edition_time(edition: str | None) -> str | None:
    """The UTC timestamp (ISO 8601) an edition id ``YYYYMMDDTHHMMSS`` stands for."""
    match = _EDITION_ID.match(edition or "")
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    return f"{year}-{month}-{day}T{hour}:{minute}:{second}Z"
