"""Lambda invocations through Zappa's own handler, with settings Zappa generated, on moto.

Each test loads ``zappa.handler.lambda_handler`` with the Python settings file that
``zappa save-python-settings-file`` writes for ``dev_api`` or ``dev_steps`` (the file Zappa
puts in the Lambda package), then sends it the events AWS would send: API Gateway REST (v1)
and HTTP API (v2) requests, a Step Functions task's direct ``{"command": ...}`` invocation,
an S3 notification batch and the scheduled publishing event.
"""

from __future__ import annotations

import base64
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import pytest

from catalogue.deploy import load_template

if os.environ.get("CI") != "true":  # under CI a missing zappa fails the import below
    pytest.importorskip("zappa.handler", reason="zappa is in the dev extra (pip install -e .[dev])")

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-north-1"
ACCOUNT = "123456789012"
API_HOST = f"abc123defg.execute-api.{REGION}.amazonaws.com"
SITE_ADMIN = "user:tester"
DATASET = {
    "title": "Luftkvalitet i Oslo",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "keywords": ["air"],
    "themes": ["ENVI"],
}
Invoke = Callable[[dict[str, Any]], Any]


@pytest.fixture(scope="module")
def generated_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The folder of each stage's generated ``zappa_settings.py``."""
    zappa = shutil.which("zappa", path=str(Path(sys.executable).parent)) or shutil.which("zappa")
    if zappa is None:
        pytest.skip("the zappa command is not installed")
    folders = {}
    for stage in ("dev_api", "dev_steps"):
        folder = tmp_path_factory.mktemp(stage)
        subprocess.run(
            [
                zappa,
                "save-python-settings-file",
                stage,
                "-q",
                "-o",
                str(folder / "zappa_settings.py"),
            ],
            cwd=REPO_ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(folder),
                "AWS_DEFAULT_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
            },
            check=True,
            capture_output=True,
        )
        folders[stage] = folder
    return folders


def create_table_from_template(client: Any, table_name: str) -> None:
    """Create the catalogue table exactly as the CloudFormation template declares it."""
    template = load_template(REPO_ROOT / "deploy" / "brygge.yaml")
    properties = template["Resources"]["CatalogueTable"]["Properties"]
    client.create_table(
        TableName=table_name,
        BillingMode=properties["BillingMode"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        KeySchema=properties["KeySchema"],
        GlobalSecondaryIndexes=properties["GlobalSecondaryIndexes"],
    )


def clear_process_caches() -> None:
    """Forget what handlers keep for the life of a Lambda container (settings, stores)."""
    from catalogue import apigateway, lambdas
    from catalogue.runs import steps_function

    steps_function._environment_from_settings.cache_clear()
    lambdas.lambda_services.cache_clear()
    apigateway.forget()


def stage_handler(stage: str) -> Callable[[dict[str, Any], Any], Any]:
    """The function Lambda calls for a Zappa stage: its ``lambda_handler``, else Zappa's."""
    from catalogue.deploy import load_zappa_settings, resolve_stage

    configured = resolve_stage(load_zappa_settings(REPO_ROOT), stage).get(
        "lambda_handler", "handler.lambda_handler"
    )
    module, _, name = configured.rpartition(".")
    # Zappa copies its handler module to the zip's root as handler.py.
    module = "zappa.handler" if module == "handler" else module
    return getattr(importlib.import_module(module), name)


@pytest.fixture
def lambda_environment(
    moto: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[Path], dict[str, str]]]:
    """Load a generated settings file into a fresh Zappa handler; yield the function env."""
    from zappa.handler import LambdaHandler

    from pipelines.aws import aws_client

    def load(folder: Path) -> dict[str, str]:
        monkeypatch.syspath_prepend(str(folder))
        monkeypatch.delitem(sys.modules, "zappa_settings", raising=False)
        settings = importlib.import_module("zappa_settings")
        environment = settings.ENVIRONMENT_VARIABLES
        # Lambda's /tmp becomes the test's folder; the token below is a site admin's.
        monkeypatch.setitem(environment, "BRYGGE_HOME", str(tmp_path / "home"))
        monkeypatch.setitem(environment, "BRYGGE_ADMINS", SITE_ADMIN)
        # The handler writes these into os.environ; setting them here first lets
        # monkeypatch restore the test process's environment afterwards.
        for name, value in {
            **environment,
            "SERVERTYPE": "",
            "FRAMEWORK": "",
            "PROJECT": "",
            "STAGE": "",
        }.items():
            monkeypatch.setenv(name, value)
        # Zappa keeps one handler per process (a cold start): each test is a new one.
        monkeypatch.setattr(LambdaHandler, "_LambdaHandler__instance", None)
        monkeypatch.setattr(LambdaHandler, "settings", None)
        return dict(environment)

    monkeypatch.delitem(sys.modules, "catalogue.wsgi", raising=False)
    # Zappa's handler sets the root logger's level (LOG_LEVEL): other tests keep theirs.
    monkeypatch.setattr(logging.getLogger(), "level", logging.getLogger().level)
    clear_process_caches()
    create_table_from_template(aws_client("dynamodb"), "brygge-dev")
    for bucket in ("brygge-dev-data", "brygge-dev-open-data"):
        aws_client("s3").create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
    yield load
    # catalogue.wsgi built its app from this test's environment: no later test may reuse it.
    sys.modules.pop("catalogue.wsgi", None)
    clear_process_caches()


