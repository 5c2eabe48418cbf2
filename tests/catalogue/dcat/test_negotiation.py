"""Choosing JSON-LD, Turtle or RDF/XML from ``?format=`` and ``Accept``."""

from __future__ import annotations

import pytest

from catalogue.dcat.negotiation import NotAcceptable, negotiate

JSONLD = ("json-ld", "application/ld+json")
TURTLE = ("turtle", "text/turtle")
RDFXML = ("xml", "application/rdf+xml")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSONLD),
        ("", JSONLD),
        ("*/*", JSONLD),
        ("application/ld+json", JSONLD),
        ("text/turtle", TURTLE),
        ("application/rdf+xml", RDFXML),
        ("Text/Turtle", TURTLE),
        ("application/json", JSONLD),
        ("text/*", TURTLE),
        ("application/*", JSONLD),
        ("text/turtle;q=0.5, application/rdf+xml", RDFXML),
        ("text/turtle;q=0.9, application/ld+json;q=0.8", TURTLE),
        ("application/ld+json;q=0, text/turtle;q=0.1", TURTLE),
        ("text/html, */*;q=0.1", JSONLD),
        ("text/html, text/turtle;q=0.2, */*;q=0.1", TURTLE),
        ("text/turtle, application/rdf+xml", TURTLE),
        ("application/rdf+xml, text/turtle", RDFXML),
        ("*/*, text/turtle", TURTLE),
        ("text/turtle;q=abc, application/rdf+xml;q=0.3", RDFXML),
        ("text/html", None),
        ("text/html, application/xhtml+xml", None),
        ("text/turtle;q=0", None),
        ("garbage", JSONLD),
        # q=0 refuses a type even where a wider range accepts the rest (RFC 9110 12.4.2).
        ("application/ld+json;q=0, */*", TURTLE),
        ("application/ld+json;q=0, application/*", RDFXML),
        ("application/json;q=0, */*", TURTLE),
        ("*/*;q=0, text/turtle;q=0.1", TURTLE),
    ],
)
def test_accept_header_picks_format_for_the_catalog(
    accept: str | None, expected: tuple[str, str] | None
) -> None:
    assert negotiate(accept, None) == expected


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, None),
        ("*/*", None),
        ("application/json", None),
        ("application/json, text/turtle;q=0.5", None),
        ("text/turtle", TURTLE),
        ("application/ld+json", JSONLD),
        ("text/turtle;q=0.5, */*;q=0.1", TURTLE),
        ("application/json;q=0, */*", JSONLD),
        ("application/json;q=0, application/ld+json;q=0, */*", TURTLE),
    ],
)
def test_dataset_without_rdf_preference_keeps_plain_json(
    accept: str | None, expected: tuple[str, str] | None
) -> None:
    assert negotiate(accept, None, default=None) == expected


@pytest.mark.parametrize(
    ("format_param", "expected"),
    [
        ("jsonld", JSONLD),
        ("json-ld", JSONLD),
        ("ttl", TURTLE),
        ("turtle", TURTLE),
        ("TTL", TURTLE),
        ("rdf", RDFXML),
        ("xml", RDFXML),
        ("text/turtle", TURTLE),
        ("application/rdf+xml", RDFXML),
    ],
)
def test_format_parameter_wins_over_accept(format_param: str, expected: tuple[str, str]) -> None:
    assert negotiate("application/ld+json", format_param) == expected


@pytest.mark.parametrize("format_param", ["csv", "n3", "application/json", "yaml"])
def test_unknown_format_parameter_is_not_acceptable(format_param: str) -> None:
    with pytest.raises(NotAcceptable) as raised:
        negotiate(None, format_param)
    assert raised.value.field == "format"
    assert format_param in raised.value.message
    assert "text/turtle" in raised.value.message
