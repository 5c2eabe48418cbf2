"""The pages: served to browsers at the API's URLs, same permissions, nothing from elsewhere."""

from __future__ import annotations

import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from pipelines.objects import LocalObjectStore
from tests.catalogue.auth.world import build_world

REPO_ROOT = Path(__file__).resolve().parents[3]
STATIC = REPO_ROOT / "catalogue" / "web" / "static"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
HTMX = {**BROWSER, "HX-Request": "true"}
EDITION = "20260102T030405"


class Links(HTMLParser):
    """Every href/src/action of a page, and the hx-* URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action", "hx-get", "hx-post") and value:
                self.urls.append(value)
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "inline")


def links_of(html: str) -> Links:
    parser = Links()
    parser.feed(html)
    return parser


def page(client: FlaskClient, url: str, status: int = 200, **headers: str) -> str:
    response = client.get(url, headers={**BROWSER, **headers})
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def make_dataset(client: FlaskClient, **fields: object) -> dict:
    body = {"accessRights": "public", "owner": "team:miljo", **fields}
    response = client.post("/datasets", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_browsers_get_pages_and_api_clients_keep_json(client) -> None:
    make_dataset(client, id="air", title="Air")
    for url in ("/", "/datasets/air", "/datasets/air/runs"):
        assert client.get(url).mimetype == "application/json"
        assert client.get(url, headers={"Accept": "*/*"}).mimetype == "application/json"
        html = client.get(url, headers=BROWSER)
        assert html.mimetype == "text/html"
        assert "Accept" in html.headers["Vary"]
    assert client.get("/").json["name"] == "Brygge"
    # ?format= keeps asking for DCAT, whatever the browser's Accept says.
    turtle = client.get("/datasets/air?format=turtle", headers=BROWSER)
    assert turtle.mimetype == "text/turtle"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", BROWSER["Accept"]])
def test_htmx_gets_pages_whatever_it_accepts_and_format_still_wins(client, accept) -> None:
    make_dataset(client, id="air", title="Air")
    headers = {"HX-Request": "true", **({"Accept": accept} if accept else {})}
    assert client.get("/datasets/air", headers=headers).mimetype == "text/html"
    assert client.get("/datasets/air?format=turtle", headers=headers).mimetype == "text/turtle"
    assert client.get("/datasets/air?format=jsonld", headers=headers).mimetype == (
        "application/ld+json"
    )


def test_search_answers_htmx_with_the_results_fragment(client) -> None:
    make_dataset(client, id="air", title="Air quality", keywords=["luft"])
    make_dataset(client, id="noise", title="Noise", keywords=["støy"])
    whole = page(client, "/?q=air")
    assert whole.startswith("<!doctype html>")
    assert re.findall("<title>(.*)</title>", whole) == ["“air” — Search · Brygge"]
    fragment = page(client, "/?q=air", **HTMX)
    # The title first, for htmx to make it the document's: the search is the page's now.
    title, section, _ = fragment.partition('<section id="results"')
    assert title.strip().startswith("<title>“air” — Search · Brygge</title>") and section
    # What screen readers announce, put out of band into the page's own live region.
    assert '<p id="results-status" hx-swap-oob="innerHTML">1 dataset found</p>' in title
    assert '<p id="results-status" class="visually-hidden" role="status">1 dataset found' in whole
    assert "/datasets/air" in fragment and "/datasets/noise" not in fragment


def test_search_shows_facet_counts_that_link_to_their_filter(client) -> None:
    make_dataset(client, id="air", title="Air quality", themes=["ENVI"], keywords=["luft"])
    make_dataset(client, id="noise", title="Noise", themes=["ENVI", "TRAN"], keywords=["støy"])
    html = page(client, "/?theme=TRAN")
    # Each theme is named as visitors read it; its link filters by the theme's code.
    counts = re.findall(r'theme=([A-Z]+)">([^<]+)</a> <span class="count">(\d+)</span>', html)
    assert counts == [("ENVI", "Environment", "2"), ("TRAN", "Transport", "1")]
    assert "/datasets/noise" in html and "/datasets/air" not in html
    assert 'aria-label="Remove filter theme Transport"' in html
    assert re.findall("<title>(.*)</title>", html) == ["theme Transport — Search · Brygge"]


def test_the_dataset_page_names_its_themes_and_links_each_to_its_search(client) -> None:
    make_dataset(client, id="budget", title="Budget", themes=["ECON", "GOVE"])
    html = page(client, "/datasets/budget")
    themes = re.search(r"<dt>Themes</dt><dd>(.*?)</dd>", html, re.S)
    assert themes is not None
    assert re.findall(r'<a class="theme" href="/\?theme=([A-Z]+)">([^<]+)</a>', themes[1]) == [
        ("ECON", "Economy and finance"),
        ("GOVE", "Government and public sector"),
    ]


def test_the_format_facet_filters_the_search_page_and_stays_in_its_form(client) -> None:
    make_dataset(client, id="air", title="Air quality")
    make_dataset(client, id="noise", title="Noise")
    editions = "/datasets/air/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    distribution = {"id": "d1", "format": "csv"}
    assert client.post(f"{editions}/{EDITION}/distributions", json=distribution).status_code == 201
    html = page(client, "/")
    facet = re.search(r'<a [^>]*href="([^"]*format=CSV[^"]*)">CSV</a>', html)
    assert facet is not None
    # The facet's link is the search page filtered by format, not the API's index (JSON).
    filtered = page(client, facet.group(1).replace("&amp;", "&"))
    assert "/datasets/air" in filtered and "/datasets/noise" not in filtered
    # Typing a query keeps the filter, and the filter can be removed like the others.
    assert '<input type="hidden" name="format" value="CSV">' in filtered
    assert 'aria-label="Remove filter format CSV"' in filtered
    # A DCAT format on a dataset's page still answers DCAT.
    assert client.get("/datasets/air?format=ttl", headers=BROWSER).mimetype == "text/turtle"


def test_browsing_without_words_sorts_by_the_order_chosen(client) -> None:
    for dataset_id, title in (("a-zebra", "Zebra crossings"), ("b-air", "Air quality")):
        make_dataset(client, id=dataset_id, title=title)
    make_dataset(client, id="c-moose", title="Moose sightings")

    def order(url: str) -> list[str]:
        return re.findall(r'<h2 dir="auto"><a href="/datasets/([a-z0-9-]+)">', page(client, url))

    # What the form sends with an empty search box: its sort is kept, and shown as chosen.
    assert order("/?q=&sort=title") == ["b-air", "c-moose", "a-zebra"]
    assert '<option value="title" selected>' in page(client, "/?q=&sort=title")
    # Relevance, the form's default, has no words to rank by: datasets list by id.
    assert order("/?q=&sort=relevance") == ["a-zebra", "b-air", "c-moose"]


def test_search_says_how_many_datasets_match(client) -> None:
    # The API answers total; the page said nothing of it, so five pages of results
    # looked like one.
    make_dataset(client, id="air", title="Air quality")
    make_dataset(client, id="air-2", title="Air pollution")
    make_dataset(client, id="noise", title="Noise")
    assert '<p class="result-count">2 datasets</p>' in page(client, "/?q=air&limit=1")
    assert '<p class="result-count">1 dataset</p>' in page(client, "/?q=noise", **HTMX)
    assert '<p class="result-count">3 datasets</p>' in page(client, "/")
    assert '<p class="result-count">No dataset</p>' not in page(client, "/?q=zebra")


def test_search_pages_through_every_result(client) -> None:
    for n in range(7):
        make_dataset(client, id=f"set-{n}", title=f"Set {n}")
    seen: list[str] = []
    url: str | None = "/?limit=3"
    while url is not None:
        html = page(client, url)
        seen += re.findall(r'<h2 dir="auto"><a href="/datasets/([a-z0-9-]+)">', html)
        found = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == [f"set-{n}" for n in range(7)]
    assert len(seen) == 7


def selected_page_size(html: str) -> tuple[str, str]:
    """The text and value of the page size the search form has chosen."""
    control = html[html.index('<select id="limit"') :]
    control = control[: control.index("</select>")]
    [(value, text)] = re.findall(r'<option value="([^"]*)" selected>(\d+)</option>', control)
    return text, value


def test_the_search_form_chooses_the_page_size(client) -> None:
    # The size came only from a link (?limit=); the form had no control for it.
    for n in range(3):
        make_dataset(client, id=f"set-{n}", title=f"Set {n}")
    html = page(client, "/")
    # The default is sent as no value, as "Any" is: links stay as short as they were.
    assert selected_page_size(html) == ("50", "")
    sizes = re.findall(r"<option value=\"\d*\"[^>]*>(\d+)</option>", html)
    assert sizes == ["10", "20", "50", "100"]
    html = page(client, "/?limit=2")
    assert selected_page_size(html) == ("2", "2")
    assert len(re.findall(r'<h2 dir="auto"><a href="/datasets/', html)) == 2
    # The next page keeps the size.
    found = re.search(r'<a rel="next" href="([^"]+)"', html)
    assert found is not None and "limit=2" in found.group(1)
    assert selected_page_size(page(client, "/?limit=20")) == ("20", "20")


def test_a_bad_search_value_is_shown_on_the_page(client) -> None:
    html = page(client, "/?accessRights=secret", status=422)
    assert "accessRights" in html


def test_a_search_too_long_keeps_the_search_form_with_the_reason_in_the_results(client) -> None:
    make_dataset(client, id="air", title="Air quality")
    words = "luft " * 50
    html = page(client, f"/?q={words}&limit=abc", status=422)
    # The form stays, holding what was typed, and the next search sends no bad limit: its
    # control shows the default size, marked as refused.
    assert f'<input id="q" name="q" type="search" value="{words.strip()}"' in html
    assert "abc" not in html[: html.index('<section id="results"')]
    assert selected_page_size(html) == ("50", "")
    assert description_of(html, "limit")[0] == "true"
    results = html[html.index('<section id="results"') :]
    assert "Length must be between 1 and 200" in results and "Not a valid integer" in results
    # As one types: the results' place shows the reason, the search box stays where it is.
    response = client.get(f"/?q={words}", headers=HTMX)
    assert response.status_code == 422
    assert "HX-Retarget" not in response.headers
    title, section, fragment = response.get_data(as_text=True).partition('<section id="results"')
    assert title.strip().startswith("<title>“luft luft") and section
    assert "Length must be between 1 and 200" in fragment


def test_a_refused_filter_is_not_sent_again_by_the_next_search(client) -> None:
    make_dataset(client, id="air", title="Air quality", keywords=["luft"])
    long_format = "x" * 60
    html = page(client, f"/?q=air&keyword=luft&format={long_format}", status=422)
    # The search box and the filters that were not refused stay; the refused one would
    # refuse every search typed after it.
    assert '<input id="q" name="q" type="search" value="air"' in html
    assert '<input type="hidden" name="keyword" value="luft">' in html
    assert long_format not in html[: html.index('<section id="results"')]
    assert "/datasets/air" in page(client, "/?q=air&keyword=luft")


def test_the_dataset_page_names_its_update_frequency_and_language_as_the_form_does(
    client,
) -> None:
    make_dataset(client, id="air", title="Air", accrualPeriodicity="semiannual", language="nb")
    html = page(client, "/datasets/air")
    shown = dict(re.findall(r"<dt>(Updated|Language)</dt><dd>(.*?)</dd>", html))
    assert shown == {"Updated": "semiannual", "Language": "Norwegian Bokmål"}


@pytest.mark.parametrize(
    ("code", "word"), [("TRIENNIAL", "triennial"), ("BIENNIAL", "biennial"), ("OTHER", "other")]
)
def test_the_dataset_page_names_every_accepted_update_frequency(client, code, word) -> None:  # type: ignore[no-untyped-def]
    make_dataset(client, id="air", title="Air", accrualPeriodicity=code)
    html = page(client, "/datasets/air")
    assert re.findall(r"<dt>Updated</dt><dd>(.*?)</dd>", html) == [word]


class Elements(HTMLParser):
    """The attributes of each element of a page that has an id, and the text under it."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, dict[str, str | None]] = {}
        self.texts: dict[str, str] = {}
        self.open: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("id"):
            self.attributes[found["id"]] = found
            self.texts[found["id"]] = ""
        if tag not in ("input", "br", "meta", "link", "img"):
            self.open.append((tag, found.get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        for _, element_id in self.open:
            if element_id:
                self.texts[element_id] += data


def description_of(html: str, element_id: str) -> tuple[str | None, str]:
    """An element's aria-invalid, and the text of the elements its aria-describedby names."""
    elements = Elements()
    elements.feed(html)
    attributes = elements.attributes[element_id]
    described = (attributes.get("aria-describedby") or "").split()
    return attributes.get("aria-invalid"), " ".join(elements.texts[name] for name in described)


@pytest.mark.parametrize(
    ("query", "control", "reason"),
    [
        ("q=" + "a" * 201, "q", "Length must be between 1 and 200"),
        ("accessRights=secret", "accessRights", "Must be one of: public"),
        ("q=air&sort=best", "sort", "Must be one of: relevance"),
        ("state=gone", "state", "Must be one of: active"),
        ("q=air&limit=0", "limit", "greater than or equal to 1"),
        # A value of no control of its own (a filter from a facet) is refused with the
        # search as a whole: read with the search box.
        ("format=" + "x" * 60, "q", "Length must be between 1 and 50"),
        ("q=air&cursor=garbage", "q", "This page link is out of date"),
    ],
)
def test_a_refused_search_value_is_read_with_its_control(client, query, control, reason) -> None:
    make_dataset(client, id="air", title="Air quality")
    html = page(client, f"/?{query}", status=422)
    # The search form stays, the reason in the results' place, read with the control.
    assert '<form id="search"' in html
    invalid, description = description_of(html, control)
    assert invalid == "true" and reason in description
    for other in {"q", "sort", "accessRights", "state", "limit"} - {control}:
        assert description_of(html, other) == (None, "")
    # As one types, the results' fragment says which control each reason belongs to
    # (search.js ties it, the form staying as it is).
    fragment = client.get(f"/?{query}", headers=HTMX)
    assert fragment.status_code == 422
    assert re.search(rf'<li id="search-error-[^"]+" data-control="{control}">', fragment.text)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("accessRights=secret", "<strong>Access</strong>: Must be one of: public"),
        ("q=air&sort=best", "<strong>Sort</strong>: Must be one of: relevance"),
        ("state=gone", "<strong>State</strong>: Must be one of: active"),
        ("q=" + "a" * 201, "<strong>Search datasets</strong>: Length must be"),
        ("q=air&limit=0", "<strong>Results per page</strong>: Must be greater"),
        ("format=" + "x" * 60, "<strong>Format</strong>: Length must be"),
        ("q=air&cursor=garbage", "This page link is out of date; start the search again."),
    ],
)
def test_a_refused_search_value_is_named_as_the_page_names_it(client, query, said) -> None:
    # The list named the API's fields (accessRights, limit) and said "cursor: not a cursor
    # this service handed out", words a visitor of the page never saw.
    make_dataset(client, id="air", title="Air quality")
    fragment = client.get(f"/?{query}", headers=HTMX).text
    for answer in (page(client, f"/?{query}", status=422), fragment):
        reasons = answer[answer.index('<section id="results"') :]
        assert said in reasons
        for field in ("accessRights", "limit", "cursor", "format", "q"):
            assert f"<strong>{field}</strong>" not in reasons
        assert "handed out" not in reasons
    # The API says what it said.
    api = client.get(f"/datasets?{query}")
    assert api.status_code == 422
    assert "Access" not in str(api.json) and "page link" not in str(api.json)


