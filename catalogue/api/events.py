"""``/datasets/{id}/versions/{v}/events`` and ``.../latest``: events in, latest values out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import request
from werkzeug.exceptions import BadRequest

from catalogue.api.bodies import BodyError, parse_json
from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import UPDATE, WRITE, require, require_data_read
from catalogue.auth.principal import current_principal
from catalogue.domain import sns
from catalogue.domain.errors import Forbidden, NotFound
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.events import (
    IngestAnswerSchema,
    LatestPageSchema,
    LatestSchema,
    RejectPageSchema,
    SnsAnswerSchema,
)
from catalogue.services import repositories, services

if TYPE_CHECKING:
    from catalogue.domain.enrichment import LookupTable

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/datasets/<dataset_id>/versions/<version>",
    description="Events of event datasets and the latest value of each series",
)

MAX_EVENTS = 500
# Printable ASCII without spaces, as HTTP header tokens are written.
IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,200}$")
EVENTS_BODY = {
    "required": True,
    "description": f"One event (a flat JSON object) or an array of up to {MAX_EVENTS}; "
    "the body holds at most 1 MB.",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"type": "object"},
                    {"type": "array", "items": {"type": "object"}, "maxItems": MAX_EVENTS},
                ]
            }
        }
    },
}


def posted_events() -> list[Any]:
    """The events of the request's body; BadRequest for a body that holds none."""
    return events_of(request_json())


def request_json() -> Any:
    """The request's body as JSON; BadRequest for one that is not."""
    try:
        return parse_json(request.get_data(cache=False))
    except (json.JSONDecodeError, UnicodeDecodeError, BodyError) as error:
        raise BadRequest(f"The body is not valid JSON: {error}") from None


def events_of(body: Any) -> list[Any]:
    """The events of a JSON document (one or an array); BadRequest for one that holds none."""
    if isinstance(body, dict):
        return [body]
    if not isinstance(body, list):
        raise BadRequest("The body is one event (a JSON object) or an array of events.")
    if not body:
        raise BadRequest("The array holds no events.")
    if len(body) > MAX_EVENTS:
        raise BadRequest(f"An array holds at most {MAX_EVENTS} events, not {len(body)}.")
    return body


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.match(key):
        raise BadRequest("Idempotency-Key is 1 to 200 printable ASCII characters, no spaces.")
    return key


def ingest(
    dataset_id: str, version: str, events: list[Any], key: str | None, principal: str
) -> dict[str, Any]:
    """Ingest ``events`` into the version, enriched if configured (the sender checked)."""
    svc = services()
    repos = svc.repositories
    repos.versions.get([dataset_id, version])

    def lookup(dataset: Mapping[str, Any]) -> LookupTable:
        from catalogue.enrichment import enrichment_table
        from catalogue.object_stores import object_store

        return enrichment_table(repos, lambda: object_store(svc.settings), dataset)

    return repos.events.ingest(
        repos.datasets.get_item(dataset_id),
        version,
        events,
        principal=principal,
        idempotency_key=key,
        lookup=lookup,
    )


@blp.route("/events")
class Events(MethodView):
    @blp.doc(
        requestBody=EVENTS_BODY,
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string"},
                "description": "A resend of the batch with the same key gets the first "
                "answer and is accepted once (keys are kept for 24 hours).",
            }
        ],
    )
    @blp.response(200, IngestAnswerSchema)
    def post(self, dataset_id: str, version: str) -> dict:
        """Post events (``write`` scope): each is checked against the dataset's schema.

        The answer counts the accepted events and gives the reasons of each rejected one,
        which is also kept in the version's rejects. Each series' latest value moves to
        its newest accepted event; an older event arriving late leaves it as it is.
        """
        require(dataset_id, WRITE)
        return ingest(dataset_id, version, posted_events(), idempotency_key(), current_principal())


@blp.route("/events/sns")
class SnsDeliveries(MethodView):
    @blp.doc(
        security=[],
        requestBody={
            "required": True,
            "description": "An Amazon SNS message (sent as text/plain): a Notification whose "
            "Message is one event or an array of events, a SubscriptionConfirmation or an "
            "UnsubscribeConfirmation.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    )
    @blp.response(200, SnsAnswerSchema)
    def post(self, dataset_id: str, version: str) -> dict:
        """Amazon SNS deliveries: no token; the signature and the source's SNS topics decide.

        Each message's signature is checked as SNS documents it (certificate from
        sns.<region>.amazonaws.com); its topic must be one of ``source.sns.topics``. A
        subscription is confirmed by fetching its SubscribeURL; a notification's events
        are ingested as ``POST .../events`` does, its MessageId as Idempotency-Key.
        """
        return deliver_sns(dataset_id, version, request_json())


def deliver_sns(dataset_id: str, version: str, body: Any) -> dict[str, Any]:
    """Verify an SNS message and act on it; raises Forbidden, NotFound, UpstreamFailed."""
    from catalogue.auth.sns import fetch, verify_message

    message = sns.parse_message(body)
    fetch_url = services().settings.sns_fetch_url
    verify_message(message, fetch_url)
    topic, kind = message["TopicArn"], message["Type"]
    dataset = repositories().datasets.find_item(dataset_id)
    source = (dataset or {}).get("source") or {}
    if topic not in source.get("sns", {}).get("topics", []):
        raise NotFound(
            f"dataset {dataset_id!r} not found, or it takes no SNS deliveries from {topic}"
        )
    repositories().versions.get([dataset_id, version])
    if kind == sns.SUBSCRIPTION_CONFIRMATION:
        region = sns.topic_region(topic)
        problem = sns.sns_url_problem(message["SubscribeURL"], str(region))
        if problem:
            raise Forbidden(f"SubscribeURL {problem}")
        fetch(message["SubscribeURL"], fetch_url)
        return {"type": kind, "confirmed": True}
    if kind == sns.UNSUBSCRIBE_CONFIRMATION:
        return {"type": kind, "confirmed": False}
    try:
        events = events_of(parse_json(message["Message"]))
    except (json.JSONDecodeError, BodyError) as error:
        raise BadRequest(f"The notification's Message is not JSON: {error}") from None
    # SNS sends a message again with the same MessageId when a delivery failed.
    answer = ingest(dataset_id, version, events, f"sns:{message['MessageId']}", f"sns:{topic}")
    return {"type": kind, **answer}


@blp.route("/events/rejects")
class Rejects(MethodView):
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, RejectPageSchema)
    def get(self, query: dict, dataset_id: str, version: str) -> dict:
        """The version's rejected events with their reasons, oldest first (``update`` scope)."""
        require(dataset_id, UPDATE)
        repos = repositories()
        repos.versions.get([dataset_id, version])
        page = repos.events.rejects(repos.datasets.get_item(dataset_id), version, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/latest")
class Latest(MethodView):
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, LatestPageSchema)
    def get(self, query: dict, dataset_id: str, version: str) -> dict:
        """The latest value of every series, in key order (public datasets: no token)."""
        dataset = require_data_read(dataset_id)
        repositories().versions.get([dataset_id, version])
        page = repositories().events.latest(dataset, version, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/latest/<path:key>")
class LatestOfSeries(MethodView):
    @blp.response(200, LatestSchema)
    def get(self, dataset_id: str, version: str, key: str) -> dict:
        """The latest value of one series: its ``key`` text, percent-encoded in the URL."""
        dataset = require_data_read(dataset_id)
        return repositories().events.latest_one(dataset, version, key)
