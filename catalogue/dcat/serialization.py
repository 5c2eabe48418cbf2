"""Write DCAT statements as JSON-LD (compact, prefixed), Turtle or RDF/XML, directly.

No RDF library on this path: the statements (``catalogue.dcat.statements``) hold IRIs and
literals only (no blank nodes, no lists), which each syntax writes in one pass. Every
format comes out byte-identical for the same statements in every process (the publishing
job compares checksums). Characters XML 1.0 cannot carry are dropped in every format (the
API refuses them, but values stored before it did stay readable and one bad title must not
break the feed for everyone). The JSON-LD document is the one rdflib's compacting serialiser
made with the same ``@context`` (node objects in ``@graph``, prefixed names, native
integers), with arrays sorted, so harvesters see the feed they saw before.
"""

from __future__ import annotations

import json
import re
from json.encoder import encode_basestring_ascii as _ascii  # type: ignore[attr-defined]
from typing import Any

from catalogue.collector import collector_paused
from catalogue.dcat.formats import JSON_LD, MEDIA_TYPES, RDF_XML, TURTLE
from catalogue.dcat.rdf import (
    PREFIXES,
    RDF,
    TYPE,
    XSD_INTEGER,
    Literal,
    Statements,
    Term,
)
from catalogue.domain.text import xml_safe

__all__ = ["JSON_LD", "MEDIA_TYPES", "RDF_XML", "TURTLE", "serialize"]

# Namespace to prefix, for compacting; the JSON-LD context splits an IRI after its last
# "#", else its last "/", else its last ":" (rdflib's split_iri), and so do we.
_PREFIX_OF = {namespace: prefix for prefix, namespace in PREFIXES.items()}
_SPLIT_AT = ("#", "/", ":")


def json_ld_context() -> dict[str, str]:
    """The compact JSON-LD context: the prefixes of every DCAT description, sorted."""
    return dict(sorted(PREFIXES.items()))


@collector_paused()
def serialize(statements: Statements, rdf_format: str = JSON_LD) -> str:
    """Write ``statements`` in ``rdf_format`` (``json-ld``, ``turtle`` or ``xml``).

    Raises ValueError for any other format.
    """
    if rdf_format == JSON_LD:
        return _json_ld(statements)
    if rdf_format == TURTLE:
        return _turtle(statements)
    if rdf_format == RDF_XML:
        return _rdf_xml(statements)
    raise ValueError(f"unsupported RDF format {rdf_format!r}; use one of {', '.join(MEDIA_TYPES)}")


# -- JSON-LD ----------------------------------------------------------------------------------


def _json_ld(statements: Statements) -> str:
    names: dict[str, str] = {}
    # Each IRI's node reference, one object per IRI: json writes a shared dict where it occurs.
    references: dict[str, dict[str, str]] = {}
    nodes = []
    for subject, predicates in statements.subjects.items():
        # Keys in sorted order as they are made: json's sort_keys costs a third of the dump.
        entries: list[tuple[str, Any]] = [("@id", names.get(subject) or _name(names, subject))]
        for predicate, values in predicates.items():
            if predicate == TYPE:
                written = [names.get(term) or _name(names, term) for term in values]  # type: ignore[arg-type]
                key = "@type"
            else:
                key = names.get(predicate) or _name(names, predicate)
                written = []
                for term in values:
                    if type(term) is str:
                        reference = references.get(term)
                        if reference is None:
                            reference = {"@id": names.get(term) or _name(names, term)}
                            references[term] = reference
                        written.append(reference)
                    else:
                        written.append(_json_literal(term, names))  # type: ignore[arg-type]
            entries.append(
                (key, written[0] if len(written) == 1 else sorted(written, key=_sort_key))
            )
        entries.sort(key=_first)
        nodes.append(dict(entries))
    nodes.sort(key=lambda node: node["@id"])
    context = json_ld_context()
    if len(nodes) == 1:
        document = dict(sorted({**nodes[0], "@context": context}.items()))
    else:
        document = {"@context": context, "@graph": nodes}
    return _xml_safe_json(json.dumps(document, ensure_ascii=False))


def _first(pair: tuple[str, Any]) -> str:
    return pair[0]


# json.dumps writes C0 controls as escapes (``\\u0001``, ``\\b``, ``\\f``): those XML 1.0
# cannot carry go. An escaped backslash is matched first, so the one after it never starts one.
_JSON_ESCAPE = re.compile(r"\\(?:u00|[bf])")
_JSON_CONTROL = re.compile(r"\\\\|\\[bf]|\\u00(?:0[0-8bef]|1[0-9a-f])")


