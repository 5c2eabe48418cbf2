"""``/events``: change events (CloudEvents) the caller may see, oldest first; a dataset's Atom.

Events of datasets hidden from the caller are left out, as everywhere.
"""

from __future__ import annotations

from flask import Response

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import READ, require, visible
from catalogue.events.atom import MEDIA_TYPE, atom_feed
from catalogue.links import absolute_url, link_to
from catalogue.schemas.change_events import EventPageSchema, EventQuerySchema
from catalogue.services import repositories

blp = Blueprint("changes", __name__, description="Change events")

# Entries of a dataset's Atom feed: its newest changes.
ATOM_ENTRIES = 50


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventQuerySchema, location="query")
    @blp.response(200, EventPageSchema)
    def get(self, query: dict) -> dict:
        """Change events after ``after``, oldest first, for clients that poll.

        ``next`` is always set; poll again with it. The newest few seconds of events may
        come twice (a change committed late is never skipped): skip ids you have seen.
        """
        page = repositories().change_events.list(
            after=query["after"], limit=query["limit"], visible=visible()
        )
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/datasets/<dataset_id>/events.atom")
class DatasetEventsAtom(MethodView):
    @blp.response(200, {"type": "string"}, content_type=MEDIA_TYPE, description="Atom feed")
    def get(self, dataset_id: str) -> Response:
        """The dataset's newest changes as an Atom feed, newest first."""
        require(dataset_id, READ)
        dataset = repositories().datasets.get(dataset_id)
        events = repositories().change_events.for_dataset(
            dataset_id, incarnation=dataset.get("incarnation"), limit=ATOM_ENTRIES
        )
        body = atom_feed(
            feed_url=link_to("changes.DatasetEventsAtom", dataset_id=dataset_id),
            title=f"Changes to {dataset['title']}",
            updated=dataset["modified"],
            events=events,
            link_of=absolute_url,
        )
        return Response(body, mimetype=MEDIA_TYPE)
