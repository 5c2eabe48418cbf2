"""The open-data publishing job: the catalogue feed and the latest public files, incrementally.

The open-data location (a local directory or an S3 bucket) holds::

    catalog.jsonld, catalog.ttl       the DCAT-AP feed of the published datasets
    datasets/<dataset>/<file>         the latest processed distribution files
    manifest.json                     what is published, with sha256 checksums
    publish-report.json               what the last run published, withdrew, left unchanged

Each run compares checksums with the manifest and writes only what changed, so a second
run with the same input writes nothing but its report; files of datasets that are no longer
public, no longer publishable or deleted are withdrawn. ``catalogue.dcat.open_data`` runs the
job for a catalogue from its settings.
"""

from __future__ import annotations

import hashlib
import io
import json
import mimetypes
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from catalogue.dcat.publishability import missing_for_publication
from catalogue.dcat.selection import PublishItem
from catalogue.domain.errors import InvalidValue
from pipelines.object_keys import parse_object_key
from pipelines.objects import ObjectNotFound, ObjectStore

CATALOG_JSONLD = "catalog.jsonld"
CATALOG_TURTLE = "catalog.ttl"
# The same catalogue as DCAT-AP-NO 3, whose media type IRIs differ from DCAT-AP 3's.
CATALOG_NO3_TURTLE = "catalog-dcat-ap-no-3.ttl"
# The same catalogue as DCAT-AP-NO 2.2, for harvesters that still validate 2.x (data.norge.no).
CATALOG_NO2_TURTLE = "catalog-dcat-ap-no-2.ttl"
MANIFEST = "manifest.json"
REPORT = "publish-report.json"
CHUNK_BYTES = 1024 * 1024
# Where the data files live in the open-data location; anything under it that no manifest
# lists is withdrawn.
DATA_PREFIX = "datasets/"
# Earlier versions wrote each file under a temporary name beginning so, then moved it into
# place: what a crash left of those goes at the next run. (The object store's puts replace
# an object whole: readers never see a part.)
TEMPORARY_PREFIX = ".publishing-"


