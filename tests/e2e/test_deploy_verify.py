"""``brygge deploy verify`` against the dev stage deployed on moto's server.

The API is the app itself (reached through httpx's WSGI transport), the presigned POST goes
to moto's S3, whose bucket notification invokes the steps function; moto's Lambda runs
Docker, so its invoke is replaced by Zappa's routing done in-process (commands by name, S3
records to the trigger). moto has no IAM policy simulator: the IAM client is a botocore
Stubber answering as the simulator does, the one stand-in here.
"""

from __future__ import annotations

import importlib
import io
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from catalogue.deploy_verify import EXPECTED_DENIALS, report_text, verify
from catalogue.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
API = "http://api.verify.test"


def invoke_like_zappa(function: Any, event: Any = None) -> tuple[str, bool, str]:
    """The steps function as Zappa's handler routes it: a command by name, S3 to the trigger."""
    payload = json.loads(event) if isinstance(event, str | bytes) else event
    if "command" in payload:
        module_name, _, name = payload["command"].rpartition(".")
    else:
        module_name, name = "catalogue.lambdas", "object_created"
    try:
        result = getattr(importlib.import_module(module_name), name)(payload, None)
    except Exception as error:
        failure = {"errorMessage": str(error), "errorType": type(error).__name__}
        return json.dumps(failure), True, ""
    return json.dumps(result), False, ""


def clear_process_caches() -> None:
    from catalogue import lambdas

    lambdas.lambda_services.cache_clear()


@pytest.fixture
def deployed(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Any]]:
    """The dev stage on moto: table, bucket with its notification, steps function; the app."""
    import boto3
    from moto.awslambda.models import LambdaFunction

    from catalogue.app import create_app
    from catalogue.deploy import load_zappa_settings, resolve_stage
    from catalogue.store import migrations

    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "zappa_settings.json", root / "zappa_settings.json")
    shutil.copytree(ROOT / "deploy", root / "deploy")
    environment = resolve_stage(load_zappa_settings(root), "dev_steps")["environment_variables"]
    for name, value in {**environment, "BRYGGE_HOME": str(tmp_path / "home")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BRYGGE_AUTH", "off")
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda", invoke_like_zappa)
    clear_process_caches()
    settings = Settings.from_env()
    migrations.apply(settings)
    s3 = boto3.client("s3")
    s3.create_bucket(
        Bucket=settings.data_bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-north-1"},
    )
    role = boto3.client("iam").create_role(
        RoleName="brygge-dev-steps", AssumeRolePolicyDocument="{}"
    )
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handler(event, context):\n    return event\n")
    function = boto3.client("lambda").create_function(
        FunctionName=settings.steps_function,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    s3.put_bucket_notification_configuration(
        Bucket=settings.data_bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function["FunctionArn"],
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "raw/"}]}},
                }
            ]
        },
    )
    app = create_app(settings)
    try:
        yield root, app
    finally:
        clear_process_caches()


def simulator(denied: set[str]) -> Any:
    """An IAM client whose policy simulator answers ``allowed`` except for ``denied`` actions."""
    import boto3
    from botocore.stub import Stubber

    iam = boto3.client("iam")
    stubber = Stubber(iam)
    for _, action, _, _ in EXPECTED_DENIALS:
        decision = "implicitDeny" if action in denied else "allowed"
        result = {"EvalActionName": action, "EvalDecision": decision}
        stubber.add_response("simulate_principal_policy", {"EvaluationResults": [result]})
    stubber.activate()
    return iam


def http_client(app: Any) -> httpx.Client:
    """The API through WSGI at API; anything else (moto's S3) over the network."""
    return httpx.Client(
        mounts={API: httpx.WSGITransport(app=app), "all://": httpx.HTTPTransport()},
        timeout=30,
    )


def clients(iam: Any) -> Any:
    from pipelines.aws import aws_client

    return lambda service: iam if service == "iam" else aws_client(service)


def test_verify_passes_on_a_deployment_that_works(deployed) -> None:  # type: ignore[no-untyped-def]
    root, app = deployed
    iam = simulator({action for _, action, _, _ in EXPECTED_DENIALS})
    sleeps: list[float] = []

    checks = verify(
        "dev",
        root=root,
        api_url=API,
        token="any",
        client=clients(iam),
        http=http_client(app),
        sleep=sleeps.append,
    )

    text = report_text(checks)
    assert all(check.ok for check in checks), text
    assert [check.name for check in checks][:3] == [
        "health deep",
        "test upload through S3",
        "scheduled job by hand",
    ]
    assert "store" in checks[0].detail and "stepfunctions" in checks[0].detail
    assert checks[1].detail.endswith("SUCCEEDED after the S3 notification")
    assert sleeps == []  # the notification ran the trigger before the first poll
    # The verification dataset is gone again.
    listed = app.test_client().get("/datasets").json
    assert listed["items"] == []
    assert text.endswith(f"{len(checks)} of {len(checks)} checks passed\n")


def test_verify_names_what_is_wrong(deployed) -> None:  # type: ignore[no-untyped-def]
    import boto3

    from catalogue.settings import Settings

    root, app = deployed
    settings = Settings.from_env()
    # The notification is gone, and the api role may scan the table.
    boto3.client("s3").put_bucket_notification_configuration(
        Bucket=settings.data_bucket, NotificationConfiguration={}
    )
    iam = simulator({"s3:PutObject"})
    sleeps: list[float] = []

    checks = {
        check.name: check
        for check in verify(
            "dev",
            root=root,
            api_url=API,
            token="any",
            client=clients(iam),
            http=http_client(app),
            sleep=sleeps.append,
        )
    }

    upload = checks["test upload through S3"]
    assert not upload.ok
    assert "still WAITING after 60 s" in upload.detail
    assert "StepsFunctionArn" in upload.detail
    assert sum(sleeps) == 60
    assert checks["health deep"].ok and checks["scheduled job by hand"].ok
    scans = [check for name, check in checks.items() if "dynamodb:Scan" in name]
    assert scans and all(not check.ok for check in scans)
    assert all("allowed, but no" in check.detail for check in scans)
    assert app.test_client().get("/datasets").json["items"] == []