def test_a_mistyped_address_is_a_404_page_in_a_browser_and_json_elsewhere(client) -> None:
    html = page(client, "/dataset/air", status=404)
    assert "<h1>404 Not Found</h1>" in html and 'href="/"' in html
    # A trailing slash is the same resource's address: redirected to it, not a 404.
    slashed = client.get("/datasets/air/", headers={"Accept": "text/html"})
    assert (slashed.status_code, slashed.headers["Location"]) == (308, "/datasets/air")
    answer = client.get("/dataset/air")
    assert (answer.status_code, answer.json["code"]) == (404, 404)


def test_hidden_datasets_are_404_pages_as_in_the_api(app, client) -> None:
    make_dataset(client, id="secret", title="Secret", accessRights="non-public")
    anonymous = FlaskClient(app)
    assert anonymous.get("/datasets/secret").status_code == 404
    html = page(anonymous, "/datasets/secret", status=404)
    assert "Secret" not in html
    assert "dataset &#39;secret&#39; not found" in html
    page(anonymous, "/datasets/secret/runs", status=404)
    assert "/datasets/secret" not in page(anonymous, "/")


def test_dataset_page_shows_metadata_checklist_snippets_and_schema_org(client) -> None:
    make_dataset(
        client,
        id="air",
        title="Air quality",
        description="Hourly measurements",
        keywords=["luft", "air"],
        contactPoint={"name": "Miljø", "email": "miljo@example.no"},
        wasDerivedFrom=["stations"],
    )
    editions = "/datasets/air/versions/1/editions"
    assert client.post(editions, json={"edition": EDITION}).status_code == 201
    distribution = {
        "filenames": ["air.csv"],
        "format": "CSV",
        "mediaType": "text/csv",
        "byteSize": 2048,
        "checksum": "a" * 64,
    }
    posted = client.post(f"{editions}/{EDITION}/distributions", json=distribution)
    assert posted.status_code == 201, posted.json
    html = page(client, "/datasets/air")
    assert "Hourly measurements" in html and "miljo@example.no" in html
    # The checklist names what DCAT-AP-NO still needs.
    assert "publisher" in html and "themes" in html and "license" in html
    assert "2.0 kB" in html and "air.csv" in html
    download = (
        f"/datasets/air/versions/1/editions/{EDITION}/distributions/{posted.json['id']}/download"
    )
    assert download in html
    for snippet in ("curl -L", "pl.read_csv(", "read_csv(&#39;", "brygge download ds:air"):
        assert snippet in html
    assert "stations" in html
    embedded = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert embedded is not None
    schema = json.loads(embedded.group(1))
    assert schema["@type"] == "Dataset" and schema["name"] == "Air quality"
    assert schema["distribution"][0]["contentUrl"].endswith(download)
    assert "?format=turtle" in html and "?format=jsonld" in html
    # Owners (here a site admin) see the history.
    assert 'id="history"' in html


