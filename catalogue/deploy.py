"""The AWS deployment plan: stack parameters, template resources and commands, in order.

``brygge deploy plan <stage>`` prints :func:`plan_text`. Nothing here calls AWS: the plan
is computed from ``zappa_settings.json`` and ``deploy/brygge.yaml`` alone, so that the
settings file stays the one place where table, bucket, function and role names are written.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TEMPLATE = Path("deploy") / "brygge.yaml"
# Where deploy/package.py writes the checked zips the plan deploys.
PACKAGE_FOLDER = "dist"
ZAPPA_SETTINGS = Path("zappa_settings.json")
# The account id AWS documentation uses; zappa_settings.json ships with it until edited.
PLACEHOLDER_ACCOUNT = "123456789012"
# Zappa routes S3 records by bucket ARN through the steps stage's events to this function.
TRIGGER_FUNCTION = "catalogue.lambdas.object_created"
# Stack parameters read from the functions' environment, by variable.
PARAMETERS_FROM_ENVIRONMENT = {
    "TableName": "BRYGGE_DYNAMODB_TABLE",
    "DataBucketName": "BRYGGE_DATA_BUCKET",
    "OpenDataBucketName": "BRYGGE_OPEN_DATA_BUCKET",
    "StepsFunctionName": "BRYGGE_STEPS_FUNCTION",
    "StateMachinePrefix": "BRYGGE_STATE_MACHINE_PREFIX",
    "EventsStreamName": "BRYGGE_EVENTS_STREAM",
}


# What the feed needs: the API's ``GET /catalog`` and the steps function's publishing job
# must describe the catalogue alike, or one dataset gets two IRIs.
FEED_SETTINGS = (
    "BRYGGE_BASE_URL",
    "BRYGGE_OPEN_DATA_BASE_URL",
    "BRYGGE_CATALOG_TITLE",
    "BRYGGE_CATALOG_DESCRIPTION",
    "BRYGGE_CATALOG_PUBLISHER_NAME",
    "BRYGGE_CATALOG_PUBLISHER_URI",
    "BRYGGE_CATALOG_CONTACT_NAME",
    "BRYGGE_CATALOG_CONTACT_EMAIL",
    "BRYGGE_CATALOG_HOMEPAGE",
)
# Without these the scheduled publishing job refuses to run.
REQUIRED_FEED_SETTINGS = (
    "BRYGGE_BASE_URL",
    "BRYGGE_OPEN_DATA_BASE_URL",
    "BRYGGE_CATALOG_CONTACT_EMAIL",
)
# The host zappa_settings.json's example feed settings name until edited.
PLACEHOLDER_HOST = ".example.org"


class DeployConfigError(ValueError):
    """zappa_settings.json or the template cannot produce a consistent deployment."""


@dataclass(frozen=True, slots=True)
class Resource:
    """One resource of the CloudFormation template."""

    logical_id: str
    type: str
    condition: str | None = None


def stage_names(stage: str) -> tuple[str, str]:
    """The Zappa stages (api, steps) of a deployment stage: ``dev`` → ``dev_api, dev_steps``."""
    return f"{stage}_api", f"{stage}_steps"


def load_zappa_settings(root: Path) -> dict[str, Any]:
    """Read ``zappa_settings.json`` under ``root``; raises DeployConfigError if absent."""
    path = root / ZAPPA_SETTINGS
    if not path.is_file():
        raise DeployConfigError(f"{path} not found")
    settings: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return settings


def resolve_stage(settings: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The settings of one Zappa stage with its ``extends`` chain applied.

    Zappa merges shallowly: a key of the stage replaces the whole value of its parent
    (``environment_variables`` and ``exclude`` included). Raises DeployConfigError for an
    unknown stage or a cycle.
    """
    chain: list[str] = []
    current: str | None = name
    while current is not None:
        if current in chain:
            raise DeployConfigError(f"stage {name!r}: circular extends through {current!r}")
        if current not in settings:
            raise DeployConfigError(f"stage {current!r} is not in zappa_settings.json")
        chain.append(current)
        current = settings[current].get("extends")
    resolved: dict[str, Any] = {}
    for stage in reversed(chain):
        resolved.update(settings[stage])
    resolved.pop("extends", None)
    return resolved


