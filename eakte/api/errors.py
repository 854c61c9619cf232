"""The one place where errors become HTTP: RFC 9457 problem details (application/problem+json)."""
from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, Callable

from apiflask import APIFlask
from apiflask.exceptions import HTTPError
from flask import Response, json, request
from werkzeug.exceptions import HTTPException

from eakte.errors import EakteError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

_GERMAN_TITLES = {400: "Ungültige Anfrage", 401: "Anmeldung erforderlich", 403: "Keine Berechtigung",
                  404: "Nicht gefunden", 405: "Methode nicht erlaubt", 409: "Konflikt", 413: "Datei zu groß",
                  415: "Dateityp nicht zulässig", 422: "Ungültige Eingabe", 500: "Interner Fehler"}


def problem(status: int, detail: str, *, title: str | None = None, **extra: Any) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "title_de": _GERMAN_TITLES.get(status, HTTPStatus(status).phrase),
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)


def _is_page() -> bool:
    """A request for a web page rather than the API: it gets an error page in the site's layout."""
    return not request.path.startswith("/api/")


def register_error_handlers(app: APIFlask, page: Callable[[int, str | None, str | None], Response] | None = None) -> None:
    """problem+json for /api/v1; for every other path `page(status, detail, detail_de)` renders the error page."""
    def _page_or(status: int, detail: str | None, detail_de: str | None) -> Response | None:
        return page(status, detail, detail_de) if page is not None and _is_page() else None

    @app.errorhandler(EakteError)
    def _domain_error(exc: EakteError) -> Response:
        if (resp := _page_or(exc.status, exc.detail, exc.detail_de)) is not None:
            return resp
        return problem(exc.status, exc.detail, title=exc.title, title_de=exc.title_de, detail_de=exc.detail_de,
                       **exc.extra)

    @app.error_processor
    def _http_error(error: HTTPError) -> Response:
        # Validation errors from the schemas: name every offending field.
        if error.status_code == 422 and isinstance(error.detail, dict) and error.detail:
            errors = [{"location": location, "field": field, "messages": messages}
                      for location, fields in error.detail.items() for field, messages in _flatten(fields)]
            names = ", ".join(e["field"] for e in errors)
            resp = problem(422, f"invalid input: {names}", title="Invalid input", errors=errors,
                           detail_de=f"Ungültige Eingabe: {names}")
        else:
            resp = problem(error.status_code, str(error.message), **(error.extra_data or {}))
        for key, value in (error.headers or {}).items():
            resp.headers[key] = value
        return resp

    @app.errorhandler(HTTPException)
    def _werkzeug_error(exc: HTTPException) -> Response:
        if (resp := _page_or(exc.code or 500, None, None)) is not None:
            return resp
        detail = exc.description or HTTPStatus(exc.code or 500).phrase
        if exc.code == 413:
            detail = "request body is larger than the upload limit"
        resp = problem(exc.code or 500, detail)
        if exc.code == 405 and exc.response is None:
            allowed = getattr(exc, "valid_methods", None)
            if allowed:
                resp.headers["Allow"] = ", ".join(allowed)
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if (resp := _page_or(500, None, None)) is not None:
            return resp
        return problem(500, "internal error; it has been logged", detail_de="Interner Fehler; er wurde protokolliert")


def _flatten(fields: Any, prefix: str = "") -> list[tuple[str, list[str]]]:
    if isinstance(fields, dict):
        out: list[tuple[str, list[str]]] = []
        for key, value in fields.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.extend(_flatten(value, name))
            else:
                out.append((name, [str(v) for v in value] if isinstance(value, list) else [str(value)]))
        return out
    return [(prefix or "_", [str(fields)])]