def test_history_is_for_owners_only(app, client) -> None:
    make_dataset(client, id="air", title="Air")
    assert 'id="history"' not in page(FlaskClient(app), "/datasets/air")


def test_runs_and_history_are_loaded_when_shown_and_linked_without_javascript(client) -> None:
    # The page reads neither: each section fetches its page's fragment when scrolled to
    # (htmx), and its fallback link leads to that page.
    make_dataset(client, id="air", title="Air")
    assert client.patch("/datasets/air", json={"title": "Air quality"}).status_code == 200
    html = page(client, "/datasets/air")
    for path in ("/datasets/air/runs", "/datasets/air/history"):
        loader = re.search(rf'<div class="later" hx-get="{path}" hx-trigger="([^"]+)"', html)
        assert loader is not None and "intersect" in loader.group(1), path
        assert f'<a href="{path}">' in html
    assert "title" not in re.search(r'id="history".*', html, re.S).group(0)  # no entries yet
    fragment = page(client, "/datasets/air/history", **HTMX)
    assert "<html" not in fragment and fragment.lstrip().startswith('<div class="history">')
    cells = (
        r"<tr><td [^>]*>[^<]+</td><td [^>]*>[^<]+</td><td [^>]*>([^<]+)</td><td [^>]*>([^<]*)</td>"
    )
    rows = re.findall(cells, fragment)
    assert rows[0] == ("update /datasets/air", "title")
    assert len(rows) == 2  # the create below the update
    whole = page(client, "/datasets/air/history")
    assert whole.startswith("<!doctype html>") and "History of air" in whole
    assert client.get("/datasets/air/history").mimetype == "application/json"
    assert '<section id="runs">' in page(client, "/datasets/air/runs", **HTMX)


