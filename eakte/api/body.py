"""Request bodies are read in the format the endpoint declares, or answered 400/415/422 before any view runs.

The schema parser (webargs) treats a body in another format as absent, so a JSON body sent as text/plain
would be answered "missing field"; and it reports broken JSON as a bare 400. Both are decided here, once,
from the body type each endpoint declares with @api.input.
"""
from __future__ import annotations

import json

from flask import Response, current_app, request

from eakte.errors import Invalid, MalformedRequest, UnsupportedMediaType

JSON = "application/json"


def check_request_input() -> None:
    """A before_request hook: a non-empty body must be in a declared format, JSON must parse, and no text in
    the path, query, form or JSON may hold what a database text column cannot store (the web pages' forms
    included: each page reads its fields its own way, so the one check is here)."""
    _refuse_unstorable(request.view_args or {}, "path")
    _refuse_unstorable(request.args.to_dict(flat=False), "query")
    if not _has_body():
        return
    declared = _declared_body_types()
    if not declared:  # the web pages: their forms are read field by field, after this
        _refuse_unstorable_form()
        return
    if not any(_matches(request.mimetype, t) for t in declared):
        expected = " or ".join(declared)
        got = request.mimetype or "no Content-Type"
        raise UnsupportedMediaType(f"the request body must be sent as {expected} (got {got})",
                                   detail_de=f"Der Inhalt der Anfrage muss als {expected} gesendet werden "
                                             f"(erhalten: {got})")
    if _matches(request.mimetype, JSON):
        try:
            body = json.loads(request.get_data(cache=True))  # cached: the schema parser reads it again
        except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
            raise MalformedRequest(f"the request body is not valid JSON: {exc}",
                                   detail_de="Der Inhalt der Anfrage ist kein gültiges JSON") from None
        _refuse_unstorable(body, "json")
    else:
        _refuse_unstorable_form()


def _refuse_unstorable_form() -> None:
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        _refuse_unstorable(request.form.to_dict(flat=False), "form")
        _refuse_unstorable({name: [f.filename or "" for f in files]
                            for name, files in request.files.lists()}, "files")


def _refuse_unstorable(value: object, location: str, name: str = "") -> None:
    """NUL and unpaired surrogates: PostgreSQL refuses them in text (a 500 deep in a query), SQLite would
    store them, and neither is ever meant; so they are invalid input wherever they come from."""
    if isinstance(value, str):
        if "\x00" in value or _has_lone_surrogate(value):
            what = "a NUL character" if "\x00" in value else "an unpaired surrogate"
            # The name may hold the character itself: shown escaped, never echoed raw into a page.
            field = (name or "_").encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
            raise Invalid(f"invalid input: {field} contains {what}", field=field, location=location,
                          detail_de=f"Ungültige Eingabe: {field} enthält ein unzulässiges Zeichen")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{name}.{key}" if name else str(key)
            _refuse_unstorable(key, location, child)
            _refuse_unstorable(item, location, child)
    elif isinstance(value, list):
        for item in value:
            _refuse_unstorable(item, location, name)


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _declared_body_types() -> list[str]:
    view = current_app.view_functions.get(request.endpoint or "")
    spec = getattr(view, "_spec", None) or {}
    if not spec.get("body"):
        return []
    types = spec.get("content_type") or JSON
    return list(types) if isinstance(types, (list, tuple)) else [types]


def _has_body() -> bool:
    if request.content_length is not None:
        return request.content_length > 0
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _matches(mimetype: str, declared: str) -> bool:
    if declared == JSON:  # as Flask's request.is_json and the schema parser define it
        return mimetype == JSON or (mimetype.startswith("application/") and mimetype.endswith("+json"))
    return mimetype == declared


def drop_type_of_empty_answers(response: Response) -> Response:
    """An after_request hook: 204 and 304 carry no body, so no Content-Type (Flask adds text/html)."""
    if response.status_code in (204, 304):
        response.headers.pop("Content-Type", None)
    return response
