"""Fixtures for step tests: a local object store, an in-memory recorder, and event helpers."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.objects import LocalObjectStore, S3ObjectStore
from pipelines.steps.runtime import use_environment
from tests.pipelines.steps.mocks import MemoryRecorder

DATA = Path(__file__).parents[2] / "data" / "steps"
EDITION = "20240101T000000"
RAW_PREFIX = f"raw/green/trees/version=1/edition={EDITION}/"

Put = Callable[[str, bytes], str]
MakeEvent = Callable[..., dict[str, Any]]


@pytest.fixture
def objects(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


@pytest.fixture
def recorder() -> MemoryRecorder:
    return MemoryRecorder()


@pytest.fixture
def step_env(objects: LocalObjectStore, recorder: MemoryRecorder) -> Iterator[None]:
    with use_environment(objects, recorder):
        yield


@pytest.fixture
def put(objects: LocalObjectStore) -> Put:
    """Upload bytes as a raw object of the dataset ``trees``; returns its key."""

    def put(filename: str, data: bytes) -> str:
        key = RAW_PREFIX + filename
        objects.put(key, io.BytesIO(data))
        return key

    return put


@pytest.fixture
def make_event() -> MakeEvent:
    def make_event(step: str, keys: list[str], config: dict[str, Any] | None = None) -> dict:
        return {
            "run": "run-1",
            "dataset": "trees",
            "version": "1",
            "edition": EDITION,
            "step": step,
            "config": config or {},
            "input": {"keys": keys},
        }

    return make_event


def data_file(name: str) -> bytes:
    """A file committed under tests/data/steps."""
    return (DATA / name).read_bytes()


@pytest.fixture
def s3_lake(moto: None) -> S3ObjectStore:
    """An S3ObjectStore on a fresh moto bucket (the ``moto`` fixture fakes the credentials)."""
    from pipelines.aws import aws_client

    aws_client("s3").create_bucket(
        Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return S3ObjectStore("lake")
