"""Hostile request bodies: deep nesting, lone surrogates, control characters; the feed's
robustness against whatever is stored; error headers."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from catalogue.api.bodies import MAX_JSON_DEPTH, BodyError, parse_json
from catalogue.api.lazy_routes import RESOURCES
from catalogue.api.smorest import Blueprint
from catalogue.settings import Settings
from catalogue.store import keys
from catalogue.store.base import Put
from tests.fixtures.app import catalog_settings

BASE_URL = "https://data.example.no/api"
JSON = {"Content-Type": "application/json"}
DATASET = {
    "title": "Luftkvalitet",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Miljøteamet", "email": "miljo@example.no"},
    "themes": ["ENVI"],
    "keywords": ["air"],
    "license": "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0",
    "language": "nb",
    "accrualPeriodicity": "daily",
}
TEMPLATE = {
    "id": "passes",
    "title": "Passes",
    "definition": {
        "StartAt": "Load",
        "States": {"Load": {"Type": "Task", "Resource": "brygge:step:csv_to_parquet", "End": True}},
    },
}
RDF_SYNTAX = {"json-ld": "json-ld", "turtle": "turtle", "rdf-xml": "xml"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return catalog_settings(tmp_path / "home", BASE_URL)


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep, as text (json.dumps would recurse)."""
    return "[" * depth + "]" * depth


def create(client: FlaskClient, dataset_id: str = "air") -> None:
    response = client.post("/datasets", json={**DATASET, "id": dataset_id})
    assert response.status_code == 201, response.json


def with_pipeline(client: FlaskClient) -> None:
    create(client)
    assert client.post("/pipelines", json=TEMPLATE).status_code == 201


def deep_bodies() -> dict[str, tuple[str, str, str]]:
    """Bodies with an array nested 10,000 levels where ``"@"`` stands."""
    pass_state = {"Type": "Pass", "Result": "@", "End": True}
    bodies = {
        "dataset keywords": ("POST", "/datasets", {**DATASET, "keywords": "@"}),
        "pipeline taskConfig": (
            "PUT",
            "/datasets/air/pipeline",
            {"template": "passes", "taskConfig": {"Load": {"x": "@"}}},
        ),
        "template Result": (
            "POST",
            "/pipelines",
            {**TEMPLATE, "id": "deep", "definition": {"StartAt": "P", "States": {"P": pass_state}}},
        ),
    }
    deep = nested(10_000)
    texts = {
        case: (method, path, json.dumps(body).replace('"@"', deep))
        for case, (method, path, body) in bodies.items()
    }
    texts["object nesting"] = ("POST", "/datasets", '{"a":' * 10_000 + "1" + "}" * 10_000)
    return texts


@pytest.mark.parametrize("case", list(deep_bodies()))
def test_json_nested_10000_levels_is_400_with_a_message(client: FlaskClient, case: str) -> None:
    with_pipeline(client)
    method, path, body = deep_bodies()[case]
    response = client.open(path, method=method, data=body, headers=JSON)
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert response.json["message"] == f"The JSON nests deeper than {MAX_JSON_DEPTH} levels."
    assert response.json["errors"] == {"json": [response.json["message"]]}


def test_json_just_over_the_limit_is_400_and_at_the_limit_is_read(client: FlaskClient) -> None:
    with_pipeline(client)
    # The body object is level 1, definition 2, States 3, P 4, Result 5 and on.
    for depth, status in ((MAX_JSON_DEPTH - 4, 201), (MAX_JSON_DEPTH - 3, 400)):
        body = {
            "id": f"depth-{depth}",
            "title": "Deep",
            "definition": {
                "StartAt": "P",
                "States": {"P": {"Type": "Pass", "Result": "@", "End": True}},
            },
        }
        text = json.dumps(body).replace('"@"', nested(depth))
        response = client.post("/pipelines", data=text, headers=JSON)
        assert response.status_code == status, (depth, response.json)


def test_a_wide_body_is_measured_to_its_deepest_member() -> None:
    # Hundreds of brackets, as a batch of events has: the depth is what decides.
    events = [{"sensorId": f"s-{n}", "reading": [n]} for n in range(200)]
    at_limit = json.dumps([*events, "@"]).replace('"@"', nested(MAX_JSON_DEPTH - 1))
    over = json.dumps([*events, "@"]).replace('"@"', nested(MAX_JSON_DEPTH))

    assert len(parse_json(at_limit)) == 201
    with pytest.raises(BodyError, match=r"levels \(at /200/0/"):
        parse_json(over)


