"""The conformance corpus runs on Brygge's engine and on moto's Step Functions executor.

Each ``corpus/*.json`` case holds a definition, an input and the outcome AWS documents.
Both engines must give that outcome: the same status, output JSON, error name and Retry/Wait
delays. A case with ``motoDiffers`` is one where moto 5.2 departs from the AWS
documentation: Brygge's engine is held to the documented behaviour, and moto to the outcome
recorded in ``moto``, so the note is dropped as soon as moto changes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.asl import ValidationError, parse, run, validate
from tests.pipelines.asl.conformance import (
    BROKEN,
    Case,
    Outcome,
    comparable,
    corpus_handlers,
    execution_name,
    lambda_cause,
    load_cases,
    normalise,
    run_local,
)
from tests.pipelines.asl.handlers import Steps
from tests.pipelines.asl.moto_sfn import MotoStepFunctions, moto_step_functions

CASES = load_cases()
BROKEN_CASES = sorted(BROKEN.glob("*.json"))


def test_the_corpus_has_at_least_40_machines_and_15_broken_definitions() -> None:
    assert len(CASES) >= 40
    assert len(BROKEN_CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_brygge_engine_gives_the_documented_outcome(case: Case) -> None:
    assert run_local(case.name, case.definition, case.input).as_dict() == case.expected


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoStepFunctions]:
    """One moto Step Functions for the whole module: creating it costs about a second."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            patch.setenv(variable, value)
        for variable in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_STEPFUNCTIONS",
            "AWS_ENDPOINT_URL_LAMBDA",
            "AWS_PROFILE",
        ):
            patch.delenv(variable, raising=False)
        with moto_step_functions() as moto:
            yield moto


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_moto_executor_agrees(case: Case, moto: MotoStepFunctions) -> None:
    result = moto.run(execution_name(case.name), case.definition, case.input)
    outcome = Outcome(
        result.status,
        normalise(result.output),
        result.error,
        lambda_cause(result.cause),
        result.sleeps,
    ).as_dict()
    if case.moto_differs is None:
        assert comparable(outcome) == comparable(case.expected)
    else:
        # moto departs from the AWS documentation here (see the case's motoDiffers); the
        # documented outcome is asserted on Brygge's engine above.
        assert case.moto is not None
        assert comparable(outcome) == comparable(case.moto), case.moto_differs
        assert comparable(outcome) != comparable(case.expected)


@pytest.mark.parametrize("path", BROKEN_CASES, ids=[path.stem for path in BROKEN_CASES])
def test_broken_definition_is_rejected_naming_the_state_and_field(path: Path) -> None:
    case = json.loads(path.read_text())
    messages = validate(case["definition"])
    assert any(all(word in message for word in case["mustMention"]) for message in messages), (
        messages
    )
    with pytest.raises(ValidationError) as raised:
        parse(case["definition"])
    assert raised.value.messages == messages
    with pytest.raises(ValidationError):
        run(case["definition"], {}, {})


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_machine_is_valid(case: Case) -> None:
    known = corpus_handlers(Steps()).keys()
    assert validate(case.definition, known_resources=known) == []
