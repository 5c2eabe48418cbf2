"""publish: copy to processed/ and register one distribution per run and key."""

from __future__ import annotations

import hashlib
import io
from typing import Any

import polars as pl
import pytest

from pipelines.objects import LocalObjectStore, ObjectInfo
from pipelines.steps import publish
from pipelines.steps.contract import InputError
from pipelines.steps.runtime import output_key
from tests.pipelines.steps.conftest import EDITION, MakeEvent, Put
from tests.pipelines.steps.mocks import MemoryRecorder

pytestmark = pytest.mark.usefixtures("step_env")
STEP_KEY = f"intermediate/green/trees/version=1/edition={EDITION}/ToParquet/trees.parquet"


@pytest.fixture
def parquet(objects: LocalObjectStore) -> bytes:
    buffer = io.BytesIO()
    pl.DataFrame(
        {"id": [1, 2], "name": ["a", "b"], "height": [1.5, 2.0], "ok": [True, False]}
    ).with_columns(pl.lit("2024-01-01").str.to_date().alias("day")).write_parquet(buffer)
    objects.put(STEP_KEY, io.BytesIO(buffer.getvalue()))
    return buffer.getvalue()


def test_publish_copies_to_processed_and_registers_the_distribution(
    objects: LocalObjectStore, recorder: MemoryRecorder, parquet: bytes, make_event: MakeEvent
) -> None:
    result = publish.handler(make_event("Publish", [STEP_KEY]), None)
    target = f"processed/green/trees/version=1/edition={EDITION}/trees.parquet"
    assert result["input"]["keys"] == [target]
    assert objects.get(target) == parquet
    [distribution] = recorder.distributions.values()
    preview = distribution.pop("preview")
    assert preview["rowCount"] == 2
    assert preview["rows"] == [
        [1, "a", 1.5, True, "2024-01-01"],
        [2, "b", 2.0, False, "2024-01-01"],
    ]
    assert preview["statistics"]["height"] == {
        "nonNull": 2,
        "distinct": 2,
        "distinctIsApproximate": False,
        "min": 1.5,
        "max": 2.0,
        "mean": 1.75,
    }
    assert preview["statistics"]["name"]["top"] == [
        {"value": "a", "count": 1},
        {"value": "b", "count": 1},
    ]
    assert distribution == {
        "id": publish.distribution_id("run-1", target),
        "dataset": "trees",
        "version": "1",
        "edition": EDITION,
        "type": "file",
        "filenames": ["trees.parquet"],
        "key": target,
        "run": "run-1",
        "mediaType": "application/vnd.apache.parquet",
        "format": "Parquet",
        "byteSize": len(parquet),
        "checksum": hashlib.sha256(parquet).hexdigest(),
        "schema": {
            "fields": [
                {"name": "id", "type": "integer"},
                {"name": "name", "type": "string"},
                {"name": "height", "type": "number"},
                {"name": "ok", "type": "boolean"},
                {"name": "day", "type": "date"},
            ]
        },
    }
    assert recorder.outputs[0].rows == 2
    assert recorder.finished("Publish")[5] == {"distributions": [distribution["id"]]}


def test_publishing_twice_registers_once(
    recorder: MemoryRecorder, parquet: bytes, make_event: MakeEvent
) -> None:
    event = make_event("Publish", [STEP_KEY])
    first = publish.handler(event, None)
    second = publish.handler(event, None)
    assert first == second
    assert len(recorder.distributions) == 1


def test_a_raw_upload_publishes_as_is_with_csv_columns_described_as_text(
    objects: LocalObjectStore, recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("list.csv", b"id,name\n0101,a\n")
    publish.handler(make_event("Publish", [key], {"mediaType": "text/csv; charset=utf-8"}), None)
    [distribution] = recorder.distributions.values()
    assert distribution["key"] == f"processed/green/trees/version=1/edition={EDITION}/list.csv"
    assert distribution["mediaType"] == "text/csv; charset=utf-8"
    assert distribution["format"] == "CSV"
    # A CSV's columns are text: an integer would tell readers the zero of 0101 is noise.
    assert distribution["schema"]["fields"] == [
        {"name": "id", "type": "string"},
        {"name": "name", "type": "string"},
    ]


def test_a_file_that_is_not_a_table_has_no_schema(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("map.geojson", b'{"type": "FeatureCollection", "features": []}')
    publish.handler(make_event("Publish", [key]), None)
    [distribution] = recorder.distributions.values()
    assert distribution["mediaType"] == "application/geo+json"
    assert "schema" not in distribution


def test_a_file_of_no_known_format_has_no_format(
    recorder: MemoryRecorder, put: Put, make_event: MakeEvent
) -> None:
    key = put("notes.bin", b"\x00\x01")
    publish.handler(make_event("Publish", [key]), None)
    [distribution] = recorder.distributions.values()
    assert distribution["mediaType"] == "application/octet-stream"
    assert "format" not in distribution


class CountingStore:
    """An object store that is not local (steps download from it) and counts the reads."""

    def __init__(self, inner: LocalObjectStore) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open(self, key: str) -> Any:
        self.reads.append(key)
        return self.inner.open(key)

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        return self.inner.get(key)

    def copy(self, source: str, destination: str) -> ObjectInfo:
        # As S3 does: the copy happens in the store, and reports no sha256 it did not keep.
        info = self.inner.copy(source, destination)
        return ObjectInfo(info.key, info.bytes, None, info.etag)


def test_publish_reads_the_published_object_once_and_the_input_never(
    objects: LocalObjectStore, parquet: bytes
) -> None:
    store = CountingStore(objects)
    target = f"processed/green/trees/version=1/edition={EDITION}/trees.parquet"
    registered: list[dict[str, Any]] = []
    result = publish.run(
        store,  # type: ignore[arg-type]
        publish.PublishConfig(),
        [STEP_KEY],
        output_key("Publish", published=True),
        "run-1",
        lambda distribution: registered.append(distribution) or distribution["id"],
    )
    assert store.reads == [target]
    assert registered[0]["checksum"] == hashlib.sha256(parquet).hexdigest()
    assert result.outputs[0].rows == 2


def test_a_missing_input_is_an_input_error(make_event: MakeEvent) -> None:
    with pytest.raises(InputError, match="does not exist"):
        publish.handler(make_event("Publish", [STEP_KEY]), None)