@pytest.mark.parametrize(
    ("literal", "reason"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("Infinity", "Infinity is not a JSON value"),
        ("-Infinity", "-Infinity is not a JSON value"),
        ("1e309", "The number 1e309 is out of range"),
        ("-12.5E+400", "The number -12.5E+400 is out of range"),
    ],
)
def test_a_number_json_cannot_hold_is_400_naming_it(
    client: FlaskClient, literal: str, reason: str
) -> None:
    create(client)
    source = {
        "type": "event",
        "key": ["s"],
        "time": "t",
        "schema": {"fields": [{"name": "s"}, {"name": "t", "type": "datetime"}, {"name": "v"}]},
    }
    maximum = {"name": "v", "type": "number", "constraints": {"maximum": "@"}}
    source["schema"]["fields"][2] = maximum  # type: ignore[index]
    bodies = [
        ("/datasets", {**DATASET, "id": "bad", "source": source}),
        ("/datasets/air/versions", {"version": "2", "description": "@"}),
    ]
    for path, body in bodies:
        text = json.dumps(body).replace('"@"', literal)
        response = client.post(path, data=text, headers=JSON)
        assert response.status_code == 400, (path, response.json)
        assert reason in response.json["message"]
    assert client.get("/datasets/bad").status_code == 404


def test_a_small_number_is_zero_and_large_ones_are_read() -> None:
    assert parse_json('[1e-400, 1e308, 123456789012345678901234567890, "1e999"]') == [
        0.0,
        1e308,
        123456789012345678901234567890,
        "1e999",
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("POST", "/datasets", '{"title": "A\\ud800", "owner": "team:miljo"}', "/title"),
        ("POST", "/datasets", '{"title": "A", "keywords": ["ok", "\\udfff"]}', "/keywords/1"),
        (
            "PUT",
            "/datasets/air/pipeline",
            '{"template": "passes", "taskConfig": {"Load": {"delimiter": "\\ud83d"}}}',
            "/taskConfig/Load/delimiter",
        ),
        ("POST", "/datasets", '{"\\ud800": 1}', "/\\ud800"),
    ],
)
def test_a_lone_surrogate_is_400_saying_where(
    client: FlaskClient, method: str, path: str, body: str, where: str
) -> None:
    with_pipeline(client)
    response = client.open(path, method=method, data=body, headers=JSON)
    assert response.status_code == 400, response.json
    assert response.json["message"] == (
        f"The string at {where} holds a lone surrogate "
        f"(U+{response.json['message'].split('U+')[1][:4]}), which is not text."
    )
    response.get_data(as_text=True).encode("utf-8")  # the answer itself is valid UTF-8 text


def test_a_surrogate_pair_is_text(client: FlaskClient) -> None:
    body = '{"title": "Sol \\ud83c\\udf1e", "accessRights": "public", "owner": "team:miljo"}'
    response = client.post("/datasets", data=body, headers=JSON)
    assert response.status_code == 201, response.json
    assert response.json["title"] == "Sol \U0001f31e"


@pytest.mark.parametrize("character", ["\x00", "\x0b", "\x1b", "\ufffe", "\x7f", "\x85"])
@pytest.mark.parametrize(
    ("field", "value", "errors"),
    [
        ("title", "Air{c}", lambda c: {"title": [c]}),
        ("description", "Hourly{c}", lambda c: {"description": [c]}),
        ("keywords", ["air", "b{c}d"], lambda c: {"keywords": {"1": [c]}}),
        (
            "contactPoint",
            {"name": "Team{c}", "email": "t@example.no"},
            lambda c: {"contactPoint": {"name": [c]}},
        ),
    ],
)
def test_control_characters_in_text_fields_are_422_naming_the_field(
    client: FlaskClient, character: str, field: str, value: Any, errors: Any
) -> None:
    filled = json.loads(json.dumps(value).replace("{c}", json.dumps(character)[1:-1]))
    response = client.post("/datasets", json={**DATASET, "id": "air", field: filled})
    assert response.status_code == 422, response.json
    reason = f"Holds U+{ord(character):04X}"
    assert response.json["errors"]["json"] == errors(reason_of(response, field))
    assert reason in json.dumps(response.json["errors"])
    assert client.get("/datasets/air").status_code == 404  # nothing stored


def test_control_characters_in_a_patch_are_422_and_change_nothing(client: FlaskClient) -> None:
    create(client)
    response = client.patch("/datasets/air", json={"title": "Air\x1b[31m"})
    assert response.status_code == 422
    assert "U+001B" in response.json["errors"]["json"]["title"][0]
    assert client.get("/datasets/air").json["title"] == DATASET["title"]


def test_tabs_and_line_breaks_stay_text(client: FlaskClient) -> None:
    response = client.post(
        "/datasets", json={**DATASET, "id": "air", "description": "Line one\r\nLine\ttwo"}
    )
    assert response.status_code == 201, response.json


