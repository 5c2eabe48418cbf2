"""Owner actions in forms: edit with If-Match, set a pipeline, upload, rerun/abort, grants."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from catalogue.repositories.tokens import TokenRepository
from catalogue.services import utc_now
from tests.catalogue.web.test_session import BROWSER, csrf_of, mint, minted, sign_in

TWO_STEPS = {
    "StartAt": "ToParquet",
    "States": {
        "ToParquet": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "Next": "Publish"},
        "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
    },
}


def owner(app: Flask, client: FlaskClient, **fields: object) -> FlaskClient:
    """A signed-in browser of user:ana, member of the owner team of dataset ``air``."""
    body = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo", **fields}
    assert client.post("/datasets", json=body).status_code == 201
    browser = FlaskClient(app)
    sign_in(browser, mint(app, "user:ana", "team:miljo"))
    return browser


def form_of(browser: FlaskClient, url: str) -> tuple[str, dict[str, str]]:
    html = browser.get(url, headers=BROWSER).get_data(as_text=True)
    return html, inputs_of(html)


def inputs_of(html: str) -> dict[str, Any]:
    """The values of a page's inputs, as a browser would send them (entities decoded).

    Ticked boxes of one name make a list of their values; boxes not ticked send nothing.
    """
    fields: dict[str, Any] = dict(
        re.findall(r'<input (?![^>]*type="checkbox")[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html)
    )
    fields.update(
        (name, value)
        for name, value in re.findall(
            r'<input id="[^"]+" name="([^"]+)" type="[a-z]+" value="([^"]*)"', html
        )
    )
    fields.update(
        re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S)
    )
    for name, options in re.findall(
        r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', html, re.S
    ):
        chosen = re.findall(r'<option value="([^"]*)" selected>', options)
        fields[name] = (chosen or re.findall(r'<option value="([^"]*)"', options))[0]
    found: dict[str, Any] = {name: unescape(value) for name, value in fields.items()}
    for name, value in re.findall(
        r'<input type="checkbox"[^>]* name="([^"]+)" value="([^"]*)" checked>', html
    ):
        found.setdefault(name, []).append(unescape(value))
    return found


def test_editing_saves_a_merge_patch_of_the_changed_fields(app, client) -> None:
    browser = owner(app, client, keywords=["luft"], description="Old")
    _, fields = form_of(browser, "/datasets/air/edit")
    fields.update(title="Air quality", keywords="luft\nair", description="New text")
    saved = browser.post("/datasets/air/edit", data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert saved.headers["Location"] == "/datasets/air"
    dataset = client.get("/datasets/air").json
    assert (dataset["title"], dataset["keywords"], dataset["description"]) == (
        "Air quality",
        ["luft", "air"],
        "New text",
    )
    history = client.get("/datasets/air/history").json["items"]
    assert history[0]["principal"] == "user:ana"
    assert set(history[0]["changes"]) == {"title", "keywords", "description"}


def test_a_stale_form_shows_both_versions_and_saves_nothing(app, client) -> None:
    browser = owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    assert client.patch("/datasets/air", json={"title": "Theirs"}).status_code == 200
    fields["title"] = "Mine"
    conflict = browser.post("/datasets/air/edit", data=fields)
    assert conflict.status_code == 412
    html = conflict.get_data(as_text=True)
    assert '<td class="yours" data-label="Yours">Mine</td>' in html
    assert '<td class="theirs" data-label="Saved now">Theirs</td>' in html
    assert client.get("/datasets/air").json["title"] == "Theirs"
    # Saving again, from the conflict page, knowingly replaces theirs.
    again = inputs_of(html)
    saved = browser.post("/datasets/air/edit", data={**fields, **again})
    assert saved.status_code == 303
    assert client.get("/datasets/air").json["title"] == "Mine"


def test_a_bad_value_is_shown_next_to_its_field(app, client) -> None:
    browser = owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    fields.update(contactEmail="not-an-address", themes="NOPE")
    refused = browser.post("/datasets/air/edit", data=fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'id="contactEmail-error" class="field-error">[^<]*email', html, re.I)
    assert 'id="themes-error"' in html
    assert client.get("/datasets/air").json.get("contactPoint") is None


def test_only_editors_get_the_edit_form(app, client) -> None:
    assert (
        client.post(
            "/datasets",
            json={"id": "air", "title": "Air", "accessRights": "public", "owner": "team:x"},
        ).status_code
        == 201
    )
    anonymous = FlaskClient(app)
    assert anonymous.get("/datasets/air/edit", headers=BROWSER).status_code == 401
    stranger = FlaskClient(app)
    sign_in(stranger, mint(app, "user:bob", "team:other"))
    assert stranger.get("/datasets/air/edit", headers=BROWSER).status_code == 403
    html = stranger.get("/", headers=BROWSER).get_data(as_text=True)
    assert (
        stranger.post("/datasets/air/edit", data={"csrf": csrf_of(html), "title": "x"}).status_code
        == 403
    )
    assert client.get("/datasets/air").json["title"] == "Air"


def test_a_pipeline_with_an_error_names_it_beside_the_state(app, client) -> None:
    browser = owner(app, client)
    template = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
    assert client.post("/pipelines", json=template).status_code == 201
    form = browser.get("/datasets/air/pipeline/edit?template=csv-to-parquet", headers=BROWSER)
    html = form.get_data(as_text=True)
    assert 'name="config.ToParquet"' in html and 'name="config.Publish"' in html
    refused = browser.post(
        "/datasets/air/pipeline/edit",
        data={
            "csrf": csrf_of(html),
            "template": "csv-to-parquet",
            "config.ToParquet": '{"delimeter": ";"}',
            "config.Publish": "",
        },
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    problems = re.search(
        r'<ul id="config-1-error" class="field-error" data-state="ToParquet">(.*?)</ul>', page, re.S
    )
    assert problems is not None and "delimeter" in problems.group(1)
    assert client.get("/datasets/air/pipeline").status_code == 404
    saved = browser.post(
        "/datasets/air/pipeline/edit",
        data={
            "csrf": csrf_of(html),
            "template": "csv-to-parquet",
            "config.ToParquet": '{"delimiter": ";"}',
        },
    )
    assert saved.status_code == 303, saved.get_data(as_text=True)[:1500]
    pipeline = client.get("/datasets/air/pipeline").json
    assert pipeline["taskConfig"] == {"ToParquet": {"delimiter": ";"}}


def test_not_json_is_a_problem_of_its_state(app, client) -> None:
    browser = owner(app, client)
    template = {"id": "csv-to-parquet", "title": "CSV", "definition": TWO_STEPS}
    assert client.post("/pipelines", json=template).status_code == 201
    html = browser.get("/datasets/air/pipeline/edit", headers=BROWSER).get_data(as_text=True)
    refused = browser.post(
        "/datasets/air/pipeline/edit",
        data={"csrf": csrf_of(html), "template": "csv-to-parquet", "config.ToParquet": "{oops"},
    )
    assert refused.status_code == 422
    assert "not JSON" in refused.get_data(as_text=True)


def test_the_upload_url_comes_from_the_form_with_its_run(app, client) -> None:
    browser = owner(app, client)
    html = browser.get("/datasets/air/upload", headers=BROWSER).get_data(as_text=True)
    assert '<progress id="progress"' in html
    answer = browser.post(
        "/datasets/air/uploads",
        data={
            "csrf": csrf_of(html),
            "filename": "values.csv",
            "size": "12",
            "contentType": "text/csv",
        },
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)[:1000]
    body = answer.json
    assert body["upload"]["url"].startswith("http://localhost/uploads/")
    assert body["runPage"] == f"/runs/{body['run']['id']}"
    assert client.get(f"/runs/{body['run']['id']}").json["status"] == "WAITING"
    refused = browser.post(
        "/datasets/air/uploads",
        data={"csrf": csrf_of(html), "filename": "../x.csv"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 422
    assert refused.json["errors"]["json"]["filename"]


def test_grants_are_managed_by_admins_of_the_dataset(app, client) -> None:
    browser = owner(app, client)
    html = browser.get("/datasets/air/grants", headers=BROWSER).get_data(as_text=True)
    assert "team:miljo" in html
    saved = browser.post(
        "/datasets/air/grants",
        data={"csrf": csrf_of(html), "principal": "user:bob", "scopes": ["read", "update"]},
    )
    assert saved.status_code == 303
    grants = {
        g["principal"]: g["scopes"] for g in client.get("/datasets/air/permissions").json["items"]
    }
    assert grants["user:bob"] == ["read", "update"]
    refused = browser.post(
        "/datasets/air/grants", data={"csrf": csrf_of(html), "principal": "bob", "scopes": ["read"]}
    )
    assert refused.status_code == 422
    assert 'id="principal-error"' in refused.get_data(as_text=True)
    removed = browser.post(
        "/datasets/air/grants", data={"csrf": csrf_of(html), "principal": "user:bob"}
    )
    assert removed.status_code == 303
    assert "user:bob" not in {
        g["principal"] for g in client.get("/datasets/air/permissions").json["items"]
    }


def test_a_failed_run_is_rerun_from_its_page(app, client, failed_run) -> None:
    reader = FlaskClient(app).get(f"/runs/{failed_run}", headers=BROWSER).get_data(as_text=True)
    assert "rerun-form" not in reader
    browser = FlaskClient(app)
    sign_in(browser, app.config["SITE_ADMIN_TOKEN"])
    html = browser.get(f"/runs/{failed_run}", headers=BROWSER).get_data(as_text=True)
    assert "Rerun with the current pipeline" in html
    answer = browser.post(f"/runs/{failed_run}/rerun-form", data={"csrf": csrf_of(html)})
    assert answer.status_code == 303
    new_run = answer.headers["Location"].rsplit("/", 1)[1]
    assert app.extensions["brygge"].runs.wait_idle(timeout_s=60)
    assert client.get(f"/runs/{new_run}").json["rerunOf"] == failed_run


def test_saving_one_field_leaves_the_untouched_ones_as_they_were(app, client) -> None:
    browser = owner(
        app,
        client,
        keywords=["Oslo, Norway", "air"],
        description="Hourly values.\n\nFrom 12 stations.",
    )
    html, fields = form_of(browser, "/datasets/air/edit")
    description = unescape(
        re.search(r'<textarea id="description"[^>]*>(.*?)</textarea>', html, re.S)[1]
    )
    # A browser sends a textarea's line breaks as CRLF (HTML's form submission).
    fields.update(title="Air quality", description=description.replace("\n", "\r\n"))
    saved = browser.post("/datasets/air/edit", data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    dataset = client.get("/datasets/air").json
    assert dataset["title"] == "Air quality"
    assert dataset["keywords"] == ["Oslo, Norway", "air"]
    assert dataset["description"] == "Hourly values.\n\nFrom 12 stations."


def test_a_typed_description_is_saved_with_its_line_breaks_as_newlines(app, client) -> None:
    browser = owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    fields.update(description="First line\r\nsecond line\r\n")
    assert browser.post("/datasets/air/edit", data=fields).status_code == 303
    assert client.get("/datasets/air").json["description"] == "First line\nsecond line"


def test_a_refused_grant_keeps_the_principal_and_scopes_it_was_given(app, client) -> None:
    browser = owner(app, client)
    html = browser.get("/datasets/air/grants", headers=BROWSER).get_data(as_text=True)
    form = {"csrf": csrf_of(html), "principal": "usr:<b>bob</b>", "scopes": ["update", "write"]}
    refused = browser.post("/datasets/air/grants", data=form)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'value="usr:&lt;b&gt;bob&lt;/b&gt;"' in page
    ticked = re.findall(r'<input type="checkbox" name="scopes" value="([a-z]+)" checked>', page)
    assert ticked == ["update", "write"]


def test_a_typed_keyword_may_hold_a_comma_one_keyword_a_line(app, client) -> None:
    browser = owner(app, client, keywords=["luft"], themes=["ENVI"])
    html, fields = form_of(browser, "/datasets/air/edit")
    # One keyword a line, as the form shows them: a comma is part of a keyword.
    assert re.search(r'<textarea id="keywords" name="keywords"[^>]*>luft</textarea>', html)
    assert 'aria-describedby="keywords-hint"' in html  # the rule is read with the field
    assert re.search(r'<small id="keywords-hint">One keyword a line', html)
    fields.update(keywords="luft\r\nOslo, Norway\r\n\r\n  air quality \r\n", themes="ENVI, TRAN")
    saved = browser.post("/datasets/air/edit", data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    dataset = client.get("/datasets/air").json
    assert dataset["keywords"] == ["luft", "Oslo, Norway", "air quality"]
    assert dataset["themes"] == ["ENVI", "TRAN"]  # codes, still separated by commas
    html, _ = form_of(browser, "/datasets/air/edit")
    assert ">luft\nOslo, Norway\nair quality</textarea>" in html


LONG_TEXT = "Hourly values of NO2, PM10 and PM2.5 from twelve stations.\r\n\r\n" * 40


def test_a_save_after_the_sign_in_ended_keeps_the_text_and_saves_it_after_signing_in(
    app, client
) -> None:
    body = {"id": "air", "title": "Air", "accessRights": "non-public", "owner": "team:miljo"}
    assert client.post("/datasets", json=body).status_code == 201
    browser = FlaskClient(app)
    token, record = minted(app, "user:ana", "team:miljo")
    sign_in(browser, token)
    _, fields = form_of(browser, "/datasets/air/edit")
    TokenRepository(app.extensions["brygge"].store, utc_now).revoke(record["id"])
    fields.update(title="Air quality", description=LONG_TEXT)
    kept = browser.post("/datasets/air/edit", data=fields)
    assert kept.status_code == 401
    html = kept.get_data(as_text=True)
    assert "Your sign-in has ended" in html and "nothing is saved yet" in html
    again = inputs_of(html)
    # What was typed, as typed; the ETag the form was read with (a save since is a conflict).
    assert again["description"] == LONG_TEXT.replace("\r\n", "\n")
    assert again["title"] == "Air quality"
    assert again["etag"] == fields["etag"]
    assert re.search(r'<input id="token" name="token" type="password"[^>]* autofocus', html)
    assert client.get("/datasets/air").json.get("description") is None
    # A wrong token: the text stays, the reason is beside the token field.
    refused = browser.post("/datasets/air/edit", data={**again, "token": "brygge_wrong"})
    assert refused.status_code == 401
    html = refused.get_data(as_text=True)
    assert re.search(r'id="token-error" class="field-error">[^<]*unknown', html)
    assert inputs_of(html)["description"] == LONG_TEXT.replace("\r\n", "\n")
    # A token that may not edit the dataset: the same, and nothing is saved.
    other = mint(app, "user:bob", "team:other")
    refused = browser.post("/datasets/air/edit", data={**inputs_of(html), "token": other})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert re.search(r'id="token-error" class="field-error">[^<]*may not edit', html)
    assert inputs_of(html)["description"] == LONG_TEXT.replace("\r\n", "\n")
    assert client.get("/datasets/air").json.get("description") is None
    # A new token of the owner signs in and saves, in one step.
    fresh = mint(app, "user:ana", "team:miljo")
    saved = browser.post("/datasets/air/edit", data={**inputs_of(html), "token": fresh})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    dataset = client.get("/datasets/air").json
    assert (dataset["title"], dataset["description"]) == (
        "Air quality",
        LONG_TEXT.replace("\r\n", "\n").strip(),
    )
    assert client.get("/datasets/air/history").json["items"][0]["principal"] == "user:ana"
    assert "Signed in as <strong>user:ana</strong>" in browser.get("/", headers=BROWSER).get_data(
        as_text=True
    )


def test_an_anonymous_save_learns_nothing_of_the_dataset(app, client) -> None:
    body = {"id": "air", "title": "Secret air", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=body).status_code == 201
    anonymous = FlaskClient(app)
    csrf = csrf_of(anonymous.get("/sign-in", headers=BROWSER).get_data(as_text=True))
    for dataset_id in ("air", "no-such-dataset"):
        answer = anonymous.post(f"/datasets/{dataset_id}/edit", data={"csrf": csrf, "title": "x"})
        assert answer.status_code == 401
        assert "Secret air" not in answer.get_data(as_text=True)
    assert anonymous.post("/datasets/air/edit", data={"title": "x"}).status_code == 403  # no CSRF
    assert client.get("/datasets/air").json["title"] == "Secret air"


def test_fields_of_a_closed_list_are_chosen_from_it(app, client) -> None:
    browser = owner(app, client, language="nb", accrualPeriodicity="MONTHLY")
    html, fields = form_of(browser, "/datasets/air/edit")

    def options(name: str) -> list[tuple[str, str, bool]]:
        select = re.search(rf'<select id="{name}" name="{name}"[^>]*>(.*?)</select>', html, re.S)
        assert select is not None, name
        found = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', select[1])
        return [(value, label, bool(chosen)) for value, chosen, label in found]

    assert options("state") == [("active", "active", True), ("deprecated", "deprecated", False)]
    assert ("nb", "nb — Norwegian Bokmål", True) in options("language")
    assert options("language")[0] == ("", "none given", False)
    frequencies = options("accrualPeriodicity")
    # Frequencies are stored as EU codes and shown by their words.
    assert ("DAILY", "daily", False) in frequencies
    assert ("MONTHLY", "monthly", True) in frequencies
    assert len(frequencies) == len({value for value, _, _ in frequencies})
    fields.update(language="nn", accrualPeriodicity="WEEKLY", state="deprecated")
    saved = browser.post("/datasets/air/edit", data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    dataset = client.get("/datasets/air").json
    assert (dataset["language"], dataset["accrualPeriodicity"], dataset["state"]) == (
        "nn",
        "WEEKLY",
        "deprecated",
    )


@pytest.mark.parametrize(
    ("code", "word"), [("TRIENNIAL", "triennial"), ("BIENNIAL", "biennial"), ("OTHER", "other")]
)
def test_every_accepted_frequency_is_offered_and_kept_by_a_save(app, client, code, word) -> None:  # type: ignore[no-untyped-def]
    browser = owner(app, client, accrualPeriodicity=code)
    html, fields = form_of(browser, "/datasets/air/edit")

    assert f'<option value="{code}" selected>{word}</option>' in html
    # The form showed "none given" chosen for these; saving another field keeps the code.
    saved = browser.post("/datasets/air/edit", data={**fields, "title": "Air 2"})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    dataset = client.get("/datasets/air").json
    assert (dataset["title"], dataset["accrualPeriodicity"]) == ("Air 2", code)


def test_a_title_cleared_is_refused_in_words_of_the_form(app, client) -> None:
    browser = owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    fields["title"] = "  "
    refused = browser.post("/datasets/air/edit", data=fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    # A form has no null: the field was left empty.
    error = r'id="title-error" class="field-error">Required: it may not be left empty'
    assert re.search(error, html)
    assert "null" not in html
    assert client.get("/datasets/air").json["title"] == "Air"


def test_a_form_with_an_empty_token_field_saves_for_a_visitor_signed_in(app, client) -> None:
    browser = owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    # The form of an ended sign-in, sent once the visitor is signed in again, token left empty.
    saved = browser.post("/datasets/air/edit", data={**fields, "title": "Air 2", "token": " "})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert client.get("/datasets/air").json["title"] == "Air 2"


OPTIONS = '{\r\n  "delimiter": ";",\r\n  "decimalChar": ",",\r\n  "encoding": "latin-1"\r\n}'


def revoked_owner(app: Flask, client: FlaskClient) -> tuple[FlaskClient, str]:
    """A browser of user:ana, owner of the non-public dataset ``air``, and her token's id."""
    body = {"id": "air", "title": "Air", "accessRights": "non-public", "owner": "team:miljo"}
    assert client.post("/datasets", json=body).status_code == 201
    browser = FlaskClient(app)
    token, record = minted(app, "user:ana", "team:miljo")
    sign_in(browser, token)
    return browser, record["id"]


