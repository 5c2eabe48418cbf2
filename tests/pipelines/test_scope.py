"""The run-scoped object store: what a step may read and write, locally and on S3 (STS)."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from catalogue.domain.errors import InvalidValue
from pipelines.aws import aws_client
from pipelines.objects import (
    LocalObjectStore,
    ObjectOutOfScope,
    ObjectScope,
    S3ObjectStore,
    ScopedObjectStore,
    scoped_store,
    session_policy,
)
from pipelines.steps.contract import OutputKey, StepResult
from pipelines.steps.runtime import run_step, use_environment
from tests.pipelines.steps.mocks import MemoryRecorder

EDITION = "20240101T000000"
OWN = f"red/alice/version=1/edition={EDITION}/"
RAW = f"raw/{OWN}people.csv"
STEP_OUTPUT = f"intermediate/{OWN}Shape/people.csv"
PUBLISHED = f"processed/{OWN}people.csv"
LOOKUP = "processed/green/codes/version=1/edition=20230101T000000/codes.csv"
OWN_OTHER_EDITION = "processed/red/alice/version=1/edition=20230101T000000/old.csv"
VICTIM = f"processed/red/bob-hr/version=1/edition={EDITION}/salaries.csv"
SCOPE = ObjectScope(
    "non-public",
    "alice",
    "1",
    EDITION,
    lookups=(("codes", "public"),),
    lookup_keys=frozenset({OWN_OTHER_EDITION}),
)
BUCKET = "lake"
ROLE = "arn:aws:iam::123456789012:role/brygge-dev-steps-scoped"


@pytest.mark.parametrize(
    ("key", "readable", "writable"),
    [
        (RAW, True, False),  # never raw/: a write there would start another run
        (STEP_OUTPUT, True, True),
        (PUBLISHED, True, True),
        (LOOKUP, True, False),
        (OWN_OTHER_EDITION, True, False),
        ("processed/red/alice/version=1/edition=20230101T000000/other.csv", False, False),
        (f"raw/red/alice/version=2/edition={EDITION}/people.csv", False, False),
        (f"raw/green/alice/version=1/edition={EDITION}/people.csv", False, False),
        (f"raw/red/alice-2/version=1/edition={EDITION}/people.csv", False, False),
        ("processed/green/codes-2/version=1/edition=20230101T000000/codes.csv", False, False),
        ("raw/green/codes/version=1/edition=20230101T000000/codes.csv", False, False),
        (VICTIM, False, False),
    ],
)
def test_scope_reads_its_edition_and_lookups_and_writes_only_its_outputs(
    key: str, readable: bool, writable: bool
) -> None:
    assert (SCOPE.may_read(key), SCOPE.may_write(key)) == (readable, writable)


def test_scoped_store_refuses_before_any_io_so_existence_never_shows(tmp_path: Path) -> None:
    inner = LocalObjectStore(tmp_path)
    inner.put(VICTIM, io.BytesIO(b"secret"))
    objects = ScopedObjectStore(inner, SCOPE)
    missing = VICTIM.replace("salaries", "bonuses")
    for key in (VICTIM, missing):
        for attempt in (objects.get, objects.head, objects.exists, objects.open):
            with pytest.raises(ObjectOutOfScope) as raised:
                attempt(key)
            assert str(raised.value) == f"may not read {key!r}: it is outside this run's objects"
        with pytest.raises(ObjectOutOfScope):
            objects.put(key, io.BytesIO(b"overwritten"))
        with pytest.raises(ObjectOutOfScope):
            objects.copy(RAW, key)
    with pytest.raises(ObjectOutOfScope):
        objects.copy(VICTIM, PUBLISHED)
    with pytest.raises(ObjectOutOfScope):
        list(objects.list("processed/red/bob-hr/"))
    [failure] = objects.delete_many([VICTIM])
    assert failure.code == "ObjectOutOfScope"
    with pytest.raises(InvalidValue):
        objects.get("../outside")
    assert inner.get(VICTIM) == b"secret"
    assert not inner.exists(PUBLISHED)


def test_scoped_store_passes_what_the_scope_allows(tmp_path: Path) -> None:
    inner = LocalObjectStore(tmp_path)
    inner.put(RAW, io.BytesIO(b"a,b\n"))
    objects = ScopedObjectStore(inner, SCOPE)
    objects.copy(RAW, STEP_OUTPUT)
    assert objects.get(STEP_OUTPUT) == b"a,b\n"
    assert [info.key for info in objects.list(f"intermediate/{OWN}")] == [STEP_OUTPUT]
    assert objects.delete_many([STEP_OUTPUT]) == []
    assert not inner.exists(STEP_OUTPUT)


def overwrite_victim(objects: Any, config: Any, keys: list[str], out: OutputKey) -> StepResult:
    """A step with a bug: it writes wherever it is told to, reading an absolute key."""
    objects.put(VICTIM, io.BytesIO(objects.get(keys[0])))
    return StepResult([VICTIM], [])


def event(keys: list[str], dataset: str = "alice") -> dict[str, Any]:
    return {
        "run": "run-1",
        "dataset": dataset,
        "version": "1",
        "edition": EDITION,
        "step": "Shape",
        "config": {},
        "input": {"keys": keys},
    }


@dataclass(frozen=True)
class NoConfig:
    pass


def test_run_step_hands_a_buggy_step_a_store_it_cannot_escape(tmp_path: Path) -> None:
    inner = LocalObjectStore(tmp_path)
    inner.put(RAW, io.BytesIO(b"mine"))
    inner.put(VICTIM, io.BytesIO(b"secret"))
    recorder = MemoryRecorder()
    with use_environment(inner, recorder), pytest.raises(ObjectOutOfScope):
        run_step(event([RAW]), NoConfig, overwrite_victim)
    assert inner.get(VICTIM) == b"secret"
    error = recorder.finished("Shape")[4]
    assert error["error"] == "ObjectOutOfScope"


def test_run_step_refuses_input_keys_of_another_edition_before_reading(tmp_path: Path) -> None:
    inner = LocalObjectStore(tmp_path)
    inner.put(VICTIM, io.BytesIO(b"secret"))
    recorder = MemoryRecorder()
    read: list[str] = []

    def step(objects: Any, config: Any, keys: list[str], out: OutputKey) -> StepResult:
        read.append(keys[0])
        return StepResult([], [])

    with use_environment(inner, recorder), pytest.raises(ObjectOutOfScope):
        run_step(event([RAW, VICTIM]), NoConfig, step)
    assert read == []


# S3: the steps function's credentials themselves are scoped -----------------------------


@pytest.fixture
def bucket(moto: None) -> S3ObjectStore:
    aws_client("s3").create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    return S3ObjectStore(BUCKET, scope_role_arn=ROLE)


def assumed_roles() -> list[Any]:
    from moto.sts.models import sts_backends

    return sts_backends["123456789012"]["aws"].assumed_roles


def test_s3_steps_assume_the_scope_role_with_the_runs_session_policy(
    bucket: S3ObjectStore,
) -> None:
    aws_client("s3").put_object(Bucket=BUCKET, Key=RAW, Body=b"a,b\n")

    objects = scoped_store(bucket, SCOPE, "run-1/with:odd chars")

    [role] = assumed_roles()
    assert role.role_arn == ROLE
    assert role.session_name == "brygge-run-1-with-odd-chars"
    assert json.loads(role.policy) == session_policy(BUCKET, SCOPE)
    # Every request of the step's store is signed with the assumed credentials.
    assert isinstance(objects, ScopedObjectStore)
    credentials = objects.inner.client._request_signer._credentials.get_frozen_credentials()
    assert credentials.access_key == role.access_key_id
    assert credentials.token == role.session_token
    objects.copy(RAW, STEP_OUTPUT)
    assert objects.get(STEP_OUTPUT) == b"a,b\n"


def test_s3_without_a_scope_role_keeps_the_process_client(bucket: S3ObjectStore) -> None:
    objects = scoped_store(S3ObjectStore(BUCKET), SCOPE, "run-1")
    assert assumed_roles() == []
    assert isinstance(objects, ScopedObjectStore)
    assert objects.inner.client is aws_client("s3")


@pytest.mark.parametrize(
    ("action", "key", "allowed"),
    [
        ("s3:GetObject", RAW, True),
        ("s3:GetObject", STEP_OUTPUT, True),
        ("s3:GetObject", LOOKUP, True),
        ("s3:GetObject", OWN_OTHER_EDITION, True),
        ("s3:GetObject", VICTIM, False),
        ("s3:GetObject", "processed/green/codes-2/version=1/edition=1/codes.csv", False),
        ("s3:PutObject", STEP_OUTPUT, True),
        ("s3:PutObject", PUBLISHED, True),
        ("s3:PutObject", RAW, False),
        ("s3:PutObject", LOOKUP, False),
        ("s3:PutObject", VICTIM, False),
        ("s3:DeleteObject", STEP_OUTPUT, False),
    ],
)
def test_session_policy_allows_exactly_the_scope(action: str, key: str, allowed: bool) -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    policy = IAMPolicy(json.dumps(session_policy(BUCKET, SCOPE)))
    result = policy.is_action_permitted(action, f"arn:aws:s3:::{BUCKET}/{key}")
    assert (result == PermissionResult.PERMITTED) is allowed


def test_session_policy_of_the_longest_ids_fits_the_sts_limit() -> None:
    # One step reads at most one lookup (enrich's), a dataset or a key.
    longest = "a" * 64
    key = f"processed/yellow/{longest}/version=10/edition={EDITION}/{'f' * 60}.parquet"
    scope = ObjectScope(
        "restricted",
        longest,
        "10",
        EDITION,
        lookups=(("b" * 64, "non-public"),),
        lookup_keys=frozenset({key}),
    )
    packed = json.dumps(session_policy(BUCKET, scope), separators=(",", ":"))
    # AssumeRole refuses an inline session policy over 2,048 characters.
    assert len(packed) < 2048
