"""A catalogue with authentication on, its callers' tokens and datasets made by a site admin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from catalogue.app import create_app
from catalogue.settings import Settings
from tests.fixtures.app import Clock

SITE_ADMIN = "user:root"
OWNER_TEAM = "team:owners"
# Caller name -> (principal, teams). "anonymous" sends no token.
CALLERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reader": ("user:reader", ()),
    "updater": ("user:updater", ()),
    "writer": ("user:writer", ()),
    "other_admin": ("user:other", ("team:other",)),
    "owner": ("user:owner", (OWNER_TEAM,)),
    "site_admin": (SITE_ADMIN, ()),
}
ALL_CALLERS = ("anonymous", *CALLERS)
DIRECT_GRANTS = {"reader": ["read"], "updater": ["update"], "writer": ["write"]}


def auth_settings(home: Path, **changes: Any) -> Settings:
    return Settings(home=home, admins=(SITE_ADMIN,), secret_key="test-secret", **changes)


@dataclass
class World:
    app: Flask
    tokens: dict[str, str] = field(default_factory=dict)
    run: str = ""

    def client(self, caller: str) -> FlaskClient:
        client = self.app.test_client()
        if caller != "anonymous":
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[caller]}"
        return client

    def mint(self, caller: str, principal: str, teams: tuple[str, ...] = ()) -> str:
        token, _ = self.app.extensions["brygge"].repositories.tokens.create(principal, teams=teams)
        self.tokens[caller] = token
        return token

    def as_admin(self) -> FlaskClient:
        return self.client("site_admin")

    def create_dataset(self, dataset_id: str, access: str, owner: str = OWNER_TEAM) -> None:
        response = self.as_admin().post(
            "/datasets",
            json={
                "id": dataset_id,
                "title": f"Zebra crossings {dataset_id}",
                "accessRights": access,
                "owner": owner,
                "keywords": ["zebra"],
            },
        )
        assert response.status_code == 201, response.json

    def grant(self, dataset_id: str, principal: str, scopes: list[str]) -> TestResponse:
        response = self.as_admin().put(
            f"/datasets/{dataset_id}/permissions/{principal}", json={"scopes": scopes}
        )
        assert response.status_code == 200, response.json
        return response


def build_world(home: Path, **changes: Any) -> World:
    """A migrated SQLite catalogue with every caller's token and no datasets."""
    from catalogue.store import migrations

    settings = auth_settings(home, **changes)
    migrations.apply(settings)
    app = create_app(settings, clock=Clock())
    app.config["TESTING"] = True
    world = World(app)
    for caller, (principal, teams) in CALLERS.items():
        world.mint(caller, principal, teams)
    return world
