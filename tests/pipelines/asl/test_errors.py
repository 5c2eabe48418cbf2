"""Named failures carry the AWS error names that Retry and Catch match."""

from __future__ import annotations

import pytest

from pipelines.asl import StatesError, errors


@pytest.mark.parametrize(
    ("error_class", "name"),
    [
        (errors.TaskFailed, "States.TaskFailed"),
        (errors.Timeout, "States.Timeout"),
        (errors.Runtime, "States.Runtime"),
        (errors.NoChoiceMatched, "States.NoChoiceMatched"),
        (errors.ParameterPathFailure, "States.ParameterPathFailure"),
        (errors.ResultPathMatchFailure, "States.ResultPathMatchFailure"),
        (errors.IntrinsicFailure, "States.IntrinsicFailure"),
        (errors.BranchFailed, "States.BranchFailed"),
    ],
)
def test_named_error_has_its_aws_name_and_cause(error_class: type[StatesError], name: str) -> None:
    error = error_class("why it failed")  # type: ignore[call-arg]
    assert isinstance(error, StatesError)
    assert (error.error, error.cause) == (name, "why it failed")


def test_any_error_name_can_be_raised() -> None:
    error = StatesError("Brygge.Invalid", "no header")
    assert (error.error, error.cause, str(error)) == (
        "Brygge.Invalid",
        "no header",
        "Brygge.Invalid: no header",
    )
