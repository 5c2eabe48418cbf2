"""DynamoDB's item reads parsed from their JSON as sent: the same answers botocore gives."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.parsers import BaseJSONParser, JSONParser

from pipelines.aws import aws_client
from pipelines.aws_parsing import ItemReadsParser

ITEM = {
    "pk": {"S": "dataset#ø"},
    "n": {"N": "12345678901234567890.5"},
    "flag": {"BOOL": True},
    "none": {"NULL": True},
    "list": {"L": [{"S": "a"}, {"N": "1"}, {"M": {"inner": {"S": "\u2028 \U0001f600"}}}]},
    "strings": {"SS": ["x", "y"]},
    "numbers": {"NS": ["1", "2.5"]},
}
BODIES = {
    "GetItem": {"Item": ITEM, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}},
    "Query": {
        "Items": [ITEM, ITEM],
        "Count": 2,
        "ScannedCount": 3,
        "LastEvaluatedKey": {"pk": {"S": "a"}, "sk": {"S": "b"}},
    },
    "Scan": {"Items": [], "Count": 0, "ScannedCount": 0},
    "BatchGetItem": {
        "Responses": {"t": [ITEM]},
        "UnprocessedKeys": {"t": {"Keys": [{"pk": {"S": "a"}}], "ConsistentRead": True}},
    },
    "TransactGetItems": {"Responses": [{"Item": ITEM}, {}]},
}


def parsed(parser: Any, operation: str, body: dict[str, Any], status: int = 200) -> Any:
    model = boto3.session.Session().client("dynamodb", region_name="eu-north-1").meta
    shape = model.service_model.operation_model(operation).output_shape
    response = {"status_code": status, "headers": {}, "body": json.dumps(body).encode()}
    return parser.parse(response, shape)


@pytest.mark.parametrize("operation", list(BODIES))
def test_item_reads_parse_as_botocore_parses_them(operation: str) -> None:
    assert parsed(ItemReadsParser(), operation, BODIES[operation]) == parsed(
        JSONParser(), operation, BODIES[operation]
    )


def test_a_binary_value_is_left_to_botocore() -> None:
    body = {"Item": {"pk": {"S": "a"}, "blob": {"B": "aGVq"}, "blobs": {"BS": ["aGVq"]}}}
    mine = parsed(ItemReadsParser(), "GetItem", body)
    assert mine["Item"]["blob"] == {"B": b"hej"}
    assert mine == parsed(JSONParser(), "GetItem", body)


def test_errors_parse_as_botocore_parses_them() -> None:
    body = {
        "__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
        "message": "The conditional request failed",
        "Item": {"pk": {"S": "a"}},
    }
    mine = parsed(ItemReadsParser(), "GetItem", body, status=400)
    assert mine["Error"]["Code"] == "ConditionalCheckFailedException"
    assert mine == parsed(JSONParser(), "GetItem", body, status=400)


@pytest.mark.usefixtures("moto")
def test_the_dynamodb_client_reads_items_without_walking_the_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = aws_client("dynamodb")
    client.create_table(
        TableName="t",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName="t", Item=ITEM)
    plain = boto3.client("dynamodb")
    walked: list[str] = []
    structure = BaseJSONParser._handle_structure

    def counted(self: Any, shape: Any, value: Any) -> Any:
        walked.append(shape.name)
        return structure(self, shape, value)

    monkeypatch.setattr(BaseJSONParser, "_handle_structure", counted)
    key = {"pk": ITEM["pk"]}
    mine = client.get_item(TableName="t", Key=key)
    assert walked == []
    assert mine["Item"] == plain.get_item(TableName="t", Key=key)["Item"] == ITEM
    assert "AttributeValue" in walked
    assert mine["ResponseMetadata"]["HTTPStatusCode"] == 200