def test_the_history_fragment_follows_the_audit_trails_permissions(tmp_path: Path) -> None:
    world = build_world(tmp_path / "home")
    try:
        world.create_dataset("d", "non-public")
        world.grant("d", "user:reader", ["read"])
        assert "create /datasets/d" in page(world.client("owner"), "/datasets/d/history", **HTMX)
        # What the JSON history answers each caller, the page answers too.
        for caller, status in (("reader", 403), ("other_admin", 404), ("anonymous", 401)):
            client = world.client(caller)
            assert client.get("/datasets/d/history").status_code == status, caller
            html = page(client, "/datasets/d/history", status=status, **HTMX)
            assert "create /datasets/d" not in html, caller
        # A reader sees the page without the history section, and without the owner's
        # buttons (``can.update`` in a template is the dict's method, always true).
        read_only = page(world.client("reader"), "/datasets/d")
        assert 'id="history"' not in read_only
        assert "Edit metadata" not in read_only and "/pipeline/edit" not in read_only
        assert "Edit metadata" in page(world.client("owner"), "/datasets/d")
    finally:
        world.app.extensions["brygge"].store.close()


def test_a_failed_run_page_draws_the_pipeline_and_names_the_error(client, failed_run) -> None:
    html = page(client, f"/runs/{failed_run}")
    assert '<svg class="pipeline"' in html
    assert re.search(r'<g class="state succeeded task" data-state="Upper">', html)
    assert re.search(r'<g class="state failed task" data-state="Check">', html)
    assert "InputError" in html and "data.txt holds BAD" in html
    # An ended run does not poll.
    assert "hx-trigger" not in html
    assert "/outputs/1/download" in html
    runs = page(client, "/datasets/text/runs")
    assert f"/runs/{failed_run}" in runs and "FAILED" in runs


