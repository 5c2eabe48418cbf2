"""OpenLineage run events: each valid by the official 2-0-2 spec and facet schemas, and a
receiver speaking Marquez's ``POST /api/v1/lineage`` gets a 4-step run's whole sequence."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from referencing import Registry, Resource

from catalogue.app import create_app
from catalogue.domain.webhooks import MAX_ATTEMPTS
from catalogue.events.delivery import (
    CLAIM,
    HttpSender,
    dispatch_events,
    lineage_target,
    send_claimed,
)
from catalogue.events.lineage import ObjectNames, run_events, run_uuid
from catalogue.events.worker import run_once
from catalogue.repositories.subscriptions import SubscriptionRepository
from catalogue.settings import Settings
from catalogue.store import migrations
from pipelines.objects import LocalObjectStore
from tests.fixtures.app import Clock, authenticate_as_site_admin
from tests.fixtures.receiver import Receiver, running_receiver
from tests.pipelines import run_steps

DATA = Path(__file__).parents[2] / "data" / "openlineage"
SPEC = json.loads((DATA / "OpenLineage.json").read_text())
FACETS = {path.stem: json.loads(path.read_text()) for path in (DATA / "facets").glob("*.json")}
REGISTRY = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in [SPEC, *FACETS.values()]
)
RUN_EVENT = jsonschema.Draft202012Validator(
    {"$ref": f"{SPEC['$id']}#/$defs/RunEvent"},
    registry=REGISTRY,
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)
# Facet name -> the schema file defining it (each file's one top-level property).
FACET_FILES = {name: schema for schema in FACETS.values() for name in schema.get("properties", {})}
EDITION = "20260102T030405"
RAW = f"raw/red/secret/version=1/edition={EDITION}/data.txt"


def check_openlineage(event: dict[str, Any]) -> None:
    """Valid by the spec, and every facet by its own facet schema."""
    RUN_EVENT.validate(event)
    facets = [("run", event["run"].get("facets", {}))]
    for item in [*event.get("inputs", []), *event.get("outputs", [])]:
        facets.append(("dataset", item.get("facets", {})))
    for _, found in facets:
        for name, facet in found.items():
            schema = FACET_FILES[name]
            validator = jsonschema.Draft202012Validator(
                schema,
                registry=REGISTRY,
                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
            )
            validator.validate({name: facet})


@pytest.fixture
def marquez() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        receiver.answer = lambda _: (201, b"")
        yield receiver


@pytest.fixture
def lineage_app(
    settings: Settings, clock: Clock, marquez: Receiver, monkeypatch
) -> Iterator[Flask]:  # type: ignore[no-untyped-def]
    run_steps.register(monkeypatch)
    configured = replace(
        settings,
        openlineage_url=marquez.url,
        openlineage_api_key="lineage-key",
        openlineage_namespace="oslo",
    )
    migrations.apply(configured)
    app = create_app(configured, clock=clock)
    authenticate_as_site_admin(app)
    yield app
    app.extensions["brygge"].store.close()


def run_pipeline(app: Flask, steps: list[tuple[str, str]], body: bytes, raw: str = RAW) -> str:
    client = app.test_client()
    dataset = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=dataset).status_code == 201
    editions = "/datasets/secret/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    template = {"id": "text", "title": "Text", "definition": run_steps.chain(*steps)}
    assert client.post("/pipelines", json=template).status_code == 201
    assert client.put("/datasets/secret/pipeline", json={"template": "text"}).status_code == 200
    services = app.extensions["brygge"]
    services.runs.registry = run_steps.registry()
    LocalObjectStore(services.settings.objects_dir).put(raw, io.BytesIO(body))
    started = client.post(f"{editions}/{EDITION}/runs", json={"input": {"keys": [raw]}})
    assert started.status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass
    return str(started.json["id"])


def test_a_four_step_run_reaches_a_marquez_receiver_in_order(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    steps = [("Upper", "upper"), ("Check", "check"), ("Again", "upper"), ("Last", "check")]
    run_id = run_pipeline(lineage_app, steps, b"a\nb\n")

    events = [json.loads(request.body) for request in marquez.requests]

    assert {request.path for request in marquez.requests} == {"/api/v1/lineage"}
    assert {request.headers["authorization"] for request in marquez.requests} == {
        "Bearer lineage-key"
    }
    for event in events:
        check_openlineage(event)
    parent = run_uuid(run_id)
    assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in events] == [
        ("START", "secret.text", parent),
        *(
            pair
            for name, _ in steps
            for pair in (
                ("START", f"secret.text.{name}", run_uuid(run_id, name)),
                ("COMPLETE", f"secret.text.{name}", run_uuid(run_id, name)),
            )
        ),
        ("COMPLETE", "secret.text", parent),
    ]
    assert {e["job"]["namespace"] for e in events} == {"oslo"}
    # Once each: no event came twice.
    assert len({(e["run"]["runId"], e["eventType"]) for e in events}) == len(events)
    upper_done = events[2]
    assert upper_done["run"]["facets"]["parent"]["run"]["runId"] == parent
    (source,) = upper_done["inputs"]
    # OpenLineage's naming of the local file system: namespace "file", the absolute path.
    objects_dir = lineage_app.extensions["brygge"].settings.objects_dir.resolve()
    assert (source["namespace"], source["name"]) == ("file", f"{objects_dir}/{RAW}")
    (written,) = upper_done["outputs"]
    assert written["facets"]["outputStatistics"]["rowCount"] == 2
    assert written["facets"]["symlinks"]["identifiers"][0]["name"] == "brygge://secret/1"
    # The next Task reads what this one wrote.
    assert [item["name"] for item in events[3]["inputs"]] == [written["name"]]


def test_a_published_files_column_figures_are_data_quality_metrics(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    import polars as pl

    table = io.BytesIO()
    pl.DataFrame(
        {"height": [3, 12, None, 7], "species": ["oak", "ash", "oak", None]}
    ).write_parquet(table)
    raw = RAW.replace("data.txt", "trees.parquet")

    run_pipeline(lineage_app, [("Publish", "publish")], table.getvalue(), raw)

    events = [json.loads(request.body) for request in marquez.requests]
    for event in events:
        check_openlineage(event)
    (done,) = [
        e for e in events if e["job"]["name"].endswith(".Publish") and e["eventType"] == "COMPLETE"
    ]
    (source,) = done["inputs"]
    assert (
        source["name"] == f"{lineage_app.extensions['brygge'].settings.objects_dir.resolve()}/{raw}"
    )
    quality = source["facets"]["dataQualityMetrics"]
    assert quality["rowCount"] == 4
    assert quality["columnMetrics"] == {
        "height": {"count": 3, "nullCount": 1, "distinctCount": 3, "min": 3, "max": 12},
        # Text has no numeric min and max: the facet's are numbers.
        "species": {"count": 3, "nullCount": 1, "distinctCount": 2},
    }


def test_a_failed_step_and_run_say_why(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    run_id = run_pipeline(lineage_app, [("Upper", "upper"), ("Check", "check")], b"bad\n")

    events = [json.loads(request.body) for request in marquez.requests]

    for event in events:
        check_openlineage(event)
    assert [(e["eventType"], e["job"]["name"]) for e in events][-2:] == [
        ("FAIL", "secret.text.Check"),
        ("FAIL", "secret.text"),
    ]
    message = events[-1]["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("InputError") and "BAD" in message
    assert events[-1]["run"]["runId"] == run_uuid(run_id)


def test_a_runs_complete_names_what_its_last_step_wrote(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    run_pipeline(lineage_app, [("Upper", "upper"), ("Last", "check")], b"a\nb\n")

    events = [json.loads(request.body) for request in marquez.requests]

    for event in events:
        check_openlineage(event)
    last_step = next(
        e for e in events if e["job"]["name"] == "secret.text.Last" and e["eventType"] == "COMPLETE"
    )
    run_complete = events[-1]
    assert (run_complete["eventType"], run_complete["job"]["name"]) == ("COMPLETE", "secret.text")
    (written,) = last_step["outputs"]
    assert [(d["namespace"], d["name"]) for d in run_complete["outputs"]] == [
        (written["namespace"], written["name"])
    ]


def test_a_failed_runs_message_is_the_steps_error_not_its_json(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    run_pipeline(lineage_app, [("Upper", "upper"), ("Check", "check")], b"bad\n")

    events = [json.loads(request.body) for request in marquez.requests]

    step_failed, run_failed = events[-2:]
    step_error = step_failed["run"]["facets"]["errorMessage"]
    run_error = run_failed["run"]["facets"]["errorMessage"]
    assert run_error["message"] == step_error["message"] == "InputError: data.txt holds BAD"
    assert run_error["programmingLanguage"] == "python"


def test_a_lambda_errors_stack_trace_goes_to_the_facet() -> None:
    cause = {
        "errorMessage": "no column 'x'",
        "errorType": "KeyError",
        "stackTrace": ['  File "step.py", line 3, in run\n', "    row['x']\n"],
    }
    run = {"id": "r", "dataset": "air", "version": "1", "pipeline": {"template": "csv"}}
    run["startedAt"] = "2026-01-02T03:04:00Z"
    run["error"] = {"error": "KeyError", "cause": json.dumps(cause)}
    cloudevent = {"type": "no.brygge.run.failed", "time": "2026-01-02T03:04:05Z", "data": run}

    (event,) = run_events(cloudevent, run, namespace="oslo", objects=ObjectNames("s3://lake"))

    check_openlineage(event)
    facet = event["run"]["facets"]["errorMessage"]
    assert facet["message"] == "KeyError: no column 'x'"
    assert facet["stackTrace"] == "  File \"step.py\", line 3, in run\n    row['x']\n"


def test_validate_and_typed_outputs_carry_quality_and_schema_facets() -> None:
    run = {
        "id": "run-1",
        "dataset": "air",
        "version": "1",
        "pipeline": {"template": "csv"},
        "input": {"keys": ["raw/green/air/version=1/edition=e/air.csv"]},
        "steps": [
            {"name": "Validate", "outputs": [{"key": "intermediate/v.csv", "bytes": 9, "rows": 3}]},
            {"name": "ToParquet", "outputs": [{"key": "intermediate/a.parquet", "bytes": 90}]},
        ],
    }
    validated = {
        "type": "no.brygge.step.finished",
        "time": "2026-01-02T03:04:05.000000Z",
        "data": {
            "run": "run-1",
            "name": "Validate",
            "status": "SUCCEEDED",
            "startedAt": "2026-01-02T03:04:04Z",
            "summary": {"rows": 4, "valid": 3, "rejected": 1, "byRule": {"required": 1}},
        },
    }
    converted = {
        **validated,
        "data": {
            "run": "run-1",
            "name": "ToParquet",
            "status": "SUCCEEDED",
            "summary": {"rows": 3, "inferredTypes": {"v.csv": {"when": "date", "pm10": "float"}}},
        },
    }

    checked = run_events(
        validated, run, namespace="brygge", objects=ObjectNames("s3://brygge-data")
    )
    typed = run_events(converted, run, namespace="brygge", objects=ObjectNames("s3://brygge-data"))

    for event in [*checked, *typed]:
        check_openlineage(event)
    quality = checked[0]["inputs"][0]["facets"]["dataQualityMetrics"]
    assert quality["rowCount"] == 4
    assert checked[0]["inputs"][0]["namespace"] == "s3://brygge-data"
    fields = typed[0]["outputs"][0]["facets"]["schema"]["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("when", "date"), ("pm10", "float")]
    assert typed[0]["inputs"][0]["name"] == "intermediate/v.csv"


def test_a_step_start_is_the_child_runs_start() -> None:
    run = {
        "id": "run-1",
        "dataset": "air",
        "version": "1",
        "pipeline": {"template": "csv"},
        "input": {"keys": ["raw/green/air/version=1/edition=e/air.csv"]},
        "steps": [{"name": "Convert", "status": "RUNNING", "outputs": []}],
    }
    started = {
        "type": "no.brygge.step.started",
        "time": "2026-01-02T03:04:05.000000Z",
        "data": {"run": "run-1", "name": "Convert", "status": "RUNNING"},
    }

    (event,) = run_events(started, run, namespace="brygge", objects=ObjectNames("s3://brygge-data"))

    check_openlineage(event)
    assert (event["eventType"], event["eventTime"]) == ("START", started["time"])
    assert event["run"]["runId"] == run_uuid("run-1", "Convert")
    assert event["run"]["facets"]["parent"]["run"]["runId"] == run_uuid("run-1")
    assert [item["name"] for item in event["inputs"]] == run["input"]["keys"]
    assert event["outputs"] == []


def test_lineage_settings_use_openlineage_pythons_names() -> None:
    settings = Settings.from_env(
        {
            "OPENLINEAGE_URL": "https://marquez.example.org",
            "OPENLINEAGE_API_KEY": "k",
            "BRYGGE_OPENLINEAGE_NAMESPACE": "oslo",
        }
    )
    assert (settings.openlineage_url, settings.openlineage_api_key) == (
        "https://marquez.example.org",
        "k",
    )
    assert settings.openlineage_namespace == "oslo"
    assert Settings.from_env({}).openlineage_namespace == "brygge"


def test_the_schemas_refuse_what_the_spec_forbids() -> None:
    """The validation above can fail: a run id that is no UUID, a facet without producer."""
    run = {"id": "r", "dataset": "d", "version": "1", "input": {"keys": ["k"]}, "steps": []}
    started = {"type": "no.brygge.run.started", "time": "2026-01-02T03:04:05Z", "data": {}}
    (event,) = run_events(
        started, run, namespace="brygge", objects=ObjectNames("file", "/srv/brygge/objects/")
    )
    check_openlineage(event)
    with pytest.raises(jsonschema.ValidationError):
        check_openlineage({**event, "run": {"runId": "not-a-uuid", "facets": {}}})
    facets = event["inputs"][0]["facets"]
    broken = {k: v for k, v in facets["symlinks"].items() if k != "_producer"}
    with pytest.raises(jsonschema.ValidationError):
        check_openlineage(
            {**event, "inputs": [{**event["inputs"][0], "facets": {"symlinks": broken}}]}
        )


TERMINAL = ("COMPLETE", "FAIL", "ABORT")


def check_run_cycles(events: list[dict[str, Any]]) -> None:
    """Each run's events as the run cycle has them: START first, nothing after its end."""
    seen: dict[str, list[str]] = {}
    for event in events:
        cycle = seen.setdefault(event["run"]["runId"], [])
        assert cycle or event["eventType"] == "START", (event["job"]["name"], cycle)
        assert not cycle or cycle[-1] not in TERMINAL, (event["job"]["name"], cycle)
        cycle.append(event["eventType"])


