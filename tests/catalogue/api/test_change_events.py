"""Change events: one per change, in the change's own transaction, as CloudEvents, fed by
``GET /events`` and a dataset's Atom feed, hidden datasets' events invisible."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from cloudevents.core.formats.json import JSONFormat
from flask import Flask
from flask.testing import FlaskClient

from catalogue.app import create_app
from catalogue.repositories.change_events import SETTLE, is_event
from catalogue.schemas.runs import RunSchema, StepSchema
from catalogue.store import keys
from catalogue.store.base import Create, Op, Query
from tests.catalogue.api.test_pipeline_templates import definition
from tests.catalogue.api.test_runs import run_id  # noqa: F401 (a fixture: a finished run)
from tests.fixtures.app import Clock, authenticate_as_site_admin

SCHEMA = json.loads(
    (Path(__file__).parents[2] / "data" / "cloudevents" / "cloudevents.json").read_text()
)
VALIDATOR = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
PUBLIC = {"id": "trees", "title": "Trees", "accessRights": "public", "owner": "team:parks"}
HIDDEN = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
EDITION = "20260102T030405"


def check_cloudevent(event: dict[str, Any]) -> None:
    """Valid by the official JSON Schema, and read back by the CloudEvents SDK."""
    VALIDATOR.validate(event)
    parsed = JSONFormat().read(None, json.dumps(event).encode())
    assert (parsed.get_id(), parsed.get_type()) == (event["id"], event["type"])
    assert parsed.get_data() == event["data"]


def all_events(client: FlaskClient, clock: Clock) -> list[dict[str, Any]]:
    """Every event the client may see, polling until the feed settles (skipping repeats)."""
    clock.now += SETTLE * 2
    seen: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        query = {"limit": 3} | ({"after": cursor} if cursor else {})
        page = client.get("/events", query_string=query)
        assert page.status_code == 200, page.json
        for event in page.json["items"]:
            seen.setdefault(event["id"], event)
        if not page.json["items"]:
            return list(seen.values())
        cursor = page.json["next"]


def anonymous(app: Flask) -> FlaskClient:
    return FlaskClient(app)


def stored_events(store) -> list:  # type: ignore[no-untyped-def]
    return store.query(Query(keys.EVENTS_PK), limit=1000).items


def test_each_change_writes_one_cloudevent_in_order(client, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.patch("/datasets/trees", json={"title": "Urban trees"}).status_code == 200
    assert client.post("/datasets/trees/versions", json={"version": "2"}).status_code == 201
    editions = "/datasets/trees/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    distributions = f"{editions}/{EDITION}/distributions"
    file = {"id": "csv", "type": "file", "filenames": ["trees.csv"]}
    assert client.post(distributions, json=file).status_code == 201
    assert client.delete(f"{distributions}/csv").status_code == 204
    grant = "/datasets/trees/permissions/team:gardeners"
    assert client.put(grant, json={"scopes": ["read"]}).status_code == 200
    assert client.delete(grant).status_code == 204
    assert client.delete(f"{editions}/{EDITION}").status_code == 204
    assert client.delete("/datasets/trees/versions/2").status_code == 204
    assert client.delete("/datasets/trees").status_code == 204

    events = all_events(client, clock)

    assert [(event["type"], event["subject"]) for event in events] == [
        ("no.brygge.dataset.created", "/datasets/trees"),
        ("no.brygge.dataset.updated", "/datasets/trees"),
        ("no.brygge.version.created", "/datasets/trees/versions/2"),
        ("no.brygge.edition.created", f"{editions}/{EDITION}"),
        ("no.brygge.distribution.published", f"{distributions}/csv"),
        ("no.brygge.distribution.withdrawn", f"{distributions}/csv"),
        ("no.brygge.permissions.changed", grant),
        ("no.brygge.permissions.changed", grant),
        ("no.brygge.edition.deleted", f"{editions}/{EDITION}"),
        ("no.brygge.version.deleted", "/datasets/trees/versions/2"),
        # The dataset's (empty) first version goes with it, with its own event.
        ("no.brygge.version.deleted", "/datasets/trees/versions/1"),
        ("no.brygge.dataset.deleted", "/datasets/trees"),
    ]
    for event in events:
        check_cloudevent(event)
        # No BRYGGE_BASE_URL: the request's own root, as every link of the API.
        assert event["source"] == "http://localhost"
    created, updated = events[0]["data"], events[1]["data"]
    assert created["title"] == "Trees" and created["accessRights"] == "public"
    assert "incarnation" not in created and "rev" not in created
    assert updated == {"title": {"before": "Trees", "after": "Urban trees"}}
    assert events[6]["data"]["scopes"] == {"before": None, "after": ["read"]}
    assert events[-1]["data"]["title"] == "Urban trees"
    assert len({event["id"] for event in events}) == len(events)


def test_the_source_is_brygge_base_url_when_set(settings, clock) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from catalogue.store import migrations

    configured = replace(settings, base_url="https://data.example.org/api")
    migrations.apply(configured)
    app = create_app(configured, clock=clock)
    authenticate_as_site_admin(app)
    client = app.test_client()
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    (event,) = all_events(client, clock)
    assert event["source"] == "https://data.example.org/api"
    app.extensions["brygge"].store.close()


def test_hidden_datasets_events_are_invisible(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.post("/datasets", json=HIDDEN).status_code == 201
    assert client.patch("/datasets/secret", json={"title": "Still secret"}).status_code == 200

    seen_by_admin = [event["subject"] for event in all_events(client, clock)]
    seen_by_anyone = [event["subject"] for event in all_events(anonymous(app), clock)]

    assert seen_by_admin == ["/datasets/trees", "/datasets/secret", "/datasets/secret"]
    assert seen_by_anyone == ["/datasets/trees"]
    assert anonymous(app).get("/datasets/secret/events.atom").status_code == 404


def test_recent_events_come_again_until_they_settle(client, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    first = client.get("/events").json
    assert [event["type"] for event in first["items"]] == ["no.brygge.dataset.created"]
    # Still within SETTLE: the cursor stays before it, so a late commit is never skipped.
    again = client.get("/events", query_string={"after": first["next"]}).json
    assert again["items"] == first["items"]

    clock.now += SETTLE + timedelta(seconds=1)
    settled = client.get("/events", query_string={"after": first["next"]}).json
    assert settled["items"] == first["items"]
    after = client.get("/events", query_string={"after": settled["next"]}).json
    assert after["items"] == []
    assert after["next"] == settled["next"]


@pytest.mark.parametrize("cursor", ["nonsense", "eyJ4IjoxfQ", "eyJlIjo1fQ"])
def test_a_foreign_cursor_is_422_naming_after(client, cursor) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/events", query_string={"after": cursor})
    assert response.status_code == 422
    assert "after" in json.dumps(response.json["errors"])


def test_the_atom_feed_lists_a_datasets_changes_newest_first(client, clock) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.patch("/datasets/trees", json={"description": "Every tree"}).status_code == 200
    assert client.post("/datasets", json={**PUBLIC, "id": "other"}).status_code == 201
    ids = {event["type"]: event["id"] for event in all_events(client, clock)}

    response = client.get("/datasets/trees/events.atom")

    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{atom}feed"
    assert feed.findtext(f"{atom}id") == "http://localhost/datasets/trees/events.atom"
    entries = feed.findall(f"{atom}entry")
    assert [entry.find(f"{atom}category").get("term") for entry in entries] == [
        "no.brygge.dataset.updated",
        "no.brygge.dataset.created",
    ]
    assert entries[0].findtext(f"{atom}id") == f"urn:uuid:{ids['no.brygge.dataset.updated']}"
    assert feed.findtext(f"{atom}updated") == entries[0].findtext(f"{atom}updated")
    assert entries[1].find(f"{atom}link").get("href") == "http://localhost/datasets/trees"
    check_cloudevent(json.loads(entries[1].findtext(f"{atom}content")))


@pytest.mark.usefixtures("run_id")
def test_a_run_writes_started_step_finished_and_succeeded(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    (run,) = client.get("/datasets/secret/runs").json["items"]
    started = run["id"]
    events = [e for e in all_events(client, clock) if e["subject"].startswith("/runs/")]

    assert [(event["type"], event["subject"]) for event in events] == [
        ("no.brygge.run.started", f"/runs/{started}"),
        ("no.brygge.step.started", f"/runs/{started}/steps/Upper"),
        ("no.brygge.step.finished", f"/runs/{started}/steps/Upper"),
        ("no.brygge.run.succeeded", f"/runs/{started}"),
    ]
    for event in events:
        check_cloudevent(event)
    assert events[1]["data"]["status"] == "RUNNING" and events[1]["data"]["run"] == started
    assert events[2]["data"]["status"] == "SUCCEEDED" and events[2]["data"]["run"] == started
    assert events[3]["data"]["status"] == "SUCCEEDED"
    # The start is written by the request, the rest by the run's worker, outside any
    # request: with BRYGGE_BASE_URL unset, that takes the default source.
    assert [event["source"] for event in events] == [
        "http://localhost",
        "urn:brygge:local",
        "urn:brygge:local",
        "urn:brygge:local",
    ]
    # The run's dataset is hidden; only the template's events (public) are seen.
    seen = all_events(anonymous(app), clock)
    assert [event["subject"] for event in seen] == ["/pipelines/text"]


@pytest.mark.usefixtures("run_id")
def test_run_and_step_events_carry_the_run_as_the_api_shows_it(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    (listed,) = client.get("/datasets/secret/runs").json["items"]
    run = client.get(f"/runs/{listed['id']}").json
    events = [e for e in all_events(client, clock) if e["subject"].startswith("/runs/")]

    run_fields = set(RunSchema().fields) - {"steps"}
    step_fields = {"run", *StepSchema().fields}
    for event in events:
        fields = run_fields if event["type"].startswith("no.brygge.run.") else step_fields
        # No bookkeeping of the worker that ran it (owner, startToken, position, ...).
        assert set(event["data"]) <= fields, set(event["data"]) - fields
    succeeded = events[-1]["data"]
    assert succeeded == {name: run[name] for name in succeeded}
    assert {"input", "output", "pipeline", "status", "endedAt"} <= set(succeeded)


# Failure injection: the change and its event stand or fall together, on every backend. ------


class EventWriteFails:
    """A store whose every event lands on a key already taken: the event's Create fails
    inside the change's own transaction, as any failure of that write would."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        store.write(Create({"pk": keys.EVENTS_PK, "sk": "taken", "kind": "blocker"}))

    def transact(self, ops: list[Op]) -> None:
        rewritten = [
            Create({**op.item, "sk": "taken"})
            if isinstance(op, Create) and is_event(op.item)
            else op
            for op in ops
        ]
        self._store.transact(rewritten)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def snapshot(store) -> list:  # type: ignore[no-untyped-def]
    """Every item of the dataset, its grants, history and events (what a change touches)."""
    found = []
    for partition in (
        keys.dataset_pk("trees"),
        keys.permissions_pk("trees"),
        keys.EVENTS_PK,
        keys.OUTBOX_PK,
        keys.incarnations_pk("trees"),
    ):
        found.extend(store.query(Query(partition), limit=1000).items)
    item = store.get(keys.dataset_pk("trees"), keys.DATASET_SK)
    if item is not None:
        found.extend(
            store.query(Query(keys.audit_pk("trees", item["incarnation"])), limit=1000).items
        )
    return found