def revoke(app: Flask, token_id: str) -> None:
    TokenRepository(app.extensions["brygge"].store, utc_now).revoke(token_id)


def test_a_pipeline_saved_after_the_sign_in_ended_keeps_its_options(app, client) -> None:
    browser, token_id = revoked_owner(app, client)
    template = {"id": "csv-to-parquet", "title": "CSV to Parquet", "definition": TWO_STEPS}
    assert client.post("/pipelines", json=template).status_code == 201
    html, _ = form_of(browser, "/datasets/air/pipeline/edit?template=csv-to-parquet")
    revoke(app, token_id)
    typed = {"csrf": csrf_of(html), "template": "csv-to-parquet", "config.ToParquet": OPTIONS}
    kept = browser.post("/datasets/air/pipeline/edit", data=typed)
    assert kept.status_code == 401
    html = kept.get_data(as_text=True)
    assert "Your sign-in has ended" in html and "nothing is saved yet" in html
    again = inputs_of(html)
    assert again["config.ToParquet"] == OPTIONS.replace("\r\n", "\n")
    assert again["template"] == "csv-to-parquet"
    # Another template chosen is not fetched while signed out: it would replace the form.
    assert re.search(r'<select id="template" name="template"\s*>', html)
    assert re.search(r'<input id="token" name="token" type="password"[^>]* autofocus', html)
    assert client.get("/datasets/air/pipeline").status_code == 404
    # A token that may not set it: the options stay, nothing is saved.
    other = mint(app, "user:bob", "team:other")
    refused = browser.post("/datasets/air/pipeline/edit", data={**again, "token": other})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert re.search(r'id="token-error" class="field-error">[^<]*may not set the pipeline', html)
    assert inputs_of(html)["config.ToParquet"] == OPTIONS.replace("\r\n", "\n")
    assert client.get("/datasets/air/pipeline").status_code == 404
    # The owner's new token signs in and saves, in one step.
    fresh = mint(app, "user:ana", "team:miljo")
    saved = browser.post("/datasets/air/pipeline/edit", data={**inputs_of(html), "token": fresh})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    pipeline = client.get("/datasets/air/pipeline").json
    assert pipeline["taskConfig"] == {
        "ToParquet": {"delimiter": ";", "decimalChar": ",", "encoding": "latin-1"}
    }


