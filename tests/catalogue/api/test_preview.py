"""``GET .../distributions/{d}/preview``: what publishing computed, with the read check."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

EDITION = "20260102T030405"
BROWSER = {"Accept": "text/html,*/*;q=0.8"}
PREVIEW = {
    "rowCount": 2,
    "rows": [["Alna", 1.5], ["Bygdøy", None]],
    "statistics": {
        "station": {
            "nonNull": 2,
            "distinct": 2,
            "distinctIsApproximate": False,
            "min": "Alna",
            "max": "Bygdøy",
            "top": [{"value": "Alna", "count": 1}],
        },
        "value": {
            "nonNull": 1,
            "distinct": 1,
            "distinctIsApproximate": False,
            "min": 1.5,
            "max": 1.5,
            "mean": 1.5,
        },
    },
}
SCHEMA = {"fields": [{"name": "station", "type": "string"}, {"name": "value", "type": "number"}]}


def published(app: Flask, client: FlaskClient, access_rights: str = "public") -> str:
    """A dataset ``air`` with a distribution as publishing registers it; its preview URL."""
    body = {"id": "air", "title": "Air", "accessRights": access_rights, "owner": "team:miljo"}
    assert client.post("/datasets", json=body).status_code == 201
    assert (
        client.post("/datasets/air/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    repositories = app.extensions["brygge"].repositories
    made = repositories.distributions.create(
        ["air", "1", EDITION],
        {"filenames": ["air.parquet"], "format": "Parquet", "schema": SCHEMA, "preview": PREVIEW},
        principal="user:pipeline",
    )
    return f"/datasets/air/versions/1/editions/{EDITION}/distributions/{made['id']}"


def test_the_preview_is_served_beside_the_distribution(app, client) -> None:
    url = published(app, client)
    preview = client.get(f"{url}/preview")
    assert preview.status_code == 200
    assert preview.json == {"schema": SCHEMA, **PREVIEW}
    # The distribution itself stays small: its preview has its own URL.
    assert "preview" not in client.get(url).json


def test_a_distribution_without_preview_is_404(app, client) -> None:
    published(app, client)
    other = client.post(
        f"/datasets/air/versions/1/editions/{EDITION}/distributions",
        json={"filenames": ["notes.pdf"], "format": "PDF"},
    )
    answer = client.get(
        f"/datasets/air/versions/1/editions/{EDITION}/distributions/{other.json['id']}/preview"
    )
    assert answer.status_code == 404
    assert "has no preview" in answer.json["message"]


def test_a_hidden_datasets_preview_is_404(app, client) -> None:
    url = published(app, client, "non-public")
    assert FlaskClient(app).get(f"{url}/preview").status_code == 404


def test_the_dataset_page_shows_rows_and_statistics(app, client) -> None:
    published(app, client)
    html = client.get("/datasets/air", headers=BROWSER).get_data(as_text=True)
    assert '<table class="data preview-rows">' in html
    assert "<td>Bygdøy</td><td></td>" in html
    assert "Alna (1)" in html and "<td>1.5</td>" in html