def test_a_run_page_counts_the_rows_a_step_kept_and_says_how_many_it_rejected(app, client) -> None:  # type: ignore[no-untyped-def]
    # validate kept 2 rows of 3 and wrote one reject line: the page said 3 rows.
    make_dataset(client, id="air", title="Air")
    definition = {
        "StartAt": "Check",
        "States": {"Check": {"Type": "Task", "Resource": "brygge:step:validate", "End": True}},
    }
    template = {"id": "check", "title": "Check", "definition": definition}
    assert client.post("/pipelines", json=template).status_code == 201
    schema = {"fields": [{"name": "n", "type": "integer"}]}
    task_config = {"Check": {"schema": schema, "onInvalid": "quarantine"}}
    pipeline = {"template": "check", "taskConfig": task_config}
    assert client.put("/datasets/air/pipeline", json=pipeline).status_code == 200
    services = app.extensions["brygge"]
    raw = f"raw/green/air/version=1/edition={EDITION}/data.csv"
    assert (
        client.post("/datasets/air/versions/1/editions", json={"edition": EDITION}).status_code
        == 201
    )
    LocalObjectStore(services.settings.objects_dir).put(raw, io.BytesIO(b"n\n1\nx\n3\n"))
    runs = f"/datasets/air/versions/1/editions/{EDITION}/runs"
    started = client.post(runs, json={"input": {"keys": [raw]}})
    assert started.status_code == 202
    assert services.runs.wait_idle(timeout_s=60)
    html = page(client, f"/runs/{started.json['id']}")
    assert '<td data-label="Rows">2 (1 rejected)</td>' in html


