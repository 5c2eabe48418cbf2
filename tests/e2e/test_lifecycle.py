"""The run lifecycle over real HTTP against ``brygge serve``: uploads, expiry, rerun, deletes."""

from __future__ import annotations

import io
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import (
    Server,
    brygge_command,
    clean_environment,
    running_server,
    wait_until_ended,
)
from tests.e2e.test_local_flow import CSV, TWO_STEPS


def make_dataset(
    session: requests.Session, url: str, title: str, *, fields: dict | None = None, **pipeline: Any
) -> str:
    """A public dataset with the two-step CSV pipeline (``taskConfig`` from ``pipeline``)."""
    body = {"title": title, "accessRights": "public", "owner": "team:miljo", **(fields or {})}
    created = session.post(f"{url}/datasets", json=body, timeout=30)
    assert created.status_code == 201, created.text
    dataset_id: str = created.json()["id"]
    template = session.post(
        f"{url}/pipelines",
        json={"id": f"{dataset_id}-csv", "title": "CSV to Parquet", "definition": TWO_STEPS},
        timeout=30,
    )
    assert template.status_code == 201, template.text
    task_config = pipeline.get("taskConfig", {"ToParquet": {"delimiter": ";"}})
    attached = session.put(
        f"{url}/datasets/{dataset_id}/pipeline",
        json={"template": f"{dataset_id}-csv", "taskConfig": task_config},
        timeout=30,
    )
    assert attached.status_code == 200, attached.text
    return dataset_id


def ask_upload(session: requests.Session, url: str, dataset_id: str, filename: str) -> dict:
    answer = session.post(
        f"{url}/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": filename, "size": len(CSV)},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    upload: dict = answer.json()
    return upload


def send(upload: dict, body: bytes) -> requests.Response:
    target = upload["upload"]
    return requests.post(
        target["url"],
        data=target["fields"],
        files={"file": ("file.csv", io.BytesIO(body), "text/csv")},
        timeout=60,
    )


def test_an_upload_url_is_single_use(brygge_server: Server) -> None:
    url = brygge_server.url
    session = requests.Session()
    dataset_id = make_dataset(session, url, "Single use")
    upload = ask_upload(session, url, dataset_id, "once.csv")
    assert send(upload, CSV).status_code == 204
    run = wait_until_ended(session, url, upload["run"]["id"])
    assert run["status"] == "SUCCEEDED", run
    raw = brygge_server.home / "objects" / upload["key"]
    assert raw.read_bytes() == CSV

    again = send(upload, b"station;value\nother;9\n")
    assert again.status_code == 409, again.text
    assert "upload URL has been used" in again.json()["message"]
    assert raw.read_bytes() == CSV
    after = session.get(f"{url}/runs/{run['id']}", timeout=30).json()
    assert after["status"] == "SUCCEEDED"
    assert after["endedAt"] == run["endedAt"]
    assert [p.name for p in raw.parent.iterdir()] == ["once.csv"]


