"""zappa_settings.json: stages, runtime, excludes, events and environment."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from catalogue.deploy import FEED_SETTINGS, lambda_name, resolve_stage
from catalogue.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_LIBRARIES = {"polars", "_polars_runtime*", "fastexcel", "pyarrow", "pandas", "numpy"}
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer"}
STAGES = ("dev", "prod")


@pytest.fixture(scope="module")
def zappa_settings() -> dict[str, Any]:
    return json.loads((REPO_ROOT / "zappa_settings.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("stage", STAGES)
def test_api_stage_serves_the_flask_app_kept_warm(zappa_settings: dict, stage: str) -> None:
    api = resolve_stage(zappa_settings, f"{stage}_api")
    assert api["app_function"] == "catalogue.wsgi.app"
    assert api["runtime"] == "python3.12"
    assert api["keep_warm"] is True
    assert api["debug"] is False  # a 500 must not carry a traceback


@pytest.mark.parametrize("stage", STAGES)
def test_api_zip_leaves_out_data_libraries_and_boto(zappa_settings: dict, stage: str) -> None:
    exclude = set(resolve_stage(zappa_settings, f"{stage}_api")["exclude"])
    assert exclude >= DATA_LIBRARIES | RUNTIME_PROVIDED
    # The project folder itself is zipped: the local venv and tests must stay out.
    assert {".venv", "tests", "node_modules", ".brygge"} <= exclude


@pytest.mark.parametrize("stage", STAGES)
def test_steps_stage_has_no_web_app_and_keeps_the_data_libraries(
    zappa_settings: dict, stage: str
) -> None:
    steps = resolve_stage(zappa_settings, f"{stage}_steps")
    assert "app_function" not in steps
    assert steps["apigateway_enabled"] is False
    assert steps["keep_warm"] is False  # Zappa's default is on
    assert steps["runtime"] == "python3.12"
    assert set(steps["exclude"]) >= RUNTIME_PROVIDED
    assert not DATA_LIBRARIES & set(steps["exclude"])


@pytest.mark.parametrize("stage", STAGES)
def test_steps_stage_routes_new_raw_objects_to_the_trigger(
    zappa_settings: dict, stage: str
) -> None:
    steps = resolve_stage(zappa_settings, f"{stage}_steps")
    environment = steps["environment_variables"]
    s3_events = [
        event
        for event in steps["events"]
        if event.get("event_source", {}).get("arn", "").startswith("arn:aws:s3:")
    ]
    assert s3_events == [
        {
            "function": "catalogue.lambdas.object_created",
            "event_source": {
                "arn": f"arn:aws:s3:::{environment['BRYGGE_DATA_BUCKET']}",
                "events": ["s3:ObjectCreated:*"],
                "prefix": "raw/",
            },
        }
    ]
    schedules = {event["function"]: event for event in steps["events"] if "expression" in event}
    assert set(schedules) == {
        "catalogue.lambdas.publish_open_data",
        "catalogue.lambdas.sweep_stale_uploads",
        "catalogue.lambdas.reconcile_runs",
        "catalogue.lambdas.webhook_retries",
    }
    for schedule in schedules.values():
        assert schedule["expression"].startswith(("cron(", "rate("))


@pytest.mark.parametrize("stage", STAGES)
def test_environment_is_valid_settings_shared_by_both_functions(
    zappa_settings: dict, stage: str
) -> None:
    api = resolve_stage(zappa_settings, f"{stage}_api")
    steps = resolve_stage(zappa_settings, f"{stage}_steps")
    environment = api["environment_variables"]
    assert steps["environment_variables"] == environment
    known = {f"BRYGGE_{spec.name.upper()}" for spec in fields(Settings)}
    assert set(environment) <= known
    settings = Settings.from_env(environment)
    assert settings.backend == "aws"
    assert settings.steps_function == lambda_name("brygge", f"{stage}_steps")
    assert settings.state_machine_role_arn.endswith(f":role/brygge-{stage}-states")
    assert settings.step_scope_role_arn.endswith(f":role/brygge-{stage}-steps-scoped")
    assert str(settings.home).startswith("/tmp")  # the only writable folder on Lambda
    # The scheduled publishing job runs in the steps function: its feed needs these.
    assert settings.base_url.startswith("https://")
    assert settings.open_data_base_url.startswith("https://")
    assert settings.catalog_contact_email


def test_dev_and_prod_share_no_resource_names(zappa_settings: dict) -> None:
    dev = resolve_stage(zappa_settings, "dev_api")["environment_variables"]
    prod = resolve_stage(zappa_settings, "prod_api")["environment_variables"]
    shared = {name for name in dev if name != "BRYGGE_BACKEND" and dev[name] == prod[name]}
    # The catalogue's own description may be the same; its URLs and resources may not.
    assert shared - {"BRYGGE_HOME"} <= {
        name for name in FEED_SETTINGS if name.startswith("BRYGGE_CATALOG_")
    }


@pytest.mark.parametrize("stage", STAGES)
def test_steps_stage_routes_the_tables_event_stream_to_delivery(
    zappa_settings: dict, stage: str
) -> None:
    steps = resolve_stage(zappa_settings, f"{stage}_steps")
    table = steps["environment_variables"]["BRYGGE_DYNAMODB_TABLE"]
    (stream,) = [
        event
        for event in steps["events"]
        if ":dynamodb:" in event.get("event_source", {}).get("arn", "")
    ]
    assert stream["function"] == "catalogue.lambdas.change_events"
    # The EventStreamArn output of deploy/brygge.yaml: Zappa routes its records by it.
    assert f":table/{table}/stream/" in stream["event_source"]["arn"]
    assert stream["event_source"]["starting_position"] == "TRIM_HORIZON"
