"""OPTIONS (RFC 9110 9.3.7): an ``Allow`` header naming the methods of the URL, no content."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from catalogue.api.route_table import ROUTES

# One URL of each shape: collections, items, actions, signed URLs and pages.
URLS = {
    "/datasets": {"GET", "HEAD", "POST", "OPTIONS"},
    "/datasets/air": {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"},
    "/datasets/air/versions/1/uploads": {"POST", "OPTIONS"},
    "/runs/r1/abort": {"POST", "OPTIONS"},
    "/catalog": {"GET", "HEAD", "OPTIONS"},
    "/": {"GET", "HEAD", "OPTIONS"},
    "/sign-in": {"GET", "HEAD", "POST", "OPTIONS"},
}


def assert_no_content(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.data == b""
    assert response.headers["Content-Length"] == "0"  # RFC 9110 9.3.7: no content is sent
    assert "Content-Type" not in response.headers


@pytest.mark.parametrize(("url", "methods"), URLS.items())
def test_options_answers_allow_and_no_html(client: FlaskClient, url: str, methods: set) -> None:
    response = client.options(url)

    assert_no_content(response)
    assert set(response.headers["Allow"].split(", ")) == methods
    assert "HX-Request" not in response.headers.get("Vary", "")


@pytest.mark.parametrize("url", ["/datasets/air", "/datasets", "/runs/r1"])
@pytest.mark.parametrize("accept", ["text/html", "application/xml", "*/*", "application/json"])
def test_options_is_no_page_and_no_406_whatever_the_accept(client, url, accept) -> None:  # type: ignore[no-untyped-def]
    # A browser's Accept gets no page, and no Accept a 406: OPTIONS has no content to refuse.
    response = client.options(url, headers={"Accept": accept})

    assert_no_content(response)
    assert "GET" in response.headers["Allow"]


def test_options_needs_no_token(app) -> None:  # type: ignore[no-untyped-def]
    anonymous = FlaskClient(app)

    assert_no_content(anonymous.options("/datasets"))


def test_every_api_url_answers_options_with_its_methods(client: FlaskClient) -> None:
    for _module, rule, _endpoint, methods, *_ in ROUTES:
        url = rule.replace("<int(min=1):n>", "1").replace("<path:key>", "a/b")
        url = "/".join("x" if part.startswith("<") else part for part in url.split("/"))
        response = client.options(url)
        assert response.status_code == 200, url
        assert set(methods) <= set(response.headers["Allow"].split(", ")), url
        assert "Content-Type" not in response.headers, url


def test_the_pages_still_answer_html(client: FlaskClient) -> None:
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert b"<html" in page.data


# Werkzeug gathers a URL's methods in a set, whose order changes with each process's hash seed.
@pytest.mark.parametrize(("url", "methods"), URLS.items())
def test_allow_of_options_lists_the_methods_sorted(client: FlaskClient, url: str, methods) -> None:  # type: ignore[no-untyped-def]
    assert client.options(url).headers["Allow"] == ", ".join(sorted(methods))


@pytest.mark.parametrize(
    ("method", "url", "accept"),
    [
        ("DELETE", "/catalog", "application/json"),
        ("PUT", "/datasets", "application/json"),
        ("PUT", "/datasets/air", "application/json"),
        ("PUT", "/sign-in", "text/html"),
        ("DELETE", "/", "text/html"),
    ],
)
def test_allow_of_a_405_lists_the_methods_sorted(client: FlaskClient, method, url, accept) -> None:  # type: ignore[no-untyped-def]
    response = client.open(url, method=method, headers={"Accept": accept})

    assert response.status_code == 405
    assert response.headers["Allow"] == ", ".join(sorted(URLS[url]))


def test_options_of_the_server_as_a_whole_names_every_method(client: FlaskClient) -> None:
    response = client.options("*")

    assert_no_content(response)
    assert response.headers["Allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
    # Only OPTIONS asks about the server: any other method of "*" names no resource.
    assert client.get("*").status_code == 404
    assert client.delete("*").status_code == 404
