"""The OpenAPI document says what the API really answers: every error is problem+json with one schema.

apiflask declares errors as application/json and only 401/404/422; the handlers in eakte.api.errors answer
application/problem+json, and the request checks (eakte.api.body), the services and the size limit add
400, 403, 409, 413 and 415. Which of these an operation can answer follows from its shape, decided here once.
"""
from __future__ import annotations

from typing import Any

from eakte.api.converters import MAX_ID
from eakte.api.errors import PROBLEM_JSON

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

ERROR_DESCRIPTIONS = {
    400: "Malformed request, e.g. a body that is not valid JSON",
    401: "No valid API token",
    403: "The caller's roles do not allow this",
    404: "No such object, or not visible to the caller",
    409: "The object's state does not allow this (e.g. a closed case, a task claimed by someone else)",
    413: "The request body is larger than the upload limit",
    415: "The body is not in the declared format, or the file type is not allowed",
    422: "Invalid input; `errors` names each offending field",
}
NO_BODY = ("204", "304")


def error_statuses(method: str, operation: dict[str, Any]) -> set[int]:
    """The errors an operation can answer, from what it takes: a token, path ids, a query, a body."""
    statuses: set[int] = set()
    params = operation.get("parameters") or []
    if operation.get("security"):
        statuses |= {401, 403}
    if any(p.get("in") == "path" for p in params):
        statuses.add(404)
    if any(p.get("in") == "query" for p in params):
        statuses.add(422)
    if "requestBody" in operation:
        statuses |= {400, 413, 415, 422}
    if method != "get":
        statuses |= {409, 422}
    return statuses


def document_problems(spec: dict[str, Any]) -> dict[str, Any]:
    """apiflask spec processor: declare the real error answers, bound integer path ids, empty 204s."""
    for operations in spec.get("paths", {}).values():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status in sorted(error_statuses(method, operation)):
                responses.setdefault(str(status), {"description": ERROR_DESCRIPTIONS[status]})
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
                elif code in NO_BODY:
                    response.pop("content", None)
            for param in operation.get("parameters") or []:
                schema = param.get("schema") or {}
                if param.get("in") == "path" and schema.get("type") == "integer":  # the `int` converter's range
                    schema.update(minimum=1, maximum=MAX_ID)
    return spec