def test_a_redriven_run_is_a_new_openlineage_run(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    run_id = run_pipeline(lineage_app, [("Upper", "upper"), ("Check", "check")], b"bad\n")
    client = lineage_app.test_client()
    services = lineage_app.extensions["brygge"]
    (upper,) = client.get(f"/runs/{run_id}").json["steps"][0]["outputs"]
    LocalObjectStore(services.settings.objects_dir).put(upper["key"], io.BytesIO(b"good\n"))

    assert client.post(f"/runs/{run_id}/redrive").status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    events = [json.loads(request.body) for request in marquez.requests]
    for event in events:
        check_openlineage(event)
    # FAIL ends a run for good (the run cycle's terminal states): the redrive is a new run
    # of the same job, and so is the step it runs again.
    check_run_cycles(events)
    first, again = run_uuid(run_id), run_uuid(run_id, redrives=1)
    assert first != again
    assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in events][-6:] == [
        ("FAIL", "secret.text.Check", run_uuid(run_id, "Check")),
        ("FAIL", "secret.text", first),
        ("START", "secret.text", again),
        ("START", "secret.text.Check", run_uuid(run_id, "Check", redrives=1)),
        ("COMPLETE", "secret.text.Check", run_uuid(run_id, "Check", redrives=1)),
        ("COMPLETE", "secret.text", again),
    ]
    assert events[-3]["run"]["facets"]["parent"]["run"]["runId"] == again