def open_catalogue(environment: dict[str, str]) -> Any:
    """Migrate the deployed table as ``brygge migrate`` does and return its store."""
    from catalogue.settings import Settings
    from catalogue.store import migrations
    from catalogue.store.factory import open_store

    settings = Settings.from_env(environment)
    migrations.apply(settings)
    return open_store(settings)


def admin_token(environment: dict[str, str]) -> str:
    """Migrate the table and mint a site admin's API token in it."""
    from catalogue.repositories.tokens import TokenRepository
    from catalogue.services import utc_now

    token, _ = TokenRepository(open_catalogue(environment), utc_now).create(SITE_ADMIN)
    return token


@pytest.fixture
def api(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> tuple[Invoke, str]:
    """The handler the api function is deployed with and a site admin's API token."""
    handler = stage_handler("dev_api")
    token = admin_token(lambda_environment(generated_settings["dev_api"]))
    return (lambda event: handler(event, None)), token


@pytest.fixture
def steps(lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict) -> Invoke:
    """The handler the steps function is deployed with."""
    handler = stage_handler("dev_steps")
    open_catalogue(lambda_environment(generated_settings["dev_steps"]))
    return lambda event: handler(event, None)


@pytest.fixture
def zappa_routing(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> Invoke:
    """Zappa's own handler for the steps stage: its routing, in the environment a test sets."""
    from zappa.handler import lambda_handler

    open_catalogue(lambda_environment(generated_settings["dev_steps"]))
    return lambda event: lambda_handler(event, None)


def rest_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    is_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST API (payload 1.0) proxy event for the ``dev_api`` stage."""
    headers = {"Host": API_HOST, "Accept": "application/json", **(headers or {})}
    if body is None:
        encoded = None
    elif is_base64:
        encoded = base64.b64encode(body).decode()
    else:
        encoded = body.decode()
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/dev_api{path}",
            "stage": "dev_api",
            "accountId": ACCOUNT,
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "pytest"},
        },
        "body": encoded,
        "isBase64Encoded": is_base64,
    }


def http_event(
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    is_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event on the ``$default`` stage."""
    headers = {"host": API_HOST, "accept": "application/json", **(headers or {})}
    if body is None:
        encoded = None
    elif is_base64:
        encoded = base64.b64encode(body).decode()
    else:
        encoded = body.decode()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "abc123defg",
            "domainName": API_HOST,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.9",
                "userAgent": "pytest",
            },
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": "$default",
            "stage": "$default",
            "time": "02/Jan/2026:03:04:05 +0000",
            "timeEpoch": 1767323045000,
        },
        "isBase64Encoded": is_base64,
    }
    if query:
        event["queryStringParameters"] = query
    if encoded is not None:
        event["body"] = encoded
    return event


