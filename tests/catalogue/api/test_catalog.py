"""``GET /catalog``, DCAT of one dataset and the publish gate, over the real app and SQLite."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pyshacl import validate
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from catalogue.dcat import feed as feed_module
from catalogue.dcat.graph import HYDRA
from catalogue.settings import Settings
from tests.fixtures.app import Clock, catalog_settings

# rdflib's closed namespaces stay behind ``ns.``: pytest would probe them as module names.

BASE_URL = "https://data.example.no/api"
SHAPES_DIR = Path(__file__).parents[2] / "data" / "shapes"
CC_BY = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"
PUBLISHABLE = {
    "title": "Luftkvalitet",
    "description": "Hourly air quality readings",
    "accessRights": "public",
    "owner": "team:miljo",
    "publisher": "Oslo kommune",
    "contactPoint": {"name": "Miljøteamet", "email": "miljo@example.no"},
    "themes": ["ENVI"],
    "keywords": ["air"],
    "license": CC_BY,
    "language": "nb",
    "accrualPeriodicity": "daily",
}
FILE = {"filenames": ["air.csv"], "mediaType": "text/csv", "byteSize": 10, "checksum": "a" * 64}
RDF_SYNTAX = {
    "application/ld+json": "json-ld",
    "text/turtle": "turtle",
    "application/rdf+xml": "xml",
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return catalog_settings(tmp_path / "home", BASE_URL)


def create(client: FlaskClient, dataset_id: str, **changes: Any) -> dict[str, Any]:
    body = {key: value for key, value in {**PUBLISHABLE, **changes}.items() if value is not None}
    response = client.post("/datasets", json={**body, "id": dataset_id})
    assert response.status_code == 201, response.json
    return response.json  # type: ignore[no-any-return]


def add_distribution(client: FlaskClient, dataset_id: str) -> None:
    editions = f"/datasets/{dataset_id}/versions/1/editions"
    edition = client.post(editions, json={"description": "first"}).json["edition"]
    response = client.post(f"{editions}/{edition}/distributions", json=FILE)
    assert response.status_code == 201, response.json


def anonymous(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base.pop("HTTP_AUTHORIZATION")
    return client


def as_user(app: Flask, principal: str) -> FlaskClient:
    token, _ = app.extensions["brygge"].repositories.tokens.create(principal)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def parse(response: Any) -> Graph:
    syntax = RDF_SYNTAX[response.mimetype]
    return Graph().parse(data=response.get_data(as_text=True), format=syntax)


def dataset_node(dataset_id: str) -> URIRef:
    return URIRef(f"{BASE_URL}/datasets/{dataset_id}")


def listed(graph: Graph) -> set[str]:
    """The ids of the datasets the catalogue lists."""
    catalog = URIRef(f"{BASE_URL}/catalog")
    return {str(node).rsplit("/", 1)[-1] for node in graph.objects(catalog, ns.DCAT.dataset)}


def view_link(graph: Graph, name: str) -> str | None:
    view = graph.value(URIRef(f"{BASE_URL}/catalog"), HYDRA.view)
    link = graph.value(view, HYDRA[name]) if view is not None else None
    return None if link is None else str(link)


def local_path(link: str) -> str:
    assert link.startswith(BASE_URL), link
    return link.removeprefix(BASE_URL)


def test_feed_is_json_ld_by_default_with_public_publishable_datasets_only(
    client: FlaskClient,
) -> None:
    create(client, "air")
    create(client, "noise", contactPoint=None)
    create(client, "restricted", accessRights="restricted")
    create(client, "secret", accessRights="non-public")

    response = anonymous(client.application).get("/catalog")

    assert response.status_code == 200
    assert response.mimetype == "application/ld+json"
    assert response.headers["Vary"] == "Accept"
    graph = parse(response)
    assert listed(graph) == {"air"}
    catalog = URIRef(f"{BASE_URL}/catalog")
    assert str(graph.value(catalog, ns.DCTERMS.title)) == "Oslo open data"
    assert (dataset_node("air"), ns.RDF.type, ns.DCAT.Dataset) in graph


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("application/ld+json", "application/ld+json"),
        ("text/turtle", "text/turtle"),
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/json", "application/ld+json"),
        ("*/*", "application/ld+json"),
        ("text/turtle;q=0.5, application/rdf+xml", "application/rdf+xml"),
        ("text/html, text/*;q=0.8", "text/turtle"),
    ],
)
def test_feed_format_follows_accept(client: FlaskClient, accept: str, media_type: str) -> None:
    create(client, "air")

    response = client.get("/catalog", headers={"Accept": accept})

    assert response.status_code == 200
    assert response.mimetype == media_type
    assert listed(parse(response)) == {"air"}


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("jsonld", "application/ld+json"),
        ("turtle", "text/turtle"),
        ("ttl", "text/turtle"),
        ("rdfxml", "application/rdf+xml"),
        ("text/turtle", "text/turtle"),
    ],
)
def test_format_parameter_wins_over_accept(client: FlaskClient, name: str, media_type: str) -> None:
    create(client, "air")

    response = client.get(f"/catalog?format={name}", headers={"Accept": "application/ld+json;q=1"})

    assert response.status_code == 200
    assert response.mimetype == media_type
    assert listed(parse(response)) == {"air"}


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("application/rdf+xml", "application/rdf+xml"),
        ("application/ld+json", "application/ld+json"),
        ("rdf+xml", "application/rdf+xml"),
    ],
)
def test_media_type_with_a_plus_in_format_is_served(
    client: FlaskClient, name: str, media_type: str
) -> None:
    # A "+" typed into a query string reaches the server as a space (form encoding).
    create(client, "air")

    response = client.get(f"/catalog?format={name}")

    assert response.status_code == 200, response.json
    assert response.mimetype == media_type


@pytest.mark.parametrize(
    ("query", "accept"),
    [("", "text/html"), ("", "application/xml, image/*"), ("?format=csv", "text/turtle")],
)
def test_unacceptable_representation_is_406(client: FlaskClient, query: str, accept: str) -> None:
    response = client.get(f"/catalog{query}", headers={"Accept": accept})

    assert response.status_code == 406
    assert response.json["code"] == 406
    assert "text/turtle" in response.json["message"]


def test_pages_follow_hydra_next_links_to_every_dataset_once(client: FlaskClient) -> None:
    ids = [f"set-{n:02d}" for n in range(8)]
    for dataset_id in ids:
        # An incomplete dataset between the others: left out, pages stay full.
        create(client, dataset_id, themes=None if dataset_id == "set-03" else ["ENVI"])

    seen: list[list[str]] = []
    path: str | None = "/catalog?limit=3&format=turtle"
    firsts = set()
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200, response.json
        assert response.mimetype == "text/turtle"
        graph = parse(response)
        seen.append(sorted(listed(graph)))
        firsts.add(view_link(graph, "first"))
        # Only the first page, reached without a cursor, has nothing before it.
        assert (view_link(graph, "previous") is None) == (len(seen) == 1)
        assert view_link(graph, "last") is not None
        next_link = view_link(graph, "next")
        path = local_path(next_link) if next_link else None
        assert len(seen) < 10, "next links never end"

    assert [len(page) for page in seen] == [3, 3, 1]
    assert sorted(dataset_id for page in seen for dataset_id in page) == [
        i for i in ids if i != "set-03"
    ]
    assert firsts == {f"{BASE_URL}/catalog?limit=3&format=turtle"}


def test_modified_since_keeps_datasets_modified_at_or_after_it(
    client: FlaskClient, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    create(client, "old")
    clock.now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    middle = create(client, "middle")
    clock.now = datetime(2026, 3, 3, 12, 0, 0, tzinfo=UTC)
    create(client, "new")
    clock.now = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
    patched = client.patch("/datasets/old", json={"description": "revised"})
    assert patched.status_code == 200

    at_middle = client.get(f"/catalog?modifiedSince={middle['modified']}")
    in_oslo = client.get("/catalog?modifiedSince=2026-03-03T12:00:01%2B01:00")
    after_all = client.get("/catalog?modifiedSince=2026-03-05T00:00:00Z")

    assert middle["modified"] == "2026-03-02T12:00:00Z"
    # "old" is back: its patch made it newer than the others.
    assert listed(parse(at_middle)) == {"old", "middle", "new"}
    assert listed(parse(in_oslo)) == {"old", "new"}
    assert listed(parse(after_all)) == set()
    first_link = view_link(parse(at_middle), "first")
    assert first_link is not None and "modifiedSince=2026-03-02T12%3A00%3A00Z" in first_link


def test_a_page_stops_short_after_examining_its_budget_and_next_goes_on(
    client: FlaskClient, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feed_module, "MAX_EXAMINED", 3)
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    for n in range(5):
        create(client, f"old-{n}")
    clock.now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    create(client, "recent")

    first = parse(client.get("/catalog?limit=2&modifiedSince=2026-03-02T00:00:00Z"))
    next_link = view_link(first, "next")
    assert next_link is not None
    second = parse(client.get(local_path(next_link)))

    # The budget spent on old datasets: an empty page, yet with a next link.
    assert listed(first) == set()
    assert listed(second) == {"recent"}
    assert view_link(second, "next") is None


def test_modified_since_keeps_a_dataset_with_a_newer_edition(
    client: FlaskClient, clock: Clock
) -> None:
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    create(client, "air")
    create(client, "noise")
    clock.now = datetime(2026, 3, 3, 12, 0, 0, tzinfo=UTC)
    add_distribution(client, "air")

    graph = parse(client.get("/catalog?modifiedSince=2026-03-02T00:00:00Z"))

    assert listed(graph) == {"air"}
    assert (dataset_node("air"), ns.DCAT.distribution, None) in graph


def test_a_new_edition_is_the_dataset_s_dct_modified_in_the_feed_and_its_rdf(
    client: FlaskClient, clock: Clock
) -> None:
    # DCAT: dct:modified is a change to the resource itself (new data), not to its record.
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    create(client, "air")
    create(client, "noise")
    clock.now = datetime(2026, 3, 3, 12, 0, 0, tzinfo=UTC)
    add_distribution(client, "air")
    catalog = URIRef(f"{BASE_URL}/catalog")

    for url in ("/catalog?modifiedSince=2026-03-02T00:00:00Z", "/datasets/air?format=turtle"):
        graph = parse(client.get(url))
        modified = graph.value(dataset_node("air"), ns.DCTERMS.modified).toPython()
        assert modified >= datetime(2026, 3, 3, 12, 0, 0, tzinfo=UTC), url

    whole = parse(client.get("/catalog"))
    assert whole.value(catalog, ns.DCTERMS.modified).toPython() >= datetime(
        2026, 3, 3, 12, 0, 0, tzinfo=UTC
    )
    unchanged = whole.value(dataset_node("noise"), ns.DCTERMS.modified).toPython()
    assert unchanged == datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC)


def test_modified_since_leaves_out_older_datasets(client: FlaskClient, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    create(client, "old")
    clock.now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    create(client, "new")

    response = client.get("/catalog?modifiedSince=2026-03-02T00:00:00Z")

    assert listed(parse(response)) == {"new"}


@pytest.mark.parametrize(
    "value", ["yesterday", "2026-03-02", "2026-03-02T12:00:00", "2026-13-01T00:00:00Z"]
)
def test_malformed_modified_since_is_422_naming_the_field(client: FlaskClient, value: str) -> None:
    response = client.get("/catalog", query_string={"modifiedSince": value})

    assert response.status_code == 422
    assert list(response.json["errors"]["query"]) == ["modifiedSince"]


def test_publishability_lists_what_a_dataset_lacks(client: FlaskClient) -> None:
    create(client, "air")
    create(client, "noise", contactPoint=None, themes=None, license=None)
    create(client, "closed", accessRights="restricted")

    complete = client.get("/datasets/air/publishability")
    lacking = client.get("/datasets/noise/publishability")
    closed = client.get("/datasets/closed/publishability")

    assert complete.status_code == 200
    assert complete.json == {"publishable": True, "missing": []}
    assert lacking.json["publishable"] is False
    assert {problem["field"] for problem in lacking.json["missing"]} == {
        "contactPoint",
        "themes",
        "license",
    }
    assert all(problem["reason"] for problem in lacking.json["missing"])
    assert [problem["field"] for problem in closed.json["missing"]] == ["accessRights"]


def test_fixing_what_the_gate_lists_puts_the_dataset_in_the_feed(client: FlaskClient) -> None:
    create(client, "noise", themes=None)
    assert listed(parse(client.get("/catalog"))) == set()

    assert client.patch("/datasets/noise", json={"themes": ["TRAN"]}).status_code == 200

    assert client.get("/datasets/noise/publishability").json["publishable"] is True
    assert listed(parse(client.get("/catalog"))) == {"noise"}


@pytest.mark.parametrize("licence", [None, "https://example.org/our-terms"])
def test_the_licences_the_gate_suggests_are_ones_the_api_takes(
    client: FlaskClient, licence: str | None
) -> None:
    create(client, "noise", license=licence)
    missing = client.get("/datasets/noise/publishability").json["missing"]
    reason = next(problem["reason"] for problem in missing if problem["field"] == "license")
    suggestions = set(re.findall(r"https?://[^\s,;()'\"]+", reason)) - {licence}
    assert suggestions, reason

    for suggestion in suggestions:
        response = client.patch("/datasets/noise", json={"license": suggestion})
        assert response.status_code == 200, (suggestion, response.json)
        assert client.get("/datasets/noise/publishability").json["publishable"], suggestion


@pytest.mark.parametrize(
    "licence",
    [
        "https://creativecommons.org/licenses/by/4.0/deed.no",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
        "https://creativecommons.org/licenses/by-sa/4.0/legalcode.nb",
        "http://creativecommons.org/publicdomain/zero/1.0/deed.en",
    ],
)
def test_a_licence_deed_or_legal_code_url_names_its_licence(
    client: FlaskClient, licence: str
) -> None:
    create(client, "noise", license=licence)

    assert client.get("/datasets/noise/publishability").json["missing"] == []
    assert listed(parse(client.get("/catalog"))) == {"noise"}


@pytest.mark.parametrize(
    ("licence", "code"),
    [
        ("http://data.norge.no/nlod/no/1.0", "NLOD_1_0"),
        ("http://publications.europa.eu/resource/authority/licence/NLOD_1_0", "NLOD_1_0"),
        ("http://creativecommons.org/licenses/by/3.0/no/", "CC_BY_3_0"),
        ("https://creativecommons.org/licenses/by/3.0/deed.no", "CC_BY_3_0"),
        ("https://creativecommons.org/licenses/by-sa/3.0/", "CC_BYSA_3_0"),
    ],
)
def test_older_norwegian_and_creative_commons_licences_are_published_as_eu_licences(
    client: FlaskClient, licence: str, code: str
) -> None:
    create(client, "noise", license=licence)

    assert client.get("/datasets/noise/publishability").json["missing"] == []
    graph = parse(client.get("/catalog"))
    eu_licence = URIRef(f"http://publications.europa.eu/resource/authority/licence/{code}")
    assert (dataset_node("noise"), ns.DCTERMS.license, eu_licence) in graph


def test_publishability_follows_the_read_rules(app: Flask, client: FlaskClient) -> None:
    create(client, "closed", accessRights="non-public")
    create(client, "members", accessRights="restricted")

    hidden = anonymous(app).get("/datasets/closed/publishability")
    missing = anonymous(app).get("/datasets/nothing/publishability")
    member = as_user(app, "user:reader").get("/datasets/members/publishability")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["message"].replace("closed", "nothing") == missing.json["message"]
    assert anonymous(app).get("/datasets/members/publishability").status_code == 404
    assert member.status_code == 200
    assert member.json["publishable"] is False


@pytest.fixture(scope="module")
def shapes() -> Graph:
    graph = Graph()
    for name in ("dcat-ap-3.ttl", "dcat-ap-no.ttl"):
        graph.parse(SHAPES_DIR / name)
    return graph


def test_feed_from_the_api_conforms_to_dcat_ap_shapes(client: FlaskClient, shapes: Graph) -> None:
    create(client, "sources")
    create(client, "air", wasDerivedFrom=["sources"], temporal={"start": "2020-01-01"})
    add_distribution(client, "air")
    create(client, "plain", keywords=None, language=None, accrualPeriodicity=None)

    for media_type in RDF_SYNTAX:
        response = client.get("/catalog", headers={"Accept": media_type})
        graph = parse(response)
        assert listed(graph) == {"sources", "air", "plain"}
        conforms, _, text = validate(graph, shacl_graph=shapes)
        assert conforms, text
    distribution = graph.value(dataset_node("air"), ns.DCAT.distribution)
    assert str(distribution).startswith(f"{BASE_URL}/datasets/air/versions/1/editions/")
    assert graph.value(distribution, ns.DCAT.downloadURL) is not None


def test_feed_lineage_names_only_public_datasets(client: FlaskClient) -> None:
    create(client, "open-source")
    create(client, "members-source", accessRights="restricted")
    create(client, "air", wasDerivedFrom=["open-source", "members-source", "gone"])

    graph = parse(client.get("/catalog"))

    assert set(graph.objects(dataset_node("air"), ns.PROV.wasDerivedFrom)) == {
        dataset_node("open-source")
    }
    assert set(graph.objects(dataset_node("air"), ns.DCTERMS.source)) == {
        dataset_node("open-source")
    }


@pytest.mark.parametrize(
    ("accept", "query", "media_type"),
    [
        ("text/turtle", "", "text/turtle"),
        ("application/ld+json", "", "application/ld+json"),
        ("application/rdf+xml", "", "application/rdf+xml"),
        ("application/json", "?format=turtle", "text/turtle"),
        (None, "?format=jsonld", "application/ld+json"),
    ],
)
def test_dataset_dcat_by_accept_or_format(
    client: FlaskClient, accept: str | None, query: str, media_type: str
) -> None:
    create(client, "air")
    add_distribution(client, "air")
    headers = {"Accept": accept} if accept else {}

    response = client.get(f"/datasets/air{query}", headers=headers)

    assert response.status_code == 200
    assert response.mimetype == media_type
    graph = parse(response)
    assert (dataset_node("air"), ns.RDF.type, ns.DCAT.Dataset) in graph
    assert (dataset_node("air"), ns.DCAT.distribution, None) in graph
    assert str(graph.value(dataset_node("air"), ns.DCTERMS.title)) == "Luftkvalitet"


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("accept", [None, "application/json", "*/*"])
def test_dataset_json_stays_the_answer_without_an_rdf_accept(
    client: FlaskClient, accept: str | None
) -> None:
    create(client, "air")

    response = client.get("/datasets/air", headers={"Accept": accept} if accept else {})

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json["id"] == "air"
    assert response.headers["ETag"].startswith('"r1.')
    assert response.headers["Vary"] == "Accept"


@pytest.mark.parametrize("accept", [BROWSER_ACCEPT, "text/html"])
def test_a_browser_gets_the_dataset_page_not_rdf_xml(client: FlaskClient, accept: str) -> None:
    """``text/html`` (with a browser's ``application/xml;q=0.9``) asks for the web page."""
    create(client, "air")

    response = client.get("/datasets/air", headers={"Accept": accept})

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.headers["Vary"]


@pytest.mark.parametrize("accept", ["image/png", "text/csv, image/*"])
def test_dataset_with_an_accept_nothing_matches_is_406(client: FlaskClient, accept: str) -> None:
    create(client, "air")

    response = client.get("/datasets/air", headers={"Accept": accept})

    assert response.status_code == 406
    assert response.json["code"] == 406
    assert f"Accept: {accept}" in response.json["message"]
    assert "application/json" in response.json["message"]


def test_dataset_dcat_of_an_unknown_format_is_406(client: FlaskClient) -> None:
    create(client, "air")

    assert client.get("/datasets/air?format=csv").status_code == 406


def test_dataset_dcat_of_a_hidden_dataset_is_404_like_the_json(
    app: Flask, client: FlaskClient
) -> None:
    create(client, "closed", accessRights="non-public")
    create(client, "members", accessRights="restricted")
    caller = anonymous(app)
    turtle = {"Accept": "text/turtle"}

    for dataset_id in ("closed", "members"):
        as_rdf = caller.get(f"/datasets/{dataset_id}", headers=turtle)
        as_json = caller.get(f"/datasets/{dataset_id}")
        assert as_rdf.status_code == as_json.status_code == 404
        assert as_rdf.json == as_json.json
    missing = caller.get("/datasets/nothing", headers=turtle)
    assert missing.json["message"] == as_rdf.json["message"].replace("members", "nothing")
    member = as_user(app, "user:reader").get("/datasets/members", headers=turtle)
    assert member.status_code == 200
    assert member.mimetype == "text/turtle"


def test_dataset_dcat_lineage_names_only_datasets_the_caller_sees(
    app: Flask, client: FlaskClient
) -> None:
    create(client, "open-source")
    create(client, "members-source", accessRights="restricted")
    create(client, "closed-source", accessRights="non-public")
    create(client, "air", wasDerivedFrom=["open-source", "members-source", "closed-source"])
    turtle = {"Accept": "text/turtle"}

    def sources(caller: FlaskClient) -> set[str]:
        graph = parse(caller.get("/datasets/air", headers=turtle))
        return {
            str(node).rsplit("/", 1)[-1] for node in graph.objects(None, ns.PROV.wasDerivedFrom)
        }

    assert sources(anonymous(app)) == {"open-source"}
    assert sources(as_user(app, "user:reader")) == {"open-source", "members-source"}
    assert sources(client) == {"open-source", "members-source", "closed-source"}
    # The JSON answer is the dataset as stored, for those who may read it.
    assert client.get("/datasets/air").json["wasDerivedFrom"] == [
        "open-source",
        "members-source",
        "closed-source",
    ]


def test_feed_pages_and_filters_alike_on_every_backend(app_on_store: Flask, clock: Clock) -> None:
    client = app_on_store.test_client()
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    for n in range(5):
        create(client, f"set-{n}", themes=None if n == 2 else ["ENVI"])
    clock.now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    create(client, "recent")
    create(client, "closed", accessRights="non-public")

    pages: list[set[str]] = []
    path: str | None = "/catalog?limit=2"
    while path is not None and len(pages) < 10:
        graph = parse(client.get(path))
        pages.append(listed(graph))
        next_link = view_link(graph, "next")
        path = local_path(next_link) if next_link else None
    recent = parse(client.get("/catalog?modifiedSince=2026-03-02T00:00:00Z"))

    assert [len(page) for page in pages] == [2, 2, 1]
    assert set().union(*pages) == {"set-0", "set-1", "set-3", "set-4", "recent"}
    assert listed(recent) == {"recent"}


def walk(client: FlaskClient, path: str | None, link: str) -> list[list[str]]:
    """Follow the Hydra ``link`` (next or previous) from ``path``; each page's ids, in order."""
    pages: list[list[str]] = []
    while path is not None:
        response = client.get(path)
        assert response.status_code == 200, response.json
        graph = parse(response)
        pages.append(sorted(listed(graph)))
        found = view_link(graph, link)
        path = local_path(found) if found else None
        assert len(pages) < 20, f"{link} links never end"
    return pages


def link_of(client: FlaskClient, path: str, name: str) -> str | None:
    found = view_link(parse(client.get(path)), name)
    return local_path(found) if found else None


def test_previous_links_walk_back_through_the_pages_next_walked(client: FlaskClient) -> None:
    ids = [f"set-{n:02d}" for n in range(8)]
    for dataset_id in ids:
        create(client, dataset_id, themes=None if dataset_id == "set-03" else ["ENVI"])
    create(client, "set-04-closed", accessRights="non-public")

    forward = walk(client, "/catalog?limit=3&format=turtle", "next")
    last_path = "/catalog?limit=3&format=turtle"
    while (next_path := link_of(client, last_path, "next")) is not None:
        last_path = next_path
    back = walk(client, link_of(client, last_path, "previous"), "previous")

    assert forward == [["set-00", "set-01", "set-02"], ["set-04", "set-05", "set-06"], ["set-07"]]
    assert back == forward[-2::-1]
    # A page reached backwards leads forwards to the page after it, with format and limit.
    first_again = link_of(client, last_path, "previous")
    assert first_again is not None
    back_to_first = link_of(client, first_again, "previous")
    assert back_to_first is not None and "format=turtle" in back_to_first
    onwards = link_of(client, back_to_first, "next")
    assert onwards is not None
    assert sorted(listed(parse(client.get(onwards)))) == forward[1]


def test_last_link_holds_the_final_datasets_and_pages_back_to_the_first(
    client: FlaskClient,
) -> None:
    for n in range(8):
        create(client, f"set-{n:02d}", themes=None if n == 6 else ["ENVI"])
    create(client, "set-05-restricted", accessRights="restricted")

    last = link_of(client, "/catalog?limit=3", "last")
    assert last is not None
    last_graph = parse(client.get(last))
    back = walk(client, last, "previous")

    assert sorted(listed(last_graph)) == ["set-04", "set-05", "set-07"]
    assert view_link(last_graph, "next") is None
    assert view_link(last_graph, "last") == f"{BASE_URL}{last}"
    assert back == [["set-04", "set-05", "set-07"], ["set-01", "set-02", "set-03"], ["set-00"]]


def test_previous_and_last_keep_modified_since(client: FlaskClient, clock: Clock) -> None:
    clock.now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    for n in range(3):
        create(client, f"old-{n}")
    clock.now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    for n in range(5):
        create(client, f"recent-{n}")
    since = "modifiedSince=2026-03-02T00:00:00Z"

    last = link_of(client, f"/catalog?limit=2&{since}", "last")
    assert last is not None and "modifiedSince=2026-03-02T00%3A00%3A00Z" in last
    back = walk(client, last, "previous")

    # Older datasets before recent-0 are read past on the way to the start: no empty page.
    assert back == [["recent-3", "recent-4"], ["recent-1", "recent-2"], ["recent-0"]]
    assert walk(client, f"/catalog?limit=2&{since}", "next") == [
        ["recent-0", "recent-1"],
        ["recent-2", "recent-3"],
        ["recent-4"],
    ]


def test_a_cursor_of_another_list_is_refused(client: FlaskClient) -> None:
    for n in range(3):
        create(client, f"set-{n}")
    cursor = client.get("/datasets?limit=1").json["next"]

    response = client.get(f"/catalog?cursor={cursor}")

    assert response.status_code == 422, response.json
    assert "cursor" in str(response.json)


def test_dataset_pages_keep_filters_and_visibility_in_both_directions(app: Flask) -> None:
    client = app.test_client()
    for n in range(9):
        create(client, f"set-{n}", owner="team:miljo" if n % 3 else "team:other")
    datasets = app.extensions["brygge"].repositories.datasets

    def hidden(item: dict[str, Any]) -> bool:
        return item["id"] != "set-4"

    for filters in ({}, {"owner": "team:miljo"}):
        last = datasets.list(filters, limit=2, cursor=datasets.last_cursor(filters), visible=hidden)
        pages = [[item["id"] for item in last.items]]
        cursor = last.previous_cursor
        while cursor is not None:
            page = datasets.list(filters, limit=2, cursor=cursor, visible=hidden)
            pages.append([item["id"] for item in page.items])
            cursor = page.previous_cursor
        wanted = [f"set-{n}" for n in range(9) if n != 4 and (not filters or n % 3)]
        assert [dataset_id for page in pages[::-1] for dataset_id in page] == wanted
        # Only the page at the start may come out short.
        assert all(len(page) == 2 for page in pages[:-1])


def test_feed_pages_back_and_from_the_end_alike_on_every_backend(app_on_store: Flask) -> None:
    client = app_on_store.test_client()
    for n in range(7):
        create(client, f"set-{n}", themes=None if n == 2 else ["ENVI"])
    create(client, "closed", accessRights="non-public")

    forward = walk(client, "/catalog?limit=2", "next")
    last_path = "/catalog?limit=2"
    while (next_path := link_of(client, last_path, "next")) is not None:
        last_path = next_path
    back = walk(client, link_of(client, last_path, "previous"), "previous")
    from_end = walk(client, link_of(client, "/catalog?limit=2", "last"), "previous")

    assert forward == [["set-0", "set-1"], ["set-3", "set-4"], ["set-5", "set-6"]]
    assert back == forward[-2::-1]
    assert from_end == forward[::-1]


def test_an_empty_newer_edition_hides_no_distribution_on_every_backend(
    app_on_store: Flask,
) -> None:
    client = app_on_store.test_client()
    create(client, "air")
    editions = "/datasets/air/versions/1/editions"
    old = client.post(editions, json={"edition": "20260101T000000"}).json["edition"]
    assert client.post(f"{editions}/{old}/distributions", json=FILE).status_code == 201
    # A newer edition that never got a file (an unused upload URL, a failed run).
    assert client.post(editions, json={"edition": "20260202T000000"}).status_code == 201

    feed = parse(client.get("/catalog", headers={"Accept": "text/turtle"}))
    dataset = parse(client.get("/datasets/air", headers={"Accept": "text/turtle"}))
    gate = client.get("/datasets/air/publishability").json

    for graph in (feed, dataset):
        [distribution] = graph.objects(dataset_node("air"), ns.DCAT.distribution)
        assert f"/editions/{old}/distributions/" in str(distribution)
    assert gate == {"publishable": True, "missing": []}


def test_feed_and_dataset_rdf_carry_an_etag_a_harvester_can_revalidate(app: Flask) -> None:
    owner = app.test_client()
    create(owner, "air")
    client = anonymous(app)
    for url in ("/catalog", "/datasets/air?format=turtle"):
        first = client.get(url)
        assert first.status_code == 200
        etag = first.headers.get("ETag")
        assert etag, url

        again = client.get(url, headers={"If-None-Match": etag})

        assert again.status_code == 304, url
        assert again.data == b""
        assert again.headers.get("ETag") == etag
        assert "Accept" in again.headers.get("Vary", "")

    # Each representation has its own tag; the JSON record's tag is not the RDF's.
    tags = {client.get(f"/catalog?format={name}").headers["ETag"] for name in RDF_SYNTAX}
    assert len(tags) == 3
    json_tag = client.get("/datasets/air").headers["ETag"]
    assert json_tag != client.get("/datasets/air?format=turtle").headers["ETag"]

    before = client.get("/catalog").headers["ETag"]
    assert owner.patch("/datasets/air", json={"title": "Air"}).status_code == 200
    changed = client.get("/catalog", headers={"If-None-Match": before})

    assert changed.status_code == 200
    assert changed.headers["ETag"] != before


# RFC 3987: what an IRI may not hold as it is; a "%" must start an escape; one "#" at most.
IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|\\^`\x7f]|%(?![0-9A-Fa-f]{2})')


def test_urls_with_characters_an_iri_cannot_hold_reach_the_feed_escaped(
    client: FlaskClient,
) -> None:
    # The API takes these (a URL's path and query are any non-space text); written as they
    # are, one of them makes strict RDF parsers refuse the whole feed.
    standards = [
        "https://example.no/std|v2",
        'https://example.no/std"quoted"',
        "https://example.no/{std}^`x`/a\\b",
        "https://example.no/100%/done?q=[1]#part#two",
    ]
    endpoint = "https://api.example.no/air|noise{x}"
    create(
        client,
        "odd",
        conformsTo=standards,
        publisher="https://example.no/org|oslo",
        spatial="http://sws.geonames.org/3143244/|x",
    )
    editions = "/datasets/odd/versions/1/editions"
    edition = client.post(editions, json={"description": "live"}).json["edition"]
    response = client.post(
        f"{editions}/{edition}/distributions", json={"type": "api", "accessURL": endpoint}
    )
    assert response.status_code == 201, response.json

    for name in RDF_SYNTAX:
        graph = parse(client.get(f"/catalog?format={name}"))
        iris = {str(term) for triple in graph for term in triple if isinstance(term, URIRef)}
        bad = sorted(iri for iri in iris if IRI_FORBIDDEN.search(iri) or iri.count("#") > 1)
        assert not bad, (name, bad)
        node = dataset_node("odd")
        assert listed(graph) == {"odd"}
        assert {unquote(str(s)) for s in graph.objects(node, ns.DCTERMS.conformsTo)} == {
            unquote(s.replace("#two", "%23two")) for s in standards
        }
        assert graph.value(node, ns.DCTERMS.publisher) == URIRef("https://example.no/org%7Coslo")
        distribution = graph.value(node, ns.DCAT.distribution)
        access = graph.value(distribution, ns.DCAT.accessURL)
        assert access == URIRef("https://api.example.no/air%7Cnoise%7Bx%7D")


@pytest.mark.parametrize(
    ("profile", "media_type"),
    [
        (None, "https://www.iana.org/assignments/media-types/text/csv"),
        ("dcat-ap-no-2", "https://www.iana.org/assignments/media-types/text/csv"),
        # DCAT-AP-NO 3 names application/* types only: CSV is left to dct:format.
        ("dcat-ap-no-3", None),
    ],
)
def test_each_profile_names_media_types_as_it_asks(
    client: FlaskClient, profile: str | None, media_type: str | None
) -> None:
    create(client, "air")
    add_distribution(client, "air")
    query = {"format": "turtle", **({"profile": profile} if profile else {})}

    for path in ("/catalog", "/datasets/air"):
        graph = parse(anonymous(client.application).get(path, query_string=query))
        [distribution] = graph.objects(dataset_node("air"), ns.DCAT.distribution)
        found = graph.value(distribution, ns.DCAT.mediaType)
        assert (None if found is None else str(found)) == media_type, path
        assert graph.value(distribution, ns.DCTERMS.format) == URIRef(
            "http://publications.europa.eu/resource/authority/file-type/CSV"
        )


def test_a_dataset_deprecated_through_the_api_is_marked_in_the_feed(client: FlaskClient) -> None:
    create(client, "air")
    add_distribution(client, "air")
    response = client.patch("/datasets/air", json={"state": "deprecated"})
    assert response.status_code == 200, response.json

    graph = parse(anonymous(client.application).get("/catalog"))

    status = URIRef("http://www.w3.org/ns/adms#status")
    eu = "http://publications.europa.eu/resource/authority/"
    assert graph.value(dataset_node("air"), status) == URIRef(eu + "dataset-status/DEPRECATED")
    [distribution] = graph.objects(dataset_node("air"), ns.DCAT.distribution)
    assert graph.value(distribution, status) == URIRef(eu + "distribution-status/DEPRECATED")
