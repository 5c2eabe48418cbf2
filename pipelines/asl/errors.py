"""Named failures of the Amazon States Language engine, with their AWS error names."""

from __future__ import annotations


class StatesError(Exception):
    """A failure that a state machine can retry or catch by its ``error`` name.

    ``error`` is the name a Retrier's or Catcher's ``ErrorEquals`` matches against;
    ``cause`` is the human-readable explanation, as in the AWS execution history.
    """

    error: str = "States.TaskFailed"

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class _NamedStatesError(StatesError):
    """A StatesError whose error name is fixed by its class."""

    name = "States.TaskFailed"

    def __init__(self, cause: str = "") -> None:
        super().__init__(self.name, cause)


class TaskFailed(_NamedStatesError):
    """``States.TaskFailed``: a Task failed for a reason without a more specific name."""

    name = "States.TaskFailed"


class Timeout(_NamedStatesError):
    """``States.Timeout``: a Task ran longer than its ``TimeoutSeconds``."""

    name = "States.Timeout"


class Runtime(_NamedStatesError):
    """``States.Runtime``: the engine could not process the data; never retried nor caught."""

    name = "States.Runtime"


class NoChoiceMatched(_NamedStatesError):
    """``States.NoChoiceMatched``: no Choice rule matched and there is no ``Default``."""

    name = "States.NoChoiceMatched"


class ParameterPathFailure(_NamedStatesError):
    """``States.ParameterPathFailure``: a ``.$`` field of a payload template found nothing."""

    name = "States.ParameterPathFailure"


class ResultPathMatchFailure(_NamedStatesError):
    """``States.ResultPathMatchFailure``: ``ResultPath`` cannot be applied to the input."""

    name = "States.ResultPathMatchFailure"


class IntrinsicFailure(_NamedStatesError):
    """``States.IntrinsicFailure``: an intrinsic function failed on its arguments."""

    name = "States.IntrinsicFailure"


class DataLimitExceeded(_NamedStatesError):
    """``States.DataLimitExceeded``: a task's result or a state's output is over 256 KiB."""

    name = "States.DataLimitExceeded"


class BranchFailed(_NamedStatesError):
    """``States.BranchFailed``: a branch of a Parallel state failed."""

    name = "States.BranchFailed"


class Cancelled(Exception):
    """The caller cancelled the run (``run(cancel=...)`` was set): no state can catch it.

    Raised out of ``run`` itself, wherever the run was: a Wait, a Retry's delay, a Map.
    """


class Halted(Cancelled):
    """A Parallel branch or Map iteration stopped because another one failed, as on AWS.

    Raised inside the branch at its next state or during a wait; the Parallel or Map that
    started it reports the failure of the other branch, never this.
    """


class ValidationError(ValueError):
    """A state machine definition is invalid; ``messages`` each name a state and a field."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)
