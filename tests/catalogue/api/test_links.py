"""Absolute links: one public base, from BRYGGE_BASE_URL or the request (proxies if trusted)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.app import create_app
from catalogue.settings import Settings, SettingsError
from catalogue.store import migrations
from tests.fixtures.app import Clock, authenticate_as_site_admin

PROXY_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "public.example.org",
    "X-Forwarded-Prefix": "/data",
}
DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
FILE = {"filenames": ["air.csv"], "mediaType": "text/csv", "byteSize": 10, "checksum": "a" * 64}


def client_of(settings: Settings, **changes: Any) -> FlaskClient:
    settings = dataclasses.replace(settings, **changes)
    migrations.apply(settings)
    app: Flask = create_app(settings, clock=Clock())
    app.config["TESTING"] = True
    authenticate_as_site_admin(app)
    return app.test_client()


def links(client: FlaskClient, **request: Any) -> dict[str, str]:
    """The Location of a new dataset and edition, a distribution's URLs and a feed IRI."""
    created = client.post("/datasets", json=DATASET, **request)
    assert created.status_code == 201, created.json
    editions = "/datasets/air/versions/1/editions"
    edition = client.post(editions, json={}, **request)
    distributions = f"{editions}/{edition.json['edition']}/distributions"
    distribution = client.post(distributions, json=FILE, **request)
    upload = client.post(
        "/datasets/air/versions/1/uploads",
        json={"filename": "b.csv", "contentType": "text/csv"},
        **request,
    )
    feed = client.get("/catalog?format=turtle&limit=1", **request).get_data(as_text=True)
    return {
        "dataset": created.headers["Location"],
        "edition": edition.headers["Location"],
        "download": distribution.json["downloadURL"],
        "upload": upload.json["upload"]["url"],
        "feed": feed,
    }


def test_links_come_from_the_request_and_ignore_forwarded_headers_by_default(
    settings: Settings,
) -> None:
    found = links(client_of(settings), headers=PROXY_HEADERS)

    assert found["dataset"] == "http://localhost/datasets/air"
    assert found["edition"].startswith("http://localhost/datasets/air/versions/1/editions/")
    assert found["download"].startswith("http://localhost/datasets/air/versions/1/editions/")
    assert found["upload"].startswith("http://localhost/uploads/")
    assert "public.example.org" not in str(found)


def test_a_trusted_proxy_sets_scheme_host_and_prefix_of_every_link(settings: Settings) -> None:
    found = links(client_of(settings, trust_proxy=True), headers=PROXY_HEADERS)

    base = "https://public.example.org/data"
    assert found["dataset"] == f"{base}/datasets/air"
    assert found["edition"].startswith(f"{base}/datasets/air/versions/1/editions/")
    assert found["download"].startswith(f"{base}/datasets/air/versions/1/editions/")
    assert found["upload"].startswith(f"{base}/uploads/")
    assert f"<{base}/catalog>" in found["feed"]
    assert "localhost" not in str(found)


def test_a_script_root_such_as_an_api_gateway_stage_prefixes_every_link(
    settings: Settings,
) -> None:
    # Zappa puts API Gateway's stage (requestContext.stage) into SCRIPT_NAME.
    found = links(
        client_of(settings), base_url="https://x.execute-api.eu-north-1.amazonaws.com/prod/"
    )

    base = "https://x.execute-api.eu-north-1.amazonaws.com/prod"
    assert found["dataset"] == f"{base}/datasets/air"
    assert found["download"].startswith(f"{base}/datasets/air/versions/1/")
    assert found["upload"].startswith(f"{base}/uploads/")
    assert f"<{base}/catalog>" in found["feed"]


def test_the_configured_base_url_wins_over_request_and_proxy(settings: Settings) -> None:
    client = client_of(settings, base_url="https://data.example.org/api", trust_proxy=True)
    found = links(client, headers=PROXY_HEADERS)

    base = "https://data.example.org/api"
    assert found["dataset"] == f"{base}/datasets/air"
    assert found["edition"].startswith(f"{base}/datasets/air/versions/1/editions/")
    assert found["download"].startswith(f"{base}/datasets/air/versions/1/editions/")
    assert found["upload"].startswith(f"{base}/uploads/")
    assert "public.example.org" not in str(found)
    assert "localhost" not in str(found)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BRYGGE_BASE_URL", "data.example.org/api"),
        ("BRYGGE_BASE_URL", "https://data.example.org/api?x=1"),
        ("BRYGGE_OPEN_DATA_BASE_URL", "file:///srv/open-data"),
        ("BRYGGE_TRUST_PROXY", "maybe"),
    ],
)
def test_an_unusable_url_setting_is_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({"BRYGGE_HOME": str(tmp_path), variable: value})


def test_url_settings_lose_their_trailing_slash(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "BRYGGE_HOME": str(tmp_path),
            "BRYGGE_BASE_URL": "https://data.example.org/api/",
            "BRYGGE_OPEN_DATA_BASE_URL": "https://open.example.org/",
            "BRYGGE_TRUST_PROXY": "on",
        }
    )
    assert settings.base_url == "https://data.example.org/api"
    assert settings.open_data_base_url == "https://open.example.org"
    assert settings.trust_proxy is True
