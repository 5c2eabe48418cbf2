"""``/docs`` works offline, OpenAPI declares the bearer token, and ``GET /`` is an index."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from catalogue.api.docs import SWAGGER_UI_FOLDER

REPO_ROOT = Path(__file__).resolve().parents[3]
VENDORED = ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE")


def test_docs_page_loads_swagger_ui_from_this_server_only(client) -> None:
    page = client.get("/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources == ["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"]
    assert "http" not in page
    # Swagger UI's default asks validator.swagger.io for a badge: switched off.
    assert '"validatorUrl": null' in page
    for source in sources:
        response = client.get(source)
        assert response.status_code == 200
        assert response.data == (SWAGGER_UI_FOLDER / source.rsplit("/", 1)[1]).read_bytes()


def test_docs_behind_a_stage_path_keep_the_prefix(client) -> None:
    page = client.get("/docs", base_url="http://localhost/prod").get_data(as_text=True)
    assert '"/prod/openapi.json"' in page
    assert 'src="/prod/docs/assets/swagger-ui-bundle.js"' in page


def test_vendored_swagger_ui_is_the_pinned_npm_package() -> None:
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/swagger-ui-dist"]["version"] == pinned["swagger-ui-dist"]
    installed = REPO_ROOT / "node_modules" / "swagger-ui-dist"
    if not installed.is_dir():
        pytest.skip("npm ci has not installed node_modules (./dev test does)")
    assert (
        json.loads((installed / "package.json").read_text())["version"] == pinned["swagger-ui-dist"]
    )
    for name in VENDORED:
        ours = hashlib.sha256((SWAGGER_UI_FOLDER / name).read_bytes()).hexdigest()
        assert ours == hashlib.sha256((installed / name).read_bytes()).hexdigest(), name


def test_openapi_declares_the_bearer_token_per_operation(client) -> None:
    spec = client.get("/openapi.json").json
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`brygge token create`) or an OIDC access token (a JWT).",
    }
    paths = spec["paths"]
    assert paths["/datasets"]["post"]["security"] == [{"bearerAuth": []}]
    assert paths["/datasets/{dataset_id}"]["patch"]["security"] == [{"bearerAuth": []}]
    # Public data is readable anonymously; a token shows more.
    assert paths["/datasets"]["get"]["security"] == [{}, {"bearerAuth": []}]
    # Signed URLs carry their own proof; liveness needs nothing.
    assert paths["/uploads/{token}"]["post"]["security"] == []
    assert paths["/downloads/{token}"]["get"]["security"] == []
    assert paths["/health"]["get"]["security"] == []
    unset = [
        f"{method} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method != "parameters" and "security" not in operation
    ]
    assert unset == []


def test_index_names_the_service_and_links_its_documents(client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.json
    assert body["name"] == "Brygge"
    assert body["mode"] == "local"
    assert body["version"]
    for name, path in body["links"].items():
        assert client.get(path).status_code == 200, name
    assert {"docs", "openapi", "catalog", "steps"} <= set(body["links"])


@pytest.mark.parametrize(
    "path",
    [
        "/datasets?keywrd=air",
        "/datasets/x/versions?limt=2",
        "/pipelines?curser=abc",
        "/catalog?modifiedsince=2026-01-01",
    ],
)
def test_unknown_query_parameter_on_a_list_is_422_naming_it(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 422
    name = path.split("?")[1].split("=")[0]
    assert response.json["errors"] == {"query": {name: ["Unknown field."]}}
