"""An in-memory StepRecorder for step tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipelines.steps.contract import StepOutput


@dataclass
class MemoryRecorder:
    """Keeps everything steps report, in call order."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    outputs: list[StepOutput] = field(default_factory=list)
    distributions: dict[str, dict[str, Any]] = field(default_factory=dict)
    latest: dict[str, list[str]] = field(default_factory=dict)
    # Lookup datasets the run's owner team may read, with their access rights.
    readable: dict[str, str] = field(default_factory=dict)

    def step_started(self, run: str, step: str, attempt: int) -> None:
        self.events.append(("started", run, step, attempt))

    def output_written(self, run: str, step: str, output: StepOutput) -> None:
        self.outputs.append(output)
        self.events.append(("output", run, step, output.key))

    def step_finished(
        self,
        run: str,
        step: str,
        status: str,
        error: dict[str, str] | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        self.events.append(("finished", run, step, status, error, summary))

    def register_distribution(
        self, dataset: str, version: str, edition: str, distribution: dict[str, Any]
    ) -> str:
        # Idempotent by id, as the real recorder must be.
        self.distributions.setdefault(
            distribution["id"],
            {"dataset": dataset, "version": version, "edition": edition} | distribution,
        )
        return distribution["id"]

    def latest_distribution_keys(self, dataset: str) -> list[str]:
        return self.latest.get(dataset, [])

    def lookup_access(self, dataset: str, lookups: list[str]) -> dict[str, str]:
        return {lookup: self.readable[lookup] for lookup in lookups if lookup in self.readable}

    def finished(self, step: str) -> tuple[Any, ...]:
        """The step_finished call of ``step``."""
        return next(event for event in self.events if event[0] == "finished" and event[2] == step)
