"""Steps on an S3 object store (moto): inputs are downloaded, outputs uploaded, same results."""

from __future__ import annotations

import hashlib
import io

import polars as pl

from pipelines.objects import S3ObjectStore
from pipelines.steps import csv_to_parquet, publish, validate
from pipelines.steps.runtime import use_environment
from tests.pipelines.steps.conftest import EDITION, RAW_PREFIX, MakeEvent, data_file
from tests.pipelines.steps.mocks import MemoryRecorder


def test_validate_convert_and_publish_on_s3(s3_lake: S3ObjectStore, make_event: MakeEvent) -> None:
    recorder = MemoryRecorder()
    key = RAW_PREFIX + "trees.csv"
    s3_lake.put(key, io.BytesIO(data_file("trees.csv")))
    schema = {"fields": [{"name": "species", "constraints": {"enum": ["ALB", "BET"]}}]}
    with use_environment(s3_lake, recorder):
        event = validate.handler(
            make_event("Check", [key], {"schema": schema, "onInvalid": "drop"}), None
        )
        event = csv_to_parquet.handler(event | {"step": "ToParquet", "config": {}}, None)
        event = publish.handler(event | {"step": "Publish", "config": {}}, None)
    [published] = event["input"]["keys"]
    assert published == f"processed/green/trees/version=1/edition={EDITION}/trees.parquet"
    data = s3_lake.get(published)
    assert pl.read_parquet(io.BytesIO(data)).get_column("tree_id").to_list() == ["1", "2", "3"]
    [distribution] = recorder.distributions.values()
    assert distribution["checksum"] == hashlib.sha256(data).hexdigest()
    assert s3_lake.head(published).sha256 == distribution["checksum"]
