"""``brygge deploy verify <stage>``: the after-deploying checklist, run against the account.

Each check is what deploy/README.md's "After deploying" asks an operator to do by hand:

1. ``GET /health?deep=true`` answers 200 with the table, the data bucket and Step Functions up.
2. A test upload goes through the real S3 notification: a non-public dataset made for the
   check gets a file by presigned POST, and its run must leave WAITING (the notification
   reached the steps function's trigger); the dataset is then deleted with what it holds.
3. A scheduled job runs by hand: the steps function is invoked with the sweep's command and
   must answer without a function error.
4. IAM denies what the roles must not do (IAM's policy simulator, no request is made).

The API's URL is the stage's ``BRYGGE_BASE_URL`` unless given; the upload needs an API token
(``BRYGGE_TOKEN``) of a site admin or a team member.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from catalogue.deploy import load_zappa_settings, resolve_stage, stack_parameters, stage_names

# What must stay denied: (role parameter, action, resource within the stack, why).
EXPECTED_DENIALS = (
    ("ApiRoleName", "dynamodb:Scan", "table", "no request path scans the table"),
    ("ApiRoleName", "s3:PutObject", "data:processed/x", "uploads land under raw/ only"),
    ("StepsScopedRoleName", "s3:PutObject", "data:raw/x", "a step never writes raw/"),
    ("StepsRoleName", "dynamodb:Scan", "table", "no job scans the table"),
)
# Seconds a test upload's run may stay WAITING before the notification counts as lost.
UPLOAD_WAIT_S = 60.0
SWEEP_COMMAND = {"command": "catalogue.lambdas.sweep_stale_uploads"}


@dataclass(frozen=True, slots=True)
class Check:
    """One item of the checklist: passed or not, and what was seen."""

    name: str
    ok: bool
    detail: str


def verify(
    stage: str,
    *,
    root: Path,
    api_url: str | None = None,
    token: str | None = None,
    client: Callable[[str], Any] | None = None,
    http: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Check]:
    """Run the checklist of ``stage``; every check runs, whatever the others found.

    ``client(service)`` makes boto3 clients (default: the process-wide ones) and ``http``
    is an httpx client (default: a new one); tests hand in their own.
    """
    import httpx

    from pipelines.aws import aws_client

    settings = load_zappa_settings(root)
    parameters = stack_parameters(stage, settings)
    environment = resolve_stage(settings, stage_names(stage)[1]).get("environment_variables", {})
    api_url = (api_url or environment.get("BRYGGE_BASE_URL", "")).rstrip("/")
    client = client or aws_client
    http = http or httpx.Client(timeout=30)
    checks = [
        _run("health deep", lambda: health_deep(http, api_url)),
        _run("test upload through S3", lambda: test_upload(http, api_url, token, sleep)),
        _run("scheduled job by hand", lambda: scheduled_job(client, parameters)),
    ]
    checks += iam_denials(client, parameters)
    return checks


def _run(name: str, check: Callable[[], str]) -> Check:
    try:
        return Check(name, True, check())
    except Exception as error:
        return Check(name, False, f"{type(error).__name__}: {error}")


def health_deep(http: Any, api_url: str) -> str:
    """``GET /health?deep=true``: 200 and every dependency up."""
    response = http.get(f"{api_url}/health", params={"deep": "true"})
    body = response.json()
    if response.status_code != 200:
        raise RuntimeError(body.get("message") or f"answered {response.status_code}")
    return ", ".join(f"{name} {check['latencyMs']} ms" for name, check in body["checks"].items())


def test_upload(http: Any, api_url: str, token: str | None, sleep: Callable[[float], None]) -> str:
    """Upload a file to a dataset made for the check; its run must leave WAITING."""
    if not token:
        raise RuntimeError("set BRYGGE_TOKEN to an API token that may create a dataset")
    headers = {"Authorization": f"Bearer {token}"}
    me = _ok(http.get(f"{api_url}/me", headers=headers))
    owner = next(iter(me["teams"]), "team:brygge-verify")
    dataset_id = f"brygge-verify-{uuid.uuid4().hex[:8]}"
    dataset = {
        "id": dataset_id,
        "title": "Brygge deploy verification",
        "accessRights": "non-public",
        "owner": owner,
    }
    _ok(http.post(f"{api_url}/datasets", json=dataset, headers=headers))
    try:
        body = b"checked,at\nyes,now\n"
        request = {"filename": "verify.csv", "contentType": "text/csv", "size": len(body)}
        answer = _ok(
            http.post(
                f"{api_url}/datasets/{dataset_id}/versions/1/uploads", json=request, headers=headers
            )
        )
        upload = answer["upload"]
        files = {"file": ("verify.csv", body, "text/csv")}
        sent = http.post(upload["url"], data=upload["fields"], files=files)
        if sent.status_code >= 300:
            raise RuntimeError(f"the presigned POST answered {sent.status_code}: {sent.text[:200]}")
        run_id = answer["run"]["id"]
        waited = 0.0
        while True:
            run = _ok(http.get(f"{api_url}/runs/{run_id}", headers=headers))
            if run["status"] != "WAITING":
                return f"run {run_id} {run['status']} after the S3 notification"
            if waited >= UPLOAD_WAIT_S:
                raise RuntimeError(
                    f"run {run_id} still WAITING after {UPLOAD_WAIT_S:.0f} s: "
                    "S3 does not notify the steps function (deploy the stack with StepsFunctionArn)"
                )
            sleep(2.0)
            waited += 2.0
    finally:
        http.delete(f"{api_url}/datasets/{dataset_id}", params={"cascade": "true"}, headers=headers)


def scheduled_job(client: Callable[[str], Any], parameters: Mapping[str, str]) -> str:
    """Invoke the steps function with the sweep's command; it must answer without an error."""
    import json

    answer = client("lambda").invoke(
        FunctionName=parameters["StepsFunctionName"], Payload=json.dumps(SWEEP_COMMAND).encode()
    )
    payload = answer["Payload"].read().decode()
    if answer.get("FunctionError"):
        raise RuntimeError(f"the sweep failed: {payload[:300]}")
    return f"the sweep answered {payload[:200]}"