def test_a_running_run_polls_itself(app, client, failed_run) -> None:
    run = app.extensions["brygge"].runs.get(failed_run)
    from catalogue.web.rendering import render

    with app.test_request_context(f"/runs/{failed_run}", headers=HTMX):
        fragment = render(
            "run.html",
            "run",
            run={**run, "status": "RUNNING"},
            can={"write": True},
            is_running=True,
            graph=None,
            steps=[],
        )
    assert 'hx-trigger="every 1s"' in fragment
    assert "Abort this run" in fragment
    assert fragment.lstrip().startswith('<section id="run"')


def test_a_running_run_reloads_itself_without_javascript(app, client, failed_run) -> None:
    run = app.extensions["brygge"].runs.get(failed_run)
    from catalogue.web.rendering import render

    context = {
        "run": {**run, "status": "RUNNING"},
        "can": {},
        "is_running": True,
        "graph": None,
        "steps": [],
    }
    with app.test_request_context(f"/runs/{failed_run}", headers=BROWSER):
        html = render("run.html", "run", **context)
    head = html.partition("</head>")[0]
    # Only where scripts do not run: a page that polls itself is not reloaded as well.
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', head)
    with app.test_request_context(f"/runs/{failed_run}", headers=HTMX):
        assert "refresh" not in render("run.html", "run", **context)
    # An ended run is not reloaded.
    assert 'http-equiv="refresh"' not in page(client, f"/runs/{failed_run}")