def test_a_run_events_come_in_order_after_the_backend_answered_503(
    lineage_app, marquez, clock
) -> None:  # type: ignore[no-untyped-def]
    answers = iter([503])
    marquez.answer = lambda _: (next(answers, 201), b"")
    steps = [("Upper", "upper"), ("Last", "check")]

    run_id = run_pipeline(lineage_app, steps, b"a\nb\n")
    clock.now += timedelta(seconds=10)  # the START's retry is due
    sender = HttpSender(allow_private=True)
    while run_once(lineage_app.extensions["brygge"], sender):
        pass

    accepted = [json.loads(request.body) for request in marquez.requests[1:]]
    for event in accepted:
        check_openlineage(event)
    check_run_cycles(accepted)
    parent = run_uuid(run_id)
    assert [(e["eventType"], e["run"]["runId"]) for e in accepted] == [
        ("START", parent),
        ("START", run_uuid(run_id, "Upper")),
        ("COMPLETE", run_uuid(run_id, "Upper")),
        ("START", run_uuid(run_id, "Last")),
        ("COMPLETE", run_uuid(run_id, "Last")),
        ("COMPLETE", parent),
    ]


def test_a_run_start_the_backend_never_takes_holds_the_run_events_until_it_is_dead(
    lineage_app, marquez, clock
) -> None:  # type: ignore[no-untyped-def]
    def answer(request) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
        event = json.loads(request.body)
        refused = (event["eventType"], event["job"]["name"]) == ("START", "secret.text")
        return (503 if refused else 201), b""

    marquez.answer = answer
    run_pipeline(lineage_app, [("Upper", "upper")], b"a\n")
    services = lineage_app.extensions["brygge"]
    sender = HttpSender(allow_private=True)
    # Nothing but the START's retries until its last one has failed.
    for _ in range(MAX_ATTEMPTS - 1):
        names = [json.loads(r.body)["job"]["name"] for r in marquez.requests]
        assert names == ["secret.text"] * len(names)
        clock.now += timedelta(hours=13)
        while run_once(services, sender):
            pass

    events = [json.loads(request.body) for request in marquez.requests]
    assert [e["eventType"] for e in events[:MAX_ATTEMPTS]] == ["START"] * MAX_ATTEMPTS
    assert [(e["eventType"], e["job"]["name"]) for e in events[MAX_ATTEMPTS:]] == [
        ("START", "secret.text.Upper"),
        ("COMPLETE", "secret.text.Upper"),
        ("COMPLETE", "secret.text"),
    ]