def iam_denials(client: Callable[[str], Any], parameters: Mapping[str, str]) -> list[Check]:
    """Ask IAM's policy simulator whether each role is denied what it must not do."""
    sts, iam = client("sts"), client("iam")
    account = sts.get_caller_identity()["Account"]
    region = client("lambda").meta.region_name
    resources = {
        "table": f"arn:aws:dynamodb:{region}:{account}:table/{parameters['TableName']}",
        "data": f"arn:aws:s3:::{parameters['DataBucketName']}",
    }
    checks = []
    for role_parameter, action, resource, why in EXPECTED_DENIALS:
        kind, _, key = resource.partition(":")
        arn = resources[kind] + (f"/{key}" if key else "")
        role = f"arn:aws:iam::{account}:role/{parameters[role_parameter]}"
        name = f"IAM denies {parameters[role_parameter]} {action} on {arn}"

        def simulate(role: str = role, action: str = action, arn: str = arn, why: str = why) -> str:
            result = iam.simulate_principal_policy(
                PolicySourceArn=role, ActionNames=[action], ResourceArns=[arn]
            )["EvaluationResults"][0]
            decision = result["EvalDecision"]
            if decision == "allowed":
                raise RuntimeError(f"allowed, but {why}")
            return f"{decision} ({why})"

        checks.append(_run(name, simulate))
    return checks


def _ok(response: Any) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:200]}"
        )
    return response.json()


def report_text(checks: list[Check]) -> str:
    """The checklist as printable lines: ok or FAIL, name, what was seen."""
    lines = [f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}" for check in checks]
    failed = sum(not check.ok for check in checks)
    lines.append(f"{len(checks) - failed} of {len(checks)} checks passed")
    return "\n".join(lines) + "\n"