def test_a_grant_saved_after_the_sign_in_ended_keeps_what_was_typed(app, client) -> None:
    browser, token_id = revoked_owner(app, client)
    granted = client.put("/datasets/air/permissions/user:kari", json={"scopes": ["read"]})
    assert granted.status_code in (200, 201)
    html, _ = form_of(browser, "/datasets/air/grants")
    assert "user:kari" in html
    revoke(app, token_id)
    typed = {"csrf": csrf_of(html), "principal": "team:analytics", "scopes": ["read", "write"]}
    kept = browser.post("/datasets/air/grants", data=typed)
    assert kept.status_code == 401
    html = kept.get_data(as_text=True)
    assert "Your sign-in has ended" in html
    assert 'name="principal" value="team:analytics"' in html
    checked = re.findall(r'name="scopes" value="([a-z]+)" checked', html)
    assert checked == ["read", "write"]
    assert "user:kari" not in html  # the grants are not shown to a visitor not signed in
    other = mint(app, "user:bob", "team:other")
    refused = browser.post("/datasets/air/grants", data={**typed, "token": other})
    assert refused.status_code == 403
    html = refused.get_data(as_text=True)
    assert "may not grant access to this dataset" in html
    fresh = mint(app, "user:ana", "team:miljo")
    typed["csrf"] = csrf_of(html)  # signing in begins a new session
    saved = browser.post("/datasets/air/grants", data={**typed, "token": fresh})
    assert saved.status_code == 303
    grants = {
        g["principal"]: g["scopes"] for g in client.get("/datasets/air/permissions").json["items"]
    }
    assert grants["team:analytics"] == ["read", "write"]


