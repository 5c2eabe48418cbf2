"""Sign-in by pasting a token: a signed HttpOnly, Lax cookie (Secure off loopback), CSRF forms."""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.repositories.tokens import TokenRepository
from catalogue.services import utc_now
from catalogue.store.base import Query

BROWSER = {"Accept": "text/html,*/*;q=0.8"}


def mint(app: Flask, principal: str, *teams: str) -> str:
    return minted(app, principal, *teams)[0]


def minted(app: Flask, principal: str, *teams: str) -> tuple[str, dict]:
    return TokenRepository(app.extensions["brygge"].store, utc_now).create(principal, teams=teams)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def sign_in(browser: FlaskClient, token: str, next_path: str = "/") -> tuple[int, dict]:
    form = browser.get("/sign-in", headers=BROWSER).get_data(as_text=True)
    response = browser.post(
        "/sign-in", data={"token": token, "next": next_path, "csrf": csrf_of(form)}
    )
    return response.status_code, dict(response.headers)


def test_signing_in_shows_what_the_token_may_see(app, client) -> None:
    secret = {"id": "secret", "title": "Secret", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=secret).status_code == 201
    browser = FlaskClient(app)
    assert browser.get("/datasets/secret", headers=BROWSER).status_code == 404
    status, headers = sign_in(browser, mint(app, "user:ana", "team:x"), "/datasets/secret")
    assert status == 303
    assert headers["Location"] == "/datasets/secret"
    page = browser.get("/datasets/secret", headers=BROWSER)
    assert page.status_code == 200
    assert "Signed in as <strong>user:ana</strong>" in page.get_data(as_text=True)
    # The cookie signs pages in, never the JSON API: no cross-site API calls ride on it.
    assert browser.get("/datasets/secret").status_code == 404


def test_signing_in_under_a_path_prefix_returns_under_that_prefix(app) -> None:
    """Behind API Gateway's execute-api URL the app lives under /<stage>: so does ``next``."""
    browser = FlaskClient(app)
    base = "https://abc123defg.execute-api.eu-north-1.amazonaws.com/dev_api"
    page = browser.get("/sign-in?next=/datasets", headers=BROWSER, base_url=base)
    form = page.get_data(as_text=True)
    assert 'action="/dev_api/sign-in"' in form
    response = browser.post(
        "/sign-in",
        data={"token": mint(app, "user:ana"), "next": "/datasets", "csrf": csrf_of(form)},
        base_url=base,
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dev_api/datasets"


def test_the_session_cookie_is_httponly_lax_and_secure_off_loopback(app) -> None:
    token = mint(app, "user:ana")
    local = FlaskClient(app)
    _, headers = sign_in(local, token)
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("brygge_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://localhost: a laptop's brygge serve
    remote = FlaskClient(app)
    form = remote.get("/sign-in", headers=BROWSER, base_url="http://brygge.example.org")
    sent = remote.post(
        "/sign-in",
        data={"token": token, "csrf": csrf_of(form.get_data(as_text=True))},
        base_url="http://brygge.example.org",
    )
    assert "; Secure" in sent.headers["Set-Cookie"]


def test_a_bad_token_is_refused_next_to_the_field(app) -> None:
    browser = FlaskClient(app)
    status, _ = sign_in(browser, "bry_notatoken")
    assert status == 401
    form = browser.get("/sign-in", headers=BROWSER).get_data(as_text=True)
    response = browser.post("/sign-in", data={"token": "nope", "csrf": csrf_of(form)})
    assert 'id="token-error"' in response.get_data(as_text=True)


def test_a_form_without_its_csrf_token_is_refused(app) -> None:
    browser = FlaskClient(app)
    browser.get("/sign-in", headers=BROWSER)
    token = mint(app, "user:ana")
    response = browser.post("/sign-in", data={"token": token, "csrf": "forged"})
    assert response.status_code == 403
    assert "did not come from this site" in response.get_data(as_text=True)
    assert "Signed in as" not in browser.get("/", headers=BROWSER).get_data(as_text=True)


def test_a_revoked_token_signs_the_visitor_out(app, client) -> None:
    browser = FlaskClient(app)
    token, record = minted(app, "user:ana")
    sign_in(browser, token)
    assert "user:ana" in browser.get("/", headers=BROWSER).get_data(as_text=True)
    TokenRepository(app.extensions["brygge"].store, utc_now).revoke(record["id"])
    html = browser.get("/", headers=BROWSER).get_data(as_text=True)
    assert "sign in again" in html and "user:ana" not in html


def test_signing_out_forgets_the_token(app) -> None:
    browser = FlaskClient(app)
    sign_in(browser, mint(app, "user:ana"))
    html = browser.get("/", headers=BROWSER).get_data(as_text=True)
    response = browser.post("/sign-out", data={"csrf": csrf_of(html)})
    assert response.status_code == 303
    assert "Signed in as" not in browser.get("/", headers=BROWSER).get_data(as_text=True)


def test_pages_without_a_session_to_end_set_no_cookie(client, tmp_path) -> None:
    # A bearer header or BRYGGE_AUTH=off cannot be signed out of: no form, so no session is
    # made (and signed) for its CSRF token on every page.
    from catalogue.app import create_app
    from catalogue.settings import Settings
    from catalogue.store import migrations

    settings = Settings(home=tmp_path / "open", auth="off", principal="user:me")
    migrations.apply(settings)
    open_site = create_app(settings)
    air = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    try:
        for browser in (client, open_site.test_client()):
            assert browser.post("/datasets", json=air).status_code == 201
            response = browser.get("/datasets/air", headers=BROWSER)
            assert response.status_code == 200
            assert "Signed in as" in response.get_data(as_text=True)
            assert "Sign out" not in response.get_data(as_text=True)
            assert "Set-Cookie" not in response.headers
    finally:
        open_site.extensions["brygge"].store.close()


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example",
        "/\\evil.example",
        # Browsers drop tabs and newlines from a Location before reading it (WHATWG URL).
        "/\t/evil.example",
        "/\n/evil.example",
        "/\r\n/evil.example",
        "\t//evil.example",
        "/\x00/evil.example",
        "https://evil.example/",
    ],
)
def test_sign_in_goes_back_only_to_a_path_of_this_site(app, next_path: str) -> None:
    browser = FlaskClient(app)
    status, headers = sign_in(browser, mint(app, "user:ana"), next_path)
    assert status == 303
    assert headers["Location"] == "/"
    shown = browser.get("/sign-in", query_string={"next": next_path}, headers=BROWSER)
    assert 'name="next" value="/"' in shown.get_data(as_text=True)


