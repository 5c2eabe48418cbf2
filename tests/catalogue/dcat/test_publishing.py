"""The publishing job over a local object store, into a directory and into S3 (moto)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

import pytest
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from catalogue.dcat.catalog_info import configured_catalog_info, default_catalog_info
from catalogue.dcat.publishing import PublishItem, publish
from catalogue.domain.errors import InvalidValue
from catalogue.settings import Settings, SettingsError
from pipelines.objects import (
    DeleteFailure,
    LocalObjectStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    S3ObjectStore,
    check_name,
)
from tests.catalogue.dcat.conftest import (
    BASE_URL,
    CATALOG_INFO,
    directory_target,
    editions,
    make_dataset,
    make_distribution,
)

OPEN_DATA_URL = "https://opendata.example.no"
EDITION = "20240607T080910"


class RecordingTarget:
    """An object store that notes every write and delete before passing it on."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.writes: list[str] = []
        self.deletes: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        self.writes.append(key)
        return self.inner.put(key, body, content_type=content_type)

    def delete_many(self, keys: Iterable[str]) -> list[DeleteFailure]:
        keys = list(keys)
        self.deletes.extend(keys)
        return self.inner.delete_many(keys)


class FailingTarget(RecordingTarget):
    """A store whose write of ``failing`` breaks, as a lost connection or a full disk would."""

    def __init__(self, inner: ObjectStore, failing: str) -> None:
        super().__init__(inner)
        self.failing = failing

    def put(self, key: str, body: IO[bytes], *, content_type: str | None = None) -> ObjectInfo:
        if key == self.failing:
            body.read(3)  # part of it went out
            raise OSError(f"connection lost while writing {key}")
        return super().put(key, body, content_type=content_type)


def processed_key(dataset_id: str, filename: str, edition: str = EDITION) -> str:
    return f"processed/green/{dataset_id}/version=1/edition={edition}/{filename}"


def put(objects: LocalObjectStore, key: str, body: bytes) -> None:
    objects.put(key, io.BytesIO(body))


def item(
    objects: LocalObjectStore, dataset_id: str, body: bytes, edition: str = EDITION, **changes: Any
) -> PublishItem:
    """A public dataset whose latest edition holds one CSV file with ``body``."""
    filename = f"{dataset_id}.csv"
    key = processed_key(dataset_id, filename, edition)
    put(objects, key, body)
    distribution = make_distribution(
        dataset_id,
        edition=edition,
        filenames=[filename],
        byteSize=len(body),
        checksum=hashlib.sha256(body).hexdigest(),
    )
    return PublishItem(make_dataset(dataset_id, **changes), [distribution], [key], editions())


def run(items: list[PublishItem], objects: LocalObjectStore, target: ObjectStore) -> Any:
    return publish(
        items,
        objects,
        target,
        catalog_info=CATALOG_INFO,
        base_url=BASE_URL,
        open_data_url=OPEN_DATA_URL,
    )