def lambda_name(project_name: str, zappa_stage: str) -> str:
    """The function name Zappa derives from project and stage (``brygge`` + ``dev_api``)."""
    # Zappa slugifies "<project>-<stage>": lowercase, runs of other characters become "-".
    return re.sub(r"[^a-z0-9]+", "-", f"{project_name}-{zappa_stage}".lower()).strip("-")


def stack_name(stage: str) -> str:
    """The CloudFormation stack of a deployment stage."""
    return f"brygge-{stage}"


def stack_parameters(stage: str, settings: Mapping[str, Any]) -> dict[str, str]:
    """The stack parameters of ``stage``, all taken from its two Zappa stages.

    Raises DeployConfigError naming each inconsistency: differing environments of the
    api and steps stages, a missing variable, a function name that is not Zappa's.
    """
    api_name, steps_name = stage_names(stage)
    api, steps = resolve_stage(settings, api_name), resolve_stage(settings, steps_name)
    api_env = api.get("environment_variables", {})
    steps_env = steps.get("environment_variables", {})
    problems = []
    for variable in sorted(set(api_env) | set(steps_env)):
        if api_env.get(variable) != steps_env.get(variable):
            problem = (
                f"{variable} differs: {api_name} has {api_env.get(variable)!r}, "
                f"{steps_name} has {steps_env.get(variable)!r}"
            )
            if variable in FEED_SETTINGS:
                problem += " (the API's feed and the publishing job would give datasets two IRIs)"
            problems.append(problem)
    problems += [
        f"{steps_name}: environment variable {variable} is not set (the publishing job needs it)"
        for variable in REQUIRED_FEED_SETTINGS
        if not steps_env.get(variable)
    ]
    parameters = {"Stage": stage}
    for parameter, variable in PARAMETERS_FROM_ENVIRONMENT.items():
        if not api_env.get(variable):
            problems.append(f"{api_name}: environment variable {variable} is not set")
        parameters[parameter] = api_env.get(variable, "")
    parameters["ApiFunctionName"] = lambda_name(api["project_name"], api_name)
    steps_function = lambda_name(steps["project_name"], steps_name)
    if parameters["StepsFunctionName"] and parameters["StepsFunctionName"] != steps_function:
        problems.append(
            f"BRYGGE_STEPS_FUNCTION is {parameters['StepsFunctionName']!r} but Zappa names "
            f"the {steps_name} function {steps_function!r}"
        )
    for parameter, stage_settings, zappa_stage in (
        ("ApiRoleName", api, api_name),
        ("StepsRoleName", steps, steps_name),
    ):
        if stage_settings.get("manage_roles", True) or not stage_settings.get("role_name"):
            problems.append(f"{zappa_stage}: needs manage_roles false and a role_name")
        parameters[parameter] = stage_settings.get("role_name", "")
    bucket_arn = f"arn:aws:s3:::{parameters['DataBucketName']}"
    if not any(
        event.get("function") == TRIGGER_FUNCTION
        and event.get("event_source", {}).get("arn") == bucket_arn
        for event in steps.get("events", [])
    ):
        problems.append(f"{steps_name}: no event routing {bucket_arn} to {TRIGGER_FUNCTION}")
    for parameter, variable in (
        ("StatesRoleName", "BRYGGE_STATE_MACHINE_ROLE_ARN"),
        ("StepsScopedRoleName", "BRYGGE_STEP_SCOPE_ROLE_ARN"),
    ):
        role_arn = api_env.get(variable, "")
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@-]+", role_arn):
            problems.append(f"{variable} {role_arn!r} is not an IAM role ARN")
        parameters[parameter] = role_arn.rpartition("/")[2]
    parameters["WebOrigin"] = web_origin(api_env.get("BRYGGE_BASE_URL", ""))
    if problems:
        raise DeployConfigError("; ".join(problems))
    return parameters


