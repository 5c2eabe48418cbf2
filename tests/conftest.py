"""Fixtures shared by the whole suite; each group lives in its own plugin module."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.aws",
    "tests.fixtures.stores",
    "tests.fixtures.app",
]
