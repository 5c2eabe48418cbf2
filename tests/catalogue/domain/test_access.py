"""The permission rules as a table."""

from __future__ import annotations

import pytest

from catalogue.domain.access import (
    ANONYMOUS,
    Identity,
    can_see,
    effective_scopes,
    is_principal,
    may,
)

USER = Identity("user:a", ("team:t",))
ADMIN = Identity("user:root", (), is_site_admin=True)


@pytest.mark.parametrize(
    ("granted", "effective"),
    [
        ([], set()),
        (["read"], {"read"}),
        (["update"], {"read", "update"}),
        (["write"], {"read", "write"}),
        (["admin"], {"read", "update", "write", "admin"}),
        (["update", "write"], {"read", "update", "write"}),
    ],
)
def test_effective_scopes(granted, effective) -> None:  # type: ignore[no-untyped-def]
    assert effective_scopes(granted) == effective


@pytest.mark.parametrize(
    ("access", "identity", "scopes", "visible"),
    [
        ("public", ANONYMOUS, set(), True),
        ("restricted", ANONYMOUS, set(), False),
        ("restricted", USER, set(), True),
        ("non-public", ANONYMOUS, set(), False),
        ("non-public", USER, set(), False),
        ("non-public", USER, {"read"}, True),
        ("non-public", ADMIN, set(), True),
    ],
)
def test_can_see(access, identity, scopes, visible) -> None:  # type: ignore[no-untyped-def]
    assert can_see(access, identity, frozenset(scopes)) is visible


def test_site_admins_hold_every_scope_and_others_only_theirs() -> None:
    assert may("admin", ADMIN, frozenset())
    assert not may("write", USER, frozenset({"read", "update"}))
    assert USER.grantees == ("user:a", "team:t")
    assert ANONYMOUS.grantees == ()


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("user:alice", True),
        ("team:data-eng", True),
        ("client:etl-bot", True),
        ("alice", False),
        ("group:x", False),
        ("user:", False),
        ("user:a b", False),
    ],
)
def test_principal_names(value, valid) -> None:  # type: ignore[no-untyped-def]
    assert is_principal(value) is valid