def web_origin(base_url: str) -> str:
    """The origin (scheme and host) of the pages at ``base_url``: where browser uploads come
    from. Empty for no base URL."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def template_resources(template: Path) -> list[Resource]:
    """The resources of a CloudFormation template, in template order."""
    document = load_template(template)
    return [
        Resource(logical_id, body["Type"], body.get("Condition"))
        for logical_id, body in document.get("Resources", {}).items()
    ]


def load_template(template: Path) -> dict[str, Any]:
    """Parse a CloudFormation YAML template, short-form tags (``!Ref``, ``!Sub``) included.

    A tag becomes its long form (``!Ref X`` → ``{"Ref": "X"}``, ``!GetAtt A.B`` →
    ``{"Fn::GetAtt": ["A", "B"]}``), as CloudFormation reads it.
    """
    try:
        import yaml  # the deploy extra brings PyYAML; the API never loads this module
    except ImportError:
        raise DeployConfigError(
            "reading the CloudFormation template needs PyYAML: pip install 'brygge[deploy]'"
        ) from None

    class TemplateLoader(yaml.SafeLoader):
        """SafeLoader that knows CloudFormation's short-form functions."""

    def construct_function(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> Any:
        name = tag.lstrip("!")
        key = name if name == "Ref" or name == "Condition" else f"Fn::{name}"
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    TemplateLoader.add_multi_constructor("!", construct_function)
    # A SafeLoader subclass: tags build plain dicts, never arbitrary Python objects.
    with template.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=TemplateLoader)
    return document


def _overrides(parameters: Mapping[str, str]) -> str:
    return " ".join(f"{name}={shlex.quote(value)}" for name, value in parameters.items())


def package_command(stage: str) -> str:
    """The command that builds and checks both zips of ``stage`` in a fresh Python 3.12 venv."""
    return f"python deploy/package.py --stage {stage} --output {PACKAGE_FOLDER}"


def zip_key(zappa_stage: str) -> str:
    """The key the checked zip of a Zappa stage is uploaded to in the stage's ``s3_bucket``."""
    return f"brygge/{zappa_stage}.zip"


def _upload_and_zappa(
    verb: str, zappa_stage: str, settings: Mapping[str, Any], region: str
) -> list[str]:
    # Zappa's own packaging would zip whichever venv is active (a dev venv: 60 MB with the
    # test tools); deploying from the checked zip ships what deploy/package.py measured.
    # The zip goes through S3: Lambda takes at most 50 MB inline, and steps is larger.
    bucket = resolve_stage(settings, zappa_stage).get("s3_bucket", "")
    if not bucket:
        raise DeployConfigError(f"{zappa_stage}: s3_bucket is not set")
    location = f"s3://{bucket}/{zip_key(zappa_stage)}"
    return [
        f"aws s3 cp --region {region} {PACKAGE_FOLDER}/{zappa_stage}.zip {location}",
        f"zappa {verb} {zappa_stage} --zip {location}",
    ]


def deploy_commands(
    stage: str, parameters: Mapping[str, str], region: str, settings: Mapping[str, Any]
) -> list[str]:
    """The shell commands of a first deployment of ``stage``, in the order they must run."""
    api_name, steps_name = stage_names(stage)
    stack = (
        f"aws cloudformation deploy --region {region} --stack-name {stack_name(stage)}"
        f" --template-file {TEMPLATE} --capabilities CAPABILITY_NAMED_IAM"
        " --no-fail-on-empty-changeset --parameter-overrides "
    )
    function_arn = (
        f'"$(aws lambda get-function --region {region}'
        f" --function-name {parameters['StepsFunctionName']}"
        ' --query Configuration.FunctionArn --output text)"'
    )
    return [
        package_command(stage),
        stack + _overrides(parameters),
        *_upload_and_zappa("deploy", api_name, settings, region),
        *_upload_and_zappa("deploy", steps_name, settings, region),
        stack + _overrides(parameters) + f" StepsFunctionArn={function_arn}",
        f"AWS_DEFAULT_REGION={region} BRYGGE_BACKEND=aws"
        f" BRYGGE_DYNAMODB_TABLE={shlex.quote(parameters['TableName'])} brygge migrate",
        f"zappa status {api_name}",
    ]


