"""aws mode end to end on moto's ThreadedMotoServer (127.0.0.1).

Presigned POST to S3 → S3 notification (delivered here to ``catalogue.lambdas.object_created``, as
Zappa would) → StartExecution → moto runs the state machine, its Lambda tasks call the step
handlers in-process → distribution → presigned GET. Plus multipart uploads over 5 GB.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
import requests

from catalogue.settings import Settings
from pipelines import presign
from tests.e2e.test_local_flow import CSV, TWO_STEPS

LAMBDA_ROLE = "brygge-steps-role"


def invoke_step_handler(function: Any, event: Any = None) -> tuple[str, bool, str]:
    """Stand in for moto's Docker Lambda: route ``command`` as Zappa does, in-process."""
    payload = json.loads(event) if isinstance(event, str | bytes) else event
    from catalogue.runs.steps_function import step_environment

    module_name, _, name = payload["command"].rpartition(".")
    try:
        # The steps function's own runner sets the environment, as on Lambda.
        with step_environment():
            result = getattr(importlib.import_module(module_name), name)(payload, None)
    except Exception as error:
        # The payload Lambda's Python runtime returns for an unhandled exception.
        failure = {"errorMessage": str(error), "errorType": type(error).__name__}
        return json.dumps(failure), True, ""
    return json.dumps(result), False, ""


def lambda_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def clear_process_caches() -> None:
    from catalogue import lambdas
    from catalogue.runs import steps_function

    steps_function._environment_from_settings.cache_clear()
    lambdas.lambda_services.cache_clear()


@pytest.fixture
def aws_settings(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings of a fresh aws-mode deployment on the moto server: table, bucket, function."""
    import boto3
    from moto.awslambda.models import LambdaFunction

    from catalogue.store import migrations

    suffix = uuid.uuid4().hex[:10]
    for name, value in {
        "BRYGGE_BACKEND": "aws",
        "BRYGGE_DYNAMODB_TABLE": f"brygge-e2e-{suffix}",
        "BRYGGE_DATA_BUCKET": f"brygge-e2e-{suffix}",
        "BRYGGE_HOME": str(tmp_path / "home"),
        "BRYGGE_SECRET_KEY": "e2e-secret",
        "BRYGGE_AUTH": "off",
        "BRYGGE_PRINCIPAL": "user:e2e",
        "BRYGGE_STEP_SCOPE_ROLE_ARN": "arn:aws:iam::123456789012:role/brygge-e2e-steps-scoped",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    config_url = f"{moto_server}/moto-api/config"
    requests.post(config_url, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke_step_handler)
    clear_process_caches()
    try:
        migrations.apply(settings)
        boto3.client("s3").create_bucket(
            Bucket=settings.data_bucket,
            CreateBucketConfiguration={"LocationConstraint": "eu-north-1"},
        )
        iam = boto3.client("iam")
        trust = json.dumps({"Version": "2012-10-17", "Statement": []})
        role = iam.create_role(RoleName=LAMBDA_ROLE, AssumeRolePolicyDocument=trust)
        boto3.client("lambda").create_function(
            FunctionName=settings.steps_function,
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="handler.handler",
            Code={"ZipFile": lambda_zip()},
        )
        yield settings
    finally:
        requests.post(
            config_url, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10
        )
        clear_process_caches()


@pytest.fixture
def aws_client_app(aws_settings: Settings):  # type: ignore[no-untyped-def]
    from catalogue.app import create_app

    app = create_app(aws_settings)
    app.config["TESTING"] = True
    return app.test_client()


def s3_notification(bucket: str, key: str, size: int) -> dict[str, Any]:
    """The event S3 sends for a presigned POST; keys arrive URL-encoded."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "eu-north-1",
                "eventName": "ObjectCreated:Post",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": quote_plus(key, safe="/="), "size": size},
                },
            }
        ]
    }


def join_moto_executions() -> None:
    """Wait for moto's execution threads to finish (moto lists each before starting it)."""
    from moto.stepfunctions.parser.utils import TMP_THREADS

    from tests.pipelines.asl.moto_sfn import join_worker

    while TMP_THREADS:
        join_worker(TMP_THREADS.pop(0))