@dataclass(slots=True)
class PublishReport:
    """What one run did, by name in the open-data location."""

    published: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    withdrawn_datasets: list[str] = field(default_factory=list)
    # Why each withdrawn name went, by name.
    reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (camelCase, as everywhere on the wire)."""
        return {
            "published": self.published,
            "withdrawn": self.withdrawn,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "withdrawnDatasets": self.withdrawn_datasets,
            "reasons": self.reasons,
        }


def publish(
    items: Iterable[PublishItem],
    source: ObjectStore,
    target: ObjectStore,
    *,
    catalog_info: Mapping[str, Any],
    base_url: str,
    open_data_url: str,
    why_absent: Callable[[str], str] | None = None,
) -> PublishReport:
    """Bring the open-data location in line with ``items``; returns and stores the report.

    ``base_url`` is the API's (dataset IRIs), ``open_data_url`` the public URL of the
    target's root (download URLs). Only what was deleted or stopped being public is
    withdrawn: a dataset missing from ``items`` (``why_absent(id)`` says why), one that is
    not public, a file its dataset's newest edition no longer has. A public dataset failing
    the publish gate is left out of the feed, but the files it had published stay.

    The order makes a failure part-way harmless: data files first, then the feed (both
    documents are serialised before either is written), then the manifest, and only then
    withdrawals, of every name under ``datasets/`` that the new manifest does not list (so
    the next run finishes what a failed one left) and of temporaries a crash left behind.
    Raises InvalidValue if a key is not a public processed key of its own dataset.
    """
    from catalogue.dcat.serialization import JSON_LD, TURTLE, serialize
    from catalogue.dcat.statements import catalog_statements
    from catalogue.dcat.vocabularies import DCAT_AP_NO_2, DCAT_AP_NO_3

    report = PublishReport()
    old = _load_manifest(target)
    publishable = []
    reasons: dict[str, str] = {}  # why a dataset's files go, by dataset id
    kept: dict[str, list[str]] = {}  # names of public datasets failing the gate
    for item in items:
        dataset_id = item.dataset["id"]
        problems = missing_for_publication(item.dataset, item.distributions)
        if not problems:
            # Every key is checked before anything is written: one bad key publishes nothing.
            names = [_file_name(dataset_id, key) for key in item.keys]
            publishable.append((item, names))
            continue
        entry: dict[str, Any] = {"dataset": dataset_id, "problems": problems}
        access_rights = item.dataset.get("accessRights")
        if access_rights != "public":
            reasons[dataset_id] = f"dataset {dataset_id} is no longer public ({access_rights})"
        elif old["datasets"].get(dataset_id):
            kept[dataset_id] = [n for n in old["datasets"][dataset_id] if n in old["files"]]
            entry["kept"] = kept[dataset_id]
        report.skipped.append(entry)

    published_ids = {item.dataset["id"] for item, _ in publishable}
    files: dict[str, str] = {}
    datasets: dict[str, list[str]] = {}
    entries = []
    for item, item_names in publishable:
        dataset_id = item.dataset["id"]
        for key, name in zip(item.keys, item_names, strict=True):
            sha256 = _source_sha256(source, key, item.distributions)
            if old["files"].get(name) == sha256:
                report.unchanged.append(name)
            else:
                with source.open(key) as body:
                    target.put(name, body, content_type=_content_type(name, item))
                report.published.append(name)
            files[name] = sha256
        datasets[dataset_id] = sorted(set(item_names))
        edition = item.editions[0]["edition"] if item.editions else None
        reasons[dataset_id] = (
            f"not in edition {edition}, the newest of dataset {dataset_id} with distributions"
            if edition
            else f"dataset {dataset_id} has no distributions any more"
        )
        distributions = _with_open_data_urls(item, item_names, open_data_url)
        # Lineage may name only published datasets: the id of a restricted source is
        # not open data.
        sources = [s for s in item.dataset.get("wasDerivedFrom") or () if s in published_ids]
        dataset = {**item.dataset, "wasDerivedFrom": sources}
        entries.append((dataset, distributions, item.editions))
    for dataset_id, names in kept.items():
        datasets[dataset_id] = names
        files.update((name, old["files"][name]) for name in names)

    described = catalog_statements(catalog_info, entries, base_url)
    described_no3 = catalog_statements(catalog_info, entries, base_url, profile=DCAT_AP_NO_3)
    described_no2 = catalog_statements(catalog_info, entries, base_url, profile=DCAT_AP_NO_2)
    # Every document is made before any is written: a failure here changes nothing.
    documents = [
        (name, serialize(rendered, rdf_format).encode(), media_type)
        for name, rendered, rdf_format, media_type in (
            (CATALOG_JSONLD, described, JSON_LD, "application/ld+json"),
            (CATALOG_TURTLE, described, TURTLE, "text/turtle"),
            (CATALOG_NO3_TURTLE, described_no3, TURTLE, "text/turtle"),
            (CATALOG_NO2_TURTLE, described_no2, TURTLE, "text/turtle"),
        )
    ]
    for name, document, media_type in documents:
        files[name] = _write_if_changed(target, name, document, media_type, old, report)

    manifest = {"files": dict(sorted(files.items())), "datasets": dict(sorted(datasets.items()))}
    if manifest != old:
        _write_json(target, MANIFEST, manifest)

    # Withdraw once the new feed and manifest are out, so neither points at a missing file.
    listed = [info.key for info in target.list("")]
    _delete(target, [name for name in listed if is_temporary(name)])  # left by a crash
    data_files = {n for n in listed if n.startswith(DATA_PREFIX) and not is_temporary(n)}
    for name in sorted((set(old["files"]) | data_files) - set(files)):
        _delete(target, [name])
        report.withdrawn.append(name)
        report.reasons[name] = _withdrawal_reason(name, old, reasons, why_absent)
    report.withdrawn_datasets = sorted(set(old["datasets"]) - set(datasets))
    _write_json(target, REPORT, report.as_dict())
    return report


def _withdrawal_reason(
    name: str,
    old: Mapping[str, Any],
    reasons: Mapping[str, str],
    why_absent: Callable[[str], str] | None,
) -> str:
    """Why ``name`` is withdrawn: its dataset went, or its newest edition lacks the file."""
    owners = [dataset for dataset, names in old["datasets"].items() if name in names]
    if not owners:
        if name in old["files"]:
            return "no longer part of the catalogue"
        return "listed in no manifest (left by an interrupted run)"
    dataset_id = owners[0]
    if dataset_id in reasons:
        return reasons[dataset_id]
    if why_absent is not None:
        return why_absent(dataset_id)
    return f"dataset {dataset_id} is deleted or no longer public"


def _file_name(dataset_id: str, key: str) -> str:
    """The open-data name of a processed file; refuses keys that are not public."""
    parsed = parse_object_key(key)
    if parsed.stage != "processed" or parsed.access_rights != "public":
        raise InvalidValue("key", f"{key!r} is not a public processed file")
    if parsed.dataset != dataset_id:
        raise InvalidValue("key", f"{key!r} does not belong to dataset {dataset_id!r}")
    return f"datasets/{dataset_id}/{parsed.filename}"


def _source_sha256(
    source: ObjectStore, key: str, distributions: Sequence[Mapping[str, Any]]
) -> str:
    """The sha256 of a source object: recorded by the store or the distribution, else hashed."""
    recorded = getattr(source.head(key), "sha256", None)
    if recorded:
        return str(recorded)
    filename = PurePosixPath(key).name
    for distribution in distributions:
        if distribution.get("filenames") == [filename] and distribution.get("checksum"):
            return str(distribution["checksum"]).lower()
    digest = hashlib.sha256()
    with source.open(key) as body:
        while chunk := body.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _content_type(name: str, item: PublishItem) -> str:
    filename = PurePosixPath(name).name
    for distribution in item.distributions:
        if filename in (distribution.get("filenames") or ()) and distribution.get("mediaType"):
            return str(distribution["mediaType"])
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _with_open_data_urls(
    item: PublishItem, names: Sequence[str], open_data_url: str
) -> list[dict[str, Any]]:
    """The item's distributions with download URLs pointing at the open-data copies."""
    published = {PurePosixPath(name).name: name for name in names}
    result = []
    for distribution in item.distributions:
        copy = dict(distribution)
        filenames = [f for f in distribution.get("filenames") or () if f in published]
        if len(filenames) == 1:
            copy["downloadURL"] = open_data_file_url(open_data_url, published[filenames[0]])
        else:
            # Several files (or none here) have no single download URL.
            copy.pop("downloadURL", None)
        # The record keeps an API distribution's endpoint as ``apiURL`` (the API shows it as
        # accessURL); it, not the catalogue's page of the distribution, gives access.
        copy.setdefault("accessURL", copy.get("apiURL") or copy.get("downloadURL"))
        result.append(copy)
    return result