def test_an_upload_that_expired_while_the_server_was_down_ends_at_restart(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    # URLs that expire at once, and no grace: the sweep at the next start finds them stale.
    expiring = {"BRYGGE_UPLOAD_URL_TTL_S": "0", "BRYGGE_UPLOAD_GRACE_S": "0"}
    with running_server(tmp_path, home, **expiring) as server:
        session = requests.Session()
        dataset_id = make_dataset(session, server.url, "Never uploaded")
        upload = ask_upload(session, server.url, dataset_id, "never.csv")
        assert upload["run"]["status"] == "WAITING"
        first_url = server.url
    edition_dir = home / "objects" / upload["key"].rpartition("/")[0]
    edition_dir.mkdir(parents=True)
    partial = edition_dir / ".put-broken.part"
    partial.write_bytes(b"station;val")
    day_ago = time.time() - 86400
    os.utime(partial, (day_ago, day_ago))

    with running_server(tmp_path, home, **expiring) as server:
        session = requests.Session()
        run = session.get(f"{server.url}/runs/{upload['run']['id']}", timeout=30).json()
        assert run["status"] == "EXPIRED", run
        assert run["error"]["error"] == "Brygge.UploadExpired"
        edition = session.get(
            f"{server.url}/datasets/{dataset_id}/versions/1/editions/{upload['edition']}",
            timeout=30,
        )
        assert edition.status_code == 404, edition.text
        assert not partial.exists()
        target = upload["upload"]
        target["url"] = target["url"].replace(first_url, server.url)
        refused = send(upload, CSV)
        assert refused.status_code in (403, 409), refused.text
    assert not (home / "objects" / upload["key"]).exists()


def test_a_failed_run_is_rerun_with_the_corrected_pipeline(brygge_server: Server) -> None:
    url = brygge_server.url
    session = requests.Session()
    wrong = {
        "ToParquet": {
            "delimiter": ";",
            "schema": {"fields": [{"name": "value", "type": "integer"}]},
        }
    }
    dataset_id = make_dataset(session, url, "Rerun", taskConfig=wrong)
    upload = ask_upload(session, url, dataset_id, "values.csv")
    assert send(upload, CSV).status_code == 204
    failed = wait_until_ended(session, url, upload["run"]["id"])
    assert failed["status"] == "FAILED", failed

    right = {
        "ToParquet": {
            "delimiter": ";",
            "decimalChar": ",",
            "schema": {"fields": [{"name": "value", "type": "number"}]},
        }
    }
    corrected = session.put(
        f"{url}/datasets/{dataset_id}/pipeline",
        json={"template": f"{dataset_id}-csv", "taskConfig": right},
        timeout=30,
    )
    assert corrected.status_code == 200, corrected.text
    answer = session.post(f"{url}/runs/{failed['id']}/rerun", timeout=30)
    assert answer.status_code == 202, answer.text
    rerun = answer.json()
    assert rerun["id"] != failed["id"]
    assert rerun["rerunOf"] == failed["id"]
    assert answer.headers["Location"].endswith(f"/runs/{rerun['id']}")
    done = wait_until_ended(session, url, rerun["id"])
    assert done["status"] == "SUCCEEDED", done
    assert done["input"] == failed["input"]

    old = session.get(f"{url}/runs/{failed['id']}", timeout=30).json()
    assert old["status"] == "FAILED"
    assert old["rerunBy"] == rerun["id"]
    again = session.post(f"{url}/runs/{failed['id']}/rerun", timeout=30)
    assert again.status_code == 409, again.text
    assert rerun["id"] in again.json()["message"]
    redriven = session.post(f"{url}/runs/{failed['id']}/redrive", timeout=30)
    assert redriven.status_code == 409, redriven.text
    assert rerun["id"] in redriven.json()["message"]
    listed = session.get(
        f"{url}/datasets/{dataset_id}/versions/1/editions/{upload['edition']}/runs", timeout=30
    ).json()["items"]
    assert {run["id"] for run in listed} == {failed["id"], rerun["id"]}
    distributions = session.get(
        f"{url}/datasets/{dataset_id}/versions/1/editions/{upload['edition']}/distributions",
        timeout=30,
    ).json()["items"]
    assert [d["run"] for d in distributions] == [rerun["id"]]
    assert session.post(f"{url}/runs/{rerun['id']}/rerun", timeout=30).status_code == 409


PUBLISHABLE = {
    "description": "Hourly readings",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Miljø", "email": "miljo@example.no"},
    "themes": ["ENVI"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
}


def publish(tmp_path: Path, home: Path, open_data: Path) -> list[str]:
    """Run ``brygge publish`` and return its output lines."""
    env = clean_environment(
        BRYGGE_HOME=str(home),
        BRYGGE_BACKEND="local",
        BRYGGE_SECRET_KEY="e2e-secret",
        BRYGGE_OPEN_DATA_DIR=str(open_data),
        BRYGGE_BASE_URL="https://data.example.no/api",
        BRYGGE_OPEN_DATA_BASE_URL="https://open.example.no",
        BRYGGE_CATALOG_CONTACT_EMAIL="data@example.no",
        BRYGGE_CATALOG_PUBLISHER_NAME="Oslo kommune",
    )
    done = subprocess.run(
        [*brygge_command(), "publish"], env=env, cwd=tmp_path, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().splitlines()


def test_a_cascade_delete_removes_the_files_and_the_next_publish_withdraws_them(
    tmp_path: Path,
) -> None:
    home, open_data = tmp_path / "home", tmp_path / "open-data"
    objects = home / "objects"
    with running_server(tmp_path, home) as server:
        session = requests.Session()
        dataset_id = make_dataset(session, server.url, "Deleted", fields=PUBLISHABLE)
        upload = ask_upload(session, server.url, dataset_id, "data.csv")
        assert send(upload, CSV).status_code == 204
        assert wait_until_ended(session, server.url, upload["run"]["id"])["status"] == "SUCCEEDED"
        files = [p for p in objects.rglob("*") if p.is_file() and dataset_id in p.parts]
        stages = {p.relative_to(objects).parts[0] for p in files}
        assert stages == {"raw", "intermediate", "processed"}
        published = [
            line for line in publish(tmp_path, home, open_data) if line.startswith("published ")
        ]
        mine = [line.split()[1] for line in published if dataset_id in line]
        assert mine and all((open_data / name).exists() for name in mine)

        deleted = session.delete(f"{server.url}/datasets/{dataset_id}?cascade=true", timeout=30)
        assert deleted.status_code == 204, deleted.text
        assert [p for p in objects.rglob("*") if p.is_file() and dataset_id in p.parts] == []
    withdrawn = [
        line.split()[1]
        for line in publish(tmp_path, home, open_data)
        if line.startswith("withdrew ")
    ]
    assert set(mine) <= set(withdrawn)
    assert not any((open_data / name).exists() for name in mine)


# TWO_STEPS with a validate step between them that keeps the rejects.
WITH_REJECTS = {
    "StartAt": "ToParquet",
    "States": {
        **TWO_STEPS["States"],
        "ToParquet": {**TWO_STEPS["States"]["ToParquet"], "Next": "Check"},
        "Check": {"Type": "Task", "Resource": "brygge:step:validate", "Next": "Publish"},
    },
}


def test_intermediate_files_and_rejects_are_listed_and_downloadable(
    brygge_server: Server,
) -> None:
    url = brygge_server.url
    session = requests.Session()
    dataset_id = make_dataset(session, url, "Outputs")
    template = {"id": "with-rejects", "title": "With rejects", "definition": WITH_REJECTS}
    assert session.post(f"{url}/pipelines", json=template, timeout=30).status_code == 201
    task_config = {
        "ToParquet": {
            "delimiter": ";",
            "decimalChar": ",",
            "schema": {"fields": [{"name": "value", "type": "number"}]},
        },
        "Check": {
            "schema": {
                "fields": [{"name": "value", "type": "number", "constraints": {"maximum": 2}}]
            },
            "onInvalid": "quarantine",
        },
    }
    attached = session.put(
        f"{url}/datasets/{dataset_id}/pipeline",
        json={"template": "with-rejects", "taskConfig": task_config},
        timeout=30,
    )
    assert attached.status_code == 200, attached.text
    upload = ask_upload(session, url, dataset_id, "values.csv")
    assert send(upload, CSV).status_code == 204
    run = wait_until_ended(session, url, upload["run"]["id"])
    assert run["status"] == "SUCCEEDED", run

    outputs = [output for step in run["steps"] for output in step["outputs"]]
    assert [output["n"] for output in outputs] == list(range(1, len(outputs) + 1))
    [rejects] = [output for output in outputs if output["key"].endswith("-rejects.csv")]
    assert "/intermediate/" in f"/{rejects['key']}"
    for output in outputs:
        assert output["download"] == f"{url}/runs/{run['id']}/outputs/{output['n']}/download"
        redirect = session.get(output["download"], allow_redirects=False, timeout=30)
        assert redirect.status_code == 302, redirect.text
        assert redirect.headers["Location"].startswith(f"{url}/downloads/")
        file = requests.get(redirect.headers["Location"], timeout=30)
        assert file.status_code == 200
        assert file.content == (brygge_server.home / "objects" / output["key"]).read_bytes()
    rejected = requests.get(
        session.get(rejects["download"], allow_redirects=False, timeout=30).headers["Location"],
        timeout=30,
    )
    assert "2.5 is above the maximum 2" in rejected.content.decode()
    missing = session.get(f"{url}/runs/{run['id']}/outputs/{len(outputs) + 1}/download", timeout=30)
    assert missing.status_code == 404
