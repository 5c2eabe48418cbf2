"""Definitions as the Step Functions console and CLI export them: fields, Lambda resources, $$.

Each test runs on Brygge's engine; the cases moto agrees with are also in the corpus
(``aws_*.json``), which runs them on moto's executor too.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from random import Random
from typing import Any

import pytest

from pipelines.asl import LAMBDA_INVOKE, lambda_handlers, run, validate
from pipelines.asl.intrinsics import evaluate

NOW = datetime(2026, 1, 15, 12, 0, 0, 123000, tzinfo=UTC)


class RowError(Exception):
    """A function failure with a name a Catch can route on."""


def count(event: Any) -> Any:
    return {"rows": len(event["keys"])}


def fail(event: Any) -> Any:
    raise RowError("row 3 is short")


FUNCTIONS = {"count": count, "fail": fail, "echo": lambda event: event}
HANDLERS = lambda_handlers(FUNCTIONS, request_id=lambda: "req-1")
ARN = "arn:aws:lambda:us-east-1:123456789012:function"

# A console export: top-level Comment/Version/TimeoutSeconds/QueryLanguage, the optimised
# Lambda integration with the console's default Retry and OutputPath, an inline Map with a
# Label, ResultSelector on Map and Parallel, Choice rules with comments, Wait paths and
# Task fields the engine accepts and ignores (Credentials, HeartbeatSeconds).
EXPORTED = {
    "Comment": "Count rows of every upload",
    "Version": "1.0",
    "TimeoutSeconds": 3600,
    "QueryLanguage": "JSONPath",
    "StartAt": "Count",
    "States": {
        "Count": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "OutputPath": "$.Payload",
            "Parameters": {"Payload.$": "$", "FunctionName": f"{ARN}:count:$LATEST"},
            "Retry": [
                {
                    "ErrorEquals": [
                        "Lambda.ServiceException",
                        "Lambda.AWSLambdaException",
                        "Lambda.SdkClientException",
                        "Lambda.TooManyRequestsException",
                    ],
                    "IntervalSeconds": 1,
                    "MaxAttempts": 3,
                    "BackoffRate": 2,
                    "JitterStrategy": "FULL",
                }
            ],
            "Credentials": {"RoleArn": "arn:aws:iam::123456789012:role/reader"},
            "HeartbeatSeconds": 60,
            "TimeoutSecondsPath": "$.timeout",
            "Next": "Enough?",
        },
        "Enough?": {
            "Type": "Choice",
            "QueryLanguage": "JSONPath",
            "Choices": [
                {
                    "Comment": "nothing to do",
                    "Variable": "$.rows",
                    "NumericEquals": 0,
                    "Next": "Empty",
                }
            ],
            "Default": "Pause",
        },
        "Empty": {"Type": "Succeed"},
        "Pause": {"Type": "Wait", "SecondsPath": "$.rows", "Next": "Each"},
        "Each": {
            "Type": "Map",
            "Label": "Each",
            "ItemsPath": "$$.Execution.Input.keys",
            "MaxConcurrencyPath": "$.rows",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Echo",
                "States": {"Echo": {"Type": "Task", "Resource": f"{ARN}:echo", "End": True}},
            },
            "ResultSelector": {"keys.$": "$"},
            "Next": "Both",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
            "ResultSelector": {"first.$": "$[0]"},
            "End": True,
        },
    },
}


def test_an_exported_definition_validates_and_runs() -> None:
    assert validate(EXPORTED) == []
    sleeps: list[float] = []
    result = run(
        EXPORTED,
        {"keys": ["a.csv", "b.csv"], "timeout": 30},
        HANDLERS,
        sleep=sleeps.append,
        now=lambda: NOW,
    )
    assert result.status == "SUCCEEDED", result
    assert result.output == {"first": {"keys": ["a.csv", "b.csv"]}}
    assert sleeps == [2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"QueryLanguage": "JSONata"},
            "state machine: field 'QueryLanguage': JSONata is not supported (only JSONPath)",
        ),
        (
            {"QueryLanguage": "XPath"},
            "state machine: field 'QueryLanguage' must be JSONPath or JSONata",
        ),
        (
            {"States.Empty": {"Type": "Succeed", "QueryLanguage": "JSONata"}},
            "state 'Empty': field 'QueryLanguage': JSONata is not supported (only JSONPath)",
        ),
        (
            {"States.Empty": {"Type": "Succeed", "Output": {"a": 1}}},
            "state 'Empty': field 'Output' belongs to JSONata states; JSONata is not supported",
        ),
        (
            {"States.Each.ItemProcessor.ProcessorConfig": {"Mode": "DISTRIBUTED"}},
            "state 'Each': field 'ItemProcessor.ProcessorConfig.Mode' must be INLINE "
            "(distributed Map is not supported)",
        ),
        (
            {"States.Each.ItemProcessor.ProcessorConfig": {"ExecutionType": "EXPRESS"}},
            "state 'Each': field 'ItemProcessor.ProcessorConfig.ExecutionType' is for a "
            "distributed Map, which is not supported",
        ),
        (
            {"States.Each.ItemReader": {"Resource": "arn:aws:states:::s3:getObject"}},
            "state 'Each': field 'ItemReader' is for a distributed Map, which is not supported",
        ),
        (
            {"States.Each.ItemBatcher": {"MaxItemsPerBatch": 10}},
            "state 'Each': field 'ItemBatcher' is for a distributed Map, which is not supported",
        ),
        (
            {"States.Each.ResultWriter": {"Resource": "arn:aws:states:::s3:putObject"}},
            "state 'Each': field 'ResultWriter' is for a distributed Map, which is not supported",
        ),
        (
            {"States.Each.ToleratedFailurePercentage": 5},
            "state 'Each': field 'ToleratedFailurePercentage' is for a distributed Map",
        ),
        (
            {"States.Each.ToleratedFailureCountPath": "$.n"},
            "state 'Each': field 'ToleratedFailureCountPath' is for a distributed Map",
        ),
        ({"Version": 1}, "state machine: field 'Version' must be a string"),
    ],
)
def test_unsupported_fields_are_rejected_with_a_clear_message(
    change: dict[str, Any], message: str
) -> None:
    definition = json.loads(json.dumps(EXPORTED))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = definition
        for part in parents:
            target = target[part]
        target[last] = value
    assert any(m.startswith(message) for m in validate(definition)), validate(definition)


def invoke_machine(function_name: Any, **fields: Any) -> dict[str, Any]:
    parameters = {"FunctionName": function_name, "Payload.$": "$"}
    return {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": LAMBDA_INVOKE, "Parameters": parameters, **fields}
        },
    }


def test_lambda_invoke_returns_the_response_aws_returns() -> None:
    result = run(invoke_machine("count", End=True), {"keys": [1, 2]}, HANDLERS)
    assert result.output == {
        "ExecutedVersion": "$LATEST",
        "Payload": {"rows": 2},
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "Connection": ["keep-alive"],
                "Content-Type": ["application/json"],
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-RequestId": ["req-1"],
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Type": "application/json",
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-RequestId": "req-1",
            },
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": "req-1"},
        "StatusCode": 200,
    }


@pytest.mark.parametrize(
    "function_name",
    [
        "count",
        "count:live",
        "123456789012:function:count",
        f"{ARN}:count",
        f"{ARN}:count:$LATEST",
    ],
)
def test_lambda_invoke_finds_the_function_by_every_function_name_form(
    function_name: str,
) -> None:
    result = run(
        invoke_machine(function_name, OutputPath="$.Payload", End=True), {"keys": [1]}, HANDLERS
    )
    assert result.output == {"rows": 1}


@pytest.mark.parametrize(
    ("resource", "parameters"),
    [
        (LAMBDA_INVOKE, {"FunctionName": "fail", "Payload.$": "$"}),
        (f"{ARN}:fail", None),
    ],
)
def test_a_function_error_is_named_by_its_error_type_with_lambdas_payload_as_cause(
    resource: str, parameters: Any
) -> None:
    state: dict[str, Any] = {"Type": "Task", "Resource": resource, "End": True}
    if parameters is not None:
        state["Parameters"] = parameters
    result = run({"StartAt": "T", "States": {"T": state}}, {}, HANDLERS)
    assert (result.status, result.error) == ("FAILED", "RowError")
    assert json.loads(result.cause or "") == {
        "errorMessage": "row 3 is short",
        "errorType": "RowError",
        "stackTrace": [],
    }


def test_a_function_error_is_caught_by_its_name_and_by_states_task_failed() -> None:
    for names in (["RowError"], ["States.TaskFailed"]):
        catch = [{"ErrorEquals": names, "Next": "Caught"}]
        definition = invoke_machine("fail", Catch=catch, End=True)
        definition["States"]["Caught"] = {"Type": "Pass", "OutputPath": "$.Error", "End": True}
        assert run(definition, {}, HANDLERS).output == "RowError"


def test_an_unknown_function_fails_as_lambda_does() -> None:
    result = run(invoke_machine("nope", End=True), {}, HANDLERS)
    assert result.error == "Lambda.ResourceNotFoundException"
    assert result.cause == f"Function not found: {ARN}:nope"


def test_wait_for_task_token_passes_the_token_and_takes_the_callback_output() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": f"{LAMBDA_INVOKE}.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "echo",
                    "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"},
                },
                "End": True,
            }
        },
    }
    assert validate(definition) == []
    output = run(definition, {"n": 1}, HANDLERS, random=Random(3)).output
    assert output["n"] == 1
    assert re.fullmatch(r"[A-Za-z0-9_-]{64}", output["token"])


def test_the_task_token_is_absent_without_wait_for_task_token() -> None:
    definition = invoke_machine("echo", End=True)
    definition["States"]["T"]["Parameters"]["Payload"] = {"token.$": "$$.Task.Token"}
    del definition["States"]["T"]["Parameters"]["Payload.$"]
    result = run(definition, {}, HANDLERS)
    assert result.error == "States.Runtime"
    assert "The JSONPath '$$.Task.Token' specified for the field 'token.$'" in (result.cause or "")


def test_sync_and_callback_resources_validate_and_resolve_by_their_full_string() -> None:
    resource = "arn:aws:states:::glue:startJobRun.sync"
    definition = {
        "StartAt": "T",
        "States": {
            "T": {"Type": "Task", "Resource": resource, "Parameters": {"JobName": "x"}, "End": True}
        },
    }
    assert validate(definition) == []
    assert run(definition, {}, {resource: lambda event: {"JobRunState": "SUCCEEDED"}}).output == {
        "JobRunState": "SUCCEEDED"
    }


CONTEXT_CASES = [
    ("$$.Execution.Id", "arn:aws:states:local:000000000000:execution:sm:run-1"),
    ("$$.Execution.Input", {"a": 1}),
    ("$$.Execution.Name", "run-1"),
    ("$$.Execution.StartTime", "2026-01-15T12:00:00.123Z"),
    ("$$.Execution.RoleArn", "arn:aws:iam::000000000000:role/brygge-local"),
    ("$$.Execution.RedriveCount", 2),
    ("$$.State.Name", "S"),
    ("$$.State.EnteredTime", "2026-01-15T12:00:00.123Z"),
    ("$$.StateMachine.Id", "arn:aws:states:local:000000000000:stateMachine:sm"),
    ("$$.StateMachine.Name", "sm"),
]


@pytest.mark.parametrize(("path", "expected"), CONTEXT_CASES)
def test_the_context_object_holds_what_aws_documents(path: str, expected: Any) -> None:
    definition = {
        "StartAt": "S",
        "States": {"S": {"Type": "Pass", "Parameters": {"v.$": path}, "End": True}},
    }
    result = run(
        definition,
        {"a": 1},
        {},
        execution_name="run-1",
        state_machine_name="sm",
        now=lambda: NOW,
        redrive_count=2,
    )
    assert result.output == {"v": expected}


def test_the_context_object_has_no_task_or_map_outside_their_states() -> None:
    definition = {
        "StartAt": "S",
        "States": {"S": {"Type": "Pass", "Parameters": {"c.$": "$$"}, "End": True}},
    }
    assert set(run(definition, {}, {}).output["c"]) == {"Execution", "StateMachine", "State"}


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        # As AWS records them: only the states that take a Retry count their retries.
        ({"Type": "Pass", "Parameters": {"s.$": "$$.State"}}, ["EnteredTime", "Name"]),
        (
            {"Type": "Task", "Resource": "echo", "Parameters": {"s.$": "$$.State"}},
            ["EnteredTime", "Name", "RetryCount"],
        ),
        (
            {
                "Type": "Parallel",
                "Parameters": {"s.$": "$$.State"},
                "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
                "ResultSelector": {"s.$": "$[0].s"},
            },
            ["EnteredTime", "Name", "RetryCount"],
        ),
    ],
)
def test_the_state_context_has_a_retry_count_in_retryable_states_only(
    state: dict[str, Any], expected: list[str]
) -> None:
    definition = {"StartAt": "S", "States": {"S": {**state, "End": True}}}
    output = run(definition, {}, {"echo": lambda event: event}).output
    assert sorted(output["s"]) == expected


def test_reading_the_retry_count_in_a_pass_state_fails_as_on_aws() -> None:
    state = {"Type": "Pass", "Parameters": {"n.$": "$$.State.RetryCount"}, "End": True}
    assert run({"StartAt": "S", "States": {"S": state}}, {}, {}).error == "States.Runtime"


def test_map_item_context_has_index_and_value_only() -> None:
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemSelector": {"item.$": "$$.Map.Item"},
                "ItemProcessor": {
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    assert run(definition, ["x"], {}).output == [{"item": {"Index": 0, "Value": "x"}}]


def test_retry_count_counts_attempts_and_entered_time_stays_the_first_entry() -> None:
    calls: list[Any] = []

    def flaky(event: Any) -> Any:
        calls.append(event)
        if len(calls) < 3:
            raise RowError("again")
        return event

    moments = iter(range(100))
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "brygge:step:flaky",
                "Parameters": {"n.$": "$$.State.RetryCount", "t.$": "$$.State.EnteredTime"},
                "Retry": [{"ErrorEquals": ["RowError"], "IntervalSeconds": 1}],
                "End": True,
            }
        },
    }
    result = run(
        definition,
        {},
        {"brygge:step:flaky": flaky},
        sleep=lambda s: None,
        now=lambda: datetime(2026, 1, 1, 0, 0, next(moments), tzinfo=UTC),
    )
    assert [c["n"] for c in calls] == [0, 1, 2]
    assert {c["t"] for c in calls} == {"2026-01-01T00:00:01.000Z"}
    assert result.status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # Integers stay integers and floats keep their point, as Java writes doubles.
        ("States.Format('{} {} {}', 7, 1.0, 2.50)", "7 1.0 2.5"),
        ("States.Format('{}', $.big)", "1.5E7"),
        ("States.Format('{}', $.small)", "1.5E-5"),
        ("States.Format('{}', $.obj)", "{f=1.0, i=1}"),
        ("States.JsonToString($.obj)", '{"f":1.0,"i":1}'),
        ("States.JsonToString($.text)", '"héllo"'),
        ("States.ArrayPartition($.empty, 3)", []),
        ("States.ArrayPartition($.five, 5)", [[1, 2, 3, 4, 5]]),
        ("States.StringSplit('a.b-c..d', '.-')", ["a", "b", "c", "d"]),
        ("States.MathAdd(2147483647, 1)", 2147483648),
        (
            "States.Hash('abc', 'SHA-256')",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            "States.Hash('abc', 'SHA-384')",
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7",
        ),
        (
            "States.Hash('abc', 'SHA-512')",
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
        ),
    ],
)
def test_intrinsic_edge_cases(expression: str, expected: Any) -> None:
    document = {
        "big": 15000000.0,
        "small": 0.000015,
        "obj": {"f": 1.0, "i": 1},
        "text": "héllo",
        "empty": [],
        "five": [1, 2, 3, 4, 5],
    }
    assert evaluate(expression, lambda path: _path(path, document)) == expected


def _path(path: str, document: dict[str, Any]) -> Any:
    from pipelines.asl import paths

    return paths.evaluate(path, document)


def test_uuid_is_a_version_4_uuid() -> None:
    value = evaluate("States.UUID()", lambda path: None, Random(5))
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value
    )


@pytest.mark.parametrize(
    ("fail", "error", "cause"),
    [
        ({"ErrorPath": "$.e", "CausePath": "$.c"}, "Bad.Row", "row 3"),
        (
            {
                "ErrorPath": "States.Format('Bad.{}', $.kind)",
                "CausePath": "States.JsonToString($.detail)",
            },
            "Bad.Row",
            '{"row":3}',
        ),
        ({"Error": "Fixed", "CausePath": "States.ArrayGetItem($.list, 1)"}, "Fixed", "b"),
    ],
)
def test_fail_error_and_cause_come_from_paths_or_intrinsic_functions(
    fail: dict[str, Any], error: str, cause: str
) -> None:
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", **fail}}}
    assert validate(definition) == []
    document = {
        "e": "Bad.Row",
        "c": "row 3",
        "kind": "Row",
        "detail": {"row": 3},
        "list": ["a", "b"],
    }
    result = run(definition, document, {})
    assert (result.error, result.cause) == (error, cause)


def test_a_catcher_output_is_error_and_cause_at_its_result_path() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": f"{ARN}:fail",
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "E"}],
                "End": True,
            },
            "E": {"Type": "Pass", "End": True},
        },
    }
    output = run(definition, {"in": 1}, HANDLERS).output
    assert output["in"] == 1
    assert set(output["err"]) == {"Error", "Cause"}
    assert output["err"]["Error"] == "RowError"
    assert json.loads(output["err"]["Cause"])["errorMessage"] == "row 3 is short"


def test_a_runtime_cause_names_the_state_and_the_history_event_it_entered_at() -> None:
    # Recorded on AWS: the second of two Lambda tasks reads a field the first one dropped.
    def check(event: Any) -> Any:
        return {"flagged": False}

    definition = {
        "StartAt": "Check Name",
        "States": {
            "Check Name": {
                "Type": "Task",
                "Resource": f"{ARN}:check",
                "Parameters": {"name.$": "$.application.name"},
                "Next": "Check Address",
            },
            "Check Address": {
                "Type": "Task",
                "Resource": f"{ARN}:check",
                "Parameters": {"address.$": "$.application.address"},
                "End": True,
            },
        },
    }
    application = {"application": {"name": "Spock", "address": "123 Enterprise Street"}}
    result = run(definition, application, lambda_handlers({"check": check}))
    assert (result.error, result.cause) == (
        "States.Runtime",
        "An error occurred while executing the state 'Check Address' (entered at the event "
        "id #7). The JSONPath '$.application.address' specified for the field 'address.$' "
        """could not be found in the input '{"flagged":false}'""",
    )


@pytest.mark.parametrize(
    ("state", "cause"),
    [
        (
            {"Type": "Pass", "InputPath": "$.a.b", "End": True},
            "Invalid path '$.a.b' : No results for path: $['a']['b']",
        ),
        (
            {"Type": "Pass", "OutputPath": "$.list[3]", "End": True},
            "Invalid path '$.list[3]' : No results for path: $['list'][3]",
        ),
        (
            {
                "Type": "Choice",
                "Choices": [{"Variable": "$.gone", "IsNull": True, "Next": "E"}],
                "Default": "E",
            },
            "Invalid path '$.gone': The choice state's condition path references an invalid value.",
        ),
    ],
)
def test_path_failures_are_runtime_errors_worded_as_aws_words_them(
    state: dict[str, Any], cause: str
) -> None:
    definition = {"StartAt": "S", "States": {"S": state, "E": {"Type": "Succeed"}}}
    if state["Type"] != "Choice":
        del definition["States"]["E"]
    result = run(definition, {"list": [1]}, {})
    prefix = "An error occurred while executing the state 'S' (entered at the event id #2). "
    assert (result.error, result.cause) == ("States.Runtime", prefix + cause)


@pytest.mark.parametrize(
    ("payload", "event"),
    [
        ({"Payload": {"k": 1}}, {"k": 1}),
        ({"Payload": None}, {}),
        ({}, {}),
        ({"Payload.$": "States.JsonToString($)"}, {"in": [1]}),
        ({"Payload": "plain text"}, "plain text"),
    ],
)
def test_lambda_invoke_sends_payload_as_the_integration_does(payload: Any, event: Any) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": LAMBDA_INVOKE,
                "Parameters": {"FunctionName": "echo", **payload},
                "OutputPath": "$.Payload",
                "End": True,
            }
        },
    }
    assert run(definition, {"in": [1]}, HANDLERS).output == event


@pytest.mark.parametrize(
    ("cause_path", "valid"),
    [
        ("$.why", True),
        ("$$.Execution.Name", True),
        ("States.Format('{}', $.why)", True),
        ("States.UUID()", True),
        ("States.Base64Decode($.b64)", True),
        ("States.ArrayLength($.list)", False),
        ("States.StringToJson($.text)", False),
        ("$..why", False),
    ],
)
def test_fail_paths_take_a_reference_path_or_a_string_intrinsic(
    cause_path: str, valid: bool
) -> None:
    definition = {"StartAt": "F", "States": {"F": {"Type": "Fail", "CausePath": cause_path}}}
    messages = validate(definition)
    assert (messages == []) is valid, messages


def test_json_to_string_writes_numbers_as_aws_does() -> None:
    document = {"o": {"i": 1, "f": 1.0, "big": 1.5e7, "tiny": 2.5e-4, "s": "é/\n"}}
    text = evaluate("States.JsonToString($.o)", lambda path: _path(path, document))
    assert text == '{"i":1,"f":1.0,"big":1.5E7,"tiny":2.5E-4,"s":"é/\\n"}'
    assert json.loads(text) == document["o"]


def test_context_arns_take_the_region_account_and_role_given() -> None:
    definition = {
        "StartAt": "S",
        "States": {
            "S": {
                "Type": "Pass",
                "Parameters": {"e.$": "$$.Execution", "m.$": "$$.StateMachine"},
                "End": True,
            }
        },
    }
    output = run(
        definition,
        {},
        {},
        execution_name="x",
        state_machine_name="sm",
        region="eu-north-1",
        account="111122223333",
        role_arn="arn:aws:iam::111122223333:role/sfn",
        now=lambda: NOW,
    ).output
    assert output["e"] == {
        "Id": "arn:aws:states:eu-north-1:111122223333:execution:sm:x",
        "Input": {},
        "Name": "x",
        "RoleArn": "arn:aws:iam::111122223333:role/sfn",
        "StartTime": "2026-01-15T12:00:00.123Z",
        "RedriveCount": 0,
    }
    assert output["m"] == {
        "Id": "arn:aws:states:eu-north-1:111122223333:stateMachine:sm",
        "Name": "sm",
    }


@pytest.mark.parametrize(
    ("state", "input", "cause"),
    [
        # The Wait state documentation: SecondsPath must select an integer.
        (
            {"Type": "Wait", "SecondsPath": "$.s", "End": True},
            {"s": 2.5},
            "The SecondsPath parameter cannot be parsed as a long value: $.s == 2.5",
        ),
        (
            {"Type": "Wait", "SecondsPath": "$.s", "End": True},
            {"s": -1},
            "The SecondsPath parameter references a negative value: $.s == -1",
        ),
        (
            {"Type": "Wait", "SecondsPath": "$.s", "End": True},
            {},
            "The SecondsPath parameter does not reference an input value: $.s",
        ),
        (
            {"Type": "Wait", "TimestampPath": "$.t", "End": True},
            {"t": "tomorrow"},
            "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
            "date-time format string: $.t == tomorrow",
        ),
        (
            {
                "Type": "Map",
                "MaxConcurrencyPath": "$.c",
                "ItemsPath": "$.xs",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            },
            {"c": "two", "xs": []},
            'The MaxConcurrencyPath field refers to value "two" which is not a valid integer: $.c',
        ),
        (
            {
                "Type": "Map",
                "MaxConcurrencyPath": "$.c",
                "ItemsPath": "$.xs",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            },
            {"c": -2, "xs": []},
            "Expected non-negative integer for MaxConcurrency, got '-2' instead.",
        ),
    ],
)
def test_wait_and_map_path_failures_are_worded_as_aws_words_them(
    state: dict[str, Any], input: Any, cause: str
) -> None:
    result = run({"StartAt": "S", "States": {"S": state}}, input, {}, sleep=lambda s: None)
    prefix = "An error occurred while executing the state 'S' (entered at the event id #2). "
    assert (result.error, result.cause) == ("States.Runtime", prefix + cause)


def test_lambda_handlers_follow_the_arn_partition() -> None:
    handlers = lambda_handlers({"echo": echo_function}, region="cn-north-1", partition="aws-cn")
    assert sorted(handlers) == [
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:echo",
        "arn:aws-cn:states:::lambda:invoke",
        "arn:aws-cn:states:::lambda:invoke.waitForTaskToken",
    ]


def echo_function(event: Any) -> Any:
    return event