def test_a_form_of_a_session_signed_out_elsewhere_says_to_open_it_again(app) -> None:
    """Reloading the answer to a refused post would only send it again, refused again."""
    browser = FlaskClient(app)
    form = browser.get("/sign-in", headers=BROWSER).get_data(as_text=True)
    sign_in(browser, mint(app, "user:ana"))  # in another tab: a new session, a new token
    token = mint(app, "user:bob")
    refused = browser.post(
        "/sign-in", data={"csrf": csrf_of(form), "token": token}, headers=BROWSER
    )
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert "open the form again" in html and "reload" not in html


def test_signing_out_again_in_another_tab_leaves_the_visitor_signed_out(app) -> None:
    browser = FlaskClient(app)
    sign_in(browser, mint(app, "user:ana"))
    csrf = csrf_of(browser.get("/", headers=BROWSER).get_data(as_text=True))
    assert browser.post("/sign-out", data={"csrf": csrf}).status_code == 303
    # The other tab still shows the Sign out button, with the session's old CSRF token.
    again = browser.post("/sign-out", data={"csrf": csrf}, headers=BROWSER)
    assert again.status_code == 303 and again.headers["Location"] == "/"
    assert "Signed in as" not in browser.get("/", headers=BROWSER).get_data(as_text=True)
    # Signed in, a sign-out without this session's token is still refused (forced sign-out).
    sign_in(browser, mint(app, "user:ana"))
    assert browser.post("/sign-out", data={"csrf": csrf}).status_code == 403
    assert "Signed in as" in browser.get("/", headers=BROWSER).get_data(as_text=True)


def cookie_of(headers: dict) -> str:
    found = re.match(r"brygge_session=([^;]+);", headers["Set-Cookie"])
    assert found is not None
    return found.group(1)