def test_pages_load_nothing_from_another_host(client, failed_run) -> None:
    for url in ("/", "/datasets/text", "/datasets/text/runs", f"/runs/{failed_run}", "/sign-in"):
        html = page(client, url)
        # Links to other sites (a licence, mailto:) are fine; loading anything from them is not.
        scripts = links_of(html).scripts
        assert all(src.startswith("/web/static/") or src == "inline" for src in scripts)
        for loaded in re.findall(r'<(?:script|img|link|iframe)[^>]*(?:src|href)="([^"]+)"', html):
            assert loaded.startswith("/") or loaded.startswith("http://localhost/"), (url, loaded)


def test_static_assets_are_served_from_the_package(client) -> None:
    for name in ("htmx.min.js", "brygge.css", "htmx-LICENSE"):
        response = client.get(f"/web/static/{name}")
        assert response.status_code == 200
        assert response.data == (STATIC / name).read_bytes()


def test_vendored_htmx_is_the_pinned_npm_package() -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]
    assert re.fullmatch(r"2\.\d+\.\d+", pinned["htmx.org"])
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/htmx.org"]["version"] == pinned["htmx.org"]
    installed = REPO_ROOT / "node_modules" / "htmx.org"
    if not installed.is_dir():
        pytest.skip("npm ci has not installed node_modules (./dev test does)")
    assert json.loads((installed / "package.json").read_text())["version"] == pinned["htmx.org"]
    for ours, theirs in (("htmx.min.js", "dist/htmx.min.js"), ("htmx-LICENSE", "LICENSE")):
        digest = hashlib.sha256((STATIC / ours).read_bytes()).hexdigest()
        assert digest == hashlib.sha256((installed / theirs).read_bytes()).hexdigest(), ours


def test_a_pages_links_follow_the_script_root_of_each_request(client) -> None:
    # Built paths are kept between requests; a stage prefix (SCRIPT_NAME) is part of the key.
    make_dataset(client, id="air", title="Air", keywords=["luft"])
    plain = links_of(page(client, "/datasets/air")).urls
    staged = client.get("/datasets/air", headers=BROWSER, base_url="http://localhost/prod")
    assert staged.status_code == 200
    prefixed = links_of(staged.get_data(as_text=True)).urls
    again = links_of(page(client, "/datasets/air")).urls

    assert "/?keyword=luft" in plain and "/datasets/air/runs" in plain
    assert "/prod/?keyword=luft" in prefixed and "/prod/datasets/air/runs" in prefixed
    local = [url for url in prefixed if url.startswith("/") and not url.startswith("//")]
    assert local and all(url.startswith("/prod/") for url in local)
    assert again == plain


def test_a_failing_section_shows_its_error_in_place_and_other_fragments_take_the_main(
    tmp_path: Path,
) -> None:
    world = build_world(tmp_path / "home")
    try:
        world.create_dataset("d", "non-public")
        world.grant("d", "user:reader", ["read"])
        client = world.client("reader")
        # The history section, loading itself, is refused: the error goes where it was.
        section = client.get(
            "/datasets/d/history", headers={**HTMX, "HX-Target": "section-history"}
        )
        assert section.status_code == 403
        assert "HX-Retarget" not in section.headers
        assert section.headers["HX-Reswap"] == "outerHTML"  # Brygge's own, swapped in place
        html = section.get_data(as_text=True)
        assert '<section class="error" role="alert">' in html and "<nav" not in html
        # Under the section's own heading (h2), as the page's one h1 stays the dataset's.
        assert "<h1" not in html and re.search(r"<h3>403 Forbidden</h3>", html)
        # Any other fragment's failure replaces the page's main content with the error alone.
        other = client.get("/datasets/d/history", headers=HTMX)
        assert other.headers["HX-Retarget"] == "main"
        assert "<nav" not in other.get_data(as_text=True)
        assert "<h1>403 Forbidden</h1>" in other.get_data(as_text=True)
        # A page asked for whole still comes whole.
        whole = client.get("/datasets/d/history", headers=BROWSER)
        assert whole.status_code == 403 and "<nav" in whole.get_data(as_text=True)
    finally:
        world.app.extensions["brygge"].store.close()