def _xml_safe_json(text: str) -> str:
    if _JSON_ESCAPE.search(text):  # a scan for a literal prefix: fast, and rarely found
        text = _JSON_CONTROL.sub(_keep_backslash, text)
    return _xml_safe_document(text)


def _keep_backslash(match: re.Match[str]) -> str:
    return match.group() if match.group() == "\\\\" else ""


# C0 controls XML 1.0 refuses (all but TAB, LF and CR), as bytes.
_C0_REFUSED = bytes(code for code in range(0x20) if code not in (0x09, 0x0A, 0x0D))


def _xml_safe_document(text: str) -> str:
    """``xml_safe(text)``, with the (usual) text holding nothing to drop found at C speed.

    A regular expression scan costs a tenth of a feed; encoding and a byte translation
    tell the same in a fraction of it.
    """
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return xml_safe(text)
    has_control = len(data.translate(None, _C0_REFUSED)) != len(data)
    # U+FFFE and U+FFFF in UTF-8.
    if has_control or b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data:
        return xml_safe(text)
    return text


def _name(names: dict[str, str], iri: str) -> str:
    """The IRI as JSON-LD compaction writes it (``prefix:local`` or whole), remembered."""
    name = names[iri] = _shrink(iri)
    return name


def _json_literal(literal: Literal, names: dict[str, str]) -> Any:
    """A literal's JSON-LD value, its keys in sorted order ("@language", "@type", "@value")."""
    lexical, language, datatype = literal
    if datatype is not None:
        if datatype == XSD_INTEGER and lexical.lstrip("-").isdigit():
            # A native JSON number, as JSON-LD compaction writes xsd:integer.
            return int(lexical)
        return {"@type": names.get(datatype) or _name(names, datatype), "@value": lexical}
    if language is not None:
        return {"@language": language, "@value": lexical}
    return lexical


def _shrink(iri: str) -> str:
    """The IRI as ``prefix:local`` when its namespace is a prefix's, else whole."""
    for delimiter in _SPLIT_AT:
        at = iri.rfind(delimiter)
        if at > -1:
            prefix = _PREFIX_OF.get(iri[: at + 1])
            return f"{prefix}:{iri[at + 1 :]}" if prefix else iri
    return iri


def _sort_key(item: Any) -> tuple[int, str]:
    """Order plain values, then nodes by their (unique) ``@id``, then other values by their
    JSON text (keys sorted, ASCII), as the feed has always been ordered."""
    if isinstance(item, str):
        return (0, item)
    if isinstance(item, dict):
        if "@id" in item:
            return (1, item["@id"])
        key = "@language" if "@language" in item else "@type"
        if len(item) == 2 and key in item and isinstance(item.get("@value"), str):
            # json.dumps(item, sort_keys=True) without its cost ("@language" and "@type"
            # sort before "@value").
            return (2, f'{{"{key}": {_ascii(item[key])}, "@value": {_ascii(item["@value"])}}}')
    return (2, json.dumps(item, sort_keys=True))


# -- Turtle -----------------------------------------------------------------------------------

# Characters an IRIREF cannot hold as they are: Turtle's UCHAR escapes them. Other C0
# controls stay, for the pass that drops what XML 1.0 cannot carry.
_IRI_ESCAPES = str.maketrans({char: f"\\u{ord(char):04X}" for char in '\t\n\r <>"{}|^`\\'})
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _turtle(statements: Statements) -> str:
    names: dict[str, str] = {}

    def name(iri: str) -> str:
        written = names[iri] = _prefixed(iri) or f"<{iri.translate(_IRI_ESCAPES)}>"
        return written

    def term(value: Term) -> str:
        if type(value) is str:
            return names.get(value) or name(value)
        lexical, language, datatype = value
        text = f'"{lexical.translate(_STRING_ESCAPES)}"'
        if datatype is not None:
            return f"{text}^^{names.get(datatype) or name(datatype)}"
        return text if language is None else f"{text}@{language}"

    lines = [f"@prefix {prefix}: <{namespace}> ." for prefix, namespace in PREFIXES.items()]
    lines.append("")
    for subject in sorted(statements.subjects):
        predicates = statements.subjects[subject]
        parts = []
        for predicate in _predicate_order(predicates):
            values = predicates[predicate]
            if len(values) == 1:
                objects = term(next(iter(values)))
            else:
                objects = ",\n        ".join(sorted([term(value) for value in values]))
            verb = "a" if predicate == TYPE else names.get(predicate) or name(predicate)
            parts.append(f"{verb} {objects}")
        lines.append(f"{names.get(subject) or name(subject)} " + " ;\n    ".join(parts) + " .\n")
    return _xml_safe_document("\n".join(lines))