def test_the_cookie_holds_a_session_id_never_the_token(app) -> None:
    browser = FlaskClient(app)
    token = mint(app, "user:ana")
    _, headers = sign_in(browser, token)
    cookie = cookie_of(headers)

    contents = app.session_interface.get_signing_serializer(app).loads(cookie)

    assert set(contents) == {"sid", "csrf", "_permanent"}
    secret = token.rsplit("_", 1)[1]
    assert secret not in json.dumps(contents) and token.split("_")[1] not in json.dumps(contents)
    # Nor does the store hold the session's id: only its hash.
    stored = app.extensions["brygge"].store.query(Query("sessions"), limit=5).items
    assert len(stored) == 1 and contents["sid"] not in json.dumps(stored)


def test_a_copy_of_the_cookie_stops_working_once_its_session_is_signed_out(app) -> None:
    browser = FlaskClient(app)
    _, headers = sign_in(browser, mint(app, "user:ana"))
    copied = FlaskClient(app)
    copied.set_cookie("brygge_session", cookie_of(headers))
    assert "user:ana" in copied.get("/", headers=BROWSER).get_data(as_text=True)

    html = browser.get("/", headers=BROWSER).get_data(as_text=True)
    assert browser.post("/sign-out", data={"csrf": csrf_of(html)}).status_code == 303

    again = copied.get("/", headers=BROWSER).get_data(as_text=True)
    assert "user:ana" not in again and "sign in again" in again


def test_a_session_expires_after_its_lifetime(app) -> None:
    from catalogue.web.session import SESSION_LIFETIME

    browser = FlaskClient(app)
    sign_in(browser, mint(app, "user:ana"))
    assert "user:ana" in browser.get("/", headers=BROWSER).get_data(as_text=True)

    app.extensions["brygge"].clock.now += SESSION_LIFETIME

    html = browser.get("/", headers=BROWSER).get_data(as_text=True)
    assert "user:ana" not in html and "sign in again" in html


def test_a_cookie_that_held_a_token_signs_in_no_more(app) -> None:
    """Cookies made before sessions were kept on the server held the token itself."""
    token = mint(app, "user:ana")
    with app.app_context():
        forged = app.session_interface.get_signing_serializer(app).dumps({"token": token})
    browser = FlaskClient(app)
    browser.set_cookie("brygge_session", forged)

    html = browser.get("/", headers=BROWSER).get_data(as_text=True)

    assert "user:ana" not in html and "sign in again" in html


def test_signing_in_removes_sessions_that_expired_unused(app) -> None:
    from catalogue.web.session import SESSION_LIFETIME

    store = app.extensions["brygge"].store
    for _ in range(3):
        sign_in(FlaskClient(app), mint(app, "user:ana"))
    assert len(store.query(Query("sessions"), limit=10).items) == 3
    app.extensions["brygge"].clock.now += SESSION_LIFETIME

    sign_in(FlaskClient(app), mint(app, "user:bo"))

    (kept,) = store.query(Query("sessions"), limit=10).items
    assert kept["principal"] == "user:bo"


def test_a_throttled_sign_in_is_the_form_with_the_wait(app) -> None:
    from catalogue.auth.principal import FAILURES_EXTENSION
    from catalogue.auth.throttle import FAILURE_LIMIT, WINDOW_S, FailureLimiter

    app.extensions[FAILURES_EXTENSION] = FailureLimiter(
        app.extensions["brygge"].store, lambda: 1000.0
    )
    browser = FlaskClient(app)
    csrf = csrf_of(browser.get("/sign-in", headers=BROWSER).get_data(as_text=True))
    for _ in range(FAILURE_LIMIT):
        sent = browser.post("/sign-in", data={"token": "nope", "csrf": csrf, "next": "/x"})
        assert sent.status_code == 401
    refused = browser.post(
        "/sign-in", data={"token": mint(app, "user:ana"), "csrf": csrf, "next": "/x"}
    )
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(int(WINDOW_S))
    html = refused.get_data(as_text=True)
    # The sign-in form again, the reason and the wait beside the token field.
    assert '<textarea id="token" name="token"' in html
    assert 'name="next" value="/x"' in html
    error = re.search(r'<p id="token-error" class="field-error">([^<]*)</p>', html)
    assert error is not None and "Too many failed sign-ins" in error[1]
    assert f"{int(WINDOW_S)} seconds" in error[1]
    assert "429 Too Many Requests" not in html