def test_a_run_without_a_pipeline_starts_reads_its_upload_and_writes_what_it_published(
    lineage_app, marquez
) -> None:  # type: ignore[no-untyped-def]
    client = lineage_app.test_client()
    dataset = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=dataset).status_code == 201
    editions = "/datasets/secret/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    services = lineage_app.extensions["brygge"]
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"a\n"))
    run = client.post(f"{editions}/{EDITION}/runs", json={"input": {"keys": [RAW]}}).json
    assert services.runs.wait_idle(timeout_s=60)
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    events = [json.loads(request.body) for request in marquez.requests]
    for event in events:
        check_openlineage(event)
    # It publishes its upload as it is: no run.started of its own, yet a START and a COMPLETE.
    check_run_cycles(events)
    assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in events] == [
        ("START", "secret.publish", run_uuid(run["id"])),
        ("COMPLETE", "secret.publish", run_uuid(run["id"])),
    ]
    root = f"{services.settings.objects_dir.resolve()}/"
    assert [item["name"] for item in events[0]["inputs"]] == [root + RAW]
    (distribution,) = client.get(f"{editions}/{EDITION}/distributions").json["items"]
    assert [item["name"] for item in events[1]["outputs"]] == [root + distribution["key"]]


def waiting_run(app: Flask, *, pipeline: bool, expires: str = "2026-01-01T00:00:00Z") -> str:
    """A run waiting for an upload that never comes (the dataset with or without a pipeline)."""
    client = app.test_client()
    dataset = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=dataset).status_code == 201
    editions = "/datasets/secret/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    if pipeline:
        definition = run_steps.chain(("Upper", "upper"))
        template = {"id": "text", "title": "Text", "definition": definition}
        assert client.post("/pipelines", json=template).status_code == 201
        assert client.put("/datasets/secret/pipeline", json={"template": "text"}).status_code == 200
    run = app.extensions["brygge"].runs.create_waiting(
        "secret", "1", EDITION, RAW, principal="user:a", upload_expires=expires
    )
    return str(run["id"])


