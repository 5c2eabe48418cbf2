"""Settings read from BRYGGE_* variables."""

from __future__ import annotations

from dataclasses import fields

import pytest

from catalogue.settings import Settings

INT_SETTINGS = [spec.name for spec in fields(Settings) if spec.type == "int"]


@pytest.mark.parametrize("name", INT_SETTINGS)
def test_every_integer_setting_is_read_as_an_integer(name: str) -> None:
    settings = Settings.from_env({f"BRYGGE_{name.upper()}": "7"})

    assert getattr(settings, name) == 7
