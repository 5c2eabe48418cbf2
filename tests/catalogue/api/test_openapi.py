"""The OpenAPI document: valid, and every operation states its shapes."""

from __future__ import annotations

from openapi_spec_validator import validate


def test_openapi_document_validates(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_operation_has_request_and_response_schemas(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if method in {"post", "put", "patch"} and "requestBody" not in operation:
                if not path.endswith(("/abort", "/redrive")):
                    missing.append(f"{method} {path}: request body")
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2") or code == "302"]
            if not success:
                missing.append(f"{method} {path}: success response")
            for code in success:
                if code not in {"204", "302", "202"} or "content" in responses[code]:
                    if "content" not in responses[code]:
                        missing.append(f"{method} {path}: {code} schema")
            if "default" not in responses:
                missing.append(f"{method} {path}: error response")
    assert missing == []


def test_swagger_ui_is_served(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/docs").status_code == 200
