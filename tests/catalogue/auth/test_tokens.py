"""API tokens: the CLI, what is stored, expiry, revocation and malformed headers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from catalogue.app import create_app
from catalogue.cli import main
from catalogue.domain.tokens import parse_duration, token_hash
from catalogue.settings import Settings, SettingsError
from catalogue.store import keys
from catalogue.store.factory import open_store
from tests.fixtures.app import Clock


def brygge(capsys, *argv: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_token_lifecycle_create_list_use_revoke(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BRYGGE_HOME", str(tmp_path / "home"))
    code, out, _ = brygge(
        capsys,
        "token",
        "create",
        "--principal",
        "user:alice",
        "--team",
        "team:x",
        "--expires",
        "30d",
    )
    assert code == 0
    token = out.strip()
    assert token.startswith("brygge_")
    token_id = token.split("_")[1]

    settings = Settings.from_env()
    store = open_store(settings)
    stored = store.get(keys.TOKENS_PK, token_id)
    store.close()
    assert stored["hash"] == token_hash(token)
    assert token not in str(stored) and token.split("_", 2)[2] not in str(stored)

    code, out, _ = brygge(capsys, "token", "list")
    assert code == 0
    assert token_id in out and "user:alice" in out and "team:x" in out
    assert token.split("_", 2)[2] not in out

    app = create_app(settings)
    client = app.test_client()
    me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert (me.json["principal"], me.json["teams"]) == ("user:alice", ["team:x"])

    code, out, _ = brygge(capsys, "token", "revoke", token_id)
    assert code == 0 and "revoked" in out
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert brygge(capsys, "token", "revoke", "0000000000000000")[0] == 1
    app.extensions["brygge"].store.close()


@pytest.mark.parametrize(
    "argv",
    [
        ["--principal", "alice"],
        ["--principal", "team:x"],
        ["--principal", "user:alice", "--team", "x"],
        ["--principal", "user:alice", "--expires", "soon"],
        ["--principal", "user:alice", "--expires", "0d"],
    ],
)
def test_cli_refuses_bad_arguments(tmp_path, monkeypatch, capsys, argv) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BRYGGE_HOME", str(tmp_path / "home"))
    code, out, err = brygge(capsys, "token", "create", *argv)
    assert code == 2
    assert out == "" and err.startswith("brygge:")


def test_an_expired_token_is_401(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from catalogue.store import migrations

    settings = Settings(home=tmp_path / "home")
    migrations.apply(settings)
    clock = Clock()
    app = create_app(settings, clock=clock)
    token, _ = app.extensions["brygge"].repositories.tokens.create(
        "user:alice", expires_in=timedelta(hours=1)
    )
    client = app.test_client()
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    clock.now += timedelta(hours=1)
    assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    app.extensions["brygge"].store.close()


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token {token}",
        "Bearer {token}x",
        "Bearer brygge_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer brygge_{token_id}_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer something-else",
    ],
)
def test_malformed_or_wrong_credentials_are_401_even_on_reads(world, header) -> None:  # type: ignore[no-untyped-def]
    token = world.tokens["owner"]
    value = header.format(token=token, token_id=token.split("_")[1])
    response = world.app.test_client().get("/datasets", headers={"Authorization": value})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert token not in response.get_data(as_text=True)


def test_anonymous_callers_read_public_data_but_may_not_write(world) -> None:  # type: ignore[no-untyped-def]
    world.create_dataset("open", "public")
    anonymous = world.client("anonymous")
    assert anonymous.get("/datasets/open").status_code == 200
    for response in (
        anonymous.patch("/datasets/open", json={"title": "x"}),
        anonymous.post("/datasets", json={}),  # refused before the body is even validated
        anonymous.delete("/datasets/open"),
        anonymous.delete("/datasets/never-was"),  # and without telling what exists
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="brygge"'


def test_with_auth_off_every_request_acts_as_the_configured_principal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from catalogue.store import migrations

    settings = Settings(home=tmp_path / "home", auth="off", principal="user:me")
    migrations.apply(settings)
    app = create_app(settings)
    client = app.test_client()
    created = client.post(
        "/datasets",
        json={"id": "x", "title": "X", "accessRights": "non-public", "owner": "team:any"},
    )
    assert created.status_code == 201
    assert client.get("/me").json["principal"] == "user:me"
    history = client.get("/datasets/x/history").json["items"]
    assert history[0]["principal"] == "user:me"
    app.extensions["brygge"].store.close()


def test_brygge_auth_must_be_on_or_off() -> None:
    assert Settings.from_env({}).auth == "on"
    assert Settings.from_env({"BRYGGE_AUTH": "off"}).auth == "off"
    with pytest.raises(SettingsError, match="BRYGGE_AUTH"):
        Settings.from_env({"BRYGGE_AUTH": "maybe"})
    with pytest.raises(SettingsError, match="BRYGGE_OIDC_ISSUER"):
        Settings.from_env({"BRYGGE_OIDC_JWKS_URL": "https://idp.example.org/certs"})


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("45s", 45)]
)
def test_durations(text, seconds) -> None:  # type: ignore[no-untyped-def]
    assert parse_duration(text) == timedelta(seconds=seconds)