@pytest.fixture
def objects(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


@pytest.fixture
def open_data(tmp_path: Path) -> Path:
    return tmp_path / "open-data"


def catalog_datasets(open_data: Path) -> set[str]:
    graph = Graph().parse(open_data / "catalog.ttl")
    return {str(node) for node in graph.subjects(ns.RDF.type, ns.DCAT.Dataset)}


def test_first_run_publishes_feed_and_files(objects: LocalObjectStore, open_data: Path) -> None:
    items = [item(objects, "air", b"a,b\n1,2\n"), item(objects, "water", b"x\n3\n")]
    report = run(items, objects, directory_target(open_data))

    assert sorted(report.published) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
        "datasets/air/air.csv",
        "datasets/water/water.csv",
    ]
    assert report.withdrawn == report.unchanged == []
    assert (open_data / "datasets/air/air.csv").read_bytes() == b"a,b\n1,2\n"
    assert catalog_datasets(open_data) == {f"{BASE_URL}/datasets/air", f"{BASE_URL}/datasets/water"}
    # The feed points harvesters at the open-data copy of each file.
    graph = Graph().parse(open_data / "catalog.jsonld", format="json-ld")
    downloads = {str(url) for url in graph.objects(None, ns.DCAT.downloadURL)}
    assert downloads == {
        f"{OPEN_DATA_URL}/datasets/air/air.csv",
        f"{OPEN_DATA_URL}/datasets/water/water.csv",
    }
    manifest = json.loads((open_data / "manifest.json").read_text())
    assert manifest["files"]["datasets/air/air.csv"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    assert manifest["datasets"] == {
        "air": ["datasets/air/air.csv"],
        "water": ["datasets/water/water.csv"],
    }
    stored = json.loads((open_data / "publish-report.json").read_text())
    assert stored == report.as_dict()


def test_second_run_publishes_nothing_new(objects: LocalObjectStore, open_data: Path) -> None:
    items = [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")]
    run(items, objects, directory_target(open_data))
    target = RecordingTarget(directory_target(open_data))

    report = run(items, objects, target)

    assert report.published == []
    assert report.withdrawn == []
    assert sorted(report.unchanged) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
        "datasets/air/air.csv",
        "datasets/water/water.csv",
    ]
    # Only the run's own report is written; the manifest did not change.
    assert target.writes == ["publish-report.json"]
    assert target.deletes == []


def test_new_edition_republishes_only_its_file_and_the_feed(
    objects: LocalObjectStore, open_data: Path
) -> None:
    run(
        [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")],
        objects,
        directory_target(open_data),
    )
    newer = item(objects, "air", b"a\n1\n2\n", edition="20250101T000000")

    report = run([newer, item(objects, "water", b"x\n3\n")], objects, directory_target(open_data))

    assert sorted(report.published) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
        "datasets/air/air.csv",
    ]
    assert report.unchanged == ["datasets/water/water.csv"]
    assert (open_data / "datasets/air/air.csv").read_bytes() == b"a\n1\n2\n"


def test_dataset_turned_non_public_is_withdrawn(objects: LocalObjectStore, open_data: Path) -> None:
    run(
        [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")],
        objects,
        directory_target(open_data),
    )
    restricted = PublishItem(make_dataset("air", accessRights="restricted"))

    report = run(
        [restricted, item(objects, "water", b"x\n3\n")], objects, directory_target(open_data)
    )

    assert report.withdrawn == ["datasets/air/air.csv"]
    assert report.withdrawn_datasets == ["air"]
    assert report.skipped[0]["dataset"] == "air"
    assert report.skipped[0]["problems"][0]["field"] == "accessRights"
    assert not (open_data / "datasets/air").exists()
    assert catalog_datasets(open_data) == {f"{BASE_URL}/datasets/water"}
    assert sorted(report.published) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
    ]


def test_deleted_dataset_is_withdrawn(objects: LocalObjectStore, open_data: Path) -> None:
    run(
        [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")],
        objects,
        directory_target(open_data),
    )

    report = run([item(objects, "water", b"x\n3\n")], objects, directory_target(open_data))

    assert report.withdrawn == ["datasets/air/air.csv"]
    assert report.withdrawn_datasets == ["air"]
    manifest = json.loads((open_data / "manifest.json").read_text())
    assert list(manifest["datasets"]) == ["water"]


def test_dataset_failing_the_gate_stays_out_of_the_feed(
    objects: LocalObjectStore, open_data: Path
) -> None:
    lacking = item(objects, "air", b"a\n1\n", contactPoint=None, themes=[])

    report = run([lacking, item(objects, "water", b"x\n3\n")], objects, directory_target(open_data))

    assert {p["field"] for p in report.skipped[0]["problems"]} == {"contactPoint", "themes"}
    assert not (open_data / "datasets/air").exists()
    assert catalog_datasets(open_data) == {f"{BASE_URL}/datasets/water"}


def test_public_dataset_failing_the_gate_keeps_what_it_published(
    objects: LocalObjectStore, open_data: Path
) -> None:
    run([item(objects, "air", b"a\n1\n")], objects, directory_target(open_data))
    lacking = item(objects, "air", b"a\n1\n2\n", contactPoint=None)

    report = run([lacking], objects, directory_target(open_data))

    # A metadata slip is no reason to take published data away: the old file stays as it
    # was, out of the feed until the dataset passes the gate again.
    assert report.withdrawn == []
    assert report.skipped[0]["kept"] == ["datasets/air/air.csv"]
    assert (open_data / "datasets/air/air.csv").read_bytes() == b"a\n1\n"
    assert catalog_datasets(open_data) == set()
    manifest = json.loads((open_data / "manifest.json").read_text())
    assert manifest["datasets"] == {"air": ["datasets/air/air.csv"]}


def test_withdrawals_say_why(objects: LocalObjectStore, open_data: Path) -> None:
    first = [
        item(objects, "air", b"a\n1\n"),
        item(objects, "water", b"x\n3\n"),
        item(objects, "noise", b"n\n1\n"),
    ]
    run(first, objects, directory_target(open_data))
    # noise's newest edition with distributions holds another file than before.
    renamed_key = processed_key("noise", "noise-2025.csv", "20250101T000000")
    put(objects, renamed_key, b"n\n2\n")
    noise = PublishItem(
        make_dataset("noise"),
        [make_distribution("noise", edition="20250101T000000", filenames=["noise-2025.csv"])],
        [renamed_key],
        [{"edition": "20250101T000000"}],
    )
    restricted = PublishItem(make_dataset("water", accessRights="restricted"))

    report = publish(
        [restricted, noise],
        objects,
        directory_target(open_data),
        catalog_info=CATALOG_INFO,
        base_url=BASE_URL,
        open_data_url=OPEN_DATA_URL,
        why_absent=lambda dataset_id: f"dataset {dataset_id} was deleted",
    )

    assert report.reasons == {
        "datasets/air/air.csv": "dataset air was deleted",
        "datasets/noise/noise.csv": (
            "not in edition 20250101T000000, the newest of dataset noise with distributions"
        ),
        "datasets/water/water.csv": "dataset water is no longer public (restricted)",
    }
    stored = json.loads((open_data / "publish-report.json").read_text())
    assert stored["reasons"] == report.reasons


NAMES = ["målinger 2026.csv", "æøå.csv", "a#b.csv", "what?.csv", "100% done.csv"]


def test_files_named_with_spaces_non_ascii_hash_question_mark_and_percent_publish(
    objects: LocalObjectStore, open_data: Path
) -> None:
    from urllib.parse import unquote, urlsplit

    distributions, keys = [], []
    for number, filename in enumerate(NAMES):
        body = f"n\n{number}\n".encode()
        key = processed_key("air", filename)
        put(objects, key, body)
        keys.append(key)
        distributions.append(
            make_distribution(
                "air",
                id=f"d{number}",
                filenames=[filename],
                byteSize=len(body),
                checksum=hashlib.sha256(body).hexdigest(),
            )
        )
    items = [PublishItem(make_dataset("air"), distributions, keys, editions())]

    report = run(items, objects, directory_target(open_data))

    assert sorted(report.published) == sorted(
        [
            "catalog-dcat-ap-no-2.ttl",
            "catalog-dcat-ap-no-3.ttl",
            "catalog.jsonld",
            "catalog.ttl",
            *(f"datasets/air/{name}" for name in NAMES),
        ]
    )
    for rdf_format, name in (("turtle", "catalog.ttl"), ("json-ld", "catalog.jsonld")):
        graph = Graph().parse(open_data / name, format=rdf_format)
        downloads = {str(url) for url in graph.objects(None, ns.DCAT.downloadURL)}
        assert len(downloads) == len(NAMES)
        for url in downloads:
            # A valid IRI: nothing to escape is left, and it names the published file.
            assert url.isascii()
            assert not set(url) & set(" #?")
            path = unquote(urlsplit(url).path)
            assert (open_data / path.lstrip("/")).is_file(), url
    graph = Graph().parse(open_data / "catalog.ttl")
    downloads = {str(url) for url in graph.objects(None, ns.DCAT.downloadURL)}
    assert f"{OPEN_DATA_URL}/datasets/air/m%C3%A5linger%202026.csv" in downloads
    assert f"{OPEN_DATA_URL}/datasets/air/a%23b.csv" in downloads
    assert f"{OPEN_DATA_URL}/datasets/air/what%3F.csv" in downloads
    assert f"{OPEN_DATA_URL}/datasets/air/100%25%20done.csv" in downloads
    assert run(items, objects, directory_target(open_data)).published == []


@pytest.mark.parametrize("failing", ["datasets/water/water.csv", "catalog.ttl", "manifest.json"])
def test_a_failure_part_way_leaves_the_previous_catalogue_and_the_next_run_finishes(
    objects: LocalObjectStore, open_data: Path, failing: str
) -> None:
    run([item(objects, "air", b"a\n1\n")], objects, directory_target(open_data))
    before = {name: (open_data / name).read_bytes() for name in ("catalog.ttl", "catalog.jsonld")}
    old_manifest = (open_data / "manifest.json").read_bytes()
    items = [item(objects, "water", b"x\n3\n")]  # air deleted, water new

    with pytest.raises(OSError, match="connection lost"):
        run(items, objects, FailingTarget(directory_target(open_data), failing))

    assert (open_data / "manifest.json").read_bytes() == old_manifest
    if failing.startswith("datasets/"):
        assert {name: (open_data / name).read_bytes() for name in before} == before
    if failing == "catalog.ttl":
        assert (open_data / "catalog.ttl").read_bytes() == before["catalog.ttl"]
    # Each feed document is whole, old or new, and every file it names is there: nothing
    # was withdrawn yet, nothing half-written is visible, no temporary is left.
    for name, rdf_format in (("catalog.ttl", "turtle"), ("catalog.jsonld", "json-ld")):
        graph = Graph().parse(open_data / name, format=rdf_format)
        for url in graph.objects(None, ns.DCAT.downloadURL):
            assert (open_data / str(url).removeprefix(f"{OPEN_DATA_URL}/")).is_file(), url
    assert (open_data / "datasets/air/air.csv").read_bytes() == b"a\n1\n"
    assert not list(open_data.rglob(".publishing-*"))

    report = run(items, objects, directory_target(open_data))

    assert report.withdrawn == ["datasets/air/air.csv"]
    assert not (open_data / "datasets/air").exists()
    assert (open_data / "datasets/water/water.csv").read_bytes() == b"x\n3\n"
    assert catalog_datasets(open_data) == {f"{BASE_URL}/datasets/water"}
    manifest = json.loads((open_data / "manifest.json").read_text())
    assert manifest["datasets"] == {"water": ["datasets/water/water.csv"]}


def test_files_no_manifest_lists_and_crash_leftovers_are_withdrawn(
    objects: LocalObjectStore, open_data: Path
) -> None:
    items = [item(objects, "air", b"a\n1\n")]
    run(items, objects, directory_target(open_data))
    # Left by a run that died between writing a file and the manifest, and by a crash
    # in the middle of a write; a file outside datasets/ is the operator's own.
    (open_data / "datasets/gone").mkdir(parents=True)
    (open_data / "datasets/gone/orphan.csv").write_bytes(b"o\n")
    (open_data / "datasets/air/.publishing-abc123").write_bytes(b"half")
    (open_data / "index.html").write_bytes(b"<h1>Open data</h1>")

    report = run(items, objects, directory_target(open_data))

    assert report.withdrawn == ["datasets/gone/orphan.csv"]
    assert report.reasons == {
        "datasets/gone/orphan.csv": "listed in no manifest (left by an interrupted run)"
    }
    assert not (open_data / "datasets/gone").exists()
    assert not (open_data / "datasets/air/.publishing-abc123").exists()
    assert (open_data / "index.html").exists()


def test_published_files_are_world_readable(objects: LocalObjectStore, open_data: Path) -> None:
    run([item(objects, "air", b"a\n1\n")], objects, directory_target(open_data))
    for name in ("datasets/air/air.csv", "catalog.ttl", "catalog.jsonld", "manifest.json"):
        assert (open_data / name).stat().st_mode & 0o777 == 0o644, name


def test_file_checksum_is_computed_when_nothing_recorded_it(
    objects: LocalObjectStore, open_data: Path
) -> None:
    key = processed_key("air", "air.csv")
    put(objects, key, b"a\n1\n")
    bare = PublishItem(make_dataset("air"), [make_distribution("air", checksum=None)], [key])
    run([bare], objects, directory_target(open_data))
    manifest = json.loads((open_data / "manifest.json").read_text())
    assert manifest["files"]["datasets/air/air.csv"] == hashlib.sha256(b"a\n1\n").hexdigest()

    assert run([bare], objects, directory_target(open_data)).published == []


@pytest.mark.parametrize(
    "key",
    [
        "processed/red/air/version=1/edition=20240607T080910/air.csv",
        "processed/yellow/air/version=1/edition=20240607T080910/air.csv",
        "raw/green/air/version=1/edition=20240607T080910/air.csv",
        "processed/green/water/version=1/edition=20240607T080910/air.csv",
    ],
)
def test_key_that_is_not_public_processed_data_of_the_dataset_is_refused(
    objects: LocalObjectStore, open_data: Path, key: str
) -> None:
    good = item(objects, "water", b"x\n3\n")
    with pytest.raises(InvalidValue):
        run(
            [good, PublishItem(make_dataset("air"), [], [key])],
            objects,
            directory_target(open_data),
        )
    assert not open_data.exists()


def test_the_open_data_directory_refuses_names_outside_its_root(open_data: Path) -> None:
    with pytest.raises(InvalidValue):
        directory_target(open_data).put("../escape", io.BytesIO(b"x"), content_type="text/plain")


@pytest.mark.usefixtures("moto")
def test_s3_target_publishes_idempotently_and_withdraws(objects: LocalObjectStore) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(
        Bucket="open-data", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    target = S3ObjectStore("open-data", prefix="brygge", check=check_name, client=client)
    items = [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")]

    first = run(items, objects, target)
    second = run(items, objects, target)
    third = run(items[1:], objects, target)

    assert len(first.published) == 6  # two data files and four catalogue files
    assert second.published == []
    assert third.withdrawn == ["datasets/air/air.csv"]
    listed = client.list_objects_v2(Bucket="open-data", Prefix="brygge/")
    keys = sorted(entry["Key"] for entry in listed["Contents"])
    assert keys == [
        "brygge/catalog-dcat-ap-no-2.ttl",
        "brygge/catalog-dcat-ap-no-3.ttl",
        "brygge/catalog.jsonld",
        "brygge/catalog.ttl",
        "brygge/datasets/water/water.csv",
        "brygge/manifest.json",
        "brygge/publish-report.json",
    ]
    head = client.head_object(Bucket="open-data", Key="brygge/datasets/water/water.csv")
    assert head["ContentType"] == "text/csv"
    body = client.get_object(Bucket="open-data", Key="brygge/catalog.ttl")["Body"].read()
    graph = Graph().parse(data=body, format="turtle")
    assert (URIRef(f"{BASE_URL}/datasets/air"), ns.RDF.type, ns.DCAT.Dataset) not in graph
    with pytest.raises(ObjectNotFound):
        target.get("missing.json")


def test_published_feed_conforms_to_the_shapes(objects: LocalObjectStore, open_data: Path) -> None:
    from pyshacl import validate

    from tests.catalogue.dcat.test_shacl import SHAPES_DIR

    run(
        [item(objects, "air", b"a\n1\n"), item(objects, "water", b"x\n3\n")],
        objects,
        directory_target(open_data),
    )
    shapes = Graph()
    for name in ("dcat-ap-3.ttl", "dcat-ap-no.ttl"):
        shapes.parse(SHAPES_DIR / name)
    for name, rdf_format in (("catalog.ttl", "turtle"), ("catalog.jsonld", "json-ld")):
        feed = Graph().parse(open_data / name, format=rdf_format)
        conforms, _, text = validate(feed, shacl_graph=shapes)
        assert conforms, text


def test_lineage_names_only_published_datasets(objects: LocalObjectStore, open_data: Path) -> None:
    derived = item(objects, "air", b"a\n1\n", wasDerivedFrom=["water", "secret-source"])
    run([derived, item(objects, "water", b"x\n3\n")], objects, directory_target(open_data))
    graph = Graph().parse(open_data / "catalog.ttl")
    sources = set(graph.objects(URIRef(f"{BASE_URL}/datasets/air"), ns.DCTERMS.source))
    assert sources == {URIRef(f"{BASE_URL}/datasets/water")}
    assert "secret-source" not in (open_data / "catalog.jsonld").read_text()


def test_configured_catalog_info_lays_settings_over_the_defaults(tmp_path: Path) -> None:
    bare = configured_catalog_info(Settings(home=tmp_path), BASE_URL)
    configured = configured_catalog_info(
        Settings(
            home=tmp_path,
            catalog_title="Oslo open data",
            catalog_publisher_uri="https://data.brreg.no/enhetsregisteret/api/enheter/958935420",
            catalog_contact_email="data@example.no",
            catalog_homepage="https://data.example.no/",
        ),
        BASE_URL,
    )

    assert bare == default_catalog_info(BASE_URL)
    assert configured == {
        **bare,
        "title": "Oslo open data",
        "publisher": {
            "name": bare["publisher"]["name"],
            "uri": "https://data.brreg.no/enhetsregisteret/api/enheter/958935420",
        },
        # The publisher's name stands in for the contact's, which DCAT-AP-NO requires.
        "contactPoint": {"name": bare["publisher"]["name"], "email": "data@example.no"},
        "homepage": "https://data.example.no/",
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # Each would be dropped from the catalogue without a word, or break its feed.
        ("BRYGGE_CATALOG_CONTACT_EMAIL", "data at example.no"),
        ("BRYGGE_CATALOG_CONTACT_EMAIL", "data"),
        ("BRYGGE_CATALOG_PUBLISHER_URI", "data.brreg.no/enhetsregisteret/api/enheter/958935420"),
        ("BRYGGE_CATALOG_HOMEPAGE", "data.example.no"),
        ("BRYGGE_CATALOG_HOMEPAGE", "https://data.example.no/open data"),
    ],
)
def test_unusable_catalogue_setting_is_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({"BRYGGE_HOME": str(tmp_path), variable: value})


@pytest.mark.usefixtures("moto")
def test_s3_target_writes_whole_objects_and_finishes_an_interrupted_run(
    objects: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    client = boto3.client("s3")
    client.create_bucket(
        Bucket="open-data", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    target = S3ObjectStore("open-data", prefix="brygge", check=check_name, client=client)
    run([item(objects, "air", b"a\n1\n")], objects, target)
    newer = [item(objects, "air", b"a\n1\n2\n", edition="20250101T000000")]
    real_upload = client.upload_fileobj

    def broken_upload(body: IO[bytes], bucket: str, key: str, **kwargs: Any) -> None:
        body.read(3)  # part of it went out
        raise OSError(f"connection lost while uploading {key}")

    monkeypatch.setattr(client, "upload_fileobj", broken_upload)
    with pytest.raises(OSError, match="connection lost"):
        run(newer, objects, target)

    def listed() -> list[str]:
        found = client.list_objects_v2(Bucket="open-data", Prefix="brygge/")["Contents"]
        return sorted(entry["Key"] for entry in found)

    # An upload that broke replaced nothing: the object others read is the old one.
    body = client.get_object(Bucket="open-data", Key="brygge/datasets/air/air.csv")["Body"]
    assert body.read() == b"a\n1\n"
    # What a run killed outright leaves: an earlier version's temporary, a file no manifest
    # lists.
    client.put_object(Bucket="open-data", Key="brygge/datasets/air/.publishing-dead", Body=b"x")
    client.put_object(Bucket="open-data", Key="brygge/datasets/gone/orphan.csv", Body=b"o")
    monkeypatch.setattr(client, "upload_fileobj", real_upload)

    report = run(newer, objects, target)

    assert report.withdrawn == ["datasets/gone/orphan.csv"]
    assert listed() == [
        "brygge/catalog-dcat-ap-no-2.ttl",
        "brygge/catalog-dcat-ap-no-3.ttl",
        "brygge/catalog.jsonld",
        "brygge/catalog.ttl",
        "brygge/datasets/air/air.csv",
        "brygge/manifest.json",
        "brygge/publish-report.json",
    ]
    body = client.get_object(Bucket="open-data", Key="brygge/datasets/air/air.csv")["Body"]
    assert body.read() == b"a\n1\n2\n"
