"""Change events over any ItemStore: written in each change's own transaction, read as a feed.

A change and its event are one transaction, so neither exists without the other (the
outbox pattern). ``source`` is the public base URL by the rule of ``catalogue.links``:
``BRYGGE_BASE_URL`` when set, else, for a change made in a request, that request's root;
a change made outside any request (a run's worker, the steps function) takes
``BRYGGE_BASE_URL`` too, or ``DEFAULT_SOURCE`` when it is unset. Set ``BRYGGE_BASE_URL``
wherever events leave Brygge, so every event of one site has one source.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from catalogue.domain.change_events import envelope
from catalogue.domain.errors import InvalidValue
from catalogue.store import keys
from catalogue.store.base import Create, Item, ItemStore, Op, Page, Predicate, Query

# The source of events written outside a request while BRYGGE_BASE_URL is unset.
DEFAULT_SOURCE = "urn:brygge:local"
# How long a change may take from reading the clock to committing. The feed's cursor stays
# this far behind the newest event, so an event committed late with an earlier time is
# still read: a poller sees such recent events again and skips the ids it already has.
SETTLE = timedelta(seconds=5)

# A request's events take its public base URL, asked for only when an event is written:
# most requests write none, and working out the URL costs a tenth of a dataset read. The
# web app names, once, what gives that URL (None outside a request): nothing is set per
# request. ``request_source`` sets one for a block of code instead.
_request_source: ContextVar[Callable[[], str] | None] = ContextVar(
    "brygge_event_source", default=None
)
_configured_source = [DEFAULT_SOURCE]


def _no_request() -> str | None:
    return None


_ambient_source: list[Callable[[], str | None]] = [_no_request]


def configure_source(base_url: str) -> None:
    """Set the source of events written outside a request (the process's BRYGGE_BASE_URL)."""
    _configured_source[0] = base_url.rstrip("/") or DEFAULT_SOURCE


def configure_request_source(request_base_url: Callable[[], str | None]) -> None:
    """Name what gives the public base URL of the request being answered (None outside one)."""
    _ambient_source[0] = request_base_url


@contextmanager
def request_source(base_url: str) -> Iterator[None]:
    """Within the block, events take ``base_url`` (the request's public base) as source."""
    token = _request_source.set(lambda: base_url)
    try:
        yield
    finally:
        _request_source.reset(token)


def event_source() -> str:
    """The source an event written now gets."""
    source = _request_source.get()
    return (source() if source is not None else _ambient_source[0]()) or _configured_source[0]


def event_ops(
    type_: str,
    *,
    subject: str,
    data: Mapping[str, Any],
    dataset: Mapping[str, Any] | None,
    now: datetime,
) -> list[Op]:
    """The writes recording one change's event; add them to the change's own transaction.

    ``dataset`` is the dataset concerned (its ``id``, ``incarnation`` and immutable
    ``accessRights``): readers see the event when they may see that dataset. None for a
    change that concerns no dataset (a pipeline template, which anyone may read): every
    reader sees it, and subscriptions limited to some datasets do not get it.
    """
    event_id = str(uuid.uuid4())
    sk = keys.event_sk(now.strftime("%Y%m%dT%H%M%S.%f"), event_id)
    event = envelope(
        event_id=event_id, source=event_source(), type_=type_, subject=subject, data=data, now=now
    )
    item: dict[str, Any] = {
        "pk": keys.EVENTS_PK,
        "sk": sk,
        "kind": "event",
        "event": event,
        "dataset": None,
        "incarnation": None,
        "accessRights": "public",
    }
    if dataset is not None:
        item.update(
            gsi1pk=keys.dataset_events_pk(dataset["id"]),
            gsi1sk=sk,
            dataset=dataset["id"],
            incarnation=dataset.get("incarnation"),
            accessRights=dataset.get("accessRights"),
        )
    # The outbox marker: there until the dispatcher has handed the event on.
    marker = {"pk": keys.OUTBOX_PK, "sk": sk, "kind": "outbox"}
    return [Create(item), Create(marker)]


# Fields of a stored resource that are the store's or the catalogue's own bookkeeping.
_PRIVATE_FIELDS = frozenset({"rev", "incarnation", "deleting"})


def public_data(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's JSON as an event carries it: without the bookkeeping fields."""
    return {name: value for name, value in resource.items() if name not in _PRIVATE_FIELDS}


def is_event(item: Mapping[str, Any]) -> bool:
    return item.get("kind") == "event" and item.get("pk") == keys.EVENTS_PK


def dataset_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset an event is about, as permission checks read a dataset."""
    return {
        "id": item["dataset"],
        "incarnation": item.get("incarnation"),
        "accessRights": item.get("accessRights") or "non-public",
    }


def _visible_events(visible: Predicate | None) -> Predicate | None:
    if visible is None:
        return None
    return lambda item: visible(dataset_view(item))


class ChangeEventRepository:
    """Reads the events; nothing here writes them (each change writes its own)."""

    def __init__(self, store: ItemStore, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def list(self, *, after: str | None, limit: int, visible: Predicate | None) -> Page:
        """Events after the cursor ``after`` (None: from the first), oldest first.

        ``next_cursor`` is always set: the position to poll from next. It never passes an
        event younger than SETTLE, so those come again on the next poll (at-least-once;
        readers skip ids they have). Raises InvalidValue(field="after") for a cursor that
        is not one of this feed's.
        """
        position = _decode(after)
        query = Query(keys.EVENTS_PK, after=position, where=_visible_events(visible))
        page = self.store.query(query, limit=limit)
        horizon = (self.clock() - SETTLE).strftime("%Y%m%dT%H%M%S.%f")
        for item in page.items:
            if item["sk"] >= horizon:
                break
            position = item["sk"]
        return Page([event_of(item) for item in page.items], _encode(position))

    def for_dataset(self, dataset_id: str, *, incarnation: str | None, limit: int) -> list[dict]:
        """The newest ``limit`` events of one incarnation of a dataset, newest first."""
        query = Query(
            keys.dataset_events_pk(dataset_id),
            index=keys.GSI1,
            descending=True,
            where=lambda item: item.get("incarnation") == incarnation,
        )
        return [event_of(item) for item in self.store.query(query, limit=limit).items]


def event_of(item: Item) -> dict[str, Any]:
    """The CloudEvent stored in an event item."""
    return dict(item["event"])


def _encode(position: str | None) -> str:
    """The feed's cursor: the sort key of the last event it has passed (opaque to clients)."""
    raw = json.dumps({"e": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))["e"]
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error):
        raise InvalidValue("after", "not a cursor of GET /events") from None
    if position is not None and not (isinstance(position, str) and position):
        raise InvalidValue("after", "not a cursor of GET /events")
    return position