def update_commands(
    stage: str, parameters: Mapping[str, str], region: str, settings: Mapping[str, Any]
) -> list[str]:
    """The commands of a later release: code first, then the stack (whose trigger stays)."""
    api_name, steps_name = stage_names(stage)
    first = deploy_commands(stage, parameters, region, settings)
    stack_with_trigger, migrate = first[-3], first[-2]
    return [
        package_command(stage),
        *_upload_and_zappa("update", api_name, settings, region),
        *_upload_and_zappa("update", steps_name, settings, region),
        stack_with_trigger,
        migrate,
    ]


def plan_text(stage: str, environ: Mapping[str, str], root: Path | None = None) -> str:
    """The deployment plan of ``stage`` (``dev``, ``prod``) as printable text.

    ``environ`` supplies ``AWS_REGION``/``AWS_DEFAULT_REGION``, only to warn when it differs
    from the region in zappa_settings.json; ``root`` is the project folder (default: the
    current one). Raises DeployConfigError when the settings are inconsistent.
    """
    root = Path.cwd() if root is None else root
    settings = load_zappa_settings(root)
    parameters = stack_parameters(stage, settings)
    api = resolve_stage(settings, stage_names(stage)[0])
    region = api.get("aws_region", "")
    if not region:
        raise DeployConfigError(f"{stage_names(stage)[0]}: aws_region is not set")
    resources = template_resources(root / TEMPLATE)

    lines = [f"Brygge deployment plan: stage {stage}, region {region}, stack {stack_name(stage)}"]
    warnings = []
    shell_region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if shell_region and shell_region != region:
        warnings.append(
            f"AWS_REGION is {shell_region} but zappa_settings.json deploys to {region}; "
            "the commands below name the region explicitly"
        )
    if PLACEHOLDER_ACCOUNT in json.dumps(settings):
        warnings.append(
            f"zappa_settings.json still names account {PLACEHOLDER_ACCOUNT}: put yours "
            "(aws sts get-caller-identity) into BRYGGE_STATE_MACHINE_ROLE_ARN"
        )
    api_env = api.get("environment_variables", {})
    placeholders = [
        variable for variable in FEED_SETTINGS if PLACEHOLDER_HOST in api_env.get(variable, "")
    ]
    if placeholders:
        warnings.append(
            f"{', '.join(placeholders)} still point at {PLACEHOLDER_HOST}: put the API's public "
            "URL (custom domain, or the execute-api URL with its stage) and the open-data "
            "bucket's https URL in both functions"
        )
    lines += [f"WARNING: {warning}" for warning in warnings]

    lines += ["", "Stack parameters:"]
    width = max(len(name) for name in parameters)
    lines += [f"  {name:<{width}}  {value}" for name, value in parameters.items()]
    lines.append(f"  {'StepsFunctionArn':<{width}}  (empty, then the deployed steps function)")

    lines += ["", f"Resources ({len(resources)}):"]
    width = max(len(resource.logical_id) for resource in resources)
    for resource in resources:
        condition = f"  if {resource.condition}" if resource.condition else ""
        lines.append(f"  {resource.logical_id:<{width}}  {resource.type}{condition}")

    lines += ["", "First deployment, in order:"]
    lines += [
        f"  {number}. {command}"
        for number, command in enumerate(deploy_commands(stage, parameters, region, settings), 1)
    ]
    lines += ["", "Later releases:"]
    lines += [
        f"  {number}. {command}"
        for number, command in enumerate(update_commands(stage, parameters, region, settings), 1)
    ]
    return "\n".join(lines) + "\n"
