"""The OpenAPI document describes the answers the API really gives: errors as application/problem+json with
the Problem schema, 204s without a body, each schema registered once."""
from __future__ import annotations

import warnings

from eakte.api.converters import MAX_ID
from eakte.api.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items()]


def test_errors_are_problem_json_with_the_real_schema(app, client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "HTTPError" not in spec["components"]["schemas"] and "ValidationError" not in spec["components"]["schemas"]
    problem = spec["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance"} <= set(problem["required"])
    assert problem["additionalProperties"] is True and "errors" in problem["properties"]
    for method, path, op in _operations(spec):
        errors = {code: r for code, r in op["responses"].items() if code[0] in "45"}
        assert errors, (method, path)
        for code, response in errors.items():
            assert response["content"] == {PROBLEM_JSON: {"schema": PROBLEM_REF}}, (method, path, code)


def test_declared_statuses_follow_what_an_operation_takes(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    create = set(paths["/api/v1/cases"]["post"]["responses"])
    assert {"201", "400", "401", "403", "409", "413", "415", "422"} <= create and "404" not in create
    upload = set(paths["/api/v1/cases/{case_id}/documents"]["post"]["responses"])
    assert {"400", "401", "403", "404", "409", "413", "415", "422"} <= upload
    assert {"401", "403", "404"} <= set(paths["/api/v1/cases/{case_id}"]["get"]["responses"])
    assert {"401", "403", "422"} <= set(paths["/api/v1/search"]["get"]["responses"])
    for method, path, op in _operations(spec):
        declared = set(op["responses"])
        if op.get("security"):
            assert {"401", "403"} <= declared, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "415", "422"} <= declared, (method, path)
        for param in op.get("parameters", []):
            if param["in"] == "path" and param["schema"].get("type") == "integer":
                assert param["schema"]["minimum"] == 1 and param["schema"]["maximum"] == MAX_ID
                assert "404" in declared


def test_204_answers_have_no_body_type(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    no_content = [(m, p, op["responses"]["204"]) for m, p, op in _operations(spec) if "204" in op["responses"]]
    assert {p for _, p, _ in no_content} >= {"/api/v1/tasks/{task_id}/claim", "/api/v1/tasks/{task_id}/release"}
    assert all("content" not in r for _, _, r in no_content)


def test_every_schema_is_registered_once_without_warnings(app) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # apispec warns "has already been added to the spec"
        with app.test_request_context():
            spec = app.spec  # generated anew on each access
    names = set(spec["components"]["schemas"])
    assert "IngestOut" in names and not any(n[-1].isdigit() and n.rstrip("0123456789") in names for n in names)


def test_file_downloads_declare_their_types(client) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    download = spec["paths"]["/api/v1/invoices/payment-exports/{export_id}/{kind}"]["get"]["responses"]["200"]
    assert set(download["content"]) == {"text/csv", "application/xml"}
