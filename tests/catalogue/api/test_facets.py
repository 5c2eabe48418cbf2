"""Facet counts of ``GET /datasets``: disjunctive, visible datasets only, on every store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalogue.auth.world import World, build_world

BASE = {"description": "", "accessRights": "public", "owner": "team:miljo"}
DATASETS = [
    {"id": "air", "title": "Luftkvalitet i Oslo", "themes": ["ENVI"], "keywords": ["Luft"]},
    {"id": "noise", "title": "Støy i Oslo", "themes": ["ENVI"], "keywords": ["støy", "luft"]},
    {"id": "buses", "title": "Bussruter", "themes": ["TRAN"], "keywords": ["buss"]},
    {
        "id": "bikes",
        "title": "Bysykkel",
        "themes": ["TRAN", "ENVI"],
        "keywords": ["sykkel"],
        "owner": "team:bym",
        "state": "deprecated",
    },
]


def facet(body: dict, name: str) -> dict[str, int]:
    return {entry["value"]: entry["count"] for entry in body["facets"][name]}


def listing(client, **query: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get("/datasets", query_string=query)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def catalogue(client):  # type: ignore[no-untyped-def]
    for dataset in DATASETS:
        response = client.post("/datasets", json={**BASE, **dataset})
        assert response.status_code == 201, response.json
    return client


def test_facets_without_filters_count_every_dataset(catalogue) -> None:
    body = listing(catalogue)

    assert facet(body, "theme") == {"ENVI": 3, "TRAN": 2}
    assert facet(body, "keyword") == {"luft": 2, "støy": 1, "buss": 1, "sykkel": 1}
    assert facet(body, "owner") == {"team:miljo": 3, "team:bym": 1}
    assert facet(body, "state") == {"active": 3, "deprecated": 1}
    assert facet(body, "accessRights") == {"public": 4}
    assert facet(body, "format") == {}
    assert body["total"] == 4 and body["approximate"] is False
    # Most datasets first, ties by value.
    assert [entry["value"] for entry in body["facets"]["keyword"]] == [
        "luft",
        "buss",
        "støy",
        "sykkel",
    ]


def test_facets_are_disjunctive_over_the_other_filters(catalogue) -> None:
    body = listing(catalogue, theme="ENVI")

    assert {item["id"] for item in body["items"]} == {"air", "noise", "bikes"}
    # The theme facet ignores the theme filter; the others count within it.
    assert facet(body, "theme") == {"ENVI": 3, "TRAN": 2}
    assert facet(body, "owner") == {"team:miljo": 2, "team:bym": 1}
    assert body["total"] == 3

    both = listing(catalogue, theme="ENVI", owner="team:miljo")
    assert {item["id"] for item in both["items"]} == {"air", "noise"}
    assert facet(both, "theme") == {"ENVI": 2, "TRAN": 1}
    assert facet(both, "owner") == {"team:miljo": 2, "team:bym": 1}
    assert facet(both, "keyword") == {"luft": 2, "støy": 1}
    assert both["total"] == 2


def test_facets_of_a_search_count_its_matches(catalogue) -> None:
    body = listing(catalogue, q="oslo")
    assert facet(body, "keyword") == {"luft": 2, "støy": 1}
    assert facet(body, "theme") == {"ENVI": 2}
    assert body["total"] == 2

    filtered = listing(catalogue, q="luft", keyword="STØY")
    assert [item["id"] for item in filtered["items"]] == ["noise"]
    assert facet(filtered, "keyword") == {"luft": 2, "støy": 1}
    assert facet(filtered, "theme") == {"ENVI": 1}
    assert filtered["total"] == 1


def test_facets_false_leaves_them_out(catalogue) -> None:
    body = listing(catalogue, facets="false")
    assert set(body) == {"items", "next"}
    assert len(body["items"]) == 4


def test_format_facet_and_filter_follow_the_distributions(catalogue) -> None:
    editions = "/datasets/air/versions/1/editions"
    assert catalogue.post(editions, json={"edition": "20260101T000000"}).status_code == 201
    distributions = f"{editions}/20260101T000000/distributions"
    etag = catalogue.get("/datasets/air").headers["ETag"]
    for number, name in enumerate(["csv", "CSV", "Parquet"]):
        response = catalogue.post(distributions, json={"id": f"d{number}", "format": name})
        assert response.status_code == 201, response.json

    dataset = catalogue.get("/datasets/air")
    assert dataset.json["formats"] == ["CSV", "PARQUET"]
    # The formats are part of the dataset: its ETag changed with them.
    assert dataset.headers["ETag"] != etag
    assert facet(listing(catalogue), "format") == {"CSV": 1, "PARQUET": 1}
    assert [item["id"] for item in listing(catalogue, format="csv")["items"]] == ["air"]
    assert facet(listing(catalogue, q="oslo"), "format") == {"CSV": 1, "PARQUET": 1}

    assert catalogue.delete(f"{distributions}/d2").status_code == 204
    assert facet(listing(catalogue), "format") == {"CSV": 1}
    assert listing(catalogue, format="parquet")["items"] == []
    assert catalogue.delete(f"{editions}/20260101T000000?cascade=true").status_code == 204
    assert facet(listing(catalogue), "format") == {}
    assert catalogue.get("/datasets/air").json["formats"] == []


def test_facets_only_the_top_20_values(client) -> None:
    keywords = [f"k{index:02}" for index in range(20)]
    client.post("/datasets", json={**BASE, "title": "One", "keywords": keywords})
    client.post("/datasets", json={**BASE, "title": "Two", "keywords": ["k19", "zz"]})

    listed = listing(client)["facets"]["keyword"]

    assert listed[0] == {"value": "k19", "count": 2}
    assert [entry["value"] for entry in listed[1:]] == keywords[:19]


def test_counts_are_approximate_past_the_exact_limit(catalogue, monkeypatch) -> None:
    from catalogue.repositories import facets

    monkeypatch.setattr(facets, "MAX_EXACT", 2)
    searched = listing(catalogue, q="oslo")
    filtered = listing(catalogue, theme="ENVI")
    everything = listing(catalogue)

    assert searched["approximate"] is True and searched["total"] == 2
    assert filtered["approximate"] is True and filtered["total"] == 2
    # Counters need no reading: exact whatever the size.
    assert everything["approximate"] is False and everything["total"] == 4


def test_sort_without_q_orders_every_dataset_once(catalogue) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        query = {"sort": "title", "limit": "3", **({"cursor": cursor} if cursor else {})}
        body = listing(catalogue, **query)
        seen.extend(item["title"] for item in body["items"])
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == ["Bussruter", "Bysykkel", "Luftkvalitet i Oslo", "Støy i Oslo"]
    modified = [item["id"] for item in listing(catalogue, sort="modified", theme="ENVI")["items"]]
    assert modified == ["bikes", "noise", "air"]


def test_sort_without_q_past_the_limit_is_422(catalogue, monkeypatch) -> None:
    from catalogue.store import ranking

    monkeypatch.setattr(ranking, "MAX_CANDIDATES", 3)
    response = catalogue.get("/datasets?sort=title")
    assert response.status_code == 422 and "sort" in str(response.json)
    assert catalogue.get("/datasets?sort=title&theme=TRAN").status_code == 200


# -- visibility ----------------------------------------------------------------------------


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = build_world(tmp_path / "home")
    built.create_dataset("open", "public")
    built.create_dataset("inside", "restricted")
    built.create_dataset("secret", "non-public")
    built.create_dataset("hidden", "non-public", owner="team:other")
    built.grant("secret", "user:reader", ["read"])
    yield built
    built.app.extensions["brygge"].store.close()


ACCESS = {"open": "public", "inside": "restricted", "secret": "non-public", "hidden": "non-public"}
SEEN = {
    "anonymous": {"open"},
    "writer": {"open", "inside"},
    "reader": {"open", "inside", "secret"},
    "owner": {"open", "inside", "secret"},
    "other_admin": {"open", "inside", "hidden"},
    "site_admin": set(ACCESS),
}


@pytest.mark.parametrize("caller", sorted(SEEN))
@pytest.mark.parametrize(
    "query", [{}, {"q": "zebra"}, {"keyword": "zebra"}, {"q": "zeb", "owner": "team:owners"}]
)
def test_hidden_datasets_never_count(world, caller, query) -> None:  # type: ignore[no-untyped-def]
    body = listing(world.client(caller), **query)

    expected = SEEN[caller] - ({"hidden"} if "owner" in query else set())
    assert {item["id"] for item in body["items"]} == expected
    access = [ACCESS[dataset] for dataset in expected]
    assert facet(body, "accessRights") == {value: access.count(value) for value in set(access)}
    assert body["total"] == len(expected)
    assert facet(body, "keyword") == {"zebra": len(expected)}
    owners = facet(body, "owner")
    assert owners.get("team:other", 0) == (1 if "hidden" in SEEN[caller] else 0)


# -- every store -----------------------------------------------------------------------------


def test_facets_agree_on_every_store(app_on_store) -> None:  # type: ignore[no-untyped-def]
    client = app_on_store.test_client()
    for dataset in DATASETS:
        assert client.post("/datasets", json={**BASE, **dataset}).status_code == 201
    client.patch("/datasets/buses", json={"themes": ["ENVI"], "keywords": ["buss", "luft"]})
    client.delete("/datasets/noise")

    everything = listing(client)
    assert facet(everything, "theme") == {"ENVI": 3, "TRAN": 1}
    assert facet(everything, "keyword") == {"luft": 2, "buss": 1, "sykkel": 1}
    assert everything["total"] == 3
    filtered = listing(client, theme="ENVI", state="active")
    assert facet(filtered, "theme") == {"ENVI": 2}
    assert facet(filtered, "state") == {"active": 2, "deprecated": 1}
    assert filtered["total"] == 2
    searched = listing(client, q="lu")
    assert facet(searched, "keyword") == {"luft": 2, "buss": 1}
    assert searched["total"] == 2