def json_body(response: dict[str, Any]) -> Any:
    body = response["body"]
    if response.get("isBase64Encoded"):
        body = base64.b64decode(body)
    return json.loads(body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("event_for", [rest_event, http_event], ids=["rest-v1", "http-v2"])
def test_health_answers_json_naming_the_aws_backend(api: tuple[Invoke, str], event_for) -> None:  # type: ignore[no-untyped-def]
    invoke, _ = api
    response = invoke(event_for("GET", "/health"))
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    # JSON stays text even with binary support on: API Gateway must not re-encode it.
    assert response.get("isBase64Encoded", False) is False
    assert json_body(response) == {"status": "ok", "backend": "aws"}


@pytest.mark.parametrize("event_for", [rest_event, http_event], ids=["rest-v1", "http-v2"])
def test_unknown_dataset_is_a_json_404(api: tuple[Invoke, str], event_for) -> None:  # type: ignore[no-untyped-def]
    invoke, _ = api
    response = invoke(event_for("GET", "/datasets/no-such-dataset"))
    assert response["statusCode"] == 404
    body = json_body(response)
    assert body["code"] == 404
    assert body["status"] == "Not Found"
    assert body["message"]


def test_api_function_is_deployed_with_the_slim_handler() -> None:
    from catalogue.apigateway import handler

    assert stage_handler("dev_api") is handler


def test_keep_warm_schedule_loads_the_app_and_answers_nothing(api: tuple[Invoke, str]) -> None:
    from catalogue import apigateway

    invoke, _ = api
    apigateway.forget()
    event = {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [
            f"arn:aws:events:{REGION}:{ACCOUNT}:rule/brygge-dev-api-zappa-keep-warm-handler"
            ".keep_warm_callback"
        ],
    }
    assert invoke(event) is None
    assert apigateway.load().app is not None


def test_api_function_refuses_commands(api: tuple[Invoke, str]) -> None:
    invoke, _ = api
    result = invoke({"command": "catalogue.lambdas.publish_open_data"})
    assert result == {"error": "the api function only answers API Gateway requests"}


def parity_events() -> list[dict[str, Any]]:
    """Requests whose answers must not depend on which handler translated them."""
    v2_on_stage = http_event("GET", "/dev/datasets/no-such-dataset")
    v2_on_stage["requestContext"]["stage"] = "dev"
    custom_domain = rest_event("GET", "/health", headers={"Host": "data.example.org"})
    return [
        rest_event("GET", "/health"),
        rest_event("GET", "/openapi.json"),
        rest_event("GET", "/datasets", query={"limit": "1", "keyword": "air"}),
        rest_event("DELETE", "/health"),
        http_event("GET", "/datasets/no-such-dataset"),
        http_event("GET", "/catalog", headers={"accept": "text/turtle"}),
        v2_on_stage,
        custom_domain,
    ]


@pytest.mark.parametrize("number", range(len(parity_events())))
def test_slim_handler_answers_as_zappas_handler_does(
    lambda_environment: Callable[[Path], dict[str, str]],
    generated_settings: dict,
    monkeypatch: pytest.MonkeyPatch,
    number: int,
) -> None:
    from zappa.handler import LambdaHandler, lambda_handler

    from catalogue.apigateway import handler

    admin_token(lambda_environment(generated_settings["dev_api"]))
    event = parity_events()[number]
    ours = handler(json.loads(json.dumps(event)), None)
    # Zappa's handler is a per-process singleton; the monkeypatching fixture reset it.
    zappas = lambda_handler(json.loads(json.dumps(event)), None)
    monkeypatch.setattr(LambdaHandler, "_LambdaHandler__instance", None)
    for answer in (ours, zappas):
        for headers in (answer.get("headers"), answer.get("multiValueHeaders")):
            for name in [n for n in (headers or {}) if n.lower() == "date"]:
                headers.pop(name)
    assert ours == zappas


def test_a_cookie_the_app_sets_reaches_api_gateway_once(api: tuple[Invoke, str]) -> None:
    """One Set-Cookie from the app is one cookie for API Gateway, on either payload."""
    invoke, _ = api
    # The sign-in page makes a session for its form's CSRF token.
    v2 = invoke(http_event("GET", "/sign-in", headers={"accept": "text/html"}))
    assert v2["statusCode"] == 200
    [cookie] = v2["cookies"]
    assert cookie.startswith("brygge_session=")
    assert "set-cookie" not in {name.lower() for name in v2["headers"]}

    v1 = invoke(rest_event("GET", "/sign-in", headers={"Accept": "text/html"}))
    assert v1["statusCode"] == 200
    set_cookies = [
        value
        for name, values in v1["multiValueHeaders"].items()
        if name.lower() == "set-cookie"
        for value in values
    ]
    assert len(set_cookies) == 1
    assert set_cookies[0].startswith("brygge_session=")
    assert [name for name in v1["headers"] if name.lower() == "set-cookie"] == ["Set-Cookie"]


def test_wrong_method_is_a_json_405(api: tuple[Invoke, str]) -> None:
    invoke, _ = api
    response = invoke(rest_event("DELETE", "/health"))
    assert response["statusCode"] == 405
    assert json_body(response)["code"] == 405


def test_create_without_a_token_is_401(api: tuple[Invoke, str]) -> None:
    invoke, _ = api
    body = json.dumps(DATASET).encode()
    response = invoke(
        http_event("POST", "/datasets", headers={"content-type": "application/json"}, body=body)
    )
    assert response["statusCode"] == 401
    assert json_body(response)["code"] == 401


def test_base64_body_creates_a_dataset_read_back_over_the_other_payload(
    api: tuple[Invoke, str],
) -> None:
    invoke, token = api
    body = json.dumps({**DATASET, "id": "luft"}).encode()
    created = invoke(
        rest_event(
            "POST",
            "/datasets",
            headers={"Content-Type": "application/json", **bearer(token)},
            body=body,
            is_base64=True,
        )
    )
    assert created["statusCode"] == 201, created["body"]
    assert json_body(created)["id"] == "luft"
    # The stage's BRYGGE_BASE_URL, whatever host the request came through.
    assert created["headers"]["Location"] == "https://brygge-dev.example.org/datasets/luft"

    fetched = invoke(
        http_event("GET", "/datasets/luft", headers={"authorization": f"Bearer {token}"})
    )
    assert fetched["statusCode"] == 200
    assert json_body(fetched)["title"] == DATASET["title"]
    assert fetched["headers"]["ETag"] == created["headers"]["ETag"]


def test_without_a_base_url_links_carry_the_api_gateway_stage(
    lambda_environment: Callable[[Path], dict[str, str]],
    generated_settings: dict,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environment = lambda_environment(generated_settings["dev_api"])
    # An operator who has not set BRYGGE_BASE_URL: links follow the request, and Zappa
    # hands the event's requestContext.stage to the app as SCRIPT_NAME.
    monkeypatch.delitem(sys.modules["zappa_settings"].ENVIRONMENT_VARIABLES, "BRYGGE_BASE_URL")
    monkeypatch.delenv("BRYGGE_BASE_URL")
    environment.pop("BRYGGE_BASE_URL")
    token = admin_token(environment)
    lambda_handler = stage_handler("dev_api")  # the handler the api function is deployed with
    headers = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", **bearer(token)}
    body = json.dumps({**DATASET, "id": "luft"}).encode()

    created = lambda_handler(rest_event("POST", "/datasets", headers=headers, body=body), None)
    edition = lambda_handler(
        rest_event(
            "POST",
            "/datasets/luft/versions/1/editions",
            headers=headers,
            body=json.dumps({"edition": "20260102T030405"}).encode(),
        ),
        None,
    )
    feed = lambda_handler(
        rest_event("GET", "/catalog", query={"format": "turtle"}, headers=headers), None
    )

    base = f"https://{API_HOST}/dev_api"
    assert created["headers"]["Location"] == f"{base}/datasets/luft"
    editions = f"{base}/datasets/luft/versions/1/editions"
    assert edition["headers"]["Location"] == f"{editions}/20260102T030405"
    assert f"<{base}/catalog>" in feed["body"]


def lowercase_host(event: dict[str, Any], host: str, *, only_multi: bool = False) -> dict[str, Any]:
    """The event as an HTTP/2 client's request reaches a REST API: ``host`` in lowercase
    (HTTP/2 field names are), in ``headers`` and ``multiValueHeaders`` or the latter alone."""
    headers = {name: value for name, value in event["headers"].items() if name != "Host"}
    headers["host"] = host
    multi = {name: [value] for name, value in headers.items()}
    return {**event, "headers": None if only_multi else headers, "multiValueHeaders": multi}


@pytest.mark.parametrize("only_multi", [False, True])
@pytest.mark.parametrize(("host", "prefix"), [(API_HOST, "/dev_api"), ("data.example.org", "")])
def test_links_follow_a_lowercase_host_header(  # type: ignore[no-untyped-def]
    lambda_environment: Callable[[Path], dict[str, str]],
    generated_settings: dict,
    monkeypatch: pytest.MonkeyPatch,
    host: str,
    prefix: str,
    only_multi: bool,
) -> None:
    """The execute-api host serves under the stage, a custom domain at its root, whatever
    the case of the Host header's name."""
    environment = lambda_environment(generated_settings["dev_api"])
    monkeypatch.delitem(sys.modules["zappa_settings"].ENVIRONMENT_VARIABLES, "BRYGGE_BASE_URL")
    monkeypatch.delenv("BRYGGE_BASE_URL")
    environment.pop("BRYGGE_BASE_URL")
    token = admin_token(environment)
    lambda_handler = stage_handler("dev_api")
    headers = {"Content-Type": "application/json", "X-Forwarded-Proto": "https", **bearer(token)}
    body = json.dumps({**DATASET, "id": "luft"}).encode()
    event = rest_event("POST", "/datasets", headers=headers, body=body)

    created = lambda_handler(lowercase_host(event, host, only_multi=only_multi), None)

    assert created["statusCode"] == 201, created.get("body")
    assert created["headers"]["Location"] == f"https://{host}{prefix}/datasets/luft"


def test_invalid_body_names_the_field(api: tuple[Invoke, str]) -> None:
    invoke, token = api
    body = json.dumps({**DATASET, "accessRights": "everyone"}).encode()
    response = invoke(
        http_event(
            "POST",
            "/datasets",
            headers={
                "content-type": "application/json",
                **{k.lower(): v for k, v in bearer(token).items()},
            },
            body=body,
            is_base64=True,
        )
    )
    assert response["statusCode"] == 422
    assert "accessRights" in json_body(response)["errors"]["json"]


@pytest.mark.parametrize("event_for", [rest_event, http_event], ids=["rest-v1", "http-v2"])
def test_query_string_filters_and_pages(api: tuple[Invoke, str], event_for) -> None:  # type: ignore[no-untyped-def]
    invoke, token = api
    for dataset_id, keyword in (("a-air", "air"), ("b-air", "air"), ("c-water", "water")):
        body = json.dumps({**DATASET, "id": dataset_id, "keywords": [keyword]}).encode()
        response = invoke(
            rest_event(
                "POST",
                "/datasets",
                headers={"Content-Type": "application/json", **bearer(token)},
                body=body,
            )
        )
        assert response["statusCode"] == 201, response["body"]

    first = json_body(invoke(event_for("GET", "/datasets", query={"keyword": "air", "limit": "1"})))
    assert [item["id"] for item in first["items"]] == ["a-air"]
    assert first["next"]
    second = json_body(
        invoke(
            event_for(
                "GET", "/datasets", query={"keyword": "air", "limit": "1", "cursor": first["next"]}
            )
        )
    )
    assert [item["id"] for item in second["items"]] == ["b-air"]


class ListRecorder:
    """A StepRecorder keeping what it is told, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def step_started(self, run: str, step: str, attempt: int) -> None:
        self.calls.append(("started", run, step))

    def output_written(self, run: str, step: str, output: Any) -> None:
        self.calls.append(("output", run, step, output.key))

    def step_finished(self, run: str, step: str, status: str, **details: Any) -> None:
        self.calls.append(("finished", run, step, status))

    def register_distribution(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("distribution",))

    def latest_distribution_keys(self, dataset: str) -> list[str]:
        return []


RAW_KEY = "raw/green/luft/version=1/edition=20260102T030405/målinger.csv"


def step_event(**changes: Any) -> dict[str, Any]:
    """The payload the compiled state machine sends the steps function for a Task state."""
    return {
        "command": "pipelines.steps.csv_to_parquet.handler",
        "run": "run-1",
        "dataset": "luft",
        "version": "1",
        "edition": "20260102T030405",
        "step": "ToParquet",
        "config": {"delimiter": ";"},
        "input": {"keys": [RAW_KEY]},
        **changes,
    }


def report_environment(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A command that answers what environment a step invoked with it would get."""
    from pipelines.steps.runtime import environment, step_limits

    objects, recorder = environment()
    return {
        "bucket": objects.bucket,  # type: ignore[attr-defined]
        "scopeRole": objects.scope_role_arn,  # type: ignore[attr-defined]
        "recorder": type(recorder).__name__,
        "maxCells": step_limits().max_cells,
    }


def test_steps_function_gives_steps_the_environment_of_its_settings(
    steps: Invoke, generated_settings: dict
) -> None:
    from catalogue.runs.steps_function import handler
    from catalogue.settings import Settings

    assert stage_handler("dev_steps") is handler
    answer = steps({"command": f"{__name__}.report_environment"})
    assert answer == {
        "bucket": "brygge-dev-data",
        "scopeRole": "arn:aws:iam::123456789012:role/brygge-dev-steps-scoped",
        "recorder": "StoreRecorder",
        "maxCells": Settings().step_limits.max_cells,
    }


def test_direct_command_runs_the_step_on_s3(zappa_routing: Invoke) -> None:
    from pipelines.aws import aws_client
    from pipelines.objects import S3ObjectStore
    from pipelines.steps.runtime import use_environment

    s3 = aws_client("s3")
    s3.put_object(
        Bucket="brygge-dev-data",
        Key=RAW_KEY,
        Body=b"time;pm10\n2026-01-02T03:00;12.5\n2026-01-02T04:00;9.0\n",
    )
    recorder = ListRecorder()
    with use_environment(S3ObjectStore("brygge-dev-data"), recorder):
        result = zappa_routing(step_event())

    [output_key] = result["input"]["keys"]
    assert (
        output_key
        == "intermediate/green/luft/version=1/edition=20260102T030405/ToParquet/målinger.parquet"
    )
    assert result["run"] == "run-1"
    written = s3.get_object(Bucket="brygge-dev-data", Key=output_key)["Body"].read()
    assert written[:4] == b"PAR1"
    assert recorder.calls[0] == ("started", "run-1", "ToParquet")
    assert recorder.calls[-1] == ("finished", "run-1", "ToParquet", "SUCCEEDED")


def test_direct_command_failure_reaches_step_functions_by_class_name(
    zappa_routing: Invoke,
) -> None:
    from pipelines.objects import S3ObjectStore
    from pipelines.steps.contract import InputError
    from pipelines.steps.runtime import use_environment

    recorder = ListRecorder()
    # Zappa re-raises, so the Lambda task fails with the error name a Catch can route on.
    with use_environment(S3ObjectStore("brygge-dev-data"), recorder), pytest.raises(InputError):
        zappa_routing(step_event(input={"keys": []}))


def create_upload(token: str, filename: str) -> dict[str, Any]:
    """Create dataset ``luft`` and an upload into it through the api function."""
    from zappa.handler import lambda_handler

    headers = {"Content-Type": "application/json", **bearer(token)}
    body = json.dumps({**DATASET, "id": "luft"}).encode()
    created = lambda_handler(rest_event("POST", "/datasets", headers=headers, body=body), None)
    assert created["statusCode"] == 201, created["body"]
    request = json.dumps({"filename": filename, "contentType": "text/csv"}).encode()
    response = lambda_handler(
        rest_event("POST", "/datasets/luft/versions/1/uploads", headers=headers, body=request),
        None,
    )
    assert response["statusCode"] == 201, response["body"]
    upload: dict[str, Any] = json_body(response)
    return upload


def test_step_records_land_on_the_run_the_api_shows(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> None:
    from pipelines.aws import aws_client

    lambda_handler = stage_handler("dev_steps")
    token = admin_token(lambda_environment(generated_settings["dev_api"]))
    upload = create_upload(token, "målinger.csv")
    key, run = upload["key"], upload["run"]["id"]
    s3 = aws_client("s3")
    s3.put_object(Bucket="brygge-dev-data", Key=key, Body=b"time;pm10\n2026-01-02T03:00;12.5\n")

    lambda_environment(generated_settings["dev_steps"])
    # No test double: the step records through the steps function's own store recorder.
    result = lambda_handler(
        step_event(run=run, edition=upload["edition"], input={"keys": [key]}), None
    )
    [written] = result["input"]["keys"]
    assert s3.get_object(Bucket="brygge-dev-data", Key=written)["Body"].read()[:4] == b"PAR1"

    lambda_environment(generated_settings["dev_api"])
    response = lambda_handler(
        http_event("GET", f"/runs/{run}", headers={"authorization": f"Bearer {token}"}), None
    )
    assert response["statusCode"] == 200, response["body"]
    [step] = json_body(response)["steps"]
    assert (step["name"], step["status"]) == ("ToParquet", "SUCCEEDED")
    assert [output["key"] for output in step["outputs"]] == [written]


def s3_record(bucket: str, key: str, size: int) -> dict[str, Any]:
    """One record of an S3 event notification; keys arrive URL-encoded."""
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2026-01-02T03:04:05.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            # CloudFormation names the configuration itself: no "<function>:" routing hint.
            "configurationId": "NjMyZTg0ZmEtYjk3OC00Y2E4LWJiYjQtNTAxZjQxYjQ1YjY3",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": quote_plus(key, safe="/="),
                "size": size,
                "sequencer": "0A1B2C3D4E5F678901",
            },
        },
    }


