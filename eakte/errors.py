"""Typed errors raised anywhere below the HTTP layer; mapped to problem+json once, in eakte.api.errors."""
from __future__ import annotations

from typing import Any


class EakteError(Exception):
    """Base of every error a user can cause. `status` is the HTTP status the API maps it to."""

    status = 400
    title = "Bad request"
    title_de = "Ungültige Anfrage"

    def __init__(self, detail: str, *, detail_de: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_de = detail_de
        self.extra = extra


class Invalid(EakteError):
    status = 422
    title = "Invalid input"
    title_de = "Ungültige Eingabe"


class Unauthorized(EakteError):
    status = 401
    title = "Authentication required"
    title_de = "Anmeldung erforderlich"


class Forbidden(EakteError):
    status = 403
    title = "Forbidden"
    title_de = "Keine Berechtigung"


class NotFound(EakteError):
    status = 404
    title = "Not found"
    title_de = "Nicht gefunden"


class Conflict(EakteError):
    status = 409
    title = "Conflict"
    title_de = "Konflikt"


class FieldFrozen(Conflict):
    """A field fixed by a decided workflow step; the problem names the field and the step."""

    title = "Field is fixed by a decision"

    def __init__(self, detail: str, *, field: str, step: str, detail_de: str | None = None) -> None:
        super().__init__(detail, detail_de=detail_de, field=field, step=step)
        self.field = field
        self.step = step


class DocumentFrozen(Conflict):
    """A new version of a document a decided workflow step has fixed; the problem names the kind and the step."""

    title = "Document is fixed by a decision"

    def __init__(self, detail: str, *, kind: str, step: str, detail_de: str | None = None) -> None:
        super().__init__(detail, detail_de=detail_de, kind=kind, step=step)
        self.kind = kind
        self.step = step


class PaymentBookedAlready(Conflict):
    """A payment typed in by hand that is booked already (by the cash office's import, or typed in before); the
    problem names the payment (and the booking)."""


class CheckedOut(Conflict):
    """The document is checked out by someone else; the problem names the holder and since when."""

    title = "Document is checked out"
    title_de = "Dokument ist ausgecheckt"

    def __init__(self, detail: str, *, holder: str, since: str, detail_de: str | None = None) -> None:
        super().__init__(detail, detail_de=detail_de, checked_out_by=holder, checked_out_at=since)
        self.holder = holder
        self.since = since


class FieldReadOnly(Invalid):
    """A field the system computes (or read from a source document); the problem names the field."""

    title = "Field is read-only"

    def __init__(self, detail: str, *, field: str, detail_de: str | None = None) -> None:
        super().__init__(detail, detail_de=detail_de, field=field)
        self.field = field


class PayloadTooLarge(EakteError):
    status = 413
    title = "File too large"
    title_de = "Datei zu groß"


class UnsupportedFileType(EakteError):
    status = 415
    title = "File type not allowed"
    title_de = "Dateityp nicht zulässig"


class MalformedRequest(EakteError):
    """The request cannot be read at all (e.g. a body that is not valid JSON)."""

    status = 400
    title = "Malformed request"
    title_de = "Fehlerhafte Anfrage"


class UnsupportedMediaType(EakteError):
    """The request body is not in the format the endpoint reads (e.g. JSON sent as text/plain)."""

    status = 415
    title = "Unsupported media type"
    title_de = "Format nicht unterstützt"


class ConfigError(Exception):
    """A wrong setting: one line naming the key and what is expected."""


class SchemaOutdated(Exception):
    """The database schema is behind the code; the message names the command that fixes it."""