@pytest.mark.parametrize("pipeline", [True, False])
@pytest.mark.parametrize("end", ["expired", "aborted"])
def test_a_run_that_never_started_sends_no_lineage(
    lineage_app, marquez, clock, pipeline: bool, end: str
) -> None:  # type: ignore[no-untyped-def]
    services = lineage_app.extensions["brygge"]
    run_id = waiting_run(lineage_app, pipeline=pipeline)
    if end == "expired":
        assert services.runs.expire_stale_uploads(timedelta(0))[0] == [run_id]
    else:
        assert lineage_app.test_client().post(f"/runs/{run_id}/abort").status_code == 200
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    # No job ran: no input was read, nothing was written. OpenLineage asks of each run one
    # START and one end; a run that never started is no OpenLineage run at all.
    assert lineage_app.test_client().get(f"/runs/{run_id}").json["status"] == end.upper()
    assert marquez.requests == []


@pytest.mark.parametrize("status", [400, 422])
def test_a_run_start_the_backend_refuses_for_good_is_dead_at_once_and_holds_nothing(
    lineage_app, marquez, status: int
) -> None:  # type: ignore[no-untyped-def]
    from catalogue.repositories.subscriptions import SubscriptionRepository

    def answer(request) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
        event = json.loads(request.body)
        refused = (event["eventType"], event["job"]["name"]) == ("START", "secret.text")
        return (status if refused else 201), b'{"error": "invalid event"}'

    marquez.answer = answer
    run_id = run_pipeline(lineage_app, [("Upper", "upper")], b"a\n")

    # No clock moves: the later events went at once, not after the START's ~28 h of retries.
    events = [json.loads(request.body) for request in marquez.requests]
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("START", "secret.text"),
        ("START", "secret.text.Upper"),
        ("COMPLETE", "secret.text.Upper"),
        ("COMPLETE", "secret.text"),
    ]
    services = lineage_app.extensions["brygge"]
    deliveries = SubscriptionRepository(services.store, services.clock).deliveries(
        "openlineage", limit=10, cursor=None
    )
    refused = [d for d in deliveries.items if d["type"] == "no.brygge.run.started"]
    assert [(d["status"], d["attempts"], d["lastStatusCode"]) for d in refused] == [
        ("dead", 1, status)
    ]
    assert f"{status}" in refused[0]["lastError"] and run_uuid(run_id)
    assert {d["status"] for d in deliveries.items} - {"dead"} == {"delivered"}


