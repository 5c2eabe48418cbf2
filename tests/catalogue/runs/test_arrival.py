"""Runs started on an object's arrival, over a migrated SQLite store and the local object store."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from catalogue.runs import arrival as trigger
from catalogue.services import Services
from catalogue.settings import Settings
from pipelines.objects import LocalObjectStore

EVENTS = Path(__file__).resolve().parents[2] / "events"
EDITION = "20260102T030405"
PREFIX = f"raw/green/air/version=1/edition={EDITION}/"
CSV = b"station,value\nA,1.5\n"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def services(settings: Settings, clock) -> Services:  # type: ignore[no-untyped-def]
    from catalogue.store import migrations

    migrations.apply(settings)
    return Services(settings, clock=clock)


@pytest.fixture
def dataset(services: Services) -> dict[str, Any]:
    repositories = services.repositories
    created = repositories.datasets.create(
        {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"},
        principal="user:tester",
    )
    repositories.editions.create(["air", "1"], {"edition": EDITION}, principal="user:tester")
    return created


def upload(services: Services, filename: str, body: bytes = CSV) -> str:
    """Store an upload without the hook, as S3 would before its notification."""
    key = PREFIX + filename
    LocalObjectStore(services.settings.objects_dir).put(key, io.BytesIO(body))
    return key


def waiting_run(services: Services, key: str) -> dict[str, Any]:
    return services.runs.create_waiting("air", "1", EDITION, key, principal="user:tester")


def test_test_event_yields_nothing_and_handles_nothing(services: Services) -> None:
    assert trigger.handle_s3_event(event("s3_test_event.json"), services) == []


def test_removed_foreign_and_outside_layout_records_are_skipped_or_ignored(
    services: Services,
) -> None:
    results = trigger.handle_s3_event(
        event("s3_object_removed_and_foreign.json"), services, bucket="brygge-data"
    )
    # Only the third record is an ObjectCreated of our bucket; its key is outside the layout.
    assert [result.outcome for result in results] == [trigger.IGNORED]
    assert "not a key of the lake" in results[0].reason


@pytest.mark.parametrize(
    "key",
    [
        "raw/green/air/version=1/edition=x/../../../etc/passwd",
        "intermediate/green/air/version=1/edition=1/step/out.csv",
        "processed/green/air/version=1/edition=1/out.csv",
        "",
    ],
)
def test_keys_that_start_no_run_are_ignored(services: Services, key: str) -> None:
    result = trigger.handle_object_created(key, services)
    assert result.outcome == trigger.IGNORED


def test_notification_for_a_key_without_run_is_ignored(services: Services, dataset) -> None:  # type: ignore[no-untyped-def]
    key = upload(services, "nobody-asked.csv")
    result = trigger.handle_object_created(key, services)
    assert result.outcome == trigger.IGNORED
    assert result.reason == "no run waits for this key"


def test_notification_for_an_unknown_dataset_is_ignored(services: Services) -> None:
    result = trigger.handle_object_created("raw/green/ghost/version=1/edition=1/x.csv", services)
    assert result.outcome == trigger.IGNORED


def test_upload_without_pipeline_is_published_once(services: Services, dataset) -> None:  # type: ignore[no-untyped-def]
    key = upload(services, "målinger 2026 %2B.csv")
    run = waiting_run(services, key)
    s3_event = event("s3_object_created.json")
    first = trigger.handle_s3_event(s3_event, services, bucket="brygge-data")
    again = trigger.handle_s3_event(s3_event, services, bucket="brygge-data")
    assert [result.outcome for result in first] == [trigger.PUBLISHED, trigger.IGNORED]
    assert [result.outcome for result in again] == [trigger.DUPLICATE, trigger.IGNORED]
    assert first[0].run == run["id"]
    assert services.runs.get(run["id"])["status"] == "SUCCEEDED"
    page = services.repositories.distributions.list(["air", "1", EDITION], limit=10, cursor=None)
    assert len(page.items) == 1
    distribution = page.items[0]
    published = PREFIX.replace("raw/", "processed/", 1) + "målinger 2026 %2B.csv"
    assert distribution["key"] == published
    assert distribution["byteSize"] == len(CSV)
    assert distribution["checksum"] == hashlib.sha256(CSV).hexdigest()
    assert (services.settings.objects_dir / published).read_bytes() == CSV


@pytest.mark.parametrize(
    "name", ["s3_eventbridge_object_created.json", "sqs_s3_notifications.json"]
)
def test_eventbridge_and_sqs_forms_publish_the_upload_once(
    services: Services,
    dataset,  # type: ignore[no-untyped-def]
    name: str,
) -> None:
    filename = "målinger 2026 +.csv" if "eventbridge" in name else "målinger 2026 %2B.csv"
    key = upload(services, filename)
    run = waiting_run(services, key)
    first = trigger.handle_s3_event(event(name), services, bucket="brygge-data")
    again = trigger.handle_s3_event(event(name), services, bucket="brygge-data")  # redelivered
    assert (first[0].key, first[0].outcome, first[0].run) == (key, trigger.PUBLISHED, run["id"])
    assert again[0].outcome == trigger.DUPLICATE
    assert services.runs.get(run["id"])["status"] == "SUCCEEDED"


def test_an_upload_without_pipeline_that_cannot_be_described_fails_its_run(  # type: ignore[no-untyped-def]
    services: Services, dataset
) -> None:
    # A row with more fields than the header: the description publishing makes cannot read it.
    key = upload(services, "målinger.csv", b"stasjon,verdi\nAlna,1\nBygdoy,2,3\n")
    run = waiting_run(services, key)
    result = trigger.handle_object_created(key, services)
    assert result.run == run["id"]
    ended = services.runs.get(run["id"])
    assert ended["status"] == "FAILED"
    assert ended["error"]["error"] == "InputError"
    assert "more fields than the header" in ended["error"]["cause"]
    # The trigger's result says so too: nothing was published, and why.
    assert result.as_dict()["outcome"] == "failed"
    assert result.reason.startswith("InputError: ")
    assert "more fields than the header" in result.reason
    published = PREFIX.replace("raw/", "processed/", 1) + "målinger.csv"
    assert not (services.settings.objects_dir / published).exists()


def test_a_notification_of_a_file_gone_fails_its_run_and_says_so(
    services: Services, dataset
) -> None:  # type: ignore[no-untyped-def]
    # The upload was deleted (or never landed) before its notification was handled.
    key = PREFIX + "borte.csv"
    run = waiting_run(services, key)
    result = trigger.handle_object_created(key, services)
    assert (result.outcome, result.run) == ("failed", run["id"])
    assert result.reason.startswith("ObjectNotFound: ")
    assert services.runs.get(run["id"])["status"] == "FAILED"
    assert trigger.handle_object_created(key, services).outcome == trigger.DUPLICATE


def test_publishing_as_is_gives_what_the_publish_step_gives(services: Services, dataset) -> None:  # type: ignore[no-untyped-def]
    """One way to publish a file: a run without pipeline registers the publish step's result."""
    from pipelines.steps import publish
    from pipelines.steps.runtime import output_key

    key = upload(services, "målinger.csv")
    run = waiting_run(services, key)
    assert trigger.handle_object_created(key, services).outcome == trigger.PUBLISHED
    page = services.repositories.distributions.list(["air", "1", EDITION], limit=10, cursor=None)
    [registered] = page.items
    by_step: list[dict[str, Any]] = []
    publish.run(
        LocalObjectStore(services.settings.objects_dir),
        publish.PublishConfig(),
        [key],
        output_key("Publish", published=True),
        run["id"],
        lambda distribution: by_step.append(distribution) or distribution["id"],
    )
    [expected] = by_step
    assert {name: registered.get(name) for name in expected} == expected
    assert registered["schema"] == {
        "fields": [{"name": "station", "type": "string"}, {"name": "value", "type": "string"}]
    }


