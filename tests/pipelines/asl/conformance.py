"""The conformance corpus: load cases, run them on Brygge's engine, normalise moto's answers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

from pipelines.asl import lambda_handlers, run
from tests.pipelines.asl.handlers import Steps
from tests.pipelines.asl.moto_sfn import ACCOUNT, REGION

CORPUS = Path(__file__).parent / "corpus"
BROKEN = Path(__file__).parent / "broken"
# A fixed clock: the corpus's Wait timestamps lie long before it.
NOW = datetime(2026, 1, 15, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One state machine of the corpus with its input and the documented outcome."""

    name: str
    description: str
    definition: dict[str, Any]
    input: Any
    expected: dict[str, Any]
    moto: dict[str, Any] | None = None
    moto_differs: str | None = None


@dataclass
class Outcome:
    """A run's end, in the shape both engines are compared in."""

    status: str
    output: Any = None
    error: str | None = None
    cause: str | None = None
    sleeps: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The comparable fields; a failed run has no output, a successful one no error."""
        if self.status == "SUCCEEDED":
            return {"status": self.status, "output": self.output, "sleeps": self.sleeps}
        return {
            "status": self.status,
            "error": self.error,
            "cause": self.cause,
            "sleeps": self.sleeps,
        }


def load_cases() -> list[Case]:
    """Read every ``corpus/*.json`` case, sorted by name."""
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        raw = json.loads(path.read_text())
        cases.append(
            Case(
                name=path.stem,
                description=raw["description"],
                definition=raw["definition"],
                input=raw["input"],
                expected=raw["expected"],
                moto=raw.get("moto"),
                moto_differs=raw.get("motoDiffers"),
            )
        )
    return cases


def execution_name(case_name: str) -> str:
    """Execution and state machine names allow 80 characters of ``[A-Za-z0-9_-]``."""
    return case_name.replace("_", "-")[:80]


def corpus_handlers(steps: Steps) -> dict[str, Any]:
    """Handlers for every resource form of the corpus: ``brygge:step:<name>``, the Lambda
    integration ``arn:aws:states:::lambda:invoke`` and direct function ARNs, all calling
    the same step functions (moto calls them through its Lambda)."""
    return {
        **steps.resources(),
        **lambda_handlers(steps.functions, region=REGION, account=ACCOUNT),
    }


def run_local(case_name: str, definition: dict[str, Any], input: Any) -> Outcome:
    """Run a case on Brygge's engine with a fixed clock and recorded sleeps.

    Lambda error payloads in causes are reduced to their message, as moto's are.
    """
    sleeps: list[float] = []
    name = execution_name(case_name)
    result = run(
        definition,
        input,
        corpus_handlers(Steps()),
        execution_name=name,
        state_machine_name=name,
        sleep=lambda seconds: sleeps.append(float(seconds)),
        now=lambda: NOW,
        random=Random(0),
    )
    return Outcome(
        result.status,
        normalise(result.output),
        result.error,
        lambda_cause(result.cause),
        sleeps,
    )


def lambda_cause(cause: Any) -> Any:
    """Reduce a Lambda error payload used as a Cause to its message, as Brygge reports it.

    Lambda's Cause is the JSON the runtime returns (``errorMessage``, ``errorType``); Brygge's
    engine calls handlers in-process and uses the exception's message.
    """
    if isinstance(cause, str) and cause.startswith("{"):
        try:
            payload = json.loads(cause)
        except json.JSONDecodeError:
            return cause
        if isinstance(payload, dict) and "errorType" in payload:
            return payload.get("errorMessage", "")
    return cause


def normalise(document: Any) -> Any:
    """Replace Lambda error payloads in ``Cause`` fields anywhere in a document."""
    if isinstance(document, dict):
        return {
            key: lambda_cause(value) if key == "Cause" else normalise(value)
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [normalise(item) for item in document]
    return document


def comparable(outcome: dict[str, Any]) -> dict[str, Any]:
    """Drop what may differ between engines: the wording of a ``States.*`` error's cause.

    Both engines must agree on status, output JSON, error names and delays; causes written
    by the interpreter itself (not by a step or a Fail state) are free text.
    """
    if str(outcome.get("error") or "").startswith("States."):
        return {key: value for key, value in outcome.items() if key != "cause"}
    return outcome
