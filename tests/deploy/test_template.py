"""The CloudFormation template: cfn-lint clean, and least privilege read from the template."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from catalogue.deploy import load_template

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "deploy" / "brygge.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity policy document of the template, by the resource that holds it."""
    for name, body in template["Resources"].items():
        properties = body.get("Properties", {})
        if body["Type"] == "AWS::IAM::ManagedPolicy":
            yield name, properties["PolicyDocument"]
        for inline in properties.get("Policies", []):
            yield f"{name}.{inline['PolicyName']}", inline["PolicyDocument"]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def wildcard_grants(document: dict[str, Any]) -> list[str]:
    """Allow statements that grant a wildcard action or the ``*`` resource."""
    found = []
    for statement in as_list(document["Statement"]):
        if statement["Effect"] != "Allow":
            continue
        sid = statement.get("Sid", "?")
        if "NotAction" in statement or "NotResource" in statement:
            found.append(f"{sid}: NotAction/NotResource")
        found += [
            f"{sid}: action {action}"
            for action in as_list(statement.get("Action", []))
            if "*" in action
        ]
        found += [
            f"{sid}: resource *"
            for resource in as_list(statement.get("Resource", []))
            if resource == "*"
        ]
    return found


def granted(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, resource as JSON) pairs of the Allow statements of a document."""
    return [
        (action, json.dumps(resource, sort_keys=True))
        for statement in as_list(document["Statement"])
        if statement["Effect"] == "Allow"
        for action in as_list(statement["Action"])
        for resource in as_list(statement["Resource"])
    ]


def test_template_passes_cfn_lint() -> None:
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent)) or shutil.which(
        "cfn-lint"
    )
    if cfn_lint is None:
        if os.environ.get("CI") == "true":
            pytest.fail("cfn-lint is required under CI=true (pip install -e .[dev])")
        pytest.skip("cfn-lint is not installed (pip install -e .[dev])")
    result = subprocess.run(
        [cfn_lint, str(TEMPLATE_PATH)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wildcard_check_finds_broad_grants() -> None:
    document = {
        "Statement": [
            {"Sid": "Broad", "Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b"},
            {"Sid": "Anywhere", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"},
            {"Sid": "Deny", "Effect": "Deny", "Action": "*", "Resource": "*"},
        ]
    }
    assert wildcard_grants(document) == ["Broad: action s3:*", "Anywhere: resource *"]


def test_no_policy_grants_wildcard_actions_or_all_resources(template: dict[str, Any]) -> None:
    documents = dict(policy_documents(template))
    assert set(documents) == {
        "StatesPolicy",
        "ApiPolicy",
        "StepsPolicy",
        "StepsScopedPolicy",
        "EventsDeliveryPolicy",
    }
    assert {name: wildcard_grants(document) for name, document in documents.items()} == {
        name: [] for name in documents
    }


def test_every_role_uses_the_template_policies_only(template: dict[str, Any]) -> None:
    roles = resources_of_type(template, "AWS::IAM::Role")
    assert {name: role["Properties"]["ManagedPolicyArns"] for name, role in roles.items()} == {
        "StatesRole": [{"Ref": "StatesPolicy"}],
        "ApiRole": [{"Ref": "ApiPolicy"}],
        "StepsRole": [{"Ref": "StepsPolicy"}],
        "StepsScopedRole": [{"Ref": "StepsScopedPolicy"}],
        "EventsDeliveryRole": [{"Ref": "EventsDeliveryPolicy"}],
    }
    assert all("Policies" not in role["Properties"] for role in roles.values())


def test_state_machine_role_may_invoke_only_the_steps_function(template: dict[str, Any]) -> None:
    document = template["Resources"]["StatesPolicy"]["Properties"]["PolicyDocument"]
    function = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
    assert granted(document) == [
        ("lambda:InvokeFunction", json.dumps({"Fn::Sub": function + "${StepsFunctionName}"})),
        ("lambda:InvokeFunction", json.dumps({"Fn::Sub": function + "${StepsFunctionName}:*"})),
    ]
    trust = template["Resources"]["StatesRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "states.amazonaws.com"}]


def test_uploads_only_under_raw_and_steps_never_write_raw(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    api = granted(resources["ApiPolicy"]["Properties"]["PolicyDocument"])
    steps = granted(resources["StepsPolicy"]["Properties"]["PolicyDocument"])
    data = json.dumps({"Fn::Sub": "${DataBucket.Arn}/raw/*"}, sort_keys=True)
    assert [resource for action, resource in api if action == "s3:PutObject"] == [data]
    scoped = granted(resources["StepsScopedPolicy"]["Properties"]["PolicyDocument"])
    steps_puts = [resource for action, resource in steps if action == "s3:PutObject"]
    assert steps_puts == [
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/processed/*"}),  # uploads without pipeline
        # The one raw/ object the trigger writes: a Firehose window's events, its edition's.
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/raw/*/events.jsonl"}),
        json.dumps({"Fn::Sub": "${OpenDataBucket.Arn}/*"}),
    ]
    assert [resource for action, resource in scoped if action == "s3:PutObject"] == [
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/intermediate/*"}),
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/processed/*"}),
    ]


def test_steps_write_step_outputs_only_through_the_scoped_role(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    steps = granted(resources["StepsPolicy"]["Properties"]["PolicyDocument"])
    scoped_role = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${StepsScopedRoleName}"
    assert [resource for action, resource in steps if action == "sts:AssumeRole"] == [
        json.dumps({"Fn::Sub": scoped_role})
    ]
    role = resources["StepsScopedRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "StepsScopedRoleName"}
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": {"Fn::GetAtt": ["StepsRole", "Arn"]}}
    assert trust["Action"] == "sts:AssumeRole"
    scoped = {a for a, _ in granted(resources["StepsScopedPolicy"]["Properties"]["PolicyDocument"])}
    assert scoped == {"s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"}


def test_functions_may_not_scan_the_table(template: dict[str, Any]) -> None:
    for name in ("ApiPolicy", "StepsPolicy"):
        actions = {
            a for a, _ in granted(template["Resources"][name]["Properties"]["PolicyDocument"])
        }
        assert "dynamodb:Query" in actions
        assert "dynamodb:Scan" not in actions


def test_table_has_the_store_keys_index_and_recovery(template: dict[str, Any]) -> None:
    from catalogue.store import keys

    table = template["Resources"]["CatalogueTable"]
    properties = table["Properties"]
    assert table["DeletionPolicy"] == "Retain"
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    [index] = properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == keys.GSI1
    assert index["KeySchema"] == [
        {"AttributeName": "gsi1pk", "KeyType": "HASH"},
        {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
    ]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["SSESpecification"] == {"SSEEnabled": True}


def test_table_deletes_items_past_their_expires_at(template: dict[str, Any]) -> None:
    """Failed authentications, event ids and idempotency keys carry ``expiresAt``."""
    properties = template["Resources"]["CatalogueTable"]["Properties"]
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_data_bucket_is_private_encrypted_and_expires_intermediate(
    template: dict[str, Any],
) -> None:
    properties = template["Resources"]["DataBucket"]["Properties"]
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-intermediate"]["Prefix"] == "intermediate/"
    assert rules["expire-intermediate"]["ExpirationInDays"] == {"Ref": "IntermediateRetentionDays"}


def test_data_bucket_keeps_versions_a_day_so_a_second_upload_can_be_undone(
    template: dict[str, Any],
) -> None:
    properties = template["Resources"]["DataBucket"]["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-noncurrent-versions"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 1
    }


def test_browsers_may_upload_to_the_data_bucket_only_from_the_pages_origin(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["WebOrigin"]["Default"] == ""
    assert template["Conditions"]["HasWebOrigin"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "WebOrigin"}, ""]}]
    }
    cors = template["Resources"]["DataBucket"]["Properties"]["CorsConfiguration"]
    condition, allowed, absent = cors["Fn::If"]
    assert (condition, absent) == ("HasWebOrigin", {"Ref": "AWS::NoValue"})
    [rule] = allowed["CorsRules"]
    assert rule["AllowedOrigins"] == [{"Ref": "WebOrigin"}]  # never "*"
    assert set(rule["AllowedMethods"]) == {"POST", "PUT"}  # presigned POST, multipart parts
    assert rule["ExposedHeaders"] == ["ETag"]  # a multipart upload completes with the ETags
    # The open-data bucket is read by portals with plain GETs: it gets no browser uploads.
    assert "CorsConfiguration" not in template["Resources"]["OpenDataBucket"]["Properties"]


def test_trigger_is_connected_only_once_the_function_exists(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    assert template["Parameters"]["StepsFunctionArn"]["Default"] == ""
    permission = resources["StepsInvokePermission"]
    assert permission["Condition"] == "HasStepsFunction"
    # A Ref to the bucket here would close a dependency cycle bucket → permission → bucket.
    assert permission["Properties"]["SourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::${DataBucketName}"
    }
    bucket = resources["DataBucket"]
    assert bucket["Metadata"]["TriggerPermission"]["Fn::If"][1] == {"Ref": "StepsInvokePermission"}
    condition, connected, disconnected = bucket["Properties"]["NotificationConfiguration"]["Fn::If"]
    assert (condition, disconnected) == ("HasStepsFunction", {"Ref": "AWS::NoValue"})
    [notification] = connected["LambdaConfigurations"]
    assert notification == {
        "Event": "s3:ObjectCreated:*",
        "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "raw/"}]}},
        "Function": {"Ref": "StepsFunctionArn"},
    }


def test_open_data_bucket_is_public_only_when_asked(template: dict[str, Any]) -> None:
    assert template["Parameters"]["PublishOpenDataPublicly"]["Default"] == "false"
    policy = template["Resources"]["OpenDataBucketPolicy"]["Properties"]["PolicyDocument"]
    condition, public, private = policy["Statement"]["Fn::If"]
    assert condition == "IsOpenDataPublic"
    assert [s["Sid"] for s in public] == ["DenyInsecureTransport", "PublicRead"]
    assert [s["Effect"] for s in private] == ["Deny"]


def test_steps_may_neither_delete_data_nor_state_machines(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    api = {a for a, _ in granted(resources["ApiPolicy"]["Properties"]["PolicyDocument"])}
    steps = granted(resources["StepsPolicy"]["Properties"]["PolicyDocument"])
    assert {"states:DeleteStateMachine", "s3:DeleteObject", "s3:AbortMultipartUpload"} <= api
    assert "states:DeleteStateMachine" not in {action for action, _ in steps}
    # The publishing job withdraws files from the open-data bucket; the trigger removes the
    # objects Firehose delivered once their events are an edition's; nothing else goes.
    assert [resource for action, resource in steps if action == "s3:DeleteObject"] == [
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/raw/*/events/*"}),
        json.dumps({"Fn::Sub": "${OpenDataBucket.Arn}/*"}),
    ]


def test_events_stream_delivers_each_datasets_events_under_its_raw_prefix(
    template: dict[str, Any],
) -> None:
    from pipelines.object_keys import delivered_events_prefix, parse_delivered_events

    resources = template["Resources"]
    stream = resources["EventsDeliveryStream"]["Properties"]
    destination = stream["ExtendedS3DestinationConfiguration"]
    assert stream["DeliveryStreamType"] == "DirectPut"
    assert stream["DeliveryStreamName"] == {"Ref": "EventsStreamName"}
    [extraction] = destination["ProcessingConfiguration"]["Processors"]
    query = extraction["Parameters"][0]["ParameterValue"]
    assert query == (
        '{access: .access, dataset: .dataset, version: .version, schema: (.schema // "none")}'
    )
    # What dynamic partitioning makes of the prefix for a record is where the trigger looks;
    # each schema's events go to objects of their own.
    record = {"access": "yellow", "dataset": "bad", "version": "1", "schema": "0a1b2c3d4e5f6071"}
    prefix = destination["Prefix"]
    for name, value in record.items():
        prefix = prefix.replace(f"!{{partitionKeyFromQuery:{name}}}", value)
    assert prefix == delivered_events_prefix("restricted", "bad", "1", "0a1b2c3d4e5f6071")
    assert "partitionKeyFromQuery" not in prefix
    assert parse_delivered_events(prefix + "brygge-events-1-2026-06-01-10-00-00-x") is not None
    assert not destination["ErrorOutputPrefix"].startswith("raw/")
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    api = granted(resources["ApiPolicy"]["Properties"]["PolicyDocument"])
    stream_arn = json.dumps({"Fn::GetAtt": ["EventsDeliveryStream", "Arn"]})
    assert ("firehose:PutRecordBatch", stream_arn) in api
    delivery = granted(resources["EventsDeliveryPolicy"]["Properties"]["PolicyDocument"])
    assert {resource for action, resource in delivery if action == "s3:PutObject"} == {
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/raw/*/events/*"}),
        json.dumps({"Fn::Sub": "${DataBucket.Arn}/events-errors/*"}),
    }


def data_bucket_statements(
    document: dict[str, Any], bucket: str, resource_name: str = "DataBucket"
) -> list[dict[str, Any]]:
    """The statements of ``document`` on the bucket ``resource_name`` (the data bucket
    unless named), its ARNs resolved for ``bucket``."""
    arn = f"arn:aws:s3:::{bucket}"

    def resolve(resource: Any) -> str | None:
        if resource == {"Fn::GetAtt": [resource_name, "Arn"]}:
            return arn
        sub = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
        if sub.startswith(f"${{{resource_name}.Arn}}"):
            return sub.replace(f"${{{resource_name}.Arn}}", arn)
        return None

    statements = []
    for statement in as_list(document["Statement"]):
        resources = [resolve(resource) for resource in as_list(statement["Resource"])]
        if resources and None not in resources:
            statements.append({**statement, "Resource": resources})
    return statements


# The IAM action AWS checks for each S3 call (the S3 API reference, "Permissions"): a call
# naming a version needs the action of versions.
S3_ACTIONS = {
    ("ListObjectVersions", False): "s3:ListBucketVersions",
    ("ListObjectsV2", False): "s3:ListBucket",
    ("HeadObject", False): "s3:GetObject",
    ("HeadObject", True): "s3:GetObjectVersion",
    ("GetObject", False): "s3:GetObject",
    ("GetObject", True): "s3:GetObjectVersion",
    ("DeleteObject", False): "s3:DeleteObject",
    ("DeleteObject", True): "s3:DeleteObjectVersion",
    ("DeleteObjects", False): "s3:DeleteObject",
    ("PutObject", False): "s3:PutObject",
    ("CreateMultipartUpload", False): "s3:PutObject",
    ("UploadPart", False): "s3:PutObject",
    ("CompleteMultipartUpload", False): "s3:PutObject",
    ("AbortMultipartUpload", False): "s3:AbortMultipartUpload",
    ("UploadPartCopy", False): "s3:PutObject",
    ("CopyObject", False): "s3:PutObject",
}


def denied_calls(
    calls: list[tuple[str, dict[str, Any]]], statements: list[dict[str, Any]], bucket: str
) -> list[str]:
    """The recorded S3 calls on ``bucket`` that ``statements`` do not permit."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    denied = []
    for operation, params in calls:
        action = S3_ACTIONS[(operation, "VersionId" in params)]
        keys = [params["Key"]] if "Key" in params else []
        keys += [item["Key"] for item in params.get("Delete", {}).get("Objects", [])]
        for resource in [f"arn:aws:s3:::{bucket}/{key}" for key in keys] or [
            f"arn:aws:s3:::{bucket}"
        ]:
            if policy.is_action_permitted(action, resource) != PermissionResult.PERMITTED:
                denied.append(f"{operation}: {action} on {resource}")
    return denied


