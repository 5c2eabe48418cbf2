"""The steps function's runner: steps get the object store, recorder and limits of the settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalogue.runs import steps_function
from catalogue.runs.recorder import StoreRecorder
from pipelines.objects import LocalObjectStore, S3ObjectStore
from pipelines.steps.runtime import environment, step_limits


@pytest.fixture(autouse=True)
def fresh_environment() -> Iterator[None]:
    steps_function._environment_from_settings.cache_clear()
    yield
    steps_function._environment_from_settings.cache_clear()


def test_local_mode_uses_the_objects_directory_and_the_store_recorder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRYGGE_BACKEND", "local")
    monkeypatch.setenv("BRYGGE_HOME", str(tmp_path))
    monkeypatch.setenv("BRYGGE_STEP_MAX_CELLS", "1234")
    with steps_function.step_environment():
        objects, recorder = environment()
        limits = step_limits()
    assert isinstance(objects, LocalObjectStore)
    assert objects.root == tmp_path / "objects"
    assert isinstance(recorder, StoreRecorder)
    assert limits.max_cells == 1234


def test_aws_mode_uses_the_data_bucket_with_the_scope_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BRYGGE_BACKEND", "aws")
    monkeypatch.setenv("BRYGGE_DATA_BUCKET", "lake-bucket")
    monkeypatch.setenv("BRYGGE_STEP_SCOPE_ROLE_ARN", "arn:aws:iam::123456789012:role/scoped")
    with steps_function.step_environment():
        objects, _ = environment()
    assert isinstance(objects, S3ObjectStore)
    assert objects.bucket == "lake-bucket"
    assert objects.scope_role_arn == "arn:aws:iam::123456789012:role/scoped"
