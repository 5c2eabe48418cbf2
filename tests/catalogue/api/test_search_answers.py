"""Kept search answers over HTTP: two servers on one SQLite file, one writing, one searching.

Each server process keeps its search answers (``catalogue.store.answer_cache``); a write
made through the other server shows in the very next search, and an answer kept for one
caller never reaches another who may see less.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalogue.app import create_app
from tests.catalogue.auth.world import World, auth_settings, build_world
from tests.fixtures.app import Clock

# A text search, a filter without text and the unfiltered list: the three kinds of answer kept.
SEARCHES = ("/datasets?q=zebra+cro", "/datasets?keyword=zebra", "/datasets")


def server(world: World, home: Path) -> World:
    """Another server process's app on the same file, with the same callers' tokens."""
    app = create_app(auth_settings(home), clock=Clock())
    app.config["TESTING"] = True
    return World(app, tokens=world.tokens)


def seen(world: World, caller: str) -> list[dict[str, Any]]:
    """Every search of SEARCHES as ``caller`` sees it, asked twice (the second kept)."""
    client = world.client(caller)
    answers = []
    for path in SEARCHES:
        first, again = client.get(path), client.get(path)
        assert first.status_code == again.status_code == 200, first.json
        assert first.json == again.json
        answers.append(first.json)
    return answers


def patch(world: World, dataset_id: str, changes: dict[str, Any]) -> None:
    admin = world.as_admin()
    etag = admin.get(f"/datasets/{dataset_id}").headers["ETag"]
    response = admin.patch(f"/datasets/{dataset_id}", json=changes, headers={"If-Match": etag})
    assert response.status_code == 200, response.json


def delete(world: World, dataset_id: str) -> None:
    admin = world.as_admin()
    etag = admin.get(f"/datasets/{dataset_id}").headers["ETag"]
    response = admin.delete(f"/datasets/{dataset_id}", headers={"If-Match": etag})
    assert response.status_code == 204, response.json


def revoke(world: World, dataset_id: str, principal: str) -> None:
    response = world.as_admin().delete(f"/datasets/{dataset_id}/permissions/{principal}")
    assert response.status_code == 204, response.json


WRITES: dict[str, Callable[[World], None]] = {
    "create": lambda writer: writer.create_dataset("new", "public"),
    "update": lambda writer: patch(writer, "open", {"title": "Zebra crossings renamed"}),
    "facets": lambda writer: patch(
        writer, "open", {"themes": ["TRAN"], "keywords": ["zebra", "x"]}
    ),
    "state": lambda writer: patch(writer, "open", {"state": "deprecated"}),
    "delete": lambda writer: delete(writer, "open"),
    "grant": lambda writer: writer.grant("secret", "user:reader", ["read"]),
    "revoke": lambda writer: revoke(writer, "granted", "user:reader"),
}


@pytest.fixture
def servers(tmp_path: Path) -> tuple[World, World]:
    """The writing server (with the datasets) and the searching one."""
    writer = build_world(tmp_path / "home")
    writer.create_dataset("open", "public")
    writer.create_dataset("closed", "restricted")
    writer.create_dataset("secret", "non-public")
    writer.create_dataset("granted", "non-public")
    writer.grant("granted", "user:reader", ["read"])
    return writer, server(writer, tmp_path / "home")


@pytest.mark.parametrize("kind", list(WRITES))
def test_a_write_through_one_server_shows_in_the_next_search_of_another(
    servers: tuple[World, World], tmp_path: Path, kind: str
) -> None:
    writer, reader = servers
    before = {caller: seen(reader, caller) for caller in ("anonymous", "reader")}

    WRITES[kind](writer)

    fresh = server(writer, tmp_path / "home")  # a server that never answered before
    changed = False
    for caller, answers in before.items():
        after = seen(reader, caller)
        assert after == seen(fresh, caller), caller
        changed = changed or after != answers
    assert changed


def test_an_answer_kept_for_one_caller_never_reaches_one_who_sees_less(
    servers: tuple[World, World],
) -> None:
    _, reader = servers

    def ids(caller: str) -> list[list[str]]:
        return [sorted(item["id"] for item in body["items"]) for body in seen(reader, caller)]

    everything = ["closed", "granted", "open", "secret"]
    assert ids("site_admin") == [everything] * 3
    assert ids("reader") == [["closed", "granted", "open"]] * 3
    assert ids("updater") == [["closed", "open"]] * 3
    assert ids("anonymous") == [["open"]] * 3
    assert ids("site_admin") == [everything] * 3