def test_an_anonymous_pipeline_or_grant_learns_nothing_of_the_dataset(app, client) -> None:
    body = {"id": "air", "title": "Secret air", "accessRights": "non-public", "owner": "team:x"}
    assert client.post("/datasets", json=body).status_code == 201
    assert client.put(
        "/datasets/air/permissions/user:hidden", json={"scopes": ["read"]}
    ).status_code in (200, 201)
    anonymous = FlaskClient(app)
    csrf = csrf_of(anonymous.get("/sign-in", headers=BROWSER).get_data(as_text=True))
    for dataset_id in ("air", "no-such-dataset"):
        for url, form in (
            (f"/datasets/{dataset_id}/pipeline/edit", {"template": "x", "config.A": "{}"}),
            (f"/datasets/{dataset_id}/grants", {"principal": "user:eve", "scopes": ["admin"]}),
        ):
            answer = anonymous.post(url, data={"csrf": csrf, **form})
            assert answer.status_code == 401
            text = answer.get_data(as_text=True)
            assert "Secret air" not in text and "user:hidden" not in text and "team:x" not in text
    assert "user:eve" not in str(client.get("/datasets/air/permissions").json)
    assert client.get("/datasets/air/pipeline").status_code == 404


def test_a_form_saved_with_a_token_while_throttled_keeps_what_was_typed(app, client) -> None:
    from catalogue.auth.principal import FAILURES_EXTENSION
    from catalogue.auth.throttle import FAILURE_LIMIT, WINDOW_S, FailureLimiter

    app.extensions[FAILURES_EXTENSION] = FailureLimiter(
        app.extensions["brygge"].store, lambda: 1000.0
    )
    browser, token_id = revoked_owner(app, client)
    _, fields = form_of(browser, "/datasets/air/edit")
    revoke(app, token_id)
    for _ in range(FAILURE_LIMIT):
        wrong = {**fields, "description": LONG_TEXT, "token": "brygge_wrong"}
        assert browser.post("/datasets/air/edit", data=wrong).status_code == 401
    fresh = mint(app, "user:ana", "team:miljo")
    kept = browser.post(
        "/datasets/air/edit", data={**fields, "description": LONG_TEXT, "token": fresh}
    )
    assert kept.status_code == 429
    assert kept.headers["Retry-After"] == str(int(WINDOW_S))
    html = kept.get_data(as_text=True)
    assert inputs_of(html)["description"] == LONG_TEXT.replace("\r\n", "\n")
    error = re.search(r'id="token-error" class="field-error">([^<]*)<', html)
    assert error is not None and f"try again in {int(WINDOW_S)} seconds" in error[1]
    assert client.get("/datasets/air").json.get("description") is None


