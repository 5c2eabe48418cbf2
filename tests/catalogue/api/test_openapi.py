"""The OpenAPI document: valid, and every operation states its shapes."""

from __future__ import annotations

from openapi_spec_validator import validate


def test_openapi_document_validates(client) -> None:
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_has_request_and_response_schemas(client) -> None:
    spec = client.get("/openapi.json").json
    missing = []
    bodiless_posts = ("/abort", "/redrive", "/rerun")
    bodiless_answers = {"204", "302"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            needs_body = method in {"post", "put", "patch"} and not path.endswith(bodiless_posts)
            if needs_body and "requestBody" not in operation:
                missing.append(f"{method} {path}: request body")
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2") or code == "302"]
            if not success:
                missing.append(f"{method} {path}: success response")
            missing.extend(
                f"{method} {path}: {code} schema"
                for code in success
                if code not in bodiless_answers and "content" not in responses[code]
            )
            if "default" not in responses:
                missing.append(f"{method} {path}: error response")
    assert missing == []


def test_swagger_ui_is_served(client) -> None:
    assert client.get("/docs").status_code == 200
