"""Runs as the engine sees them, knowing nothing of the catalogue's store.

``ids`` derives a run's id from its objects, ``steps`` finds the handler of a Task,
``executions`` starts and reads Step Functions executions and ``execution_history`` reads what an
execution's history says about its steps. ``catalogue.runs`` keeps runs in the store and
drives them with these parts.
"""

from __future__ import annotations

from pipelines.runs.ids import run_id_for
from pipelines.runs.steps import REGISTERED_HANDLERS, StepHandler, StepNotFound, StepRegistry

__all__ = ["REGISTERED_HANDLERS", "StepHandler", "StepNotFound", "StepRegistry", "run_id_for"]