HTMX_FORM = {"HX-Request": "true", "HX-Target": "pipeline-form", "HX-Current-URL": "http://x/"}


def test_choosing_another_template_keeps_the_options_typed(app, client) -> None:
    browser, token_id = revoked_owner(app, client)
    for template_id in ("csv-to-parquet", "csv-checked"):
        template = {"id": template_id, "title": template_id, "definition": TWO_STEPS}
        assert client.post("/pipelines", json=template).status_code == 201
    html, _ = form_of(browser, "/datasets/air/pipeline/edit?template=csv-to-parquet")
    # Choosing a template posts the whole form (its options, its CSRF token) for its states.
    select = re.search(r'<select id="template" name="template"([^>]*)>', html)
    assert select is not None
    assert 'hx-post="/datasets/air/pipeline/edit"' in select[1]
    assert 'hx-vals=\'{"show": "options"}\'' in select[1]
    typed = {
        "csrf": csrf_of(html),
        "template": "csv-checked",
        "config.ToParquet": OPTIONS,
        "show": "options",
    }
    shown = browser.post("/datasets/air/pipeline/edit", data=typed, headers=HTMX_FORM)
    assert shown.status_code == 200
    fragment = shown.get_data(as_text=True)
    assert fragment.lstrip().startswith('<form id="pipeline-form"')
    assert inputs_of(fragment)["config.ToParquet"] == OPTIONS.replace("\r\n", "\n")
    assert inputs_of(fragment)["template"] == "csv-checked"
    assert client.get("/datasets/air/pipeline").status_code == 404  # nothing saved
    # The sign-in ended meanwhile: the form comes back as typed, asking for a token.
    revoke(app, token_id)
    kept = browser.post(
        "/datasets/air/pipeline/edit",
        data={**typed, "template": "csv-to-parquet"},
        headers=HTMX_FORM,
    )
    assert kept.status_code == 401
    assert (kept.headers["HX-Retarget"], kept.headers["HX-Reswap"]) == ("main", "innerHTML")
    content = kept.get_data(as_text=True)
    assert "Your sign-in has ended" in content and "<html" not in content
    assert inputs_of(content)["config.ToParquet"] == OPTIONS.replace("\r\n", "\n")
    assert inputs_of(content)["template"] == "csv-to-parquet"
    assert 'id="token"' in content