def test_s3_batch_is_routed_by_bucket_to_the_trigger(
    steps: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue import lambdas

    calls = []
    real_handler = lambdas.object_created

    def spy(event: dict[str, Any], context: Any) -> Any:
        calls.append(event)
        return real_handler(event, context)

    monkeypatch.setattr(lambdas, "object_created", spy)
    keys = [RAW_KEY, "raw/green/luft/version=1/edition=20260102T030405/second file.csv"]
    event = {"Records": [s3_record("brygge-dev-data", key, 8) for key in keys]}
    result = steps(event)
    assert calls == [event]  # one call with the whole batch
    # Keys come back decoded; no run waits for these objects, so nothing starts.
    assert [(item["key"], item["outcome"]) for item in result["results"]] == [
        (key, "ignored") for key in keys
    ]


def test_upload_goes_from_the_api_through_s3_to_a_published_distribution(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> None:
    from pipelines.aws import aws_client

    lambda_handler = stage_handler("dev_steps")
    token = admin_token(lambda_environment(generated_settings["dev_api"]))
    upload = create_upload(token, "målinger 2026.csv")
    key, run = upload["key"], upload["run"]["id"]
    assert key.startswith("raw/green/luft/version=1/edition=")
    assert upload["upload"]["fields"]["key"] == key
    # The client's presigned POST, as S3 stores it.
    csv = b"time;pm10\n2026-01-02T03:00;12.5\n"
    aws_client("s3").put_object(Bucket="brygge-dev-data", Key=key, Body=csv)

    lambda_environment(generated_settings["dev_steps"])  # a cold start of the steps function
    notification = {"Records": [s3_record("brygge-dev-data", key, len(csv))]}
    first = lambda_handler(notification, None)
    again = lambda_handler(notification, None)  # S3 delivers at least once
    assert [(item["outcome"], item["run"]) for item in first["results"]] == [("published", run)]
    assert [item["outcome"] for item in again["results"]] == ["duplicate"]
    published = key.replace("raw/", "processed/", 1)
    stored = aws_client("s3").get_object(Bucket="brygge-dev-data", Key=published)
    assert stored["Body"].read() == csv


def test_an_upload_whose_template_was_deleted_meanwhile_is_answered_failed_saying_why(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> None:
    from zappa.handler import lambda_handler as api_handler

    from pipelines.aws import aws_client

    steps_handler = stage_handler("dev_steps")
    token = admin_token(lambda_environment(generated_settings["dev_api"]))
    headers = {"Content-Type": "application/json", **bearer(token)}

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        answer: dict[str, Any] = api_handler(
            rest_event(method, path, headers=headers, body=data), None
        )
        return answer

    upload = create_upload(token, "målinger.csv")
    definition = {
        "StartAt": "ToParquet",
        "States": {
            "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "End": True}
        },
    }
    template = {"id": "luft-csv", "title": "Luft CSV", "definition": definition}
    assert call("POST", "/pipelines", template)["statusCode"] == 201
    assert call("PUT", "/datasets/luft/pipeline", {"template": "luft-csv"})["statusCode"] == 200
    # The upload URL made before the pipeline ran nothing: a new one pins the pipeline.
    upload = create_upload_again(call, "målinger 2.csv")
    assert call("DELETE", "/datasets/luft/pipeline")["statusCode"] == 204
    assert call("DELETE", "/pipelines/luft-csv")["statusCode"] == 204
    csv = b"time;pm10\n2026-01-02T03:00;12.5\n"
    aws_client("s3").put_object(Bucket="brygge-dev-data", Key=upload["key"], Body=csv)

    lambda_environment(generated_settings["dev_steps"])
    notification = {"Records": [s3_record("brygge-dev-data", upload["key"], len(csv))]}
    [result] = steps_handler(notification, None)["results"]

    assert (result["outcome"], result["run"]) == ("failed", upload["run"]["id"])
    assert result["reason"].startswith("Brygge.TemplateDeleted: ")
    assert "'luft-csv' version 1 was deleted" in result["reason"]


def create_upload_again(call: Callable[..., dict[str, Any]], filename: str) -> dict[str, Any]:
    """Another upload into dataset ``luft``, made through the api function."""
    response = call(
        "POST",
        "/datasets/luft/versions/1/uploads",
        {"filename": filename, "contentType": "text/csv"},
    )
    assert response["statusCode"] == 201, response["body"]
    upload: dict[str, Any] = json_body(response)
    return upload


def test_eventbridge_object_created_sent_to_the_steps_function_publishes_the_upload(
    lambda_environment: Callable[[Path], dict[str, str]], generated_settings: dict
) -> None:
    from pipelines.aws import aws_client

    lambda_handler = stage_handler("dev_steps")
    token = admin_token(lambda_environment(generated_settings["dev_api"]))
    upload = create_upload(token, "målinger 2026 + æøå.csv")
    key, run = upload["key"], upload["run"]["id"]
    aws_client("s3").put_object(Bucket="brygge-dev-data", Key=key, Body=b"a;b\n1;2\n")

    lambda_environment(generated_settings["dev_steps"])
    # What S3 sends EventBridge, as a rule without an input transformer delivers it.
    event = json.loads(
        (REPO_ROOT / "tests" / "events" / "s3_eventbridge_object_created.json").read_text()
    )
    event["resources"] = ["arn:aws:s3:::brygge-dev-data"]
    event["detail"]["bucket"]["name"] = "brygge-dev-data"
    event["detail"]["object"]["key"] = quote_plus(key, safe="/")
    first = lambda_handler(event, None)
    again = lambda_handler(event, None)
    assert [(item["key"], item["outcome"], item["run"]) for item in first["results"]] == [
        (key, "published", run)
    ]
    assert [item["outcome"] for item in again["results"]] == ["duplicate"]


def test_status_change_event_sent_as_is_reaches_the_status_handler(steps: Invoke) -> None:
    event = json.loads(
        (REPO_ROOT / "tests" / "events" / "stepfunctions_status_changes.json").read_text()
    )
    aborted = json.loads(
        json.dumps(event["ABORTED"])
        .replace(
            "STATE_MACHINE_ARN", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:brygge-dev-x"
        )
        .replace("EXECUTION_ARN", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:brygge-dev-x:gone")
        .replace("EXECUTION_NAME", "gone")
    )
    assert steps(aborted) == {
        "execution": "gone",
        "outcome": "ignored",
        "run": None,
        "reason": "no run has this execution",
    }


def test_events_the_steps_function_does_not_handle_are_logged_not_dropped_silently(
    steps: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="catalogue.runs.steps_function")
    test_event = json.loads((REPO_ROOT / "tests" / "events" / "s3_test_event.json").read_text())
    assert steps(test_event) is None
    assert "ignoring s3:TestEvent for bucket brygge-data" in caplog.text
    deleted = {
        "version": "0",
        "detail-type": "Object Deleted",
        "source": "aws.s3",
        "account": ACCOUNT,
        "region": REGION,
        "resources": ["arn:aws:s3:::brygge-dev-data"],
        "detail": {"bucket": {"name": "brygge-dev-data"}, "object": {"key": "raw/x.csv"}},
    }
    assert steps(deleted) is None
    [warning] = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert "no handler" in warning.getMessage()
    assert "Object Deleted" in warning.getMessage()


@pytest.mark.parametrize("event", [[], ["raw/x.csv"], "raw/x.csv", 7, None, {"Records": []}])
def test_a_direct_invoke_that_is_no_event_is_logged_and_answered_none(
    steps: Invoke, caplog: pytest.LogCaptureFixture, event: Any
) -> None:
    # Zappa's routing read keys of any event: a JSON array or string raised AttributeError.
    caplog.set_level(logging.INFO, logger="catalogue.runs.steps_function")
    assert steps(event) is None
    assert "no handler for a JSON" in caplog.text or "no records" in caplog.text


def test_s3_event_of_another_bucket_is_not_routed(
    steps: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    from catalogue import lambdas

    calls = []
    monkeypatch.setattr(lambdas, "object_created", lambda event, context: calls.append(event))
    assert steps({"Records": [s3_record("someone-elses-bucket", RAW_KEY, 8)]}) is None
    assert calls == []


def scheduled_event(function: str) -> dict[str, Any]:
    """The event EventBridge sends for the steps stage's schedule of ``function``."""
    from zappa.core import Zappa

    settings = json.loads((REPO_ROOT / "zappa_settings.json").read_text())
    events = settings["dev_steps"]["events"]
    [schedule] = [event for event in events if event["function"] == function]
    # The rule name Zappa gives the schedule: the handler finds the function from it.
    rule = Zappa.get_scheduled_event_name(
        object.__new__(Zappa), schedule, schedule["function"], "brygge-dev-steps"
    )
    return {
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}"],
        "detail": {},
    }


def test_stream_batch_is_routed_by_its_arn_to_webhook_delivery(steps: Invoke) -> None:
    arn = "arn:aws:dynamodb:eu-north-1:123456789012:table/brygge-dev/stream/2026-01-01T00:00:00.000"
    other = {"pk": {"S": "dataset#a"}, "sk": {"S": "dataset"}}
    record = {"eventName": "INSERT", "eventSourceARN": arn, "dynamodb": {"NewImage": other}}
    assert steps({"Records": [record]}) == {"events": 0, "deliveries": 0, "attempted": 0}


def test_stream_batch_of_the_catalogue_table_is_delivered_whatever_its_stream_label(
    steps: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    """The stream's ARN ends in the time the stream was made, which a settings file written
    before the stack cannot know: the table's records still reach webhook delivery."""
    from catalogue.store.dynamodb_codec import to_dynamodb

    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/brygge-dev/stream/2026-12-07T09:41:17.513"
    event = {"pk": "event#1", "sk": "event", "kind": "event", "type": "dataset.created"}
    record = {
        "eventID": "c4ca4238a0b923820dcc509a6f75849b",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": {"NewImage": to_dynamodb(event), "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": arn,
    }
    answer = steps({"Records": [record]})
    assert answer is not None, caplog.text
    assert set(answer) == {"events", "deliveries", "attempted"}
    other = {**record, "eventSourceARN": arn.replace("table/brygge-dev/", "table/other/")}
    assert steps({"Records": [other]}) is None  # another table's stream: not ours to route


def test_scheduled_event_runs_the_sweep_of_stale_uploads(steps: Invoke) -> None:
    report = steps(scheduled_event("catalogue.lambdas.sweep_stale_uploads"))
    # On AWS the table's time to live deletes expired items: the sweep deletes none.
    assert report == {
        "expired": [],
        "editions": [],
        "partialFiles": [],
        "failed": [],
        "expiredItems": 0,
    }


def test_scheduled_event_runs_the_publishing_job(steps: Invoke) -> None:
    from pipelines.aws import aws_client

    report = steps(scheduled_event("catalogue.lambdas.publish_open_data"))
    # An empty catalogue still gets its (empty) feed, written to the open-data bucket.
    assert sorted(report["published"]) == [
        "catalog-dcat-ap-no-2.ttl",
        "catalog-dcat-ap-no-3.ttl",
        "catalog.jsonld",
        "catalog.ttl",
    ]
    listed = aws_client("s3").list_objects_v2(Bucket="brygge-dev-open-data")
    assert {"catalog.jsonld", "catalog.ttl", "publish-report.json"} <= {
        item["Key"] for item in listed.get("Contents", [])
    }


def test_scheduled_event_runs_the_reconcile_of_running_runs(steps: Invoke) -> None:
    report = steps(scheduled_event("catalogue.lambdas.reconcile_runs"))
    assert report == {"checked": [], "ended": [], "failed": []}


def test_execution_status_rule_invokes_the_status_handler_through_zappa(steps: Invoke) -> None:
    """The rule's input transformer output, as Lambda receives it, reaches the status handler."""
    template = load_template(REPO_ROOT / "deploy" / "brygge.yaml")
    [target] = template["Resources"]["ExecutionStatusRule"]["Properties"]["Targets"]
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:brygge-dev-text-v1"
    event = {
        "version": "0",
        "id": "a12e0d3d-c6a8-4cd7-a0c7-1d1f8b0e5b61",
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": ACCOUNT,
        "time": "2026-01-02T03:04:09Z",
        "region": REGION,
        "resources": [f"{machine.replace(':stateMachine:', ':execution:')}:no-such-run"],
        "detail": {
            "executionArn": f"{machine.replace(':stateMachine:', ':execution:')}:no-such-run",
            "stateMachineArn": machine,
            "name": "no-such-run",
            "status": "FAILED",
            "startDate": 1767323046000,
            "stopDate": 1767323049000,
            "input": "{}",
            "inputDetails": {"included": True},
            "output": None,
            "outputDetails": None,
            "error": "InputError",
            "cause": "bad",
        },
    }
    # EventBridge puts the whole event, as JSON, where the template names it.
    template_text = target["InputTransformer"]["InputTemplate"]
    delivered = json.loads(template_text.replace("<aws.events.event.json>", json.dumps(event)))

    assert steps(delivered) == {
        "execution": "no-such-run",
        "outcome": "ignored",
        "run": None,
        "reason": "no run has this execution",
    }


def test_settings_file_is_what_zappa_packages(generated_settings: dict) -> None:
    settings = (generated_settings["dev_steps"] / "zappa_settings.py").read_text()
    assert "'arn:aws:s3:::brygge-dev-data': ['catalogue.lambdas.object_created']" in settings
    assert "/stream/2026-01-01T00:00:00.000': ['catalogue.lambdas.change_events']" in settings
    assert "DEBUG=False" in settings
    api_settings = (generated_settings["dev_api"] / "zappa_settings.py").read_text()
    assert "APP_MODULE='catalogue.wsgi'" in api_settings
    assert "APP_FUNCTION='app'" in api_settings


def test_loading_pauses_the_collector_and_freezes_what_the_start_made(
    api: tuple[Invoke, str],
) -> None:
    import gc

    from catalogue import apigateway

    apigateway.forget()
    collections = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(count)
    frozen_before = gc.get_freeze_count()
    try:
        assert gc.isenabled()
        assert apigateway.load().app is not None
        frozen = gc.get_freeze_count()
    finally:
        gc.callbacks.remove(count)
        gc.unfreeze()  # the test process goes on collecting as before
    assert collections == []  # no collection while the app loaded
    assert gc.isenabled()  # the collector runs again afterwards
    assert frozen > frozen_before


@pytest.mark.parametrize("event_for", [rest_event, http_event], ids=["rest-v1", "http-v2"])
def test_an_encoded_slash_in_an_id_is_a_404_naming_it(api: tuple[Invoke, str], event_for) -> None:  # type: ignore[no-untyped-def]
    # Zappa decodes the event's path before routing: the raw one must reach the app's check,
    # or /datasets/air%2Fversions would be the versions of dataset "air".
    invoke, _ = api
    response = invoke(event_for("GET", "/datasets/air%2Fversions"))

    assert response["statusCode"] == 404
    assert "encoded slash" in json_body(response)["message"]


def test_events_the_steps_function_cannot_use_are_logged_at_the_functions_log_level(
    steps: Invoke, caplog: pytest.LogCaptureFixture
) -> None:
    """Zappa's handler sets the root logger to the stage's ``log_level`` (WARNING): a line
    about an event the function cannot use must reach the log at that level."""
    removed = {**s3_record("brygge-dev-data", RAW_KEY, 8), "eventName": "ObjectRemoved:Delete"}
    foreign = json.loads(
        json.dumps(
            json.loads(
                (REPO_ROOT / "tests" / "events" / "stepfunctions_status_changes.json").read_text()
            )["FAILED"]
        )
        .replace(
            "STATE_MACHINE_ARN", f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:brygge-dev-x"
        )
        .replace("EXECUTION_ARN", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:brygge-dev-x:gone")
        .replace("EXECUTION_NAME", "gone")
    )

    assert steps({"Records": []}) is None
    assert steps({"Records": [removed]}) == {"results": []}
    assert steps(foreign)["outcome"] == "ignored"

    assert logging.getLogger().getEffectiveLevel() == logging.WARNING
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("no records" in message for message in warnings), warnings
    assert any("ObjectRemoved:Delete" in message for message in warnings), warnings
    assert any("gone ignored: no run has this execution" in m for m in warnings), warnings
