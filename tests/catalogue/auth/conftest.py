"""Fixtures of the auth tests: a catalogue with authentication on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalogue.auth.world import World, build_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = build_world(tmp_path / "home")
    yield built
    services = built.app.extensions["brygge"]
    if services._store is not None:
        services.store.close()
