"""`brygge deploy plan`: parameters, resources and commands, computed without AWS."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from catalogue.deploy import (
    DeployConfigError,
    lambda_name,
    load_template,
    plan_text,
    resolve_stage,
    stack_parameters,
    web_origin,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the deployment files, safe to edit."""
    (tmp_path / "deploy").mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "brygge.yaml", tmp_path / "deploy" / "brygge.yaml")
    shutil.copy(REPO_ROOT / "zappa_settings.json", tmp_path / "zappa_settings.json")
    return tmp_path


def edit_settings(project: Path, stage: str, **environment: str) -> None:
    path = project / "zappa_settings.json"
    settings = json.loads(path.read_text())
    settings[stage]["environment_variables"].update(environment)
    path.write_text(json.dumps(settings))


def test_plan_lists_every_template_parameter_and_resource() -> None:
    text = plan_text("dev", {}, root=REPO_ROOT)
    template = load_template(REPO_ROOT / "deploy" / "brygge.yaml")
    parameters = text.split("Stack parameters:\n")[1].split("\n\n")[0]
    # Parameters with a default the plan leaves alone are not printed.
    defaulted = {
        "IntermediateRetentionDays",
        "PublishOpenDataPublicly",
        "EventsBufferSeconds",
        "EventsBufferMB",
    }
    assert sorted(line.split()[0] for line in parameters.splitlines()) == sorted(
        set(template["Parameters"]) - defaulted
    )
    resources = text.split("Resources (")[1].split("\n\n")[0].splitlines()[1:]
    assert [line.split()[0] for line in resources] == list(template["Resources"])
    listed = [line.split() for line in resources]
    assert ["StepsInvokePermission", "AWS::Lambda::Permission", "if", "HasStepsFunction"] in listed
    assert ["ExecutionStatusRule", "AWS::Events::Rule", "if", "HasStepsFunction"] in listed


def plan_commands(text: str, section: str) -> list[str]:
    lines = text.split(f"{section}:\n")[1].split("\n\n")[0].splitlines()
    return [line.split(". ", 1)[1] for line in lines]


def test_commands_package_then_stack_then_functions_then_trigger() -> None:
    commands = plan_commands(plan_text("prod", {}, root=REPO_ROOT), "First deployment, in order")
    assert commands[0] == "python deploy/package.py --stage prod --output dist"
    stack = commands[1]
    assert stack.startswith("aws cloudformation deploy --region eu-north-1")
    assert "--stack-name brygge-prod" in stack
    assert "StepsFunctionArn" not in stack
    assert "TableName=brygge-prod " in stack
    assert commands[2:6] == [
        "aws s3 cp --region eu-north-1 dist/prod_api.zip"
        " s3://brygge-prod-zappa-deploy/brygge/prod_api.zip",
        "zappa deploy prod_api --zip s3://brygge-prod-zappa-deploy/brygge/prod_api.zip",
        "aws s3 cp --region eu-north-1 dist/prod_steps.zip"
        " s3://brygge-prod-zappa-deploy/brygge/prod_steps.zip",
        "zappa deploy prod_steps --zip s3://brygge-prod-zappa-deploy/brygge/prod_steps.zip",
    ]
    assert commands[6].startswith(stack)
    assert "StepsFunctionArn=" in commands[6]
    assert "--function-name brygge-prod-steps" in commands[6]


def test_no_command_lets_zappa_zip_the_active_venv() -> None:
    # `zappa deploy|update <stage>` without --zip packages whatever venv is active: a dev venv
    # ships the test tools (60 MB for api) and the steps function would not fit Lambda.
    text = plan_text("dev", {}, root=REPO_ROOT)
    for section in ("First deployment, in order", "Later releases"):
        for command in plan_commands(text, section):
            if command.startswith(("zappa deploy", "zappa update")):
                assert " --zip s3://" in command, command
    releases = plan_commands(text, "Later releases")
    assert releases[0] == "python deploy/package.py --stage dev --output dist"
    assert [c.split(" --zip")[0] for c in releases if c.startswith("zappa")] == [
        "zappa update dev_api",
        "zappa update dev_steps",
    ]


def test_a_stage_without_a_zip_bucket_is_refused(project: Path) -> None:
    path = project / "zappa_settings.json"
    settings = json.loads(path.read_text())
    del settings["dev_steps"]["s3_bucket"]
    path.write_text(json.dumps(settings))
    with pytest.raises(DeployConfigError, match="dev_steps: s3_bucket is not set"):
        plan_text("dev", {}, root=project)