def open_data_file_url(open_data_url: str, name: str) -> str:
    """The public URL of ``name`` in the open-data location, percent-encoded as an IRI needs.

    Spaces, ``#``, ``?``, ``%`` and non-ASCII letters of a file name are escaped (UTF-8), so
    ``målinger 2026.csv`` becomes ``m%C3%A5linger%202026.csv``.
    """
    return f"{open_data_url.rstrip('/')}/{quote(name, safe='/')}"


def is_temporary(name: str) -> bool:
    """True for a temporary name a write uses before the object takes its place."""
    return PurePosixPath(name).name.startswith(TEMPORARY_PREFIX)


def _write_if_changed(
    target: ObjectStore,
    name: str,
    body: bytes,
    content_type: str,
    old: Mapping[str, Any],
    report: PublishReport,
) -> str:
    sha256 = hashlib.sha256(body).hexdigest()
    if old["files"].get(name) == sha256:
        report.unchanged.append(name)
    else:
        target.put(name, io.BytesIO(body), content_type=content_type)
        report.published.append(name)
    return sha256


def _load_manifest(target: ObjectStore) -> dict[str, Any]:
    try:
        manifest = json.loads(target.get(MANIFEST))
    except ObjectNotFound:
        manifest = {}
    return {"files": manifest.get("files", {}), "datasets": manifest.get("datasets", {})}


def _write_json(target: ObjectStore, name: str, data: Any) -> None:
    body = json.dumps(data, indent=2, sort_keys=True).encode()
    target.put(name, io.BytesIO(body), content_type="application/json")


def _delete(target: ObjectStore, names: Sequence[str]) -> None:
    """Delete ``names``; raises OSError naming the first that could not go."""
    failures = target.delete_many(names) if names else []
    if failures:
        failure = failures[0]
        raise OSError(f"could not delete {failure.key}: {failure.code} {failure.message}")
