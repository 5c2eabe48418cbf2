"""publish: copy a step's output to ``processed/`` and register it as a distribution."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.objects import ObjectNotFound, ObjectStore, download, local_file, sha256_of
from pipelines.steps.contract import InputError, OutputKey, StepOutput, StepResult
from pipelines.steps.runtime import environment, run_step
from pipelines.steps.table_schema import table_schema_type
from pipelines.steps.tables import filename, reading, workdir

MEDIA_TYPES = {
    ".csv": ("text/csv", "CSV"),
    ".parquet": ("application/vnd.apache.parquet", "Parquet"),
    ".json": ("application/json", "JSON"),
    ".geojson": ("application/geo+json", "GeoJSON"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "XLSX"),
    ".xls": ("application/vnd.ms-excel", "XLS"),
    ".zip": ("application/zip", "ZIP"),
}
DEFAULT_MEDIA_TYPE = ("application/octet-stream", "")
# The files describe_table reads for a Table Schema and a row count.
DESCRIBED = (".csv", ".parquet")
# Registers a distribution for the run's dataset, version and edition; returns its id.
Register = Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """Options of publish: override the media type and format guessed from the file name."""

    media_type: str | None = None
    format: str | None = None


def distribution_id(run: str, key: str) -> str:
    """The id of the distribution a run publishes under ``key``: the same on every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"brygge:run:{run}:{key}"))


def describe_table(path: Path, name: str) -> tuple[dict[str, Any] | None, int | None]:
    """The Table Schema columns and row count of a CSV or Parquet file; (None, None) otherwise."""
    import polars as pl

    suffix = PurePosixPath(name).suffix.lower()
    with reading(name):
        if suffix == ".parquet":
            frame = pl.scan_parquet(path)
        elif suffix == ".csv":
            if path.stat().st_size == 0:
                return None, 0
            # A CSV column is text unless a step typed it (Parquet): describing 0101 as an
            # integer would tell readers to drop the zero.
            frame = pl.scan_csv(path, infer_schema=False)
        else:
            return None, None
        columns = frame.collect_schema()
        rows = frame.select(pl.len()).collect(engine="streaming").item()
    fields = [
        {"name": column, "type": table_schema_type(dtype)} for column, dtype in columns.items()
    ]
    return {"fields": fields}, rows


def publish_object(
    objects: ObjectStore, key: str, target: str, run_id: str, config: PublishConfig, directory: Path
) -> tuple[dict[str, Any], StepOutput]:
    """Copy ``key`` to ``target`` and describe the copy as the distribution ``run_id`` publishes.

    The one way a file becomes a distribution: a pipeline's publish step and a run without a
    pipeline (``catalogue.runs``) give the same result. The copy checks the source exists
    (a HEAD on S3; raises ObjectNotFound) and the published object is read at most once, into
    ``directory``, when its sha256 or its table description needs the bytes.
    """
    name = filename(key)
    info = objects.copy(key, target)
    sha256 = info.sha256
    suffix = PurePosixPath(name).suffix.lower()
    path = local_file(objects, target)
    if path is None and (sha256 is None or suffix in DESCRIBED):
        path = download(objects, target, directory / f"published{suffix}")
    if sha256 is None:
        assert path is not None
        with path.open("rb") as body:
            sha256, _ = sha256_of(body)
    schema, rows = describe_table(path, name) if path is not None else (None, None)
    media_type, format_name = MEDIA_TYPES.get(suffix, DEFAULT_MEDIA_TYPE)
    distribution: dict[str, Any] = {
        "id": distribution_id(run_id, target),
        "type": "file",
        "filenames": [name],
        "key": target,
        "run": run_id,
        "mediaType": config.media_type or media_type,
        "byteSize": info.bytes,
        "checksum": sha256,
    }
    if config.format or format_name:
        distribution["format"] = config.format or format_name
    if schema is not None:
        distribution["schema"] = schema
    return distribution, StepOutput(target, info.bytes, sha256, rows)


def run(
    objects: ObjectStore,
    config: PublishConfig,
    keys: list[str],
    out: OutputKey,
    run_id: str = "",
    register: Register | None = None,
) -> StepResult:
    """Publish each key; running it again for the same run registers nothing new.

    Raises InputError for a missing or unreadable input.
    """
    outputs = []
    distributions = []
    with workdir() as directory:
        for key in keys:
            try:
                distribution, output = publish_object(
                    objects, key, out(key, filename(key)), run_id, config, directory
                )
            except ObjectNotFound as error:
                if error.key != key:
                    raise
                raise InputError(f"input object {key!r} does not exist") from None
            if register is not None:
                distributions.append(register(distribution))
            outputs.append(output)
    return StepResult([output.key for output in outputs], outputs, {"distributions": distributions})


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Step handler: see ``run``; distributions go to the recorder."""
    _, recorder = environment()

    def publish(
        objects: ObjectStore, config: PublishConfig, keys: list[str], out: OutputKey
    ) -> StepResult:
        def register(distribution: dict[str, Any]) -> str:
            return recorder.register_distribution(
                event["dataset"], event["version"], event["edition"], distribution
            )

        return run(objects, config, keys, out, event["run"], register)

    return run_step(event, PublishConfig, publish, published=True)