def test_presigned_upload_and_s3_notification_run_the_pipeline(  # type: ignore[no-untyped-def]
    aws_settings: Settings, aws_client_app
) -> None:
    import boto3

    from catalogue import lambdas

    client = aws_client_app
    dataset = client.post(
        "/datasets",
        json={"title": "Luftkvalitet", "accessRights": "restricted", "owner": "team:miljo"},
    )
    assert dataset.status_code == 201, dataset.json
    dataset_id = dataset.json["id"]
    template = client.post(
        "/pipelines",
        json={"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS},
    )
    assert template.status_code == 201, template.json
    pipeline = client.put(
        f"/datasets/{dataset_id}/pipeline",
        json={
            "template": "csv-to-parquet",
            "taskConfig": {"ToParquet": {"delimiter": ";", "decimalChar": ","}},
        },
    )
    assert pipeline.status_code == 200, pipeline.json

    answer = client.post(
        f"/datasets/{dataset_id}/versions/1/uploads",
        json={"filename": "målinger 2026.csv", "size": len(CSV)},
    )
    assert answer.status_code == 201, answer.json
    upload = answer.json
    assert upload["key"].startswith(f"raw/yellow/{dataset_id}/version=1/")
    fields = upload["upload"]["fields"]
    assert fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert ["content-length-range", 0, len(CSV)] in policy["conditions"]
    sent = requests.post(
        upload["upload"]["url"],
        data=fields,
        files={"file": ("målinger 2026.csv", io.BytesIO(CSV))},
        timeout=60,
    )
    assert sent.status_code == 204, sent.text

    event = s3_notification(aws_settings.data_bucket, upload["key"], len(CSV))
    first = lambdas.object_created(event, None)
    join_moto_executions()
    again = lambdas.object_created(event, None)
    assert [result["outcome"] for result in first["results"]] == ["started"]
    assert [result["outcome"] for result in again["results"]] == ["duplicate"]

    run = client.get(f"/runs/{upload['run']['id']}").json
    assert run["status"] == "SUCCEEDED", run
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=_machine_arn(run))[
        "executions"
    ]
    assert [execution["name"] for execution in executions] == [run["id"]]

    distributions = client.get(
        f"/datasets/{dataset_id}/versions/1/editions/{upload['edition']}/distributions"
    ).json["items"]
    assert len(distributions) == 1
    distribution = distributions[0]
    stored = (
        boto3.client("s3")
        .get_object(Bucket=aws_settings.data_bucket, Key=distribution["key"])["Body"]
        .read()
    )
    assert distribution["key"].startswith(f"processed/yellow/{dataset_id}/")
    assert distribution["byteSize"] == len(stored)
    assert distribution["checksum"] == hashlib.sha256(stored).hexdigest()
    assert_steps_assumed_the_scoped_role(aws_settings, run)

    redirect = client.get(
        f"/datasets/{dataset_id}/versions/1/editions/{upload['edition']}"
        f"/distributions/{distribution['id']}/download"
    )
    assert redirect.status_code == 302
    assert "X-Amz-Signature=" in redirect.headers["Location"]
    assert "X-Amz-Expires=300" in redirect.headers["Location"]
    download = requests.get(redirect.headers["Location"], timeout=30)
    assert download.status_code == 200
    assert download.content == stored


def assert_steps_assumed_the_scoped_role(settings: Settings, run: dict[str, Any]) -> None:
    """Each step assumed the scope role with a session policy of exactly its run's edition."""
    from moto.sts.models import sts_backends

    from pipelines.objects import ObjectScope, session_policy

    assumed = sts_backends["123456789012"]["aws"].assumed_roles
    assert [role.session_name for role in assumed] == [f"brygge-{run['id']}"[:64]] * 2
    scope = ObjectScope("restricted", run["dataset"], run["version"], run["edition"])
    expected = session_policy(settings.data_bucket, scope)
    assert all(role.role_arn == settings.step_scope_role_arn for role in assumed)
    assert all(json.loads(role.policy) == expected for role in assumed)


def _machine_arn(run: dict[str, Any]) -> str:
    from pipelines.stepfunctions import state_machine_arn, state_machine_name

    pipeline = run["pipeline"]
    return state_machine_arn(
        state_machine_name("brygge-", pipeline["template"], pipeline["version"])
    )


