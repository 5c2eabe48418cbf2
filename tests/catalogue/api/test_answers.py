"""The read views' answers written by orjson are jsonify's very bytes, and the schema's dump."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import pytest
from flask import jsonify
from flask.testing import FlaskClient

from catalogue.api.answers import json_bytes

# setup.cfg installs orjson; an environment made before it answers through jsonify alone.
pytest.importorskip("orjson", reason="orjson (setup.cfg) is not installed")
from catalogue.schemas.datasets import DatasetPageSchema, DatasetSchema
from catalogue.services import repositories

# Text json escapes in its own ways: controls, quote, backslash, DEL, non-ASCII, astral.
TEXTS = [
    "",
    "plain",
    'quote " backslash \\ slash /',
    "\u0000\u0001\b\f\n\r\t\u001f",
    "del \u007f",
    "Ærøskøbing åpne data",
    "\u00a0\u2028\u2029\ufeff\uffff",
    "emoji \U0001f600 and \U0010ffff",
    "</script>&<>'",
]


def random_text(rng: random.Random) -> str:
    pools = [(32, 127), (0, 32), (127, 160), (160, 0x800), (0x800, 0xD800), (0xE000, 0x10000)]
    pools.append((0x10000, 0x110000))
    chars = []
    for _ in range(rng.randrange(10)):
        low, high = rng.choice(pools)
        chars.append(chr(rng.randrange(low, high)))
    return rng.choice(TEXTS) + "".join(chars)


def random_document(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return random_text(rng)
    if kind == 1:
        return rng.choice([0, -1, 7, 2**53, 2**63 - 1, -(2**63), 2**64 - 1])
    if kind == 2:
        return rng.choice([None, True, False])
    if kind in (3, 4):
        return rng.choice(TEXTS)
    if kind in (5, 6):
        return {
            random_text(rng) + str(index): random_document(rng, depth + 1)
            for index in range(rng.randrange(5))
        }
    return [random_document(rng, depth + 1) for _ in range(rng.randrange(4))]


def jsonified(data: Any) -> bytes:
    return jsonify(data).get_data()


def test_random_documents_are_written_as_jsonify_writes_them(app) -> None:
    rng = random.Random(20)
    with app.app_context():
        for text in TEXTS:
            assert json_bytes({"t": text, text: [text]}) == jsonified({"t": text, text: [text]})
        for _ in range(2000):
            document = {"items": [random_document(rng) for _ in range(rng.randrange(4))]}
            assert json_bytes(document) == jsonified(document), document


@pytest.mark.parametrize(
    "refused",
    [
        2**64,
        -(2**63) - 1,
        Decimal("1.5"),
        "lone \ud800",
        {1: "int key"},
        {"when": __import__("datetime").date(2026, 1, 2)},
    ],
    ids=["u64+1", "i64-1", "decimal", "surrogate", "int-key", "date"],
)
def test_what_only_jsonify_writes_is_left_to_it(app, refused) -> None:
    with app.app_context():
        assert json_bytes({"value": [refused]}) is None


def test_debug_and_sorted_keys_are_left_to_jsonify(app) -> None:
    with app.app_context():
        assert json_bytes({"b": 1, "a": 2}) == b'{"b":1,"a":2}\n'
        app.debug = True
        assert json_bytes({"b": 1}) is None  # jsonify indents in debug mode
        app.debug = False
        app.json.sort_keys = True
        try:
            assert json_bytes({"b": 1}) is None
        finally:
            app.json.sort_keys = False


FULL = {
    "description": "Målinger av luftkvalitet \U0001f32b\ufe0f i sentrum \u2028",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Dåta team", "email": "data@example.no"},
    "keywords": ["luft", "støy", "NO₂"],
    "themes": ["ENVI", "TRAN"],
    "license": "https://creativecommons.org/licenses/by/4.0/",
    "spatial": "Oslo",
    "temporal": {"start": "2020-01-01", "end": "2026-12-31T23:59:59Z"},
    "accrualPeriodicity": "daily",
    "language": "nb",
    "conformsTo": ["https://example.no/standard/ø"],
    "sourceType": "file",
    "state": "deprecated",
}
EVENT_SOURCE = {
    "type": "event",
    "schema": {
        "fields": [
            {"name": "id", "type": "string"},
            {"name": "t", "type": "datetime"},
            {"name": "level", "type": "number", "constraints": {"minimum": 1e-7, "maximum": 1e16}},
        ]
    },
    "key": ["id"],
    "time": "t",
}


def make_datasets(client) -> None:
    bodies = [
        {"id": "a-minimal", "title": "Minimal", "accessRights": "public"},
        {"id": "b-full", "title": 'Åpne data «fullt» "sitert" \\', **FULL},
        {"id": "c-restricted", "title": "Begrenset", "accessRights": "restricted", **FULL},
        {"id": "d-event", "title": "Events", "accessRights": "public", "source": EVENT_SOURCE},
        {"id": "e-emoji", "title": "Emoji \U0001f600", "accessRights": "non-public"},
    ]
    for body in bodies:
        body = {"accessRights": "public", "owner": "team:miljo", **body}
        response = client.post("/datasets", json=body)
        assert response.status_code == 201, response.json
    # A null clears a field: the dataset then lacks it.
    patched = client.patch("/datasets/b-full", json={"publisher": None, "spatial": None})
    assert patched.status_code == 200, patched.json


def assert_written_as_jsonify(app, response) -> None:
    with app.app_context():
        assert response.get_data() == jsonified(response.json)


@pytest.mark.parametrize(
    "path",
    [
        "/datasets?limit=3",
        "/datasets?facets=false",
        "/datasets?q=data",
        "/datasets?q=data&facets=false&sort=title",
    ],
)
def test_pages_are_the_schemas_dump_written_as_jsonify_writes_it(app, client, path) -> None:
    make_datasets(client)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert_written_as_jsonify(app, response)
    answer = response.json
    with app.test_request_context():
        by_id = {item["id"]: item for item in answer["items"]}
        expected = [
            DatasetSchema().dump(repositories().datasets.get(dataset_id)) for dataset_id in by_id
        ]
        assert list(by_id.values()) == expected
        assert DatasetPageSchema().dump(answer) == answer


def test_every_page_of_the_catalogue_is_written_as_jsonify_writes_it(app, client) -> None:
    make_datasets(client)
    cursor, seen = None, []
    while True:
        response = client.get("/datasets?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert_written_as_jsonify(app, response)
        seen += [item["id"] for item in response.json["items"]]
        cursor = response.json["next"]
        if cursor is None:
            break
    assert seen == ["a-minimal", "b-full", "c-restricted", "d-event", "e-emoji"]


@pytest.mark.parametrize(
    "dataset_id", ["a-minimal", "b-full", "c-restricted", "d-event", "e-emoji"]
)
def test_a_dataset_is_its_schemas_dump_written_as_jsonify_writes_it(
    app, client, dataset_id
) -> None:
    make_datasets(client)
    response = client.get(f"/datasets/{dataset_id}")
    assert response.status_code == 200
    assert list(response.headers.keys()) == ["Content-Type", "Content-Length", "ETag", "Vary"]
    assert response.headers["Vary"] == "Accept"
    assert_written_as_jsonify(app, response)
    with app.test_request_context():
        assert response.json == DatasetSchema().dump(repositories().datasets.get(dataset_id))
    if dataset_id == "d-event":
        # jsonify's floats, not orjson's: 1e-07, not 1e-7.
        assert b'"minimum":1e-07' in response.get_data()
    assert json.loads(response.get_data()) == response.json


def documented_page(app, path: str, headers: dict[str, str]) -> bytes:
    """The page at ``path`` as the documented schema dumps the repository's resources."""
    from flask import request

    from catalogue.api.datasets import dataset_page
    from catalogue.repositories.records import resource
    from catalogue.schemas.datasets import DatasetQuerySchema

    with app.test_request_context(path, headers=headers):
        query = DatasetQuerySchema().load(request.args.to_dict())
        return jsonified(DatasetPageSchema().dump(dataset_page(query, resource)))


@pytest.mark.parametrize(
    "path",
    [
        "/datasets",
        "/datasets?limit=2",
        "/datasets?facets=false",
        "/datasets?theme=ENVI",
        "/datasets?sort=title",
        "/datasets?q=data",
        "/datasets?q=data&facets=false&sort=modified",
        "/datasets?q=events",
    ],
)
@pytest.mark.parametrize("caller", ["site-admin", "anonymous"])
def test_pages_are_byte_for_byte_the_documented_schemas_dump(app, client, path, caller) -> None:
    # Items picked from store items and facets passed on as built must be what dumping the
    # resources through DatasetPageSchema writes: same keys, same order, same numbers.
    make_datasets(client)
    headers = {"Authorization": f"Bearer {app.config['SITE_ADMIN_TOKEN']}"}
    if caller == "anonymous":
        client, headers = FlaskClient(app, app.response_class), {}
    response = client.get(path)
    assert response.status_code == 200
    assert response.get_data() == documented_page(app, path, headers)