def test_step_settings_may_hold_control_characters(client: FlaskClient) -> None:
    # Configuration, not text: Hive's default field delimiter is U+0001.
    with_pipeline(client)
    body = {"template": "passes", "taskConfig": {"Load": {"delimiter": "\x01"}}}
    response = client.put("/datasets/air/pipeline", json=body)
    assert response.status_code == 200, response.json


def test_request_get_json_has_the_same_limits(app: Flask) -> None:
    with pytest.raises(BodyError):
        app.json.loads(nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(BodyError):
        app.json.loads('"\\udc00"')
    assert app.json.loads(nested(MAX_JSON_DEPTH)) is not None


def test_every_blueprint_parses_bodies_with_the_limits() -> None:
    # A resource module that imported flask_smorest.Blueprint would parse without them.
    blueprints = [importlib.import_module(module).blp for module, _ in RESOURCES]
    smorest_blueprints = [blp for blp in blueprints if hasattr(blp, "arguments")]
    assert smorest_blueprints
    for blp in smorest_blueprints:
        assert isinstance(blp, Blueprint), blp.name


def test_405_carries_allow_and_the_error_shape(client: FlaskClient) -> None:
    response = client.delete("/catalog")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.json["code"] == 405 and response.json["message"]
    put = client.put("/datasets")
    assert put.status_code == 405
    assert "POST" in put.headers["Allow"]


def reason_of(response: Any, field: str) -> str:
    """The one reason given for ``field``, however deep it sits."""
    value = response.json["errors"]["json"][field]
    while isinstance(value, dict):
        (value,) = value.values()
    return str(value[0])


HOSTILE_TITLE = "Luft\x00kvalitet\x0b\x1b\ufffe\uffff"


def store_hostile_values(app: Flask, client: FlaskClient) -> None:
    """A publishable dataset whose stored text holds what XML 1.0 cannot carry."""
    create(client)
    editions = "/datasets/air/versions/1/editions"
    edition = client.post(editions, json={"description": "first"}).json["edition"]
    file = {"filenames": ["air.csv"], "mediaType": "text/csv", "byteSize": 10, "checksum": "a" * 64}
    assert client.post(f"{editions}/{edition}/distributions", json=file).status_code == 201
    # Straight into the store, as values written before the API refused them.
    store = app.extensions["brygge"].store
    item = store.get(keys.dataset_pk("air"), keys.DATASET_SK)
    assert item is not None
    item = {name: value for name, value in item.items() if name != "rev"}
    item.update(
        title=HOSTILE_TITLE,
        description="Hourly\x08 readings\x1f",
        keywords=["air\x00", "pollution"],
        contactPoint={"name": "Team\x0c", "email": "miljo@example.no"},
    )
    store.write(Put(item))


@pytest.mark.parametrize("name", list(RDF_SYNTAX))
def test_every_feed_format_survives_control_characters_in_the_store(
    app: Flask, client: FlaskClient, name: str
) -> None:
    store_hostile_values(app, client)
    for path in (f"/catalog?format={name}", f"/datasets/air?format={name}"):
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        graph = Graph().parse(data=response.get_data(as_text=True), format=RDF_SYNTAX[name])
        node = URIRef(f"{BASE_URL}/datasets/air")
        titles = {str(title) for title in graph.objects(node, ns.DCTERMS.title)}
        assert titles == {"Luftkvalitet"}, (path, titles)
        assert {str(k) for k in graph.objects(node, ns.DCAT.keyword)} == {"air", "pollution"}
        description = graph.value(node, ns.DCTERMS.description)
        assert isinstance(description, Literal) and str(description) == "Hourly readings"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"title": "Air",}', "line 1 column 17"),
        (b'{"title": "Air"', "line 1 column 16"),
        (b'{"title": "Tr\xe6r"}', "not UTF-8"),
        (b"[1, 2", "line 1 column 6"),
    ],
)
def test_a_body_that_is_not_json_is_400_saying_where_and_why(
    client: FlaskClient, body: bytes, says: str
) -> None:
    answer = client.post("/datasets", data=body, content_type="application/json")

    assert answer.status_code == 400
    [reason] = answer.json["errors"]["json"]
    assert says in reason
    assert client.get("/datasets").json["items"] == []


def test_a_body_led_by_a_byte_order_mark_is_read(client: FlaskClient) -> None:
    # RFC 8259 8.1: a parser may ignore one; Windows tools write it.
    dataset = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
    body = b"\xef\xbb\xbf" + json.dumps(dataset).encode()

    answer = client.post("/datasets", data=body, content_type="application/json")

    assert answer.status_code == 201, answer.json