CHANGES = {
    "create dataset": ("post", "/datasets", PUBLIC),
    "patch dataset": ("patch", "/datasets/trees", {"title": "Urban trees"}),
    "create version": ("post", "/datasets/trees/versions", {"version": "2"}),
    "create edition": ("post", "/datasets/trees/versions/1/editions", {"edition": EDITION}),
    "grant": ("put", "/datasets/trees/permissions/team:gardeners", {"scopes": ["read"]}),
    "delete version": ("delete", "/datasets/trees/versions/3", None),
    "delete dataset": ("delete", "/datasets/trees", None),
}


def test_a_change_whose_event_cannot_be_written_is_not_made(  # type: ignore[no-untyped-def]
    store, settings, clock
) -> None:
    app = create_app(settings, store=EventWriteFails(store), clock=clock)
    authenticate_as_site_admin(app)
    client = app.test_client()
    healthy = create_app(settings, store=store, clock=clock)
    authenticate_as_site_admin(healthy)
    setup = healthy.test_client()

    for name, (method, path, body) in CHANGES.items():
        if name != "create dataset" and setup.get("/datasets/trees").status_code == 404:
            assert setup.post("/datasets", json=PUBLIC).status_code == 201
            assert setup.post("/datasets/trees/versions", json={"version": "3"}).status_code == 201
        before = snapshot(store)

        response = getattr(client, method)(path, json=body)

        assert response.status_code >= 400, name
        if method == "delete":
            # A delete marks its resource first (a step of its own, kept for the retry
            # that finishes it): the resource stays, with no event and no audit entry.
            assert setup.get(path).status_code == 200, name
            kinds = ("event", "outbox", "history")
            assert [i for i in snapshot(store) if i.get("kind") in kinds] == [
                i for i in before if i.get("kind") in kinds
            ], name
        else:
            assert snapshot(store) == before, name


