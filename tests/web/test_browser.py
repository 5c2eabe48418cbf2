"""The web catalogue in a real browser: search, pages, sign-in, errors, accessibility."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import brygge_command, clean_environment
from tests.web.conftest import ARTIFACTS, AXE, CSV, RIGHT, Site, make_dataset, upload

pytestmark = pytest.mark.browser

VIEWPORTS = ((1280, 800), (390, 844))


@pytest.fixture
def context(browser, site: Site) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh browser profile that records every request it makes."""
    made = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 800})
    made.requests = []
    made.on("request", lambda request: made.requests.append(request.url))
    yield made
    made.close()


@pytest.fixture
def page(context):  # type: ignore[no-untyped-def]
    return context.new_page()


def sign_in(page, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/sign-in")
    page.fill("#token", token)
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector(".who")


def serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's violations of impact serious or critical on the page as it stands."""
    # Injected as inline script content: nothing is fetched from another host.
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screenshots(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def upload_csv(page) -> None:  # type: ignore[no-untyped-def]
    """On a dataset's upload page: send a small CSV and follow it to its run's page."""
    page.set_input_files(
        "#file", files=[{"name": "values.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.click("#upload button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/"))


def test_search_as_you_type(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    expect(page.locator("#results")).to_contain_text("Noise")
    page.fill("#q", "air")
    expect(page.locator("#results")).not_to_contain_text("Noise")
    expect(page.locator("#results")).to_contain_text("Air quality in Oslo")
    # The address follows the search, so it can be shared and reloaded.
    expect(page).to_have_url(re.compile(r"/\?q=air&"))
    assert "Secret salaries" not in page.content()


def test_search_works_by_keyboard_alone(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "q":
            break
    expect(page.locator("#q")).to_be_focused()
    page.keyboard.type("noise")
    page.keyboard.press("Enter")
    expect(page.locator("#results")).not_to_contain_text("Air quality")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "/datasets/noise":
            break
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{site.url}/datasets/noise")
    expect(page.locator("h1")).to_have_text("Noise")


def test_dataset_page_with_its_data_and_snippets(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/datasets/air")
    expect(page.locator("h1")).to_have_text("Air quality in Oslo")
    data = page.locator("#distributions + p + table")
    expect(data).to_contain_text("values.parquet")
    expect(page.locator(".snippets")).to_contain_text("pl.read_parquet(")
    # The preview and statistics publishing computed, without reading the file now.
    expect(page.locator("table.preview-rows")).to_contain_text("Bygdøy")
    expect(page.locator("table.statistics")).to_contain_text("station")
    expect(page.locator(".timeline a")).to_have_text(site.runs["air"])
    with page.expect_download() as download:
        page.click("table.data a[download]")
    assert download.value.suggested_filename == "values.parquet"


def test_sign_in_shows_the_owners_view(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/datasets/air")
    expect(page.locator("#history")).to_have_count(0)
    sign_in(page, site.reader_token)
    expect(page.locator(".who")).to_contain_text("user:reader")
    page.goto("/datasets/air")
    expect(page.locator("#history")).to_have_count(1)
    cookie = next(c for c in page.context.cookies() if c["name"] == "brygge_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""


def test_runs_and_history_load_when_scrolled_to(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, site.reader_token)  # team:miljo owns air: its members see the history
    page.goto("/datasets/air")
    runs = page.locator("section[aria-labelledby=recent-runs]")
    history = page.locator("section[aria-labelledby=history]")
    expect(history.locator(".history")).to_have_count(0)  # not read with the page
    runs.scroll_into_view_if_needed()
    expect(runs.locator("#runs a").first).to_have_text(site.runs["air"])
    history.scroll_into_view_if_needed()
    expect(history.locator(".history table")).to_contain_text("create /datasets/air")


def test_without_javascript_the_sections_link_to_their_pages(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site.reader_token)
        page.goto("/datasets/air")
        page.click("text=Every change to this dataset")
        expect(page).to_have_url(f"{site.url}/datasets/air/history")
        expect(page.locator("h1")).to_have_text("History of air")
        expect(page.locator(".history table")).to_contain_text("create /datasets/air")
    finally:
        context.close()


def test_a_hidden_dataset_is_a_404_page(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    response = page.goto("/datasets/secret")
    assert response.status == 404
    assert "Secret salaries" not in page.content()
    sign_in(page, site.reader_token)  # team:miljo has no grant on team:hr's dataset
    assert page.goto("/datasets/secret").status == 404
    page.goto("/sign-in")
    sign_in(page, site.admin_token)
    assert page.goto("/datasets/secret").status == 200


def test_a_failed_run_shows_its_error_on_the_graph(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"/runs/{site.runs['noise']}")
    expect(page.locator("#run")).to_have_attribute("data-status", "FAILED")
    expect(page.locator('svg.pipeline g.state.failed[data-state="ToParquet"]')).to_have_count(1)
    expect(page.locator(".failure")).to_contain_text("not a valid integer")
    page.goto(f"/runs/{site.runs['air']}")
    expect(page.locator('svg.pipeline g.state.succeeded[data-state="Publish"]')).to_have_count(1)


def test_main_pages_load_nothing_from_another_host_and_pass_axe(context, site: Site) -> None:  # type: ignore[no-untyped-def]
    page = context.new_page()
    pages = {
        "search": "/?q=air",
        "dataset": "/datasets/air",
        "runs": "/datasets/air/runs",
        "run": f"/runs/{site.runs['air']}",
        "failed-run": f"/runs/{site.runs['noise']}",
        "sign-in": "/sign-in",
    }
    problems = {}
    for name, path in pages.items():
        page.goto(path)
        page.wait_for_load_state("networkidle")
        screenshots(page, name)
        found = serious_violations(page)
        if found:
            problems[name] = found
    assert problems == {}
    ours = urlsplit(site.url).netloc
    elsewhere = [url for url in context.requests if urlsplit(url).netloc != ours]
    assert elsewhere == []
    assert any(url.endswith("/web/static/htmx.min.js") for url in context.requests)


def test_an_edit_over_a_newer_save_shows_both_versions(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site, {"id": "edited", "title": "Before", "accessRights": "public", "owner": "team:miljo"}
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/edited")
    page.click("text=Edit metadata")
    theirs = site.api().patch(f"{site.url}/datasets/edited", json={"title": "Theirs"}, timeout=30)
    assert theirs.status_code == 200
    page.fill("#title", "Mine")
    page.click("text=Save")
    expect(page.locator(".conflict-notice")).to_be_visible()
    expect(page.locator("td.yours")).to_have_text("Mine")
    expect(page.locator("td.theirs")).to_have_text("Theirs")
    page.click("text=Save mine anyway")
    expect(page.locator("h1")).to_have_text("Mine")


def test_a_pipeline_with_an_error_shows_it_beside_the_state(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site, {"id": "piped", "title": "Piped", "accessRights": "public", "owner": "team:miljo"}
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/piped")
    page.click("text=Pipeline")
    # htmx binds the select once the page has loaded; a change before that sends nothing.
    page.wait_for_load_state("load")
    page.select_option("#template", "csv-to-parquet")  # htmx brings the template's states
    options = page.get_by_label("Options of ToParquet")
    options.fill('{"delimeter": ";"}')
    page.click("text=Save pipeline")
    problems = page.locator('ul.field-error[data-state="ToParquet"]')
    expect(problems).to_contain_text("delimeter")
    expect(options).to_have_attribute("aria-invalid", "true")
    options.fill('{"delimiter": ";", "decimalChar": ","}')
    page.click("text=Save pipeline")
    expect(page.locator("h1")).to_have_text("Piped")


def test_a_csv_uploaded_in_the_browser_runs_while_the_page_watches(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site,
        {"id": "uploaded", "title": "Uploaded", "accessRights": "public", "owner": "team:miljo"},
        RIGHT,
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/uploaded")
    page.click("text=Upload a file")
    upload_csv(page)
    # The page polls itself until the run ends.
    expect(page.locator("#run")).to_have_attribute("data-status", "SUCCEEDED", timeout=120_000)
    expect(page.locator('svg.pipeline g.state.succeeded[data-state="Publish"]')).to_have_count(1)
    page.goto("/datasets/uploaded")
    expect(page.locator("table.data").first).to_contain_text("values.parquet")


def test_a_running_run_is_aborted_from_its_page(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # A pipeline that waits: its run stays RUNNING until someone aborts it.
    waiting = {
        "id": "wait-then-publish",
        "title": "Wait, then publish",
        "description": "waits ten minutes before publishing",
        "definition": {
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Publish"},
                "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
            },
        },
    }
    session = site.api()
    created = session.post(f"{site.url}/pipelines", json=waiting, timeout=30)
    assert created.status_code == 201, created.text
    make_dataset(
        site, {"id": "slow", "title": "Slow", "accessRights": "public", "owner": "team:miljo"}
    )
    pipeline = {"template": "wait-then-publish"}
    put = session.put(f"{site.url}/datasets/slow/pipeline", json=pipeline, timeout=30)
    assert put.status_code == 200, put.text
    sign_in(page, site.reader_token)
    page.goto("/datasets/slow/upload")
    upload_csv(page)
    expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING", timeout=60_000)
    page.click("#run form button[type=submit]:has-text('Abort')")
    expect(page.locator("#run")).to_have_attribute("data-status", "ABORTED", timeout=60_000)
    run_id = page.url.rstrip("/").rpartition("/")[2]
    assert session.get(f"{site.url}/runs/{run_id}", timeout=30).json()["status"] == "ABORTED"


def test_a_failed_runs_page_fits_a_phone(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/runs/{site.runs['noise']}")
    overflow = page.evaluate(
        """() => {
            const wide = (el) => el.scrollWidth > el.clientWidth + 1;
            const cut = [...document.querySelectorAll('table.steps, table.steps pre, main')]
                .filter(wide).map((el) => el.tagName + '.' + el.className);
            return {page: document.documentElement.scrollWidth - window.innerWidth, cut};
        }"""
    )
    assert overflow == {"page": 0, "cut": []}
    error = page.locator("table.steps pre.cause").first
    box = error.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390


# The mean brightness (0-255) of a screenshot, read back through a canvas in the page.
BRIGHTNESS = """async (data) => {
    const image = new Image();
    image.src = 'data:image/png;base64,' + data;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < pixels.length; i += 4) sum += pixels[i] + pixels[i + 1] + pixels[i + 2];
    return sum / (pixels.length / 4) / 3;
}"""


def test_a_table_cut_by_a_phone_shades_the_edge_with_more(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    import base64

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/datasets/air")
    # The tables scroll; the page does not (a cell's visually hidden text once widened it).
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    table = page.locator("table.data").first  # the data's files: name, format, size, rows
    width = table.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert width[0] > width[1] + 20, width  # it is cut at this width
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    assert box is not None
    body = table.locator("tbody tr").first.bounding_box()
    assert body is not None

    def edge(side: str, hinted: bool) -> float:
        """The brightness of a strip of the first row at one edge, with or without the hint."""
        table.evaluate("(el, hinted) => { el.style.background = hinted ? '' : 'none'; }", hinted)
        x = box["x"] + 1 if side == "left" else box["x"] + box["width"] - 5
        clip = {"x": x, "y": body["y"] + 2, "width": 4, "height": body["height"] - 4}
        shot = base64.b64encode(page.screenshot(clip=clip)).decode()
        return page.evaluate(BRIGHTNESS, shot)

    # Scrolled to the start: the right edge is shaded, the left one is not.
    assert edge("right", hinted=True) < edge("right", hinted=False) - 8
    assert abs(edge("left", hinted=True) - edge("left", hinted=False)) < 3
    table.evaluate("(el) => { el.scrollLeft = el.scrollWidth; }")
    # Scrolled to the end: the other way round.
    assert abs(edge("right", hinted=True) - edge("right", hinted=False)) < 3
    assert edge("left", hinted=True) < edge("left", hinted=False) - 8


def test_back_and_forward_bring_back_the_search_with_its_form(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    results = page.locator("#results")
    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    page.fill("#q", "air")
    expect(page).to_have_url(re.compile(r"\?q=air&"))
    page.select_option("#accessRights", "public")
    expect(page).to_have_url(re.compile(r"\?q=air&.*accessRights=public"))
    page.fill("#q", "noise")
    expect(page).to_have_url(re.compile(r"\?q=noise&"))
    expect(results).to_contain_text("Noise")
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=air&.*accessRights=public"))
    expect(results).not_to_contain_text("Noise")
    # The form shows the search the results are of, so the next keystroke keeps it.
    expect(page.locator("#q")).to_have_value("air")
    expect(page.locator("#accessRights")).to_have_value("public")
    page.go_back()
    expect(page.locator("#accessRights")).to_have_value("")
    expect(page.locator("#q")).to_have_value("air")
    page.go_forward()
    page.go_forward()
    expect(page.locator("#q")).to_have_value("noise")
    expect(page.locator("#accessRights")).to_have_value("public")
    expect(results).to_contain_text("Noise")


def test_a_double_click_on_upload_sends_the_file_once(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site,
        {"id": "clicked", "title": "Clicked", "accessRights": "public", "owner": "team:miljo"},
        RIGHT,
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/clicked/upload")
    page.wait_for_load_state("load")
    page.set_input_files(
        "#file", files=[{"name": "values.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    page.dblclick("#upload button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/"))
    expect(page.locator("#run")).to_have_attribute("data-status", "SUCCEEDED", timeout=120_000)
    runs = site.api().get(f"{site.url}/datasets/clicked/runs", timeout=30).json()["items"]
    assert len(runs) == 1, runs


def test_without_javascript_the_upload_page_offers_no_form_it_cannot_send(
    browser, site: Site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site.reader_token)
        page.goto("/datasets/air/upload")
        expect(page.locator("#upload")).to_be_hidden()
        expect(page.locator("main")).to_contain_text("brygge upload FILE ds:air")
    finally:
        context.close()


LONG_WORD = "Luftkvalitetsmålestasjonsdataoppsummeringsrapport" * 8


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_a_title_of_one_long_word_keeps_the_page_width(
    page, site: Site, width: int, height: int
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    if site.api().get(f"{site.url}/datasets/wordy", timeout=30).status_code == 404:
        dataset = {
            "id": "wordy",
            "title": LONG_WORD[:200],
            "description": LONG_WORD * 10,
            "keywords": [LONG_WORD[:100]],
        }
        make_dataset(site, {**dataset, "accessRights": "public", "owner": "team:miljo"})
    page.set_viewport_size({"width": width, "height": height})
    for path in ("/?q=Luftkvalitetsmålestasjonsdataoppsummeringsrapport", "/datasets/wordy"):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") == width, path


def test_text_written_right_to_left_reads_right_to_left(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    dataset = {
        "id": "arabic",
        "title": "شبكة الطرق (2024)!",
        "description": "مرحبا (نص) 2024.",
        "keywords": ["طرق!"],
    }
    make_dataset(site, {**dataset, "accessRights": "public", "owner": "team:miljo"})
    # Its direction is its own, not the page's: the title's final "!" ends it, at its left.
    rtl = "(el) => el.matches(':dir(rtl)')"
    page.goto("/datasets/arabic")
    for selector in ("h1", "p.description", "a.keyword"):
        assert page.locator(selector).first.evaluate(rtl), selector
    page.goto("/?q=%D8%A7%D9%84%D8%B7%D8%B1%D9%82")
    result = page.locator(".result", has_text="شبكة")
    for selector in ("h2", "p[dir]", "a.keyword"):
        assert result.locator(selector).first.evaluate(rtl), selector
    exclamation = page.locator(".result h2 a", has_text="شبكة")
    box = exclamation.bounding_box()
    assert box is not None
    # The rendered line starts (at its left) with the "!" that ends the sentence.
    first = page.evaluate(
        """(el) => { const range = document.createRange(); const text = el.firstChild;
            range.setStart(text, text.length - 1); range.setEnd(text, text.length);
            return range.getBoundingClientRect().left - el.getBoundingClientRect().left; }""",
        exclamation.element_handle(),
    )
    assert first < 12, first


def test_a_description_keeps_its_paragraphs(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    dataset = {
        "id": "paragraphs",
        "title": "Paragraphs",
        "description": "Hourly values.\n\nFrom 12 stations,\nsince 2001.",
    }
    make_dataset(site, {**dataset, "accessRights": "public", "owner": "team:miljo"})
    page.goto("/datasets/paragraphs")
    assert page.locator("p.description").inner_text() == dataset["description"]


def test_a_long_principal_in_the_header_fits_a_phone(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import _token

    principal = "user:kari.nordmann-hansen@bymiljoetaten.oslo.kommune.no"
    sign_in(page, _token(site.server.home, principal, "team:miljo"))
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/datasets/air"):
        page.goto(path)
        assert page.locator(".who").inner_text() == f"Signed in as {principal}"
        assert page.evaluate("document.documentElement.scrollWidth") == 390, path


def test_every_page_shows_the_sites_icon_and_asks_for_nothing_missing(context, site: Site) -> None:  # type: ignore[no-untyped-def]
    failed = []
    context.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    page = context.new_page()
    for path in ("/", "/datasets/air", f"/runs/{site.runs['air']}", "/sign-in"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        # The icon the page links decodes as an image in the browser (16 and 32 px).
        size = page.evaluate(
            """async () => {
                const link = document.querySelector('link[rel=icon]');
                if (!link) return null;
                const image = new Image();
                image.src = link.href;
                await image.decode();
                return [new URL(link.href).pathname, image.naturalWidth];
            }"""
        )
        assert size is not None and size[0] == "/favicon.ico" and size[1] in (16, 32), path
    # What browsers ask for by themselves, whatever the page links.
    assert page.goto("/favicon.ico").status == 200
    assert failed == []


def test_the_title_names_the_search_in_tabs_and_history(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    expect(page).to_have_title("Datasets · Brygge")
    page.fill("#q", "air quality")
    expect(page).to_have_url(re.compile(r"\?q=air(%20|\+)quality&"))
    expect(page).to_have_title("“air quality” — Search · Brygge")
    page.select_option("#accessRights", "public")
    expect(page).to_have_url(re.compile(r"accessRights=public"))
    expect(page).to_have_title("“air quality”, access public — Search · Brygge")
    page.go_back()
    expect(page).to_have_title("“air quality” — Search · Brygge")
    page.go_back()
    expect(page).to_have_title("Datasets · Brygge")
    page.go_forward()
    expect(page).to_have_title("“air quality” — Search · Brygge")
    # A dataset's own sections, loaded as the page scrolls, leave its title alone.
    page.goto("/datasets/air")
    page.locator("section[aria-labelledby=recent-runs]").scroll_into_view_if_needed()
    expect(page.locator("#runs")).to_have_count(1)
    expect(page).to_have_title("Air quality in Oslo · Brygge")


def test_a_keyword_with_a_comma_is_typed_as_one_keyword(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site,
        {
            "id": "places",
            "title": "Places",
            "accessRights": "public",
            "owner": "team:miljo",
            "keywords": ["luft"],
        },
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/places/edit")
    keywords = page.locator("#keywords")
    keywords.focus()
    # At the end of the field, Enter starts the next keyword (and sends no form).
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Oslo, Norway")
    expect(page).to_have_url(f"{site.url}/datasets/places/edit")
    page.click("form.stacked button[type=submit]")
    expect(page.locator("h1")).to_have_text("Places")
    assert page.locator("a.keyword").all_inner_texts() == ["luft", "Oslo, Norway"]
    saved = site.api().get(f"{site.url}/datasets/places", timeout=30).json()
    assert saved["keywords"] == ["luft", "Oslo, Norway"]


def _token_command(site: Site, *args: str) -> subprocess.CompletedProcess:
    env = clean_environment(BRYGGE_HOME=str(site.server.home), BRYGGE_BACKEND="local")
    return subprocess.run(
        [*brygge_command(), "token", *args], env=env, capture_output=True, text=True, check=True
    )


def test_an_edit_saved_after_the_sign_in_ended_keeps_the_text(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site, {"id": "long-text", "title": "Long", "accessRights": "public", "owner": "team:miljo"}
    )
    made = _token_command(site, "create", "--principal", "user:kari", "--team", "team:miljo")
    token = made.stdout.strip().splitlines()[-1]
    token_id = re.search(r"^id (\S+)", made.stderr, re.M)[1]
    sign_in(page, token)
    page.goto("/datasets/long-text/edit")
    text = "Hourly values of NO2, PM10 and PM2.5 from twelve stations in Oslo.\n\n" * 30
    page.fill("#description", text)
    _token_command(site, "revoke", token_id)  # the sign-in ends while the owner writes
    page.click("form.stacked button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("Your sign-in has ended")
    expect(page.locator("#description")).to_have_value(text)
    # The token field has the focus: paste, Enter, and it is saved.
    expect(page.locator("#token")).to_be_focused()
    page.keyboard.type(site.reader_token)
    screenshots(page, "edit-sign-in-again")
    assert serious_violations(page) == []
    page.locator("#token").press("Enter")
    expect(page.locator("h1")).to_have_text("Long")
    expect(page.locator("p.description")).to_have_text(text.strip())
    expect(page.locator(".who")).to_contain_text("user:reader")
    screenshots(page, "edit-saved-after-sign-in")


def test_a_slow_search_says_it_is_searching_until_its_results_come(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    searching = page.locator("#searching")
    expect(searching).to_be_hidden()
    held = []  # the search's answer, held back as a slow network would
    page.route(re.compile(r"/\?q=noise"), lambda route: held.append(route))
    page.fill("#q", "noise")
    page.wait_for_function("document.querySelector('#search').classList.contains('htmx-request')")
    # The words typed are not what the results show yet: the page says so.
    expect(searching).to_be_visible()
    expect(searching).to_have_text("Searching…")
    # The results of the words before are dimmed (after a moment: a fast answer does not blink).
    page.wait_for_function("getComputedStyle(document.querySelector('#results')).opacity < 0.6")
    screenshots(page, "search-waiting")
    held[0].continue_()
    expect(page.locator("#results")).not_to_contain_text("Air quality")
    expect(searching).to_be_hidden()
    page.wait_for_function("getComputedStyle(document.querySelector('#results')).opacity === '1'")


def test_on_a_phone_each_scope_box_stays_beside_its_name(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site.reader_token)  # team:miljo holds admin on its dataset air
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/datasets/air/grants")
    for scope in ("read", "update", "write", "admin"):
        box = page.get_by_label(scope, exact=True).bounding_box()
        name = page.locator("fieldset label", has_text=scope).bounding_box()
        assert box is not None and name is not None
        # The box and its word on one line: the label is no taller than one line of text.
        assert name["height"] < 2 * box["height"] + 4, (scope, box, name)
    screenshots(page, "grants")


def test_on_a_phone_the_results_come_before_the_facets(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # A catalogue with many owners and keywords: long facet lists.
    for number in range(12):
        make_dataset(
            site,
            {
                "id": f"tram-{number}",
                "title": f"Tram line {number}",
                "accessRights": "public",
                "owner": f"team:tram{number}",
                "keywords": [f"trikk{number}", f"linje{number}", f"stopp{number}"],
            },
        )
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/?q=tram")
    first = page.locator(".result").first
    expect(first).to_contain_text("Tram line")
    box = first.bounding_box()
    assert box is not None and box["y"] + 40 < 844, box  # in the first screen, not below
    # The facets follow; a link at the top goes to them.
    page.click("a.to-facets")
    expect(page.locator("#facets")).to_be_in_viewport()
    screenshots(page, "search-phone")
    # On a wide screen the facets stay in their column at the left of the results.
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.locator("a.to-facets")).to_be_hidden()
    facets, results = page.locator("#facets").bounding_box(), first.bounding_box()
    assert facets["x"] + facets["width"] <= results["x"] and facets["y"] <= results["y"] + 5


def test_signing_in_after_a_search_comes_back_to_that_search(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    page.fill("#q", "noise")
    expect(page).to_have_url(re.compile(r"\?q=noise&"))
    page.click("header.site >> text=Sign in")
    page.fill("#token", site.reader_token)
    page.click("form.stacked button[type=submit]")
    expect(page.locator(".who")).to_contain_text("user:reader")
    expect(page).to_have_url(re.compile(r"/\?q=noise&"))
    expect(page.locator("#q")).to_have_value("noise")


def test_on_a_phone_a_conflict_shows_both_versions_at_full_width(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    theirs_text = "Measured every hour at twelve stations. " * 10
    make_dataset(
        site,
        {"id": "clash", "title": "Clash", "accessRights": "public", "owner": "team:miljo"},
    )
    sign_in(page, site.reader_token)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/datasets/clash/edit")
    saved = site.api().patch(
        f"{site.url}/datasets/clash", json={"description": theirs_text}, timeout=30
    )
    assert saved.status_code == 200
    page.fill("#description", "Measured hourly since 2001. " * 10)
    page.click("form.stacked button[type=submit]")
    expect(page.locator(".conflict-notice")).to_be_visible()
    # The answer's document is there before its stylesheet may be: a layout read in between
    # is the unstyled one (a click, unlike goto, does not wait for the load event).
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    for cell in ("td.yours", "td.theirs"):
        box = page.locator(cell).bounding_box()
        assert box is not None and box["width"] > 300, (cell, box)  # not a column of one word
    # Each version says whose it is, the table's header being out of sight.
    expect(page.locator("td.yours")).to_have_attribute("data-label", "Yours")
    expect(page.locator("td.theirs")).to_have_attribute("data-label", "Saved now")
    screenshots(page, "edit-conflict")


def test_an_edit_refused_for_an_ended_session_is_kept_for_the_next_form(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site, {"id": "drafted", "title": "Drafted", "accessRights": "public", "owner": "team:miljo"}
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/drafted/edit")
    page.wait_for_load_state("load")
    text = "Daily counts of cyclists at 30 points.\n\nSince 2015, by the hour.\n" * 12
    page.fill("#description", text)
    page.fill("#keywords", "sykkel\nOslo, Norway")
    # Signed out in another tab: this form's CSRF token belongs to a session that has ended.
    _sign_out_in_another_tab(page)
    page.click("form.stacked button[type=submit]")
    expect(page.locator("h1")).to_have_text("403 Forbidden")
    sign_in(page, site.reader_token)
    page.goto("/datasets/drafted/edit")
    notice = page.locator("#draft-restored")
    expect(notice).to_be_visible()
    expect(page.locator("#description")).to_have_value(text)
    expect(page.locator("#keywords")).to_have_value("sykkel\nOslo, Norway")
    screenshots(page, "edit-draft-restored")
    assert serious_violations(page) == []
    page.click("form.stacked button[type=submit]")
    expect(page.locator("p.description")).to_have_text(text.strip())
    # Saved: the next edit starts from the dataset as saved, nothing restored.
    page.goto("/datasets/drafted/edit")
    page.wait_for_load_state("load")
    expect(notice).to_be_hidden()
    page.fill("#title", "Abandoned")
    page.click("text=Cancel")
    page.goto("/datasets/drafted/edit")
    page.wait_for_load_state("load")
    expect(notice).to_be_hidden()
    expect(page.locator("#title")).to_have_value("Drafted")
    # Left without Cancel: given back, and the owner may discard it for the saved version.
    page.fill("#title", "Left behind")
    page.goto("/datasets/drafted")
    page.goto("/datasets/drafted/edit")
    expect(page.locator("#title")).to_have_value("Left behind")
    page.click("#draft-discard")
    expect(page.locator("#title")).to_have_value("Drafted")
    expect(page.locator("#title")).to_be_focused()
    expect(notice).to_be_hidden()
    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator("#title")).to_have_value("Drafted")


def test_a_search_the_network_loses_says_so_and_the_next_one_works(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    failed = page.locator("#search-failed")
    page.route(re.compile(r"/\?q=noise"), lambda route: route.abort("internetdisconnected"))
    page.fill("#q", "noise")
    expect(failed).to_be_visible()
    expect(failed).to_contain_text("could not reach")
    # The results under it are still those of the search before.
    expect(page.locator("#results")).to_contain_text("Air quality")
    # A gateway's own error page (API Gateway answers 504 after 29 s) takes nothing's place.
    page.unroute(re.compile(r"/\?q=noise"))
    gateway = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    page.route(
        re.compile(r"/\?q=noise"),
        lambda route: route.fulfill(status=504, content_type="text/html", body=gateway),
    )
    page.fill("#q", "noise ")
    expect(failed).to_contain_text("the server answered 504")
    expect(page.locator("#results")).to_contain_text("Air quality")
    assert "Gateway" not in page.locator("main").inner_text()
    page.unroute(re.compile(r"/\?q=noise"))
    page.fill("#q", "noise")
    expect(page.locator("#results")).not_to_contain_text("Air quality")
    expect(failed).to_be_hidden()


def test_a_refused_search_is_read_with_the_search_box_until_a_search_runs(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    too_long = "a" * 201
    page.goto(f"/?q={too_long}")
    box = page.locator("#q")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(re.compile("Length must be between 1 and 200"))
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    page.fill("#q", "air")
    expect(page.locator("#results")).to_contain_text("Air quality in Oslo")
    expect(box).not_to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description("")
    # Refused as one types (a value pasted past the box's limit): the form stays as it is,
    # the reason read with the search box.
    page.evaluate(
        """(text) => {
            const box = document.getElementById("q");
            box.value = text;
            box.dispatchEvent(new Event("input", { bubbles: true }));
        }""",
        too_long,
    )
    expect(page.locator("#results")).to_contain_text("This search cannot be run")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(re.compile("Length must be between 1 and 200"))
    assert serious_violations(page) == []


def test_a_refused_search_names_the_form_s_words_not_the_api_s(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # The list said "accessRights: ..." and "cursor: not a cursor this service handed out".
    page.goto("/?accessRights=secret")
    results = page.locator("#results")
    expect(results.locator("li")).to_have_text(re.compile(r"^Access: Must be one of: public"))
    expect(page.locator("#accessRights")).to_have_accessible_description(
        re.compile("Must be one of: public")
    )
    page.goto("/?q=air&cursor=garbage")
    expect(results.locator("li")).to_have_text(
        "This page link is out of date; start the search again."
    )
    expect(results).not_to_contain_text("cursor")
    expect(page.locator("#q")).to_have_accessible_description(
        "This page link is out of date; start the search again."
    )
    assert serious_violations(page) == []


def test_a_run_page_keeps_watching_through_a_gateway_error(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    session = site.api()
    waiting = {
        "id": "wait-long",
        "title": "Wait long",
        "definition": {
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Publish"},
                "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
            },
        },
    }
    assert session.post(f"{site.url}/pipelines", json=waiting, timeout=30).status_code == 201
    make_dataset(
        site, {"id": "watched", "title": "Watched", "accessRights": "public", "owner": "team:miljo"}
    )
    put = session.put(
        f"{site.url}/datasets/watched/pipeline", json={"template": "wait-long"}, timeout=30
    )
    assert put.status_code == 200, put.text
    run_id = upload(site, "watched")
    page.goto(f"/runs/{run_id}")
    expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING", timeout=60_000)
    gateway = "<html><body><h1>504 Gateway Time-out</h1></body></html>"
    page.route(
        f"**/runs/{run_id}",
        lambda route: route.fulfill(status=504, content_type="text/html", body=gateway),
    )
    for _ in range(2):  # two polls answered by the gateway
        page.wait_for_event("response", lambda response: response.status == 504)
    expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING")
    assert "Gateway" not in page.locator("main").inner_text()
    page.unroute(f"**/runs/{run_id}")
    assert session.post(f"{site.url}/runs/{run_id}/abort", timeout=30).status_code in (200, 202)
    # Still polling: the run's end shows up.
    expect(page.locator("#run")).to_have_attribute("data-status", "ABORTED", timeout=60_000)


def test_on_a_phone_the_history_reads_down_the_screen(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site.reader_token)  # team:miljo owns air: its members read its history
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/datasets/air/history")
    table = page.locator(".history table")
    # Each change a block of labelled lines, nothing out of sight at the right.
    width = table.evaluate("(el) => [el.scrollWidth, el.clientWidth]")
    assert width[0] <= width[1] + 1, width
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    first = table.locator("tbody td[data-label=What]").first
    assert first.evaluate("(el) => getComputedStyle(el, '::before').content") == '"What: "'
    screenshots(page, "history")


def test_without_javascript_a_chosen_template_shows_its_options(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    dataset = {"id": "scripted", "title": "Scripted", "accessRights": "public"}
    make_dataset(site, {**dataset, "owner": "team:miljo"})
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, site.reader_token)
        page.goto("/datasets/scripted/pipeline/edit")
        page.select_option("#template", "csv-to-parquet")
        page.click("text=Show its options")
        options = page.get_by_label("Options of ToParquet")
        expect(options).to_be_visible()
        pipeline = f"{site.url}/datasets/scripted/pipeline"
        assert site.api().get(pipeline, timeout=30).status_code == 404  # nothing saved yet
        options.fill('{"delimiter": ";"}')
        page.click("text=Save pipeline")
        expect(page.locator("h1")).to_have_text("Scripted")
        saved = site.api().get(pipeline, timeout=30).json()
        assert saved["taskConfig"] == {"ToParquet": {"delimiter": ";"}}
    finally:
        context.close()


def test_a_section_refused_after_signing_out_shows_it_in_its_place(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, site.reader_token)  # team:miljo owns air: its members see the history
    page.goto("/datasets/air")
    page.wait_for_load_state("load")
    _sign_out_in_another_tab(page)
    history = page.locator("section[aria-labelledby=history]")
    history.scroll_into_view_if_needed()
    # The section shows Brygge's own error where it was, the rest of the page as it was.
    expect(history.locator(".error[role=alert]")).to_be_visible()
    # The page keeps one h1, its own; the error's heading stands under the section's.
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("h1")).to_have_text("Air quality in Oslo")
    expect(history.locator(".error h3")).to_have_text("401 Unauthorized")


def test_a_pipeline_saved_after_the_sign_in_ended_keeps_its_options(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site,
        {"id": "re-piped", "title": "Re-piped", "accessRights": "public", "owner": "team:miljo"},
    )
    made = _token_command(site, "create", "--principal", "user:kari", "--team", "team:miljo")
    token = made.stdout.strip().splitlines()[-1]
    token_id = re.search(r"^id (\S+)", made.stderr, re.M)[1]
    sign_in(page, token)
    page.goto("/datasets/re-piped/pipeline/edit")
    page.wait_for_load_state("load")
    page.select_option("#template", "csv-to-parquet")  # htmx brings the template's states
    options = page.get_by_label("Options of ToParquet")
    typed = '{\n  "delimiter": ";",\n  "decimalChar": ","\n}'
    options.fill(typed)
    _token_command(site, "revoke", token_id)  # the sign-in ends while the owner writes
    page.click("text=Save pipeline")
    expect(page.locator("[role=alert]")).to_contain_text("Your sign-in has ended")
    expect(options).to_have_value(typed)
    expect(page.locator("#template")).to_have_value("csv-to-parquet")
    expect(page.locator("#token")).to_be_focused()
    page.keyboard.type(site.reader_token)
    screenshots(page, "pipeline-sign-in-again")
    assert serious_violations(page) == []
    page.locator("#token").press("Enter")
    expect(page.locator("h1")).to_have_text("Re-piped")
    expect(page.locator(".who")).to_contain_text("user:reader")
    saved = site.api().get(f"{site.url}/datasets/re-piped/pipeline", timeout=30).json()
    assert saved["taskConfig"] == {"ToParquet": {"delimiter": ";", "decimalChar": ","}}


def _waiting_dataset(site: Site, dataset_id: str) -> str:
    """A dataset whose pipeline waits ten minutes, and the id of a run of it (RUNNING)."""
    session = site.api()
    waiting = {
        "id": f"wait-{dataset_id}",
        "title": "Wait",
        "definition": {
            "StartAt": "Wait",
            "States": {
                "Wait": {"Type": "Wait", "Seconds": 600, "Next": "Publish"},
                "Publish": {"Type": "Task", "Resource": "brygge:step:publish", "End": True},
            },
        },
    }
    assert session.post(f"{site.url}/pipelines", json=waiting, timeout=30).status_code == 201
    make_dataset(
        site, {"id": dataset_id, "title": "Waits", "accessRights": "public", "owner": "team:miljo"}
    )
    pipeline = {"template": waiting["id"]}
    put = session.put(f"{site.url}/datasets/{dataset_id}/pipeline", json=pipeline, timeout=30)
    assert put.status_code == 200, put.text
    return upload(site, dataset_id)


def test_without_javascript_a_running_runs_page_follows_the_run(browser, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    run_id = _waiting_dataset(site, "unscripted-run")
    context = browser.new_context(base_url=site.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"/runs/{run_id}")
        refresh = page.locator("meta[http-equiv=refresh]")
        expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING", timeout=60_000)
        expect(refresh).to_have_count(1)
        aborted = site.api().post(f"{site.url}/runs/{run_id}/abort", timeout=30)
        assert aborted.status_code in (200, 202)
        # The page reloads itself until the run has ended, then stays.
        expect(page.locator("#run")).to_have_attribute("data-status", "ABORTED", timeout=30_000)
        expect(refresh).to_have_count(0)
    finally:
        context.close()


def test_with_javascript_a_running_runs_page_is_not_reloaded_whole(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    run_id = _waiting_dataset(site, "scripted-run")
    page.goto(f"/runs/{run_id}")
    expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING", timeout=60_000)
    # The page polls its run (htmx): no reload of the whole page is asked for.
    expect(page.locator("meta[http-equiv=refresh]")).to_have_count(0)
    expect(page.locator("#run[hx-trigger]")).to_have_count(1)
    assert site.api().post(f"{site.url}/runs/{run_id}/abort", timeout=30).status_code in (200, 202)


def test_choosing_another_template_keeps_the_options_even_after_the_sign_in_ended(
    page, site: Site
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from tests.web.conftest import TWO_STEPS

    session = site.api()
    twin = {"id": "csv-to-parquet-twin", "title": "CSV to Parquet too", "definition": TWO_STEPS}
    assert session.post(f"{site.url}/pipelines", json=twin, timeout=30).status_code == 201
    make_dataset(
        site,
        {"id": "re-chosen", "title": "Re-chosen", "accessRights": "public", "owner": "team:miljo"},
    )
    made = _token_command(site, "create", "--principal", "user:kari", "--team", "team:miljo")
    token = made.stdout.strip().splitlines()[-1]
    token_id = re.search(r"^id (\S+)", made.stderr, re.M)[1]
    sign_in(page, token)
    page.goto("/datasets/re-chosen/pipeline/edit")
    page.wait_for_load_state("load")
    page.select_option("#template", "csv-to-parquet")
    options = page.get_by_label("Options of ToParquet")
    typed = '{\n  "delimiter": ";",\n  "decimalChar": ","\n}'
    options.fill(typed)
    page.select_option("#template", "csv-to-parquet-twin")
    expect(page.locator("#template")).to_have_value("csv-to-parquet-twin")
    expect(options).to_have_value(typed)
    _token_command(site, "revoke", token_id)  # the sign-in ends while the owner writes
    page.select_option("#template", "csv-to-parquet")
    expect(page.locator("[role=alert]")).to_contain_text("Your sign-in has ended")
    expect(options).to_have_value(typed)
    expect(page.locator("#template")).to_have_value("csv-to-parquet")
    expect(page.locator("#token")).to_be_focused()
    assert serious_violations(page) == []
    page.keyboard.type(site.reader_token)
    page.locator("#token").press("Enter")
    expect(page.locator("h1")).to_have_text("Re-chosen")
    saved = site.api().get(f"{site.url}/datasets/re-chosen/pipeline", timeout=30).json()
    assert saved["template"] == "csv-to-parquet"
    assert saved["taskConfig"] == {"ToParquet": {"delimiter": ";", "decimalChar": ","}}


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts", "no-scripts"])
def test_themes_are_ticked_by_name_with_or_without_scripts(
    browser, site: Site, scripts: bool
) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    dataset_id = f"themed-{'js' if scripts else 'nojs'}"
    dataset = {"id": dataset_id, "title": "Themed", "accessRights": "public"}
    make_dataset(site, {**dataset, "owner": "team:miljo", "themes": ["ENVI"]})
    context = browser.new_context(base_url=site.url, java_script_enabled=scripts)
    try:
        page = context.new_page()
        sign_in(page, site.reader_token)
        page.goto(f"/datasets/{dataset_id}/edit")
        themes = page.get_by_role("group", name="Themes")
        expect(themes.get_by_label("Environment (ENVI)")).to_be_checked()
        # By keyboard: Space ticks the box that has the focus.
        themes.get_by_label("Transport (TRAN)").focus()
        page.keyboard.press("Space")
        themes.get_by_label("Environment (ENVI)").uncheck()
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") == 390
        page.click("form.stacked button[type=submit]")
        expect(page.locator("h1")).to_have_text("Themed")
        saved = site.api().get(f"{site.url}/datasets/{dataset_id}", timeout=30).json()
        assert saved["themes"] == ["TRAN"]
    finally:
        context.close()


def _sign_out_in_another_tab(page) -> None:  # type: ignore[no-untyped-def]
    other = page.context.new_page()
    other.goto("/")
    # The tab is closed once the sign-out's answer has loaded: closed while it was still
    # coming, the tab now and then never finished closing.
    with other.expect_navigation():
        other.click("text=Sign out")
    other.wait_for_load_state("load")
    other.close()


def test_a_pipeline_refused_for_an_ended_session_is_kept_for_later(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site, {"id": "kept-pipe", "title": "Kept", "accessRights": "public", "owner": "team:miljo"}
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/kept-pipe/pipeline/edit")
    page.wait_for_load_state("load")
    page.select_option("#template", "csv-to-parquet")  # htmx brings the template's states
    options = page.get_by_label("Options of ToParquet")
    typed = '{\n  "delimiter": ";",\n  "encoding": "latin-1"\n}'
    options.fill(typed)
    _sign_out_in_another_tab(page)
    # The refusal is left before its script has run (read in a hurry): nothing is lost.
    page.route("**/drafts.js", lambda route: route.abort())
    page.click("text=Save pipeline")
    expect(page.locator("h1")).to_have_text("403 Forbidden")
    page.unroute("**/drafts.js")
    sign_in(page, site.reader_token)
    page.goto("/datasets/kept-pipe/pipeline/edit")
    # The template chosen and its options come back (the template's states drawn again).
    expect(page.locator("#draft-restored")).to_be_visible()
    expect(page.locator("#template")).to_have_value("csv-to-parquet")
    expect(page.get_by_label("Options of ToParquet")).to_have_value(typed)
    assert serious_violations(page) == []
    page.click("text=Save pipeline")
    expect(page.locator("h1")).to_have_text("Kept")
    saved = site.api().get(f"{site.url}/datasets/kept-pipe/pipeline", timeout=30).json()
    assert saved["taskConfig"] == {"ToParquet": {"delimiter": ";", "encoding": "latin-1"}}
    page.goto("/datasets/kept-pipe/pipeline/edit")
    page.wait_for_load_state("load")
    expect(page.locator("#draft-restored")).to_have_count(0)


@pytest.mark.parametrize("in_a_hurry", [False, True], ids=["refusal-read", "refusal-left-early"])
def test_a_grant_refused_for_an_ended_session_is_kept_for_the_next_form(  # type: ignore[no-untyped-def]
    page, site: Site, in_a_hurry: bool
) -> None:
    from playwright.sync_api import expect

    dataset_id = f"kept-grant-{'hurry' if in_a_hurry else 'read'}"
    make_dataset(
        site, {"id": dataset_id, "title": "Kept", "accessRights": "public", "owner": "team:miljo"}
    )
    sign_in(page, site.reader_token)
    page.goto(f"/datasets/{dataset_id}/grants")
    page.wait_for_load_state("load")
    page.fill("#principal", "team:analytics")
    page.get_by_label("read", exact=True).check()
    page.get_by_label("write", exact=True).check()
    _sign_out_in_another_tab(page)
    if in_a_hurry:
        # The refusal is left before its script has run. The grants form is the page its
        # save leads to, opened again here: still nothing is lost.
        page.route("**/drafts.js", lambda route: route.abort())
    page.click("text=Save grant")
    expect(page.locator("h1")).to_have_text("403 Forbidden")
    if in_a_hurry:
        page.unroute("**/drafts.js")
    else:
        page.wait_for_load_state("load")  # the refusal read: its script has run
    sign_in(page, site.reader_token)
    page.goto(f"/datasets/{dataset_id}/grants")
    expect(page.locator("#draft-restored")).to_be_visible()
    expect(page.locator("#principal")).to_have_value("team:analytics")
    for scope, ticked in (("read", True), ("update", False), ("write", True), ("admin", False)):
        box = page.get_by_label(scope, exact=True)
        expect(box).to_be_checked() if ticked else expect(box).not_to_be_checked()
    page.click("text=Save grant")
    expect(page.locator("table.data")).to_contain_text("team:analytics")
    # Saved: the form the save comes back to starts empty, nothing restored.
    expect(page.locator("#draft-restored")).to_have_count(0)
    expect(page.locator("#principal")).to_have_value("")
    grants = site.api().get(f"{site.url}/datasets/{dataset_id}/permissions", timeout=30).json()
    assert {"principal": "team:analytics", "scopes": ["read", "write"]} in [
        {"principal": g["principal"], "scopes": g["scopes"]} for g in grants["items"]
    ]


def test_signing_out_forgets_what_the_tab_kept_of_its_forms(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    make_dataset(
        site,
        {"id": "forgotten", "title": "Forgotten", "accessRights": "public", "owner": "team:miljo"},
    )
    sign_in(page, site.reader_token)
    page.goto("/datasets/forgotten/edit")
    page.wait_for_load_state("load")
    page.fill("#title", "Not for the next person")
    page.get_by_label("Transport (TRAN)").check()
    kept = "() => Object.keys(sessionStorage).filter((key) => key.startsWith('brygge-'))"
    assert page.evaluate(kept) != []
    page.click("text=Sign out")
    expect(page.locator("#sign-in")).to_be_visible()
    assert page.evaluate(kept) == []
    sign_in(page, site.reader_token)
    page.goto("/datasets/forgotten/edit")
    page.wait_for_load_state("load")
    expect(page.locator("#draft-restored")).to_have_count(0)
    expect(page.locator("#title")).to_have_value("Forgotten")
    expect(page.get_by_label("Transport (TRAN)")).not_to_be_checked()


def test_a_search_as_you_type_announces_its_results(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto("/")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    # Screen readers announce a change of a live region already in the page: one that
    # arrives with the new results is new, and says nothing.
    page.evaluate("window.announcer = document.querySelector('#results-status')")
    status = page.locator("#results-status")
    expect(status).to_have_attribute("role", "status")
    page.fill("#q", "noise")
    expect(page.locator("#results")).not_to_contain_text("Air quality")
    expect(status).to_have_text("1 dataset found")
    page.fill("#q", "no such words anywhere")
    expect(status).to_have_text("No dataset matches")
    assert page.evaluate("window.announcer === document.querySelector('#results-status')")
    assert page.locator("#results [aria-live], #results[aria-live]").count() == 0


def test_a_change_of_a_runs_status_is_announced_on_its_page(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    run_id = _waiting_dataset(site, "announced-run")
    page.goto(f"/runs/{run_id}")
    expect(page.locator("#run")).to_have_attribute("data-status", "RUNNING", timeout=60_000)
    # The run's section is replaced at each poll: what is announced is said in a live region
    # the page keeps (one that arrives with its content announces nothing).
    page.evaluate("window.announcer = document.querySelector('#run-status')")
    status = page.locator("#run-status")
    expect(status).to_have_attribute("role", "status")
    assert site.api().post(f"{site.url}/runs/{run_id}/abort", timeout=30).status_code in (200, 202)
    expect(page.locator("#run")).to_have_attribute("data-status", "ABORTED", timeout=60_000)
    expect(status).to_have_text("The run's status is now ABORTED")
    assert page.evaluate("window.announcer === document.querySelector('#run-status')")
    assert page.locator("#run[aria-live], #run [aria-live]").count() == 0


def test_every_page_has_one_h1_headings_in_order_and_its_parts_in_landmarks(
    page, site: Site
) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site.reader_token)  # team:miljo owns air: its forms and history
    rules = [
        "page-has-heading-one",
        "heading-order",
        "region",
        "landmark-one-main",
        "landmark-unique",
        "landmark-no-duplicate-banner",
        "landmark-no-duplicate-contentinfo",
        "landmark-complementary-is-top-level",
        "landmark-main-is-top-level",
        "label",
        "label-title-only",
        "select-name",
        "skip-link",
        "bypass",
    ]
    paths = (
        "/?q=air",
        "/datasets/air",
        f"/runs/{site.runs['noise']}",
        "/datasets/air/edit",
        "/datasets/air/pipeline/edit",
        "/datasets/air/grants",
        "/datasets/air/upload",
        "/datasets/air/history",
        "/datasets/no-such-dataset",
    )
    problems = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.add_script_tag(content=AXE.read_text())
        result = page.evaluate(
            "async (rules) => await axe.run(document, {runOnly: {type: 'rule', values: rules}})",
            rules,
        )
        found = [
            f"{v['id']}: {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]
        ]
        if page.locator("h1").count() != 1:
            found.append(f"{page.locator('h1').count()} h1")
        if found:
            problems[path] = found
    assert problems == {}


def test_the_search_form_chooses_how_many_results_a_page_shows(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    for n in range(3):
        dataset = {"id": f"tide-{n}", "title": f"Tide gauge {n}", "accessRights": "public"}
        make_dataset(site, {**dataset, "owner": "team:hav"})
    results = page.locator("#results ol.results > li")
    # A link may ask for any size: the form shows it chosen, and the next page keeps it.
    page.goto("/?q=tide&limit=1")
    page.wait_for_load_state("load")  # htmx binds the form once the page has loaded
    expect(page.locator("#limit")).to_have_value("1")
    expect(results).to_have_count(1)
    expect(page.locator("a[rel=next]")).to_have_attribute("href", re.compile(r"limit=1(&|$)"))
    page.select_option("#limit", "10")
    expect(page).to_have_url(re.compile(r"limit=10"))
    expect(results).to_have_count(3)
    expect(page.locator("a[rel=next]")).to_have_count(0)
    # The default size is sent as no value, as "Any" of the other choices is.
    page.select_option("#limit", "")
    expect(page).to_have_url(re.compile(r"limit=(&|$)"))
    expect(page.locator("#limit option:checked")).to_have_text("50")
    page.go_back()
    expect(page.locator("#limit")).to_have_value("10")


def test_on_a_phone_each_search_choice_stays_beside_its_name(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    # "Access" ended one line and its box began the next.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/?q=air")
    for control, name in (
        ("sort", "Sort"),
        ("accessRights", "Access"),
        ("state", "State"),
        ("limit", "Results per page"),
    ):
        box = page.locator(f"#{control}").bounding_box()
        label = page.locator(f"label[for={control}]").bounding_box()
        assert box is not None and label is not None
        # One line: the name's middle within the box's height.
        middle = label["y"] + label["height"] / 2
        assert box["y"] <= middle <= box["y"] + box["height"], (name, box, label)
        assert label["x"] + label["width"] <= box["x"], (name, box, label)
