"""A local Amazon States Language (JSONPath) engine: validate and run state machines.

Imports nothing of the project and nothing of AWS, so a run needs neither.
"""

from __future__ import annotations

from pipelines.asl.definition import Machine, parse
from pipelines.asl.errors import StatesError, ValidationError
from pipelines.asl.lambdas import LAMBDA_INVOKE, lambda_handlers
from pipelines.asl.run import Listener, RunResult, run
from pipelines.asl.validate import validate

__all__ = [
    "LAMBDA_INVOKE",
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
