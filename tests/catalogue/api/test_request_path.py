"""The per-request shortcuts of the HTTP layer answer as the long way does."""

from __future__ import annotations

import pytest

from catalogue.api.routing import MAX_KNOWN_FUNCTIONS


def make_dataset(client, dataset_id: str) -> None:
    body = {"id": dataset_id, "title": dataset_id.title(), "accessRights": "public"}
    assert client.post("/datasets", json={**body, "owner": "team:miljo"}).status_code == 201


def test_a_query_string_parsed_before_answers_alike(client) -> None:
    for dataset_id in ("air", "noise", "water"):
        make_dataset(client, dataset_id)
    # The view takes limit, cursor and facets out of its arguments: a parse remembered
    # and handed out twice would have lost them the second time.
    answers = [client.get("/datasets?limit=2&facets=false") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert [[item["id"] for item in answer.json["items"]] for answer in answers] == [
        ["air", "noise"]
    ] * 3
    cursor = answers[0].json["next"]
    following = [client.get(f"/datasets?limit=2&facets=false&cursor={cursor}") for _ in "ab"]
    assert [[item["id"] for item in answer.json["items"]] for answer in following] == [
        ["water"]
    ] * 2
    # A query refused is refused every time, naming its field.
    for _ in range(2):
        refused = client.get("/datasets?limit=0")
        assert refused.status_code == 422
        assert "limit" in refused.json["errors"]["query"]
        unknown = client.get("/datasets?keywrd=air")
        assert unknown.status_code == 422
        assert "keywrd" in unknown.json["errors"]["query"]


def test_ensure_sync_remembers_plain_functions_and_refuses_coroutines_each_time(app) -> None:
    def plain() -> None:
        return None

    async def coroutine() -> None:
        return None

    for _ in range(2):
        assert app.ensure_sync(plain) is plain
        # Flask without its async extra refuses an async view; remembered, it still does.
        with pytest.raises(RuntimeError):
            app.ensure_sync(coroutine)
    method = app.ensure_sync
    assert app.ensure_sync(method) is method
    for number in range(MAX_KNOWN_FUNCTIONS + 10):
        function = eval(f"lambda: {number}")  # a new function each time
        assert app.ensure_sync(function) is function
    assert len(app._plain_functions) <= MAX_KNOWN_FUNCTIONS


@pytest.mark.parametrize("accept", [None, "", "*/*", "application/json"])
def test_api_clients_get_json_that_varies_on_accept_once(client, accept) -> None:
    make_dataset(client, "air")
    headers = {} if accept is None else {"Accept": accept}
    answer = client.get("/datasets/air", headers=headers)
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    assert answer.headers.getlist("Vary") == ["Accept"]
    # No session was read or made: no cookie, and nothing varies on one.
    assert "Set-Cookie" not in answer.headers


def test_a_browser_and_htmx_still_get_pages(client) -> None:
    make_dataset(client, "air")
    browser = client.get("/datasets/air", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    assert browser.headers.getlist("Vary") == ["Accept, HX-Request, Cookie"]
    htmx = client.get("/datasets/air", headers={"HX-Request": "true"})
    assert htmx.mimetype == "text/html"


def test_a_read_keeps_its_query_errors_and_its_negotiation(client) -> None:
    make_dataset(client, "air")
    # Every request answers as the long way did, remembered parses and shortcuts included.
    for _ in range(2):
        unknown = client.get("/datasets/air?formt=ttl")
        assert unknown.status_code == 422
        assert unknown.json["errors"] == {"query": {"formt": ["Unknown field."]}}
        assert (
            unknown.json["message"] == "The request is not valid; errors names each field and why."
        )
        bad_profile = client.get("/datasets/air?profile=nonsense")
        assert bad_profile.status_code == 422
        assert list(bad_profile.json["errors"]["query"]) == ["profile"]
        bad_format = client.get("/datasets/air?format=csv")
        assert bad_format.status_code == 406
        assert "format 'csv' is not supported" in bad_format.json["message"]
        refused = client.get("/datasets/air", headers={"Accept": "image/png"})
        assert refused.status_code == 406
        assert "nothing here matches Accept: image/png" in refused.json["message"]
        turtle = client.get("/datasets/air", headers={"Accept": "text/turtle"})
        assert turtle.status_code == 200 and turtle.mimetype == "text/turtle"
        assert turtle.headers.getlist("Vary") == ["Accept"]
        plain = client.get("/datasets/air?format=")
        assert plain.status_code == 200 and plain.json["id"] == "air"
        assert plain.headers["ETag"] == client.get("/datasets/air").headers["ETag"]
        assert client.get("/datasets/nowhere").status_code == 404


def test_the_document_still_describes_a_reads_parameters_and_answers(app) -> None:
    app.extensions["flask-smorest"]["apis"][""]["ext_obj"].document()
    spec = app.test_client().get("/openapi.json").json
    read = spec["paths"]["/datasets/{dataset_id}"]["get"]
    assert {
        parameter["name"] for parameter in read["parameters"] if parameter["in"] == "query"
    } == {
        "format",
        "profile",
    }
    assert set(read["responses"]["200"]["content"]) == {
        "application/json",
        "application/ld+json",
        "text/turtle",
        "application/rdf+xml",
    }
    assert "422" in read["responses"]


def test_a_views_result_is_dumped_and_its_status_and_headers_kept(client) -> None:
    created = client.post(
        "/datasets",
        json={"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"},
    )
    # A (resource, status, headers) tuple: the schema's dump, 201, Location and ETag.
    assert created.status_code == 201
    assert created.json["id"] == "air" and "rev" not in created.json
    assert created.headers["Location"].endswith("/datasets/air")
    assert created.headers["ETag"]
    # A view returning None: 204 and no body.
    assert client.delete("/datasets/air").status_code == 204


def test_a_resources_methods_answer_through_the_direct_view(client) -> None:
    make_dataset(client, "air")
    read = client.get("/datasets/air")
    head = client.head("/datasets/air")
    # HEAD is GET without the body, its headers kept.
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == read.headers["ETag"]
    assert head.headers["Content-Length"] == read.headers["Content-Length"]
    options = client.options("/datasets/air")
    assert options.status_code == 200
    assert set(options.headers["Allow"].split(", ")) == {
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
    }
    refused = client.put("/datasets/air", json={})
    assert refused.status_code == 405
    assert "PATCH" in refused.headers["Allow"]
    assert client.patch("/datasets/air", json={"title": "Air"}).json["title"] == "Air"
    assert client.delete("/datasets/air").status_code == 204
    assert client.get("/datasets/air").status_code == 404


def test_one_instance_serves_every_request_and_flask_keeps_what_it_must(app) -> None:
    from flask.views import MethodView as FlaskMethodView
    from werkzeug.exceptions import MethodNotAllowed

    from catalogue.api.smorest import MethodView

    made = []

    class Counted(MethodView):
        def __init__(self) -> None:
            made.append(self)

        def get(self) -> str:
            return f"{len(made)} {id(self)}"

        def post(self) -> str:
            return "posted"

    view = Counted.as_view("counted")
    assert view.view_class is Counted and view.methods == {"GET", "POST"}
    with app.test_request_context("/", method="GET"):
        first, second = view(), view()
    with app.test_request_context("/", method="HEAD"):
        assert view() == first
    with app.test_request_context("/", method="POST"):
        assert view() == "posted"
    # No rule gives OPTIONS to a view that does not take it, but the view refuses it too.
    options = app.test_request_context("/", method="OPTIONS")
    with options, pytest.raises(MethodNotAllowed) as refused:
        view()
    assert set(refused.value.valid_methods) >= {"GET", "POST"}
    assert first == second
    # What Flask wraps itself is left to Flask: async handlers and decorators.

    class Asynchronous(MethodView):
        async def get(self) -> str:
            return "later"

    def decorate(view):  # type: ignore[no-untyped-def]
        return view

    class Decorated(MethodView):
        decorators = (decorate,)

        def get(self) -> str:
            return "decorated"

    for kind in (Asynchronous, Decorated):
        flask_view = FlaskMethodView.as_view.__func__(kind, kind.__name__)
        assert kind.as_view(kind.__name__).__code__ is flask_view.__code__


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=1&limit=500", "limit"),
        ("owner=team:miljo&owner=team:plan", "owner"),
        ("keyword=air&q=air&keyword=noise", "keyword"),
    ],
)
def test_a_query_parameter_given_twice_is_422_naming_it(client, query: str, field: str) -> None:
    # One value is documented: keeping the first and dropping the rest would answer a list
    # the client did not ask for (a page of 1, or one owner's datasets as if both's).
    make_dataset(client, "air")

    for _ in range(2):  # refused every time, not only before a parse is remembered
        answer = client.get(f"/datasets?{query}")
        assert answer.status_code == 422
        assert list(answer.json["errors"]["query"]) == [field]