@pytest.mark.parametrize(
    ("status", "for_good"),
    [
        (400, True),
        (413, True),
        (422, True),
        (401, False),
        (404, False),
        (408, False),
        (429, False),
        (500, False),
        (503, False),
        (201, False),
        (None, False),
    ],
)
def test_only_a_refusal_of_the_event_itself_is_not_retried(status, for_good) -> None:  # type: ignore[no-untyped-def]
    from catalogue.events.delivery import refused_for_good

    assert refused_for_good(status) is for_good


def test_a_run_refused_at_its_start_starts_and_fails_saying_why(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    client = lineage_app.test_client()
    services = lineage_app.extensions["brygge"]
    run_id = waiting_run(lineage_app, pipeline=True)
    assert client.delete("/datasets/secret/pipeline").status_code == 204
    assert client.delete("/pipelines/text").status_code == 204
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"a\n"))
    assert services.runs.start(run_id) is not None
    assert services.runs.wait_idle(timeout_s=60)
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    # The upload came and the run failed on it: one START and one FAIL, as any failed run.
    assert client.get(f"/runs/{run_id}").json["status"] == "FAILED"
    events = [json.loads(request.body) for request in marquez.requests]
    for event in events:
        check_openlineage(event)
    check_run_cycles(events)
    assert [(e["eventType"], e["job"]["name"], e["run"]["runId"]) for e in events] == [
        ("START", "secret.text", run_uuid(run_id)),
        ("FAIL", "secret.text", run_uuid(run_id)),
    ]
    root = f"{services.settings.objects_dir.resolve()}/"
    assert [item["name"] for item in events[0]["inputs"]] == [root + RAW]
    message = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("Brygge.TemplateDeleted: pipeline template 'text' version 1")