def _predicate_order(predicates: dict[str, Any]) -> list[str]:
    """``rdf:type`` first (Turtle's ``a``), then the others in IRI order."""
    ordered = sorted(predicates)
    if TYPE in predicates:
        ordered.remove(TYPE)
        ordered.insert(0, TYPE)
    return ordered


# A local name that is safe as it is in a Turtle prefixed name and an XML element name.
_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _prefixed(iri: str, namespaces: dict[str, str] = PREFIXES) -> str | None:
    """``prefix:local`` for an IRI in a prefix's namespace whose local name needs no escape."""
    for prefix, namespace in namespaces.items():
        if iri.startswith(namespace) and _LOCAL_NAME.fullmatch(iri, len(namespace)):
            return f"{prefix}:{iri[len(namespace) :]}"
    return None


# -- RDF/XML ----------------------------------------------------------------------------------

_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_XML_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;"}
    | {"\t": "&#9;"}
)
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\n\r\t]')


def _rdf_xml(statements: Statements) -> str:
    namespaces = {"rdf": RDF, **PREFIXES}
    declarations = "".join(f'\n   xmlns:{p}="{n}"' for p, n in namespaces.items())
    lines = ['<?xml version="1.0" encoding="utf-8"?>', f"<rdf:RDF{declarations}\n>"]
    qnames: dict[str, str] = {}
    # The element stating each (predicate, IRI) pair: vocabulary terms recur in every dataset.
    references: dict[tuple[str, str], str] = {}
    # A literal's start tag by element, language and datatype: a few dozen in a whole feed.
    start_tags: dict[tuple[str, str | None, str | None], str] = {}
    # Subjects of the same kind state the same predicates in the same order: sorted once.
    orders: dict[tuple[str, ...], list[str]] = {}
    for subject in sorted(statements.subjects):
        predicates = statements.subjects[subject]
        lines.append(f'  <rdf:Description rdf:about="{_xml_attribute(subject)}">')
        stated = tuple(predicates)
        order = orders.get(stated)
        if order is None:
            order = orders[stated] = _predicate_order(predicates)
        for predicate in order:
            element = qnames.get(predicate) or _qname(qnames, predicate, namespaces)
            values = predicates[predicate]
            for value in values if len(values) == 1 else sorted(values, key=_order):
                if type(value) is str:
                    line = references.get((element, value))  # type: ignore[arg-type]
                    if line is None:
                        line = f'    <{element} rdf:resource="{_xml_attribute(value)}"/>'
                        references[(element, value)] = line  # type: ignore[index]
                    lines.append(line)
                    continue
                lexical, language, datatype = value  # type: ignore[misc]
                start = start_tags.get((element, language, datatype))
                if start is None:
                    start = start_tags[(element, language, datatype)] = _start_tag(
                        element, language, datatype
                    )
                # Most text holds nothing to escape: four scans at C speed tell, where
                # translate looks every character up in a dict.
                if "&" in lexical or "<" in lexical or ">" in lexical or "\r" in lexical:
                    lexical = lexical.translate(_XML_TEXT)
                lines.append(f"{start}{lexical}</{element}>")
        lines.append("  </rdf:Description>")
    lines.append("</rdf:RDF>\n")
    return _xml_safe_document("\n".join(lines))


def _xml_attribute(text: str) -> str:
    """``text`` as an attribute value; an IRI seldom holds a character to escape."""
    if _ATTRIBUTE_SPECIAL.search(text) is None:
        return text
    return text.translate(_XML_ATTRIBUTE)


def _start_tag(element: str, language: str | None, datatype: str | None) -> str:
    """The indented start tag of a literal's element, with its datatype or language."""
    attributes = ""
    if datatype is not None:
        attributes = f' rdf:datatype="{datatype.translate(_XML_ATTRIBUTE)}"'
    elif language is not None:
        attributes = f' xml:lang="{language.translate(_XML_ATTRIBUTE)}"'
    return f"    <{element}{attributes}>"


def _qname(qnames: dict[str, str], predicate: str, namespaces: dict[str, str]) -> str:
    """The element name of a predicate (remembered); ValueError if no prefix can write it."""
    element = _prefixed(predicate, namespaces)
    if element is None:
        raise ValueError(f"RDF/XML cannot name the property {predicate}")
    qnames[predicate] = element
    return element


def _order(value: Term) -> tuple[int, str, str, str]:
    if isinstance(value, str):
        return (0, value, "", "")
    return (1, value.lexical, value.language or "", value.datatype or "")
