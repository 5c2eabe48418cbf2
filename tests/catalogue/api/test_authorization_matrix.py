"""Every endpoint x every kind of caller x every access level, with the exact status.

Each (caller, accessRights) pair gets a fresh catalogue in which a site admin made the
dataset ``d`` (owned by team:owners, with editions and distributions to change and to
delete) and a non-public dataset ``elsewhere`` administered by team:other. The caller then
walks every endpoint in order, deletes last, and each answer must be exactly the one the
rules give. Hidden datasets must also stay out of lists, search and error bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.object_keys import ZONES
from tests.catalogue.auth.world import ALL_CALLERS, CALLERS, DIRECT_GRANTS, World, build_world

ACCESS = ("public", "restricted", "non-public")
V = "/datasets/d/versions"
E1, E2 = "20260101T000000", "20260102T000000"
ED = f"{V}/1/editions"
DI = f"{ED}/{E1}/distributions"
# The run API takes keys of the dataset's own zone: "{zone}" becomes it per access level.
RAW = f"raw/{{zone}}/d/version=1/edition={E1}/missing.csv"
TEMPLATE = {
    "id": "t",
    "title": "T",
    "definition": {
        "StartAt": "A",
        "States": {"A": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "End": True}},
    },
}
FILE = {"filenames": ["a.csv"], "mediaType": "text/csv", "byteSize": 10, "checksum": "a" * 64}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    scope: str  # read, update, write, admin
    success: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None


# In order: reads, then changes, then deletes, the dataset's delete last.
ENDPOINTS = [
    Endpoint("GET", "/datasets/d", "read", 200),
    Endpoint("GET", V, "read", 200),
    Endpoint("GET", f"{V}/1", "read", 200),
    Endpoint("GET", ED, "read", 200),
    Endpoint("GET", f"{ED}/{E1}", "read", 200),
    Endpoint("GET", f"{ED}/latest", "read", 200),
    Endpoint("GET", DI, "read", 200),
    Endpoint("GET", f"{DI}/d1", "read", 200),
    Endpoint("GET", f"{DI}/d1/download", "read", 404),  # allowed, but d1 has no file
    Endpoint("GET", "/datasets/d/pipeline", "read", 200),
    Endpoint("GET", "/datasets/d/runs", "read", 200),
    Endpoint("GET", "/runs/{run}", "read", 200),
    Endpoint("GET", f"{ED}/{E1}/runs", "read", 200),
    Endpoint("GET", "/runs/{run}/outputs/1/download", "read", 404),  # allowed, no output yet
    Endpoint("PATCH", "/datasets/d", "update", 200, {"description": "changed"}),
    Endpoint(
        "PATCH", "/datasets/d", "update", 412, {"description": "stale"}, {"If-Match": '"r999"'}
    ),
    Endpoint("PATCH", "/datasets/d", "admin", 200, {"owner": "team:owners"}),
    Endpoint("POST", V, "update", 201, {"description": "three"}),
    Endpoint("PATCH", f"{V}/1", "update", 200, {"description": "first"}),
    Endpoint("POST", ED, "write", 201, {"description": "new"}),
    Endpoint("PATCH", f"{ED}/{E1}", "write", 200, {"description": "e1"}),
    Endpoint("POST", DI, "write", 201, FILE),
    Endpoint("PUT", "/datasets/d/pipeline", "update", 200, {"template": "t"}),
    Endpoint("POST", f"{V}/1/uploads", "write", 201, {"filename": "r.csv"}),
    Endpoint("POST", f"{ED}/{E1}/runs", "write", 202, {"input": {"keys": [RAW]}}),
    Endpoint("POST", "/runs/{run}/redrive", "write", 409),  # allowed, but the run is waiting
    Endpoint("POST", "/runs/{run}/rerun", "write", 409),  # allowed, but the run is waiting
    Endpoint("POST", "/runs/{run}/abort", "write", 200),
    Endpoint("GET", "/datasets/d/history", "update", 200),
    Endpoint("GET", "/datasets/d/permissions", "admin", 200),
    Endpoint("PUT", "/datasets/d/permissions/user:newbie", "admin", 200, {"scopes": ["read"]}),
    Endpoint("DELETE", "/datasets/d/permissions/user:doomed", "admin", 204),
    Endpoint("DELETE", f"{DI}/d2", "write", 204),
    Endpoint("DELETE", f"{ED}/{E2}", "write", 204),
    Endpoint("DELETE", f"{V}/2", "update", 204),
    Endpoint("DELETE", "/datasets/d/pipeline", "update", 204),
    Endpoint("DELETE", "/datasets/d?cascade=true", "admin", 204),
]

# The rules of the issue written out, not computed: per caller and accessRights, the answer
# to an action needing read, update, write and admin ("ok" is the endpoint's success status).
S = ("read", "update", "write", "admin")
HIDDEN_ANONYMOUS = ("404", "401", "401", "401")
EVERYTHING = ("ok", "ok", "ok", "ok")
TABLE: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "anonymous": {
        "public": ("ok", "401", "401", "401"),
        "restricted": HIDDEN_ANONYMOUS,
        "non-public": HIDDEN_ANONYMOUS,
    },
    "reader": dict.fromkeys(ACCESS, ("ok", "403", "403", "403")),
    "updater": dict.fromkeys(ACCESS, ("ok", "ok", "403", "403")),
    "writer": dict.fromkeys(ACCESS, ("ok", "403", "ok", "403")),
    "other_admin": {
        "public": ("ok", "403", "403", "403"),
        "restricted": ("ok", "403", "403", "403"),
        "non-public": ("404", "404", "404", "404"),
    },
    "owner": dict.fromkeys(ACCESS, EVERYTHING),
    "site_admin": dict.fromkeys(ACCESS, EVERYTHING),
}


def can_see(caller: str, access: str) -> bool:
    return TABLE[caller][access][0] == "ok"


def expected(caller: str, access: str, endpoint: Endpoint) -> int:
    answer = TABLE[caller][access][S.index(endpoint.scope)]
    return endpoint.success if answer == "ok" else int(answer)


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Any]:
    worlds: list[World] = []

    def make(access: str) -> World:
        world = build_world(tmp_path / f"home-{len(worlds)}")
        worlds.append(world)
        world.create_dataset("d", access)
        world.create_dataset("elsewhere", "non-public", owner="team:other")
        admin = world.as_admin()
        for caller, scopes in DIRECT_GRANTS.items():
            world.grant("d", CALLERS[caller][0], scopes)
        world.grant("d", "user:doomed", ["read"])
        assert admin.post(V, json={"version": "2"}).status_code == 201
        for edition in (E1, E2):
            assert admin.post(ED, json={"edition": edition}).status_code == 201
        for distribution in ("d1", "d2"):
            created = admin.post(DI, json={**FILE, "id": distribution})
            assert created.status_code == 201, created.json
        assert admin.post("/pipelines", json=TEMPLATE).status_code == 201
        assert admin.put("/datasets/d/pipeline", json={"template": "t"}).status_code == 200
        upload = admin.post(f"{V}/1/uploads", json={"filename": "seed.csv"})
        assert upload.status_code == 201, upload.json
        world.run = upload.json["run"]["id"]
        return world

    yield make
    for world in worlds:
        services = world.app.extensions["brygge"]
        assert services.runs.wait_idle(timeout_s=60)
        services.store.close()


def in_zone(body: dict[str, Any] | None, access: str) -> dict[str, Any] | None:
    """``body`` with its object keys in the zone of a dataset of ``access``."""
    if body is None:
        return None
    return json.loads(json.dumps(body).replace("{zone}", ZONES[access]))


@pytest.mark.parametrize("access", ACCESS)
@pytest.mark.parametrize("caller", ALL_CALLERS)
def test_every_endpoint_answers_exactly_what_the_rules_say(make_world, caller, access) -> None:  # type: ignore[no-untyped-def]
    world = make_world(access)
    client = world.client(caller)
    wrong = []
    for endpoint in ENDPOINTS:
        path = endpoint.path.replace("{run}", world.run)
        body = in_zone(endpoint.body, access)
        response = client.open(path, method=endpoint.method, json=body, headers=endpoint.headers)
        want = expected(caller, access, endpoint)
        if response.status_code != want:
            wrong.append((endpoint.method, path, want, response.status_code, response.json))
        if response.status_code in (401, 403, 404):
            assert "ETag" not in response.headers
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if response.status_code == 404 and not can_see(caller, access):
            # Word for word what a dataset (or run) that never existed answers.
            never = client.open(
                endpoint.path.replace("/datasets/d", "/datasets/q").replace("{run}", "r-never"),
                method=endpoint.method,
                json=body,
                headers=endpoint.headers,
            )
            assert never.status_code == 404
            message = never.json["message"].replace("'q'", "'d'").replace("r-never", world.run)
            assert response.json == {**never.json, "message": message}
    assert wrong == []


@pytest.mark.parametrize("access", ACCESS)
@pytest.mark.parametrize("caller", ALL_CALLERS)
def test_hidden_datasets_show_in_no_list_or_search(make_world, caller, access) -> None:  # type: ignore[no-untyped-def]
    world = make_world(access)
    client = world.client(caller)
    want = {"d"} if can_see(caller, access) else set()
    if caller in ("other_admin", "site_admin"):
        want |= {"elsewhere"}
    for query in (
        "",
        "?q=zebra",
        "?owner=team:owners",
        f"?accessRights={access}",
        "?keyword=zebra",
        "?limit=1",
    ):
        seen: set[str] = set()
        cursor = None
        while True:
            suffix = f"&cursor={cursor}" if cursor else ""
            url = f"/datasets{query or '?'}{suffix}"
            page = client.get(url)
            assert page.status_code == 200, page.json
            # Pages are never shortened by what is hidden: a page is full unless it is the last.
            if page.json["next"] is not None and "limit=1" in url:
                assert len(page.json["items"]) == 1
            seen |= {item["id"] for item in page.json["items"]}
            cursor = page.json["next"]
            if cursor is None:
                break
        expect = want if query in ("", "?q=zebra", "?keyword=zebra", "?limit=1") else want & {"d"}
        if query == f"?accessRights={access}" and access == "non-public":
            expect = want
        assert seen == expect, query


@pytest.mark.parametrize("caller", ALL_CALLERS)
def test_create_needs_a_token_and_one_of_the_callers_teams(make_world, caller) -> None:  # type: ignore[no-untyped-def]
    world = make_world("public")
    body = {"id": "fresh", "title": "Fresh", "accessRights": "non-public", "owner": "team:owners"}
    response = world.client(caller).post("/datasets", json=body)
    want = {"anonymous": 401, "owner": 201, "site_admin": 201}.get(caller, 403)
    assert response.status_code == want, response.json
    me = world.client(caller).get("/me")
    assert me.status_code == (401 if caller == "anonymous" else 200)
