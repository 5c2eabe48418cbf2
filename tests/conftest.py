"""Fixtures shared by the whole suite; each group lives in its own plugin module."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.stores",
    "tests.fixtures.app",
]


def pytest_configure(config: object) -> None:
    from hypothesis import settings

    # The suite runs on shared, loaded machines and must give the same answer every time:
    # the same examples on every run, and no per-example deadline (a property test of a
    # millisecond's work failed its 200 ms deadline under load).
    settings.register_profile("brygge", derandomize=True, deadline=None, database=None)
    settings.load_profile("brygge")