TWO_STEPS = {
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}


def set_two_step_pipeline(services: Services) -> None:
    """Dataset air's pipeline: the template to-parquet (TWO_STEPS)."""
    services.pipelines.create(
        {"id": "to-parquet", "title": "To Parquet", "definition": TWO_STEPS},
        owner="team:data",
        principal="user:tester",
    )
    services.pipelines.set_dataset_pipeline(
        "air", {"template": "to-parquet", "taskConfig": {}}, principal="user:tester", if_match=None
    )


def test_duplicate_notification_starts_a_pipeline_run_once(services: Services, dataset) -> None:  # type: ignore[no-untyped-def]
    set_two_step_pipeline(services)
    key = upload(services, "r.csv")
    run = waiting_run(services, key)
    assert run["pipeline"]["template"] == "to-parquet"
    try:
        first = trigger.handle_object_created(key, services)
        again = trigger.handle_object_created(key, services)
        assert services.runs.wait_idle(timeout_s=60)
    finally:
        services.runs.shutdown()
    assert (first.outcome, again.outcome) == (trigger.STARTED, trigger.DUPLICATE)
    finished = services.runs.get(run["id"])
    assert finished["status"] == "SUCCEEDED", finished.get("error")
    page = services.repositories.distributions.list(["air", "1", EDITION], limit=10, cursor=None)
    assert [item["key"] for item in page.items] == [
        PREFIX.replace("raw/", "processed/", 1) + "r.parquet"
    ]


