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


def test_every_format_is_one_json_schema_or_openapi_defines(client) -> None:
    # Validators and client generators skip a format they do not know: "url" checks nothing.
    known = {
        *("date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6"),
        *("uri", "uri-reference", "iri", "uuid", "regex", "json-pointer"),
        *("int32", "int64", "float", "double", "password", "byte", "binary"),
    }
    formats: set[str] = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("format"), str) and node.get("type") != "object":
                formats.add(node["format"])
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(client.get("/openapi.json").json["components"]["schemas"])
    assert "uri" in formats
    assert formats <= known, formats - known


def test_run_outputs_are_documented_numbered_from_one(client) -> None:
    # GET /runs/{id} numbers them from 1; a client sending the documented minimum got 404.
    path = client.get("/openapi.json").json["paths"]["/runs/{run_id}/outputs/{n}/download"]
    (n,) = [parameter for parameter in path["parameters"] if parameter["name"] == "n"]
    assert n["schema"]["minimum"] == 1
    assert client.get("/runs/any/outputs/0/download").status_code == 404
