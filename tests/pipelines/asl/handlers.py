"""Task handlers shared by the conformance corpus: the same Python runs on both engines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class CustomError(Exception):
    """A step failure with a project-specific name, routed by Retry/Catch."""


class OtherError(Exception):
    """A second named failure, to check that ErrorEquals tells names apart."""


def _echo(event: Any) -> Any:
    return event


def _double(event: Any) -> Any:
    return {"n": event["n"] * 2}


def _add(event: Any) -> Any:
    return {"sum": event["a"] + event["b"]}


def _upper(event: Any) -> Any:
    return {"value": str(event["value"]).upper()}


def _count(event: Any) -> Any:
    return len(event["items"])


def _constant(event: Any) -> Any:
    return {"status": "done", "details": {"rows": 3, "keys": ["a.csv", "b.csv"]}}


def _fail_value(event: Any) -> Any:
    raise ValueError(event.get("message", "bad value") if isinstance(event, dict) else "bad")


def _fail_custom(event: Any) -> Any:
    raise CustomError("custom failure")


def _fail_other(event: Any) -> Any:
    raise OtherError("other failure")


def _scalar(event: Any) -> Any:
    return "plain text"


def _null(event: Any) -> Any:
    return None


class Steps:
    """One run's handlers: stateless steps plus ``flaky``, which fails ``failTimes`` times."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.functions: dict[str, Callable[[Any], Any]] = {
            "echo": _echo,
            "double": _double,
            "add": _add,
            "upper": _upper,
            "count": _count,
            "constant": _constant,
            "fail_value": _fail_value,
            "fail_custom": _fail_custom,
            "fail_other": _fail_other,
            "scalar": _scalar,
            "null": _null,
            "flaky": self._flaky,
        }

    def _flaky(self, event: Any) -> Any:
        key = str(event.get("key", "default"))
        self.calls[key] = self.calls.get(key, 0) + 1
        if self.calls[key] <= int(event.get("failTimes", 1)):
            raise CustomError(f"attempt {self.calls[key]} failed")
        return {**event, "attempts": self.calls[key]}

    def resources(self) -> dict[str, Callable[[Any], Any]]:
        """Handlers keyed by the Resource names Brygge's engine uses."""
        return {f"brygge:step:{name}": function for name, function in self.functions.items()}