def test_a_change_that_fails_writes_no_event(app_on_store, store) -> None:  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    etag = client.get("/datasets/trees").headers["ETag"]
    assert client.patch("/datasets/trees", json={"title": "A"}).status_code == 200
    events = stored_events(store)

    stale = client.patch("/datasets/trees", json={"title": "B"}, headers={"If-Match": etag})
    taken = client.post("/datasets", json=PUBLIC)
    last_admin = client.delete("/datasets/trees/permissions/team:parks")
    no_parent = client.post("/datasets/none/versions", json={"version": "2"})

    assert (stale.status_code, taken.status_code) == (412, 409)
    assert (last_admin.status_code, no_parent.status_code) == (409, 404)
    assert stored_events(store) == events
    assert [item["event"]["type"] for item in events] == [
        "no.brygge.dataset.created",
        "no.brygge.dataset.updated",
    ]


# Cascade deletes: one event per deleted child, in the chunk that deletes it. ---------------


def make_tree(client: FlaskClient, editions: int, distributions: int) -> list[tuple[str, str]]:
    """Dataset ``trees`` with versions 1 and 2, each with editions and distributions; the
    (type, subject) of the events deleting its children, as a cascade orders them."""
    assert client.post("/datasets", json=PUBLIC).status_code == 201
    assert client.post("/datasets/trees/versions", json={"version": "2"}).status_code == 201
    expected: dict[str, list[tuple[str, str]]] = {"d": [], "e": [], "v": []}
    for version in ("1", "2"):
        for number in range(editions):
            edition = f"2026010{number + 1}T000000"
            path = f"/datasets/trees/versions/{version}/editions/{edition}"
            assert client.post(path.rsplit("/", 1)[0], json={"edition": edition}).status_code == 201
            expected["e"].append(("no.brygge.edition.deleted", path))
            for index in range(distributions):
                file = {"id": f"f{index}", "type": "file", "filenames": [f"f{index}.csv"]}
                created = client.post(f"{path}/distributions", json=file)
                assert created.status_code == 201, created.json
                expected["d"].append(
                    ("no.brygge.distribution.withdrawn", f"{path}/distributions/f{index}")
                )
        expected["v"].append(("no.brygge.version.deleted", f"/datasets/trees/versions/{version}"))
    # Deepest first: distributions, editions, versions (each in key order).
    return sorted(expected["d"]) + sorted(expected["e"]) + sorted(expected["v"])