def test_lambda_handler_builds_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGE_HOME", str(tmp_path / "lambda-home"))
    monkeypatch.setenv("BRYGGE_DATA_BUCKET", "brygge-data")
    from catalogue import lambdas

    lambdas.lambda_services.cache_clear()
    try:
        answer = lambdas.object_created(event("s3_object_removed_and_foreign.json"), None)
        assert lambdas.object_created(event("s3_test_event.json"), None) == {"results": []}
    finally:
        lambdas.lambda_services.cache_clear()
    assert [result["outcome"] for result in answer["results"]] == ["ignored"]


def test_a_failing_record_does_not_stop_the_others_and_is_raised(
    services: Services, dataset, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    first = upload(services, "målinger 2026 %2B.csv")
    second = upload(services, "big.csv")
    waiting_run(services, first)
    big_run = waiting_run(services, second)
    real_get = services.runs.get

    def get(run_id: str) -> dict[str, Any]:
        if run_id != big_run["id"]:
            raise ConnectionError("store unavailable")
        return real_get(run_id)

    monkeypatch.setattr(services.runs, "get", get)
    with pytest.raises(ConnectionError):
        trigger.handle_s3_event(event("s3_object_created.json"), services, bucket="brygge-data")
    monkeypatch.undo()
    assert services.runs.get(big_run["id"])["status"] == "SUCCEEDED"


def test_an_upload_whose_template_was_deleted_before_it_landed_says_its_run_failed(
    services: Services, dataset
) -> None:  # type: ignore[no-untyped-def]
    set_two_step_pipeline(services)
    key = upload(services, "r.csv")
    run = waiting_run(services, key)
    services.pipelines.delete_dataset_pipeline("air", if_match=None, principal="user:tester")
    services.pipelines.delete("to-parquet", principal="user:tester", if_match=None)
    try:
        result = trigger.handle_object_created(key, services)
    finally:
        services.runs.shutdown()
    assert result.outcome == trigger.FAILED
    assert result.run == run["id"]
    assert result.reason.startswith("Brygge.TemplateDeleted: ")
    assert "'to-parquet' version 1 was deleted" in result.reason
    assert services.runs.get(run["id"])["status"] == "FAILED"
