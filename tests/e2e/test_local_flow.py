"""Local mode end to end over real HTTP: upload → run starts by itself → distribution → download."""

from __future__ import annotations

import hashlib
import io

import requests

from tests.e2e.conftest import Server, wait_until_ended

CSV = "station;value;measured\nAlna;1,5;2026-01-02\nBygdøy;2,5;2026-01-03\n".encode()
TWO_STEPS = {
    "Comment": "CSV to Parquet, then publish",
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}


def test_upload_runs_the_pipeline_and_publishes_a_downloadable_distribution(
    brygge_server: Server,
) -> None:
    import polars as pl

    url = brygge_server.url
    session = requests.Session()
    dataset = session.post(
        f"{url}/datasets",
        json={"title": "Luftkvalitet", "accessRights": "public", "owner": "team:miljo"},
        timeout=30,
    )
    assert dataset.status_code == 201, dataset.text
    dataset_id = dataset.json()["id"]
    template = session.post(
        f"{url}/pipelines",
        json={"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS},
        timeout=30,
    )
    assert template.status_code == 201, template.text
    pipeline = session.put(
        f"{url}/datasets/{dataset_id}/pipeline",
        json={
            "template": "csv-to-parquet",
            "taskConfig": {"ToParquet": {"delimiter": ";", "decimalChar": ","}},
        },
        timeout=30,
    )
    assert pipeline.status_code == 200, pipeline.text

    answer = session.post(
        f"{url}/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": "målinger.csv", "contentType": "text/csv", "size": len(CSV)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    upload = answer.json()
    assert upload["run"]["status"] == "WAITING"
    sent = requests.post(
        upload["upload"]["url"],
        data=upload["upload"]["fields"],
        files={"file": ("målinger.csv", io.BytesIO(CSV), "text/csv")},
        timeout=60,
    )
    assert sent.status_code == 204, sent.text

    run = wait_until_ended(session, url, upload["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    steps = {step["name"]: step["status"] for step in run["steps"]}
    assert steps == {"ToParquet": "SUCCEEDED", "Publish": "SUCCEEDED"}

    edition = upload["edition"]
    distributions = session.get(
        f"{url}/datasets/{dataset_id}/versions/1/editions/{edition}/distributions", timeout=30
    ).json()["items"]
    assert len(distributions) == 1
    distribution = distributions[0]
    processed = brygge_server.home / "objects" / distribution["key"]
    stored = processed.read_bytes()
    assert distribution["key"].startswith(f"processed/green/{dataset_id}/version=1/")
    assert distribution["byteSize"] == len(stored)
    assert distribution["checksum"] == hashlib.sha256(stored).hexdigest()

    redirect = session.get(distribution["downloadURL"], allow_redirects=False, timeout=30)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith(f"{url}/downloads/")
    download = requests.get(redirect.headers["Location"], timeout=30)
    assert download.status_code == 200
    assert download.content == stored
    frame = pl.read_parquet(io.BytesIO(download.content))
    assert frame["station"].to_list() == ["Alna", "Bygdøy"]
    assert frame["value"].to_list() == ["1,5", "2,5"]  # no schema: text, as uploaded


def test_refused_uploads_over_real_http_answer_before_storing(brygge_server: Server) -> None:
    url = brygge_server.url
    session = requests.Session()
    created = session.post(
        f"{url}/datasets",
        json={"title": "Refused", "accessRights": "public", "owner": "team:miljo"},
        timeout=30,
    )
    dataset_id = created.json()["id"]
    answer = session.post(
        f"{url}/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": "small.csv", "size": 10},
        timeout=30,
    ).json()
    target = answer["upload"]
    too_big = requests.post(
        target["url"],
        data=target["fields"],
        files={"file": ("small.csv", io.BytesIO(b"x" * (3 * 1024 * 1024)))},
        timeout=60,
    )
    assert too_big.status_code == 413
    tampered = requests.post(
        target["url"],
        data={**target["fields"], "key": answer["key"].replace("small", "other")},
        files={"file": ("small.csv", io.BytesIO(b"0123456789"))},
        timeout=60,
    )
    assert tampered.status_code == 403
    objects = brygge_server.home / "objects"
    assert [path for path in objects.rglob("*") if path.is_file()] == []
    run = session.get(f"{url}/runs/{answer['run']['id']}", timeout=30).json()
    assert run["status"] == "WAITING"
