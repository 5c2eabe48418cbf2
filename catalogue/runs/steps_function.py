"""The steps function's Lambda entry point: Zappa's handler, run in the steps' environment.

The steps function runs what Step Functions invokes (``{"command":
"pipelines.steps.<name>.handler", ...}``), the S3 trigger and the scheduled jobs, all routed
by Zappa's handler. A step learns its object store, recorder and limits from its runner; on
Lambda this entry point is the runner: it builds them once per container from the stage's
settings (the store opens on the first record) and sets them around each invocation.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from catalogue.object_stores import object_store
from catalogue.runs.recorder import store_recorder
from pipelines.steps.runtime import use_environment, use_limits

if TYPE_CHECKING:
    from pipelines.objects import ObjectStore
    from pipelines.steps.contract import StepLimits, StepRecorder


def handler(event: Any, context: Any) -> Any:
    """Lambda entry (the steps stage's ``lambda_handler``): Zappa's routing, steps' environment."""
    from zappa.handler import LambdaHandler

    # The first instance loads the stage's settings file into os.environ, where the
    # environment below reads them; later ones are the same instance.
    LambdaHandler()
    with step_environment():
        return LambdaHandler.lambda_handler(event, context)


@contextmanager
def step_environment() -> Iterator[None]:
    """Run steps in this context with the object store, recorder and limits of the settings."""
    objects, recorder, limits = _environment_from_settings()
    with use_environment(objects, recorder), use_limits(limits):
        yield


@functools.cache
def _environment_from_settings() -> tuple[ObjectStore, StepRecorder, StepLimits]:
    # Read on the first invocation, never at import: the settings come from the environment.
    from catalogue.settings import Settings

    settings = Settings.from_env()
    return object_store(settings), store_recorder(settings), settings.step_limits