def test_a_publish_as_is_whose_start_the_backend_refuses_still_sends_its_complete(
    lineage_app, marquez
) -> None:  # type: ignore[no-untyped-def]
    def answer(request) -> tuple[int, bytes]:  # type: ignore[no-untyped-def]
        refused = json.loads(request.body)["eventType"] == "START"
        return (422 if refused else 201), b'{"error": "invalid event"}'

    marquez.answer = answer
    client = lineage_app.test_client()
    services = lineage_app.extensions["brygge"]
    run_id = waiting_run(lineage_app, pipeline=False)
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"a\n"))
    assert services.runs.start(run_id) is not None
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    # As for a run with a pipeline: a START refused for good holds back nothing after it.
    assert client.get(f"/runs/{run_id}").json["status"] == "SUCCEEDED"
    events = [json.loads(request.body) for request in marquez.requests]
    assert [(e["eventType"], e["job"]["name"]) for e in events] == [
        ("START", "secret.publish"),
        ("COMPLETE", "secret.publish"),
    ]


def test_a_runs_events_of_one_transaction_handed_over_last_first_go_out_in_order(
    lineage_app, marquez
) -> None:  # type: ignore[no-untyped-def]
    services = lineage_app.extensions["brygge"]
    run_id = waiting_run(lineage_app, pipeline=False)
    # No file came: the run starts and fails in one write, run.started and run.failed together.
    assert services.runs.start(run_id) is not None
    subscriptions = SubscriptionRepository(services.store, services.clock, ())
    pending = subscriptions.undispatched(100)
    # A DynamoDB stream keeps no order within a transaction: here, the last event first.
    handed_over = sorted(pending, key=lambda item: item["sk"], reverse=True)
    lineage = lineage_target(services.settings)
    claim_until = services.clock() + CLAIM
    _, claimed = dispatch_events(subscriptions, handed_over, [], lineage, claim_until=claim_until)
    send_claimed(subscriptions, claimed, HttpSender(allow_private=True), lineage)

    events = [json.loads(request.body) for request in marquez.requests]
    assert [(e["eventType"], e["run"]["runId"]) for e in events] == [
        ("START", run_uuid(run_id)),
        ("FAIL", run_uuid(run_id)),
    ]


def test_a_run_whose_trigger_never_started_it_starts_and_fails(lineage_app, marquez) -> None:  # type: ignore[no-untyped-def]
    services = lineage_app.extensions["brygge"]
    run_id = waiting_run(lineage_app, pipeline=True)
    # The upload landed behind the trigger's back, more than 6 hours before the sweep.
    LocalObjectStore(services.settings.objects_dir).put(RAW, io.BytesIO(b"a\n"))
    assert services.runs.expire_stale_uploads(timedelta(0)) == ([], [], [run_id])
    sender = HttpSender(allow_private=True)
    while run_once(services, sender):
        pass

    events = [json.loads(request.body) for request in marquez.requests]
    for event in events:
        check_openlineage(event)
    assert [(e["eventType"], e["run"]["runId"]) for e in events] == [
        ("START", run_uuid(run_id)),
        ("FAIL", run_uuid(run_id)),
    ]
    message = events[1]["run"]["facets"]["errorMessage"]["message"]
    assert message.startswith("Brygge.TriggerFailed: ")
