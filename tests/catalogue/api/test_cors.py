"""Cross-origin calls (Fetch standard, CORS protocol) from a browser app on another origin.

Only the bearer-token API answers them, never with Access-Control-Allow-Credentials: the
pages' session cookie is never sent with, nor authorises, a cross-origin call.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.app import create_app
from catalogue.settings import Settings
from catalogue.store import migrations
from tests.fixtures.app import authenticate_as_site_admin

APP_ORIGIN = "https://app.example.org"
DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}


def app_allowing(settings: Settings, *origins: str) -> Flask:
    settings = replace(settings, cors_origins=origins)
    migrations.apply(settings)
    application = create_app(settings)
    application.config["TESTING"] = True
    authenticate_as_site_admin(application)
    return application


@pytest.fixture
def cors_app(settings: Settings) -> Flask:
    return app_allowing(settings, APP_ORIGIN, "http://localhost:5173")


@pytest.fixture
def api(cors_app: Flask) -> FlaskClient:
    return cors_app.test_client()


def preflight(client: FlaskClient, path: str, method: str, origin: str = APP_ORIGIN):  # type: ignore[no-untyped-def]
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,if-match",
        },
    )


def test_without_the_setting_no_answer_allows_another_origin(client: FlaskClient) -> None:
    asked = preflight(client, "/datasets", "POST")
    read = client.get("/datasets", headers={"Origin": APP_ORIGIN})

    assert asked.status_code == 200
    for response in (asked, read):
        assert not any(name.startswith("Access-Control-") for name, _ in response.headers.items())


def test_a_preflight_from_an_allowed_origin_allows_the_method_and_the_token(api) -> None:  # type: ignore[no-untyped-def]
    response = preflight(api, "/datasets/air", "PATCH")

    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    methods = set(response.headers["Access-Control-Allow-Methods"].split(", "))
    assert {"GET", "PATCH", "DELETE"} <= methods
    allowed = response.headers["Access-Control-Allow-Headers"].lower().split(", ")
    assert {"authorization", "content-type", "if-match", "if-none-match"} <= set(allowed)
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]


def test_the_call_itself_from_an_allowed_origin_is_readable_with_its_etag(api) -> None:  # type: ignore[no-untyped-def]
    origin = {"Origin": "http://localhost:5173"}
    created = api.post("/datasets", json=DATASET, headers=origin)
    listed = api.get("/datasets", headers=origin)
    again = api.get("/datasets/air", headers={**origin, "If-None-Match": created.headers["ETag"]})

    assert (created.status_code, listed.status_code, again.status_code) == (201, 200, 304)
    for response in (created, listed, again):
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers
    exposed = {name.strip() for name in created.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"ETag", "Location"} <= exposed


def test_an_error_answer_is_readable_by_the_calling_app(cors_app: Flask) -> None:
    anonymous = FlaskClient(cors_app)

    refused = anonymous.post("/datasets", json=DATASET, headers={"Origin": APP_ORIGIN})

    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == APP_ORIGIN
    assert "WWW-Authenticate" in refused.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "https://app.example.org.evil"])
def test_another_origin_is_not_allowed(api, origin: str) -> None:  # type: ignore[no-untyped-def]
    asked = preflight(api, "/datasets", "POST", origin=origin)
    read = api.get("/datasets", headers={"Origin": origin})

    for response in (asked, read):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Methods" not in response.headers
        assert "Origin" in response.headers["Vary"]  # a cache must not reuse an allowed answer


def test_pages_and_their_forms_never_answer_another_origin(api) -> None:  # type: ignore[no-untyped-def]
    assert api.post("/datasets", json=DATASET).status_code == 201
    browser = {"Origin": APP_ORIGIN, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

    page = api.get("/datasets/air", headers=browser)
    sign_in = api.get("/sign-in", headers=browser)
    form = preflight(api, "/sign-in", "POST")

    assert page.status_code == 200 and page.mimetype == "text/html"
    for response in (page, sign_in, form):
        assert "Access-Control-Allow-Origin" not in response.headers


def test_any_origin_is_answered_with_a_star(settings: Settings) -> None:
    api = app_allowing(settings, "*").test_client()

    asked = preflight(api, "/datasets", "POST", origin="https://anywhere.example")
    read = api.get("/datasets", headers={"Origin": "https://anywhere.example"})

    assert asked.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in asked.headers["Access-Control-Allow-Methods"]
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in read.headers