def test_the_search_pages_kept_results_follow_every_change_and_prefix(client) -> None:
    # Results and facet lists are rendered once per what they show: asked again, the same
    # page; after a change, the change; under a stage prefix, the prefix.
    make_dataset(client, id="air", title="Air quality", keywords=["luft", "oslo"])
    make_dataset(client, id="water", title="Water quality", keywords=["vann"])
    first = page(client, "/?q=quality")
    assert page(client, "/?q=quality") == first
    assert 'href="/?q=quality&amp;keyword=luft"' in first

    assert client.patch("/datasets/air", json={"title": "Better air quality"}).status_code == 200
    retitled = page(client, "/?q=quality")
    assert "Better air quality" in retitled and "Air quality" not in retitled
    assert client.patch("/datasets/air", json={"keywords": ["pm10"]}).status_code == 200
    changed = page(client, "/?q=quality")
    assert 'href="/?q=quality&amp;keyword=pm10"' in changed
    assert 'keyword=luft"' not in changed  # neither in the result nor in the facet list

    other = page(client, "/?q=quality&sort=title")
    assert 'href="/?q=quality&amp;sort=title&amp;keyword=pm10"' in other

    staged = client.get("/?q=quality", headers=BROWSER, base_url="http://localhost/prod")
    prefixed = links_of(staged.get_data(as_text=True)).urls
    assert "/prod/?q=quality&keyword=pm10" in prefixed and "/prod/datasets/air" in prefixed
    assert page(client, "/?q=quality") == changed


def test_the_site_has_an_icon_of_its_own_at_favicon_ico_and_every_page_links_it(
    client, failed_run
) -> None:
    """Browsers ask every site for /favicon.ico: it is the project's icon, not a 404."""
    for headers in ({}, BROWSER):  # an API client, or a browser, asks for it alike
        icon = client.get("/favicon.ico", headers=headers)
        assert icon.status_code == 200
        assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert icon.data[:4] == b"\0\0\1\0"  # an ICO file's header: reserved 0, type 1 (icon)
        assert icon.data == (STATIC / "favicon.ico").read_bytes()
    for url in ("/", "/datasets/text", f"/runs/{failed_run}", "/sign-in", "/no-such-page"):
        status = 404 if url == "/no-such-page" else 200
        found = re.findall(r'<link rel="icon"[^>]*href="([^"]+)"', page(client, url, status))
        assert found == ["/favicon.ico"], url
    # Behind a path prefix (API Gateway's /<stage>) the link keeps the prefix.
    prefixed = client.get("/", headers=BROWSER, base_url="https://example.org/dev_api")
    assert '<link rel="icon" href="/dev_api/favicon.ico"' in prefixed.get_data(as_text=True)


def test_facets_are_named_for_people_and_only_those_with_values_are_shown(client) -> None:
    make_dataset(client, id="air", title="Air quality", keywords=["luft"])
    html = page(client, "/?q=air")
    start = html.index('<nav id="facets"')
    facets = html[start : html.index("</nav>", start)]
    # No theme and no format given: no heading over an empty list.
    assert re.findall(r"<h2>([^<]+)</h2>", facets) == ["Owner", "Keyword", "Access", "State"]


def test_themes_of_equal_counts_are_listed_by_the_name_shown(client) -> None:
    # By code REGI ("Regions and cities") comes before SOCI ("Population and society").
    make_dataset(client, id="towns", title="Towns", keywords=["census"], themes=["REGI", "ECON"])
    make_dataset(client, id="people", title="People", keywords=["census"], themes=["SOCI", "ECON"])
    for url in ("/", "/?q=census"):  # counted by the store's counters, and by its search
        html = page(client, url)
        start = html.index("<h2>Theme</h2>")
        themes = html[start : html.index("</ul>", start)]
        shown = re.findall(r'<a dir="auto" href="[^"]*">([^<]+)</a>', themes)
        assert shown == ["Economy and finance", "Population and society", "Regions and cities"], url
