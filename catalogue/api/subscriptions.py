"""``/subscriptions``: webhooks for change events, their deliveries and replays."""

from __future__ import annotations

from datetime import timedelta

from catalogue.api.smorest import Blueprint, MethodView
from catalogue.auth.permissions import (
    READ,
    require,
    require_authenticated,
    subscription_grantees,
    subscription_owner,
)
from catalogue.domain.webhooks import check_target_url
from catalogue.schemas.common import ListQuerySchema
from catalogue.schemas.subscriptions import (
    DeliveryPageSchema,
    NewSubscriptionSchema,
    ReplayedSchema,
    ReplaySchema,
    RotatedSecretSchema,
    SecretRotationSchema,
    SubscriptionListQuerySchema,
    SubscriptionPageSchema,
    SubscriptionSchema,
)
from catalogue.services import repositories

blp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions", description="Webhooks")


def _own(subscription_id: str) -> str:
    """Check the caller may manage the subscription: its owner (the caller, or a member of
    the owner team), or a site admin."""
    repositories().subscriptions.get(subscription_id, grantees=subscription_grantees())
    return subscription_id


@blp.route("")
class Subscriptions(MethodView):
    @blp.arguments(SubscriptionSchema)
    @blp.response(201, NewSubscriptionSchema)
    def post(self, data: dict) -> dict:
        """Subscribe a URL to change events (read scope on each dataset named).

        The subscription belongs to its owner: your team (the default when you have one)
        or yourself. A team's subscription acts as the team, and its members manage it.
        """
        identity, owner = subscription_owner(data.get("owner"))
        check_target_url(data["url"])
        for dataset_id in data["datasets"]:
            require(dataset_id, READ)
        return repositories().subscriptions.create(data, identity=identity, owner=owner)

    @blp.arguments(SubscriptionListQuerySchema, location="query")
    @blp.response(200, SubscriptionPageSchema)
    def get(self, query: dict) -> dict:
        """Your subscriptions, or those of one of your teams (owner)."""
        owner = query.pop("owner", None)
        subscription_grantees(owner)
        identity = require_authenticated()
        assert identity.principal is not None
        page = repositories().subscriptions.list(owner or identity.principal, **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/<subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(200, SubscriptionSchema)
    def get(self, subscription_id: str) -> dict:
        """One of your subscriptions (without its secret)."""
        return repositories().subscriptions.get(_own(subscription_id), grantees=None)

    @blp.response(204)
    def delete(self, subscription_id: str) -> None:
        """Unsubscribe; deliveries still pending are cancelled."""
        repositories().subscriptions.delete(_own(subscription_id), grantees=None)


@blp.route("/<subscription_id>/deliveries")
class Deliveries(MethodView):
    @blp.arguments(ListQuerySchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, query: dict, subscription_id: str) -> dict:
        """Deliveries of the subscription, newest first: pending, delivered, dead."""
        page = repositories().subscriptions.deliveries(_own(subscription_id), **query)
        return {"items": page.items, "next": page.next_cursor}


@blp.route("/<subscription_id>/replay")
class Replay(MethodView):
    @blp.arguments(ReplaySchema)
    @blp.response(200, ReplayedSchema)
    def post(self, data: dict, subscription_id: str) -> dict:
        """Deliver dead deliveries again (or the one of ``eventId``), from the first attempt."""
        count = repositories().subscriptions.replay(_own(subscription_id), data["eventId"])
        return {"replayed": count}


@blp.route("/<subscription_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.arguments(SecretRotationSchema)
    @blp.response(200, RotatedSecretSchema)
    def post(self, data: dict, subscription_id: str) -> dict:
        """Give the subscription a new signing secret, shown only in this answer.

        The replaced secret goes on signing for ``graceSeconds`` (a day by default): each
        delivery carries both signatures, space-delimited in ``webhook-signature``, so the
        receiver can switch to the new secret with no delivery failing verification.
        """
        grace = timedelta(seconds=data["graceSeconds"])
        return repositories().subscriptions.rotate_secret(_own(subscription_id), grace=grace)