def test_over_5_gb_the_upload_is_multipart_with_presigned_parts(  # type: ignore[no-untyped-def]
    aws_settings: Settings, aws_client_app
) -> None:
    client = aws_client_app
    created = client.post(
        "/datasets", json={"title": "Big", "accessRights": "public", "owner": "team:miljo"}
    )
    dataset_id = created.json["id"]
    size = 6 * 1024**3
    answer = client.post(
        f"/datasets/{dataset_id}/versions/1/uploads", json={"filename": "big.csv", "size": size}
    )
    assert answer.status_code == 201, answer.json
    target = answer.json["upload"]
    assert target["method"] == "MULTIPART"
    parts = target["multipart"]["parts"]
    assert len(parts) == 62  # 100 MiB parts
    assert sum(part["bytes"] for part in parts) == size
    assert [part["partNumber"] for part in parts] == list(range(1, 63))
    aborted = requests.delete(target["multipart"]["abortUrl"], timeout=30)
    assert aborted.status_code == 204


def test_presigned_parts_and_complete_url_assemble_the_object(aws_settings: Settings) -> None:
    from datetime import UTC, datetime

    import boto3

    key = "raw/green/big/version=1/edition=20260102T030405/big.bin"
    body = bytes(range(256)) * (presign.MIN_PART_BYTES // 256) + b"tail"
    target = presign.s3_multipart_upload(
        aws_settings.data_bucket,
        key,
        size=len(body),
        content_type=None,
        ttl_s=60,
        now=datetime.now(UTC),
        part_bytes=presign.MIN_PART_BYTES,
    )
    assert target.multipart is not None
    etags = []
    for part in target.multipart.parts:
        chunk = body[part.first_byte : part.first_byte + part.bytes]
        response = requests.put(part.url, data=chunk, timeout=60)
        assert response.status_code == 200, response.text
        etags.append(response.headers["ETag"])
    done = requests.post(
        target.multipart.complete_url, data=presign.complete_multipart_body(etags), timeout=60
    )
    assert done.status_code == 200, done.text
    stored = boto3.client("s3").get_object(Bucket=aws_settings.data_bucket, Key=key)
    assert stored["Body"].read() == body


def test_signed_api_urls_do_not_exist_in_aws_mode(aws_settings: Settings, aws_client_app) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    target = presign.local_upload(
        "http://localhost",
        "raw/green/x/version=1/edition=20260102T030405/r.csv",
        max_bytes=10,
        content_type=None,
        ttl_s=60,
        now=datetime.now(UTC),
        signing_key=aws_settings.signing_key,
    )
    token = target.url.rpartition("/")[2]
    files = {**target.fields, "file": (io.BytesIO(b"0123456789"), "r.csv")}
    response = aws_client_app.post(f"/uploads/{token}", data=files)
    assert response.status_code == 404
    assert aws_client_app.get(f"/downloads/{token}").status_code == 404


def test_a_second_post_to_a_used_presigned_url_is_undone_by_the_trigger(  # type: ignore[no-untyped-def]
    aws_settings: Settings, aws_client_app
) -> None:
    import boto3

    from catalogue import lambdas

    s3 = boto3.client("s3")
    bucket = aws_settings.data_bucket
    # The deployment template versions the data bucket (deploy/brygge.yaml).
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client = aws_client_app
    created = client.post(
        "/datasets", json={"title": "Once", "accessRights": "public", "owner": "team:miljo"}
    )
    dataset_id = created.json["id"]
    upload = client.post(
        f"/datasets/{dataset_id}/versions/1/uploads", json={"filename": "once.csv", "size": 20}
    ).json
    target = upload["upload"]

    def post(body: bytes) -> None:
        sent = requests.post(
            target["url"], data=target["fields"], files={"file": ("once.csv", io.BytesIO(body))}
        )
        assert sent.status_code == 204, sent.text

    post(b"first;1\n")
    first = lambdas.object_created(s3_notification(bucket, upload["key"], 8), None)
    assert [result["outcome"] for result in first["results"]] == ["published"]
    post(b"second;2\n")
    second = lambdas.object_created(s3_notification(bucket, upload["key"], 9), None)
    assert [result["outcome"] for result in second["results"]] == ["refused"]
    assert s3.get_object(Bucket=bucket, Key=upload["key"])["Body"].read() == b"first;1\n"
    versions = s3.list_object_versions(Bucket=bucket, Prefix=upload["key"])["Versions"]
    assert len(versions) == 1
    again = lambdas.object_created(s3_notification(bucket, upload["key"], 8), None)
    assert [result["outcome"] for result in again["results"]] == ["duplicate"]
    run = client.get(f"/runs/{upload['run']['id']}").json
    assert run["status"] == "SUCCEEDED"


def test_two_posts_to_one_presigned_url_before_the_trigger_runs_publish_the_first(  # type: ignore[no-untyped-def]
    aws_settings: Settings, aws_client_app
) -> None:
    """A double submit: both objects land before S3's first notification reaches the trigger."""
    import boto3

    from catalogue import lambdas

    s3 = boto3.client("s3")
    bucket = aws_settings.data_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client = aws_client_app
    created = client.post(
        "/datasets", json={"title": "Twice", "accessRights": "public", "owner": "team:miljo"}
    )
    dataset_id = created.json["id"]
    upload = client.post(
        f"/datasets/{dataset_id}/versions/1/uploads", json={"filename": "twice.csv", "size": 20}
    ).json
    target = upload["upload"]
    for body in (b"first;1\n", b"second;2\n"):
        sent = requests.post(
            target["url"], data=target["fields"], files={"file": ("twice.csv", io.BytesIO(body))}
        )
        assert sent.status_code == 204, sent.text

    outcomes = [
        lambdas.object_created(s3_notification(bucket, upload["key"], size), None)["results"]
        for size in (8, 9)
    ]

    published = upload["key"].replace("raw/", "processed/", 1)
    assert s3.get_object(Bucket=bucket, Key=published)["Body"].read() == b"first;1\n"
    assert s3.get_object(Bucket=bucket, Key=upload["key"])["Body"].read() == b"first;1\n"
    assert len(s3.list_object_versions(Bucket=bucket, Prefix=upload["key"])["Versions"]) == 1
    # The first notification undid the second upload; the second finds its run ended.
    assert [[result["outcome"] for result in results] for results in outcomes] == [
        ["published"],
        ["duplicate"],
    ]


def test_an_upload_for_a_deleted_dataset_is_removed_by_the_trigger(  # type: ignore[no-untyped-def]
    aws_settings: Settings, aws_client_app
) -> None:
    """A presigned POST outlives its dataset: S3 takes the file, and the trigger, finding
    it made for a dataset that is gone, or for an earlier one of the id, deletes it."""
    import boto3

    from catalogue import lambdas

    s3 = boto3.client("s3")
    bucket = aws_settings.data_bucket
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client = aws_client_app
    dataset = {"id": "reborn", "title": "Reborn", "accessRights": "non-public", "owner": "team:a"}
    editions = "/datasets/reborn/versions/1/editions"
    request = {"filename": "r.csv", "size": 8, "edition": "20260102T030405"}

    def make() -> dict[str, Any]:
        assert client.post("/datasets", json=dataset).status_code == 201
        assert client.post(editions, json={"edition": request["edition"]}).status_code == 201
        return client.post("/datasets/reborn/versions/1/uploads", json=request).json

    def post(upload: dict[str, Any], body: bytes) -> list[str]:
        target = upload["upload"]
        sent = requests.post(
            target["url"], data=target["fields"], files={"file": ("r.csv", io.BytesIO(body))}
        )
        assert sent.status_code == 204, sent.text
        notified = lambdas.object_created(s3_notification(bucket, upload["key"], len(body)), None)
        return [result["outcome"] for result in notified["results"]]

    def versions(key: str) -> list[dict[str, Any]]:
        return s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])

    old = make()
    assert client.delete("/datasets/reborn?cascade=true").status_code == 204
    # No run waits for the key: the file would stay for a later dataset of the id to see.
    assert post(old, b"stale;1\n") == ["refused"]
    assert versions(old["key"]) == []

    assert client.delete("/datasets/reborn?cascade=true").status_code == 404
    new = make()
    assert new["key"] == old["key"]
    # A run waits for the very same key, of the dataset made again: not for this file.
    assert post(old, b"stale;2\n") == ["refused"]
    assert versions(old["key"]) == []
    assert client.get(f"/runs/{new['run']['id']}").json["status"] == "WAITING"

    assert post(new, b"fresh;3\n") == ["published"]
    assert s3.get_object(Bucket=bucket, Key=new["key"])["Body"].read() == b"fresh;3\n"
