"""A local Amazon States Language (JSONPath) engine: validate and run state machines.

Imports nothing of the project and nothing of AWS, so a run needs neither.

Definitions exported from AWS Step Functions run as they are: a Task resolves through
``handlers[Resource]`` by its full resource string (``.sync`` and ``.waitForTaskToken``
included), and ``lambda_handlers(functions)`` builds the handlers for the Lambda forms
(``arn:aws:states:::lambda:invoke`` with AWS's response shape, and function ARNs). Workflow
variables (``Assign``, ``$name`` paths) follow the JSONPath rules of the AWS developer
guide. JSONata and distributed Map are rejected by the validator with a message that
says so.
"""

from __future__ import annotations

from pipelines.asl.definition import Machine, parse
from pipelines.asl.errors import Cancelled, StatesError, ValidationError
from pipelines.asl.lambdas import LAMBDA_INVOKE, lambda_handlers
from pipelines.asl.run import Listener, RunResult, run
from pipelines.asl.validate import validate

__all__ = [
    "LAMBDA_INVOKE",
    "Cancelled",
    "Listener",
    "Machine",
    "RunResult",
    "StatesError",
    "ValidationError",
    "lambda_handlers",
    "parse",
    "run",
    "validate",
]