def test_themes_are_chosen_from_the_eu_data_themes_by_name(app, client) -> None:
    browser = owner(app, client, themes=["ENVI"])
    html, fields = form_of(browser, "/datasets/air/edit")
    group = re.search(r'<fieldset id="themes"[^>]*>(.*?)</fieldset>', html, re.S)
    assert group is not None
    assert re.search(r"<legend>Themes</legend>", group[1])
    boxes = re.findall(
        r'<input type="checkbox" id="(theme-[A-Z]+)" name="themes" value="([A-Z]+)"( checked)?>'
        r'\s*<label for="\1">([^<]+)</label>',
        group[1],
    )
    assert len(boxes) == 13
    assert ("theme-ENVI", "ENVI", " checked", "Environment (ENVI)") in boxes
    assert ("theme-TRAN", "TRAN", "", "Transport (TRAN)") in boxes
    assert [label for *_, label in boxes] == sorted(label for *_, label in boxes)
    assert fields["themes"] == ["ENVI"]
    saved = browser.post("/datasets/air/edit", data={**fields, "themes": ["TRAN", "ENVI"]})
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert client.get("/datasets/air").json["themes"] == ["TRAN", "ENVI"]
    # None ticked removes them (a browser sends no field for no box ticked).
    _, fields = form_of(browser, "/datasets/air/edit")
    del fields["themes"]
    saved = browser.post("/datasets/air/edit", data=fields)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:2000]
    assert client.get("/datasets/air").json.get("themes") in (None, [])