def test_parameters_come_from_the_zappa_environment() -> None:
    settings = json.loads((REPO_ROOT / "zappa_settings.json").read_text())
    parameters = stack_parameters("dev", settings)
    environment = resolve_stage(settings, "dev_api")["environment_variables"]
    assert parameters["TableName"] == environment["BRYGGE_DYNAMODB_TABLE"]
    assert parameters["DataBucketName"] == environment["BRYGGE_DATA_BUCKET"]
    assert parameters["StatesRoleName"] == "brygge-dev-states"
    assert parameters["StepsScopedRoleName"] == "brygge-dev-steps-scoped"
    assert parameters["ApiFunctionName"] == "brygge-dev-api"
    # Browser uploads come from the pages' origin: BRYGGE_BASE_URL without its path.
    assert parameters["WebOrigin"] == "https://brygge-dev.example.org"


@pytest.mark.parametrize(
    ("base_url", "origin"),
    [
        ("https://data.example.org/api", "https://data.example.org"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("", ""),
    ],
)
def test_the_web_origin_is_the_base_urls_scheme_and_host(base_url: str, origin: str) -> None:
    assert web_origin(base_url) == origin


def test_plan_warns_about_another_region_and_the_placeholder_account() -> None:
    text = plan_text("dev", {"AWS_REGION": "us-east-1"}, root=REPO_ROOT)
    assert "WARNING: AWS_REGION is us-east-1" in text
    assert "WARNING: zappa_settings.json still names account 123456789012" in text


def test_functions_with_different_environments_are_refused(project: Path) -> None:
    edit_settings(project, "dev_steps", BRYGGE_DYNAMODB_TABLE="other")
    with pytest.raises(DeployConfigError, match="BRYGGE_DYNAMODB_TABLE differs"):
        plan_text("dev", {}, root=project)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BRYGGE_BASE_URL", "https://other.example.org/api"),
        ("BRYGGE_CATALOG_CONTACT_EMAIL", "someone@example.org"),
        ("BRYGGE_CATALOG_PUBLISHER_URI", "https://data.example.org/org/1"),
    ],
)
def test_a_stage_pair_whose_feed_settings_differ_is_refused(
    project: Path, variable: str, value: str
) -> None:
    edit_settings(project, "dev_steps", **{variable: value})
    with pytest.raises(DeployConfigError, match=f"{variable} differs: .*two IRIs"):
        plan_text("dev", {}, root=project)


@pytest.mark.parametrize("variable", ["BRYGGE_BASE_URL", "BRYGGE_OPEN_DATA_BASE_URL"])
def test_a_steps_stage_without_what_its_feed_needs_is_refused(project: Path, variable: str) -> None:
    for stage in ("dev_api", "dev_steps"):
        path = project / "zappa_settings.json"
        settings = json.loads(path.read_text())
        del settings[stage]["environment_variables"][variable]
        path.write_text(json.dumps(settings))
    with pytest.raises(DeployConfigError, match=f"dev_steps: environment variable {variable}"):
        plan_text("dev", {}, root=project)


def test_plan_warns_about_placeholder_feed_urls() -> None:
    text = plan_text("dev", {}, root=REPO_ROOT)
    assert "WARNING: BRYGGE_BASE_URL still point at .example.org" in text


def test_steps_function_name_must_be_zappas(project: Path) -> None:
    edit_settings(project, "dev_api", BRYGGE_STEPS_FUNCTION="steps")
    edit_settings(project, "dev_steps", BRYGGE_STEPS_FUNCTION="steps")
    with pytest.raises(DeployConfigError, match="Zappa names the dev_steps function"):
        plan_text("dev", {}, root=project)


def test_trigger_must_watch_the_data_bucket(project: Path) -> None:
    edit_settings(project, "dev_api", BRYGGE_DATA_BUCKET="elsewhere")
    edit_settings(project, "dev_steps", BRYGGE_DATA_BUCKET="elsewhere")
    with pytest.raises(DeployConfigError, match=r"no event routing arn:aws:s3:::elsewhere"):
        plan_text("dev", {}, root=project)


def test_unknown_stage_is_refused() -> None:
    with pytest.raises(DeployConfigError, match=r"'test_api' is not in zappa_settings\.json"):
        plan_text("test", {}, root=REPO_ROOT)


def test_extends_replaces_whole_values_like_zappa() -> None:
    settings = {
        "base": {"exclude": ["a"], "environment_variables": {"X": "1"}, "runtime": "python3.12"},
        "child": {"extends": "base", "exclude": ["b"]},
    }
    assert resolve_stage(settings, "child") == {
        "exclude": ["b"],
        "environment_variables": {"X": "1"},
        "runtime": "python3.12",
    }


def test_circular_extends_is_refused() -> None:
    with pytest.raises(DeployConfigError, match="circular"):
        resolve_stage({"a": {"extends": "b"}, "b": {"extends": "a"}}, "a")


@pytest.mark.parametrize(
    ("project_name", "stage", "expected"),
    [("brygge", "dev_api", "brygge-dev-api"), ("Brygge", "prod_steps", "brygge-prod-steps")],
)
def test_lambda_name_follows_zappa(project_name: str, stage: str, expected: str) -> None:
    assert lambda_name(project_name, stage) == expected
