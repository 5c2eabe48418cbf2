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


def test_cors_origins_are_a_comma_separated_list_off_by_default() -> None:
    assert Settings.from_env({}).cors_origins == ()
    settings = Settings.from_env(
        {"BRYGGE_CORS_ORIGINS": "https://app.example.org, http://localhost:5173"}
    )
    assert settings.cors_origins == ("https://app.example.org", "http://localhost:5173")
    assert Settings.from_env({"BRYGGE_CORS_ORIGINS": "*"}).cors_origins == ("*",)


@pytest.mark.parametrize(
    "value",
    [
        "https://app.example.org/",
        "https://app.example.org/app",
        "https://app.example.org:443",
        "app.example.org",
        "ftp://app.example.org",
        "null",
        "https://app.example.org, *",
    ],
)
def test_a_cors_origin_that_no_browser_sends_stops_start_up(value: str) -> None:
    with pytest.raises(ValueError, match="BRYGGE_CORS_ORIGINS"):
        Settings.from_env({"BRYGGE_CORS_ORIGINS": value})


def test_any_origin_without_authentication_stops_start_up() -> None:
    # Every request acts with every scope then: any site a user visits could use the API.
    with pytest.raises(ValueError, match="BRYGGE_CORS_ORIGINS"):
        Settings.from_env({"BRYGGE_CORS_ORIGINS": "*", "BRYGGE_AUTH": "off"})
