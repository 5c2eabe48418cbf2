"""After a crash: half-written objects and step folders go, interrupted uploads finish."""

from __future__ import annotations

from pathlib import Path

from catalogue.runs.recovery import recover_at_startup, step_temp_root
from pipelines.objects import LocalObjectStore
from pipelines.runs import StepRegistry
from tests.catalogue.runs.test_service import EDITION, RAW, services, set_pipeline
from tests.pipelines import crash_steps, run_steps

__all__ = ["services"]  # the fixture, used by name
PROCESSED = f"processed/green/air/version=1/edition={EDITION}/data.txt"


def test_startup_removes_partial_objects_and_step_folders(services) -> None:  # type: ignore[no-untyped-def]
    objects_dir = services.settings.objects_dir
    part = objects_dir / f"intermediate/green/air/version=1/edition={EDITION}/Upper/.put-x.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"half")
    raw_part = (objects_dir / RAW).parent / ".put-y.part"
    raw_part.write_bytes(b"half an upload")
    left = step_temp_root(services.settings.home) / "worker-4242" / "brygge-step-abc"
    left.mkdir(parents=True)
    (left / "sheet.csv").write_bytes(b"a,b\n")

    done = recover_at_startup(services)

    assert not part.exists() and not raw_part.exists()
    assert not left.parent.exists()
    assert (objects_dir / RAW).read_bytes() == b"lake\n"  # whole objects stay
    assert str(part) in done.removed


def test_an_upload_stored_before_a_crash_is_published_on_restart(services, client) -> None:  # type: ignore[no-untyped-def]
    # The upload's run was made and its object stored (``services`` put it without the
    # object-created hook), then the process stopped before the run started.
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    missing = RAW.replace("data.txt", "never-arrived.txt")
    waiting = services.runs.create_waiting("air", "1", EDITION, missing, principal="user:t")

    done = recover_at_startup(services)

    assert done.uploads == [run["id"]]
    assert services.runs.get(run["id"])["status"] == "SUCCEEDED"
    assert services.runs.get(waiting["id"])["status"] == "WAITING"
    objects = LocalObjectStore(services.settings.objects_dir)
    assert objects.get(PROCESSED) == b"lake\n"
    listed = client.get(f"/datasets/air/versions/1/editions/{EDITION}/distributions").json
    assert [item["filenames"] for item in listed["items"]] == [["data.txt"]]


def test_an_upload_with_a_pipeline_starts_on_restart(services, client) -> None:  # type: ignore[no-untyped-def]
    set_pipeline(client, run_steps.chain(("Upper", "upper")))
    run = services.runs.create_waiting("air", "1", EDITION, RAW, principal="user:tester")
    assert recover_at_startup(services).uploads == [run["id"]]
    assert services.runs.wait_idle(timeout_s=60)
    assert services.runs.get(run["id"])["status"] == "SUCCEEDED"


def test_a_run_started_by_hand_without_pipeline_publishes(services, client) -> None:  # type: ignore[no-untyped-def]
    started = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/runs", json={"input": {"keys": [RAW]}}
    )
    assert started.status_code == 202
    assert started.json["status"] == "SUCCEEDED"
    objects = LocalObjectStore(services.settings.objects_dir)
    assert objects.get(PROCESSED) == b"lake\n"
    listed = client.get(f"/datasets/air/versions/1/editions/{EDITION}/distributions").json
    assert [item["filenames"] for item in listed["items"]] == [["data.txt"]]


def test_a_crashed_step_leaves_no_partial_object_nor_temp_folder(  # type: ignore[no-untyped-def]
    services, client, monkeypatch
) -> None:
    run_steps.register(monkeypatch, "litter")
    set_pipeline(client, run_steps.chain(("Litter", "litter")))
    services.runs.registry = StepRegistry(crash_steps.HANDLERS)
    run = services.runs.start_run("air", "1", EDITION, [RAW], principal="user:tester")
    assert services.runs.wait_idle(timeout_s=60)
    after = services.runs.get(run["id"])
    assert after["error"]["error"] == "Brygge.StepCrashed"
    objects_dir: Path = services.settings.objects_dir
    assert list(objects_dir.rglob(".put-*.part")) == []
    temp_root = step_temp_root(services.settings.home)
    assert list(temp_root.rglob("litter*")) == []