@pytest.mark.parametrize(
    ("path", "below"),
    [("/datasets/trees", "/datasets/trees/"), ("/datasets/trees/versions/2", "/versions/2/")],
)
def test_a_cascade_delete_writes_an_event_per_deleted_child(client, clock, path, below) -> None:  # type: ignore[no-untyped-def]
    children = make_tree(client, editions=2, distributions=2)
    before = {event["id"] for event in all_events(client, clock)}

    deleted = client.delete(path, query_string={"cascade": "true"})

    assert deleted.status_code == 204, deleted.json
    events = [event for event in all_events(client, clock) if event["id"] not in before]
    kind = "dataset" if path == "/datasets/trees" else "version"
    assert [(event["type"], event["subject"]) for event in events] == [
        *(child for child in children if below in child[1]),
        (f"no.brygge.{kind}.deleted", path),
    ]
    for event in events:
        check_cloudevent(event)
    withdrawn = events[0]["data"]
    assert withdrawn["id"] == "f0" and withdrawn["filenames"] == ["f0.csv"]
    assert "rev" not in withdrawn and "incarnation" not in withdrawn


class FailsOnTransaction:
    """A store whose ``fail_at``-th transaction from now fails (as a lost connection would)."""

    def __init__(self, store) -> None:  # type: ignore[no-untyped-def]
        self._store = store
        self.fail_at: int | None = None
        self.sizes: list[int] = []

    def transact(self, ops: list[Op]) -> None:
        self.sizes.append(len(ops))
        if self.fail_at is not None and len(self.sizes) == self.fail_at:
            raise ConnectionError("injected: the store went away")
        self._store.transact(ops)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_chunked_cascade_writes_each_chunks_events_with_it(store, settings, clock) -> None:  # type: ignore[no-untyped-def]
    failing = FailsOnTransaction(store)
    app = create_app(settings, store=failing, clock=clock)
    authenticate_as_site_admin(app)
    client = app.test_client()
    children = make_tree(client, editions=3, distributions=3)  # 26 children: several chunks
    before = {item["event"]["id"] for item in stored_events(store)}
    failing.sizes.clear()
    # The first chunk of children commits (the mark is a write of its own); the second fails.
    failing.fail_at = 2

    failed = client.delete("/datasets/trees", query_string={"cascade": "true"})

    assert failed.status_code == 500

    def new_events() -> list[tuple[str, str]]:
        return [
            (item["event"]["type"], item["event"]["subject"])
            for item in stored_events(store)
            if item["event"]["id"] not in before
        ]

    left = {item["sk"] for item in store.query(Query(keys.dataset_pk("trees")), limit=1000).items}
    gone = [
        subject for _, subject in children if not any(subject_key(subject) == sk for sk in left)
    ]
    assert 0 < len(gone) < len(children)
    # Exactly the children the committed chunk deleted have their events; no more, no fewer.
    assert sorted(subject for _, subject in new_events()) == sorted(gone)
    assert all(size <= 25 for size in failing.sizes)

    failing.fail_at = None
    assert client.delete("/datasets/trees", query_string={"cascade": "true"}).status_code == 204

    assert sorted(new_events()) == sorted(
        [*children, ("no.brygge.dataset.deleted", "/datasets/trees")]
    )


