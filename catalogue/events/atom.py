"""One dataset's change events as an Atom feed (RFC 4287) for feed readers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml"

ET.register_namespace("", ATOM)


def _element(
    parent: ET.Element, name: str, text: str | None = None, **attributes: str
) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{name}", attributes)
    if text is not None:
        element.text = text
    return element


def atom_feed(
    *,
    feed_url: str,
    title: str,
    updated: str,
    events: Sequence[Mapping[str, Any]],
    link_of: Any,
) -> bytes:
    """The feed document: one entry per event, newest first.

    ``updated`` is used when there are no events (the dataset's ``modified``); ``link_of``
    turns an event's subject (a resource path) into its public URL. Each entry's id is
    ``urn:uuid:<event id>`` and its content the CloudEvent as JSON text.
    """
    feed = ET.Element(f"{{{ATOM}}}feed")
    _element(feed, "id", feed_url)
    _element(feed, "title", title)
    _element(feed, "updated", events[0]["time"] if events else updated)
    _element(feed, "link", rel="self", href=feed_url, type=MEDIA_TYPE)
    author = _element(feed, "author")
    _element(author, "name", "Brygge")
    for event in events:
        entry = _element(feed, "entry")
        _element(entry, "id", f"urn:uuid:{event['id']}")
        _element(entry, "title", f"{event['type']} {event['subject']}")
        _element(entry, "updated", event["time"])
        _element(entry, "category", term=event["type"])
        _element(entry, "link", rel="related", href=link_of(event["subject"]))
        content = json.dumps(event, ensure_ascii=False, sort_keys=True)
        _element(entry, "content", content, type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