def test_taking_admin_from_the_last_admin_is_said_beside_the_scopes_tied_to_them(
    app, client
) -> None:
    browser = owner(app, client)
    html = browser.get("/datasets/air/grants", headers=BROWSER).get_data(as_text=True)
    form = {"csrf": csrf_of(html), "principal": "team:miljo", "scopes": ["read", "update"]}
    refused = browser.post("/datasets/air/grants", data=form)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    # The form comes back as it was sent, the reason read with the scopes' group.
    assert 'value="team:miljo"' in page
    ticked = re.findall(r'<input type="checkbox" name="scopes" value="([a-z]+)" checked>', page)
    assert ticked == ["read", "update"]
    group = re.search(r"<fieldset ([^>]*)><legend>Scopes", page)
    assert group is not None and 'aria-describedby="scopes-error"' in group[1]
    error = re.search(r'<p id="scopes-error" class="field-error">([^<]*)</p>', page)
    assert error is not None and "last admin" in error[1]
    assert client.get("/datasets/air/permissions").json["items"][0]["scopes"] == [
        "read",
        "update",
        "write",
        "admin",
    ]


def test_removing_a_grant_nobody_holds_is_said_beside_the_principal(app, client) -> None:
    browser = owner(app, client)
    html = browser.get("/datasets/air/grants", headers=BROWSER).get_data(as_text=True)
    refused = browser.post(
        "/datasets/air/grants", data={"csrf": csrf_of(html), "principal": "user:nobody"}
    )
    assert refused.status_code == 404
    page = refused.get_data(as_text=True)
    # The form comes back with what was typed, the reason read with the principal.
    assert re.search(
        r'<input id="principal" name="principal" value="user:nobody"[^>]*'
        r'aria-invalid="true" aria-describedby="principal-error">',
        page,
    )
    error = re.search(r'<p id="principal-error" class="field-error">([^<]*)</p>', page)
    assert error is not None and "holds no grant" in error[1]