def subject_key(subject: str) -> str:
    """The sort key of the resource at API path ``subject`` (below dataset ``trees``)."""
    parts = subject.strip("/").split("/")[3::2]
    kind = ("version", "edition", "distribution")[len(parts) - 1]
    return "#".join([kind, *parts])


# Pipeline templates: created, updated and deleted, seen by every reader as templates are. ---


def test_pipeline_template_changes_write_events(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    template = {"id": "csv", "title": "CSV", "definition": definition("csv_to_parquet")}
    assert client.post("/pipelines", json=template).status_code == 201
    changed = {**template, "definition": definition("csv_to_parquet", "publish")}
    del changed["id"]
    assert client.put("/pipelines/csv", json=changed).status_code == 200
    assert client.delete("/pipelines/csv").status_code == 204

    events = all_events(client, clock)

    assert [(event["type"], event["subject"]) for event in events] == [
        ("no.brygge.pipeline-template.created", "/pipelines/csv"),
        ("no.brygge.pipeline-template.updated", "/pipelines/csv"),
        ("no.brygge.pipeline-template.deleted", "/pipelines/csv"),
    ]
    for event in events:
        check_cloudevent(event)
    created, updated, deleted = (event["data"] for event in events)
    assert created["definition"] == template["definition"] and created["version"] == 1
    assert "incarnation" not in created and "rev" not in created
    assert updated["version"] == {"before": 1, "after": 2}
    assert updated["definition"]["after"] == changed["definition"]
    assert deleted["version"] == 2 and deleted["title"] == "CSV"
    # Anyone may read templates, so anyone may read their events.
    assert all_events(anonymous(app), clock) == events


def test_a_template_change_whose_event_cannot_be_written_is_not_made(  # type: ignore[no-untyped-def]
    store, settings, clock
) -> None:
    app = create_app(settings, store=EventWriteFails(store), clock=clock)
    authenticate_as_site_admin(app)
    client = app.test_client()
    template = {"id": "csv", "title": "CSV", "definition": definition("csv_to_parquet")}

    response = client.post("/pipelines", json=template)

    assert response.status_code >= 400
    assert client.get("/pipelines/csv").status_code == 404
    assert [item for item in stored_events(store) if is_event(item)] == []


# Step starts: written when a step starts, by the local engine and by the steps function. ----


def step_events(client: FlaskClient, clock: Clock, run: str) -> list[tuple[str, str]]:
    prefix = f"/runs/{run}/steps/"
    return [
        (event["type"].rsplit(".", 1)[1], event["subject"].removeprefix(prefix))
        for event in all_events(client, clock)
        if event["subject"].startswith(prefix)
    ]


@pytest.mark.usefixtures("run_id")
def test_the_steps_function_recorder_writes_a_step_start_once(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """AWS mode: the steps function records a Task's start as its handler begins."""
    from catalogue.runs.recorder import StoreRecorder

    (run,) = client.get("/datasets/secret/runs").json["items"]
    services = app.extensions["brygge"]
    recorder = StoreRecorder(lambda: services.store, clock)

    recorder.step_started(run["id"], "Extra", 1)
    recorder.step_started(run["id"], "Extra", 2)  # Lambda's retry: the same start
    recorder.step_finished(run["id"], "Extra", "FAILED", {"error": "E", "cause": "c"})

    assert step_events(client, clock, run["id"])[-2:] == [
        ("started", "Extra"),
        ("finished", "Extra"),
    ]


@pytest.mark.usefixtures("run_id")
def test_a_step_ended_without_a_recorded_start_gets_both_events(app, client, clock) -> None:  # type: ignore[no-untyped-def]
    """A step whose end alone was recorded (copied from Step Functions) was started too."""
    (run,) = client.get("/datasets/secret/runs").json["items"]
    runs = app.extensions["brygge"].runs.repository

    runs.update_step(run["id"], "Copied", lambda step: {**step, "status": "SUCCEEDED"})

    events = [e for e in all_events(client, clock) if e["subject"].endswith("/steps/Copied")]
    assert [(e["type"], e["data"]["status"]) for e in events] == [
        ("no.brygge.step.started", "RUNNING"),
        ("no.brygge.step.finished", "SUCCEEDED"),
    ]


def test_the_source_is_asked_for_when_an_event_is_written(app) -> None:  # type: ignore[no-untyped-def]
    from catalogue.repositories.change_events import event_source, request_source

    # Outside any request: the configured source (BRYGGE_BASE_URL unset here).
    assert event_source() == "urn:brygge:local"
    with app.test_request_context("/datasets", base_url="https://data.example.org/stage"):
        # No hook need have run: the request's own root, as its links.
        assert event_source() == "https://data.example.org/stage"
        with request_source("https://elsewhere.example.org"):
            assert event_source() == "https://elsewhere.example.org"
    assert event_source() == "urn:brygge:local"
    # A request answered by another Flask app names no source of Brygge's.
    with Flask("other").test_request_context("/"):
        assert event_source() == "urn:brygge:local"
