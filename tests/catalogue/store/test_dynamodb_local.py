"""The DynamoDB Local fixture: skipped where it cannot run, except under CI."""

from __future__ import annotations

import pytest

from tests.fixtures.aws import _skip_or_fail


def test_missing_dynamodb_local_skips_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="no java on PATH"):
        _skip_or_fail("no java on PATH")


def test_missing_dynamodb_local_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        _skip_or_fail("no java on PATH")


def test_dynamodb_local_answers_on_the_loopback_address(dynamodb_local: str) -> None:
    assert dynamodb_local.startswith("http://127.0.0.1:")
