"""Task handlers for AWS Lambda resources, shaped as Step Functions shapes them.

The engine resolves a Task through ``handlers[Resource]``, the full resource string. A
definition exported from AWS names Lambda in two ways, and ``lambda_handlers`` builds the
handlers for both from plain Python functions keyed by function name:

- ``arn:aws:states:::lambda:invoke`` (the optimised integration): the handler gets the
  effective input ``{"FunctionName": ..., "Payload": ...}``, calls the function named by
  ``FunctionName`` (a name, a name with a qualifier, or a full or partial ARN) with
  ``Payload`` and returns the response AWS returns: ``{ExecutedVersion, Payload,
  SdkHttpMetadata, SdkResponseMetadata, StatusCode}``.
- ``arn:aws:lambda:<region>:<account>:function:<name>`` (the older direct form): the
  function gets the effective input and its return value is the result, unwrapped.

``arn:aws:states:::lambda:invoke.waitForTaskToken`` calls the function with ``Payload``;
there is no callback locally, so the function's return value stands for the output a
``SendTaskSuccess`` would send (and its exception for a ``SendTaskFailure``).

A function's exception fails the task as Lambda reports it: the error is the exception's
class name (Lambda's ``errorType``) and the cause the JSON error payload
(``{"errorMessage", "errorType", "stackTrace"}``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from pipelines.asl.errors import StatesError

Function = Callable[[Any], Any]

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"


def function_arn(name: str, region: str, account: str, partition: str = "aws") -> str:
    """The ARN of a function in the direct ``Resource`` form."""
    return f"arn:{partition}:lambda:{region}:{account}:function:{name}"


def function_name(reference: Any) -> str:
    """The bare name in a ``FunctionName``: ``name``, ``name:alias``, a full or partial ARN."""
    text = str(reference)
    if text.startswith("arn:"):
        parts = text.split(":")
        return parts[6] if len(parts) > 6 else text
    if ":function:" in text:
        return text.split(":function:", 1)[1].split(":", 1)[0]
    return text.split(":", 1)[0]


def _event(payload: Any) -> Any:
    """The event a function gets for a ``Payload``, as the integration sends it.

    No Payload (or null) sends ``{}``; a string holding JSON is sent as that JSON, any other
    string as a JSON string (LocalStack's recorded behaviour, which moto shares).
    """
    if payload is None:
        return {}
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except json.JSONDecodeError:
            return payload
    return payload


def _call(function: Function, event: Any) -> Any:
    try:
        return function(event)
    except StatesError:
        raise
    except Exception as exc:
        raise function_error(type(exc).__name__, str(exc)) from exc


def invoked(
    function: Function, *, request_id: Callable[[], str] = lambda: str(uuid.uuid4())
) -> Callable[[Any], Any]:
    """A Task handler that answers as ``lambda:invoke`` of ``function`` does on AWS.

    The result comes inside the invoke response (``Payload``); an exception fails the task
    as ``function_error`` says; a StatesError (a timeout, a crash) passes through as it is.
    """
    return lambda event: invoke_response(_call(function, event), request_id())


def function_error(error_type: str, message: str) -> StatesError:
    """The task failure Step Functions reports for a Lambda function that raised.

    The error is the exception's class name (Lambda's ``errorType``) and the cause the JSON
    text of Lambda's error payload, which a ``Catch`` with ``ResultPath`` hands on as it is.
    """
    payload = {"errorMessage": message, "errorType": error_type, "stackTrace": []}
    return StatesError(error_type, json.dumps(payload, separators=(",", ":")))


def invoke_response(payload: Any, request_id: str) -> dict[str, Any]:
    """The response of the lambda:invoke integration around a function's return value."""
    headers = {
        "Connection": "keep-alive",
        "Content-Type": "application/json",
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-RequestId": request_id,
    }
    return {
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {key: [value] for key, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200,
    }


def lambda_handlers(
    functions: Mapping[str, Function],
    *,
    region: str = "us-east-1",
    account: str = "123456789012",
    partition: str = "aws",
    request_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> dict[str, Callable[[Any], Any]]:
    """Handlers for every Lambda resource form, calling ``functions`` by function name.

    ``partition`` is the ARN partition (``aws``, ``aws-cn``, ``aws-us-gov``) the definition's
    resources name. An unknown ``FunctionName`` fails as AWS does, with
    ``Lambda.ResourceNotFoundException``.
    """

    def resolve(parameters: Any) -> tuple[Function, Any]:
        if not isinstance(parameters, Mapping) or "FunctionName" not in parameters:
            raise StatesError(
                "States.Runtime", "The lambda:invoke parameters need a 'FunctionName' field"
            )
        name = function_name(parameters["FunctionName"])
        if name not in functions:
            raise StatesError(
                "Lambda.ResourceNotFoundException",
                f"Function not found: {function_arn(name, region, account, partition)}",
            )
        return functions[name], _event(parameters.get("Payload"))

    def invoke(parameters: Any) -> Any:
        function, payload = resolve(parameters)
        return invoke_response(_call(function, payload), request_id())

    def invoke_and_wait(parameters: Any) -> Any:
        function, payload = resolve(parameters)
        return _call(function, payload)

    def direct(function: Function) -> Callable[[Any], Any]:
        return lambda event: _call(function, event)

    integration = LAMBDA_INVOKE.replace("arn:aws:", f"arn:{partition}:", 1)
    handlers: dict[str, Callable[[Any], Any]] = {
        integration: invoke,
        f"{integration}.waitForTaskToken": invoke_and_wait,
    }
    for name, function in functions.items():
        handlers[function_arn(name, region, account, partition)] = direct(function)
    return handlers