def test_steps_role_may_undo_second_and_stale_uploads_in_the_versioned_data_bucket(
    template: dict[str, Any], moto: None
) -> None:
    """The trigger runs as the steps role: what it does to raw/ versions its policy allows."""
    from pipelines.aws import aws_client
    from pipelines.objects import S3ObjectStore
    from pipelines.presign import INCARNATION_METADATA

    bucket = "brygge-dev-data"
    key = "raw/green/luft/version=1/edition=20260102T030405/målinger 2026.csv"
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"first", b"second"):
        s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={INCARNATION_METADATA: "i1"})
    calls: list[tuple[str, dict[str, Any]]] = []
    s3.meta.events.register(
        "provide-client-params.s3.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )
    objects = S3ObjectStore(bucket)
    # What catalogue.runs.arrival does: undo a second upload to a used URL, then one made
    # for an earlier dataset of the id.
    [second] = objects.keep_first_version(key)
    [first] = objects.delete_versions_marked(key, INCARNATION_METADATA, "i2")
    assert second != first
    assert "Versions" not in s3.list_object_versions(Bucket=bucket, Prefix=key)

    policy = template["Resources"]["StepsPolicy"]["Properties"]["PolicyDocument"]
    assert {operation for operation, _ in calls} == {
        "ListObjectVersions",
        "HeadObject",
        "DeleteObject",
    }
    assert denied_calls(calls, data_bucket_statements(policy, bucket), bucket) == []


def test_a_zappa_update_of_the_steps_stage_keeps_the_execution_status_rule(
    template: dict[str, Any], moto: None
) -> None:
    """``zappa update <steps stage>`` reschedules its events: it deletes every EventBridge rule
    whose target is the function's ARN, and every events.amazonaws.com grant in the
    function's own policy. The stack's status rule must be out of its reach, or runs learn
    that their executions ended only from the reconcile after every release.
    """
    from zappa.core import Zappa

    from catalogue.deploy import load_zappa_settings, resolve_stage
    from pipelines.aws import aws_client

    resources = template["Resources"]
    lambda_client, events = aws_client("lambda"), aws_client("events")
    role = aws_client("iam").create_role(RoleName="steps", AssumeRolePolicyDocument="{}")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as written:
        written.writestr("handler.py", "def handler(event, context):\n    return event\n")
    function_arn = lambda_client.create_function(
        FunctionName="brygge-dev-steps",
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    # What CloudFormation makes of the template once StepsFunctionArn is set.
    arns = {"StepsFunctionArn": function_arn}
    for name, body in resources.items():
        if body["Type"] == "AWS::Lambda::Alias":
            properties = body["Properties"]
            assert properties["FunctionName"] == {"Ref": "StepsFunctionArn"}
            arns[name] = lambda_client.create_alias(
                FunctionName=function_arn,
                Name=properties["Name"],
                FunctionVersion=properties["FunctionVersion"],
            )["AliasArn"]
    rule = resources["ExecutionStatusRule"]["Properties"]
    [target] = rule["Targets"]
    target_arn = arns[target["Arn"]["Ref"]]
    events.put_rule(Name="brygge-dev-execution-status", EventPattern=json.dumps({"x": ["y"]}))
    events.put_targets(
        Rule="brygge-dev-execution-status",
        Targets=[{"Id": target["Id"], "Arn": target_arn, "Input": "{}"}],
    )
    permission = resources["ExecutionStatusInvokePermission"]["Properties"]

    # What `zappa update dev_steps` does once the code is updated (zappa.cli, schedule).
    stage = resolve_stage(load_zappa_settings(REPO_ROOT), "dev_steps")
    zappa = Zappa(aws_region="eu-north-1", runtime="python3.12")
    zappa.credentials_arn = role["Role"]["Arn"]
    zappa.schedule_events(
        lambda_arn=lambda_client.get_function(FunctionName="brygge-dev-steps")["Configuration"][
            "FunctionArn"
        ],
        lambda_name="brygge-dev-steps",
        events=[event for event in stage["events"] if "expression" in event],
    )

    kept = events.list_targets_by_rule(Rule="brygge-dev-execution-status")["Targets"]
    assert [(t["Id"], t["Arn"]) for t in kept] == [(target["Id"], target_arn)]
    # The grant lives in the policy of what the rule invokes: an alias's own policy, which
    # Zappa's clearing of the function's policy does not read.
    assert arns[permission["FunctionName"]["Ref"]] == target_arn != function_arn


def test_publishing_job_may_do_in_the_open_data_bucket_what_its_large_uploads_do(
    template: dict[str, Any], moto: None
) -> None:
    """The scheduled publishing job runs as the steps role: the calls its open-data store
    makes, a failed multipart upload's abort included, are what the policy allows."""
    from pipelines.aws import aws_client
    from pipelines.objects import S3ObjectStore, check_name

    bucket = "brygge-dev-open-data"
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    calls: list[tuple[str, dict[str, Any]]] = []
    s3.meta.events.register(
        "provide-client-params.s3.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )
    failures = ["UploadPart"]

    def fail_once(model: Any, **_: Any) -> None:
        if model.name in failures:
            failures.remove(model.name)
            raise ConnectionError("connection reset while sending a part")

    s3.meta.events.register("before-call.s3.UploadPart", fail_once)
    target = S3ObjectStore(bucket, check=check_name)
    name = "datasets/air/air.csv"
    # What catalogue.dcat.publishing does: a data file streamed from the lake (past 8 MB,
    # so in parts), its second try after a part failed, the manifest, the listing, a
    # withdrawal.
    large = b"time;pm10\n" + b"2026-01-02T03:00;12.5\n" * 420_000
    with pytest.raises(ConnectionError):
        target.put(name, io.BufferedReader(io.BytesIO(large)), content_type="text/csv")  # type: ignore[arg-type]
    target.put(name, io.BufferedReader(io.BytesIO(large)), content_type="text/csv")  # type: ignore[arg-type]
    target.put("manifest.json", io.BytesIO(b"{}"), content_type="application/json")
    assert [info.key for info in target.list("")] == [name, "manifest.json"]
    assert target.delete_many([name]) == []

    assert "AbortMultipartUpload" in {operation for operation, _ in calls}
    policy = template["Resources"]["StepsPolicy"]["Properties"]["PolicyDocument"]
    statements = data_bucket_statements(policy, bucket, "OpenDataBucket")
    assert denied_calls(calls, statements, bucket) == []
    # A job that Lambda ends mid-upload cannot abort: the bucket drops such parts itself.
    rules = template["Resources"]["OpenDataBucket"]["Properties"]["LifecycleConfiguration"]
    assert {"Id": "abort-incomplete-uploads", "Status": "Enabled"}.items() <= next(
        rule for rule in rules["Rules"] if "AbortIncompleteMultipartUpload" in rule
    ).items()


def test_trigger_may_abort_what_it_writes_in_parts_in_the_data_bucket(
    template: dict[str, Any], moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger, as the steps role, writes an event window's object (up to Firehose's
    128 MB: in parts past 8 MB) and copies an upload without a pipeline to processed/ (in
    parts past 5 GB): a failed part's abort is allowed too."""
    from pipelines.aws import aws_client
    from pipelines.objects import S3ObjectStore, s3

    bucket = "brygge-dev-data"
    client = aws_client("s3")
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-north-1"}
    )
    edition = "raw/green/luft/version=1/edition=20260102T030405"
    upload = f"{edition}/målinger.csv"
    large = b'{"time": "2026-01-02T03:00", "pm10": 12.5}\n' * 220_000
    client.put_object(Bucket=bucket, Key=upload, Body=large)
    # A copy past this size goes in parts: 5 GB is too large for a test.
    monkeypatch.setattr(s3, "MAX_SINGLE_COPY_BYTES", 1024 * 1024)
    calls: list[tuple[str, dict[str, Any]]] = []
    client.meta.events.register(
        "provide-client-params.s3.*",
        lambda params, model, **_: calls.append((model.name, dict(params))),
    )
    failures = ["UploadPart", "UploadPartCopy"]

    def fail_once(model: Any, **_: Any) -> None:
        if model.name in failures:
            failures.remove(model.name)
            raise ConnectionError("connection reset while sending a part")

    client.meta.events.register("before-call.s3.UploadPart", fail_once)
    client.meta.events.register("before-call.s3.UploadPartCopy", fail_once)
    objects = S3ObjectStore(bucket)
    window = f"{edition}/events.jsonl"
    published = upload.replace("raw/", "processed/", 1)
    # The first try of each fails in a part, the second succeeds.
    with pytest.raises(ConnectionError):
        objects.put(window, io.BufferedReader(io.BytesIO(large)))  # type: ignore[arg-type]
    objects.put(window, io.BufferedReader(io.BytesIO(large)))  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        objects.copy(upload, published)
    objects.copy(upload, published)

    operations = [operation for operation, _ in calls]
    assert operations.count("AbortMultipartUpload") == 2
    policy = template["Resources"]["StepsPolicy"]["Properties"]["PolicyDocument"]
    assert denied_calls(calls, data_bucket_statements(policy, bucket), bucket) == []
