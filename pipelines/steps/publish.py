"""publish: copy a step's output to ``processed/`` and register it as a distribution."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipelines.media_types import is_media_type
from pipelines.objects import ObjectNotFound, ObjectStore, download, local_file, sha256_of
from pipelines.steps.contract import ConfigError, InputError, OutputKey, StepOutput, StepResult
from pipelines.steps.preview import fitted, table_preview
from pipelines.steps.runtime import environment, run_step
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
# The files described by a Table Schema, a row count and a preview.
DESCRIBED = (".csv", ".parquet")
# Registers a distribution for the run's dataset, version and edition; returns its id.
Register = Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class PublishConfig:
    """Options of publish: override the media type and format guessed from the file name."""

    media_type: str | None = None
    format: str | None = None


def check_config(config: PublishConfig) -> None:
    """Raise ConfigError for a ``mediaType`` the catalogue would not take."""
    media_type = config.media_type
    # The DCAT feed states it as an IANA IRI: a distribution whose type is none keeps its
    # public dataset out of the feed.
    if media_type is not None and not is_media_type(media_type):
        raise ConfigError(
            "mediaType", "must be a media type such as text/csv or text/csv; charset=utf-8"
        )


def distribution_id(run: str, key: str) -> str:
    """The id of the distribution a run publishes under ``key``: the same on every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"brygge:run:{run}:{key}"))


def describe(
    path: Path, name: str
) -> tuple[dict[str, Any] | None, int | None, dict[str, Any] | None]:
    """Table Schema, row count and preview (``table_preview``) of a CSV or Parquet file.

    A CSV column is text unless a step typed it (Parquet): describing 0101 as an integer
    would tell readers to drop the zero. (None, None, None) for other files; an empty CSV
    has 0 rows. Raises InputError for a file polars cannot read.
    """
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in DESCRIBED:
        return None, None, None
    if suffix == ".csv" and path.stat().st_size == 0:
        return None, 0, None
    with reading(name):
        preview = table_preview(path, name)
    if preview is None:
        return None, None, None
    schema = preview.pop("schema")
    return schema, preview["rowCount"], fitted(preview)


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
    schema, rows, preview = describe(path, name) if path is not None else (None, None, None)
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
    if preview is not None:
        distribution["preview"] = preview
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

    Raises ConfigError for a bad mediaType, InputError for a missing or unreadable input.
    """
    check_config(config)
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
