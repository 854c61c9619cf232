"""Error pages in the site's layout, in the user's language (the API answers problem+json instead)."""
from __future__ import annotations

from flask import Response, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import get_locale

from eakte.errors import EakteError

_TITLES = {
    400: lambda: _("Die Anfrage konnte nicht bearbeitet werden"),
    401: lambda: _("Bitte melden Sie sich an"),
    403: lambda: _("Keine Berechtigung"),
    404: lambda: _("Seite nicht gefunden"),
    405: lambda: _("Diese Aktion ist hier nicht möglich"),
    409: lambda: _("Das ist gerade nicht möglich"),
    413: lambda: _("Die Datei ist zu groß"),
    415: lambda: _("Dieser Dateityp ist nicht zulässig"),
    422: lambda: _("Die Eingabe ist ungültig"),
    429: lambda: _("Zu viele Anfragen"),
    500: lambda: _("Es ist ein Fehler aufgetreten"),
}
_HINTS = {
    403: lambda: _("Sie haben keine Berechtigung für diese Seite. Wenn Sie sie für Ihre Arbeit brauchen, wenden "
                   "Sie sich an Ihre Administration."),
    404: lambda: _("Die Seite oder der Eintrag existiert nicht, oder Sie dürfen ihn nicht sehen. Prüfen Sie die "
                   "Adresse oder gehen Sie zurück zur Übersicht."),
    500: lambda: _("Der Fehler wurde protokolliert. Bitte versuchen Sie es später erneut; wenn er wieder "
                   "auftritt, nennen Sie Ihrer Administration die Uhrzeit."),
}


def error_page(status: int, detail: str | None = None, detail_de: str | None = None) -> Response:
    if status == 401 and g.get("principal") is None:
        return redirect(url_for("auth.login", next=request.path))  # type: ignore[return-value]
    german = str(get_locale() or "de") == "de"
    message = (detail_de if german else detail) if status not in (404, 500) else None
    title = _TITLES.get(status, _TITLES[400])()
    hint = _HINTS.get(status, lambda: None)()
    try:
        body = render_template("errors/error.html", status=status, title=title, message=message, hint=hint)
    except Exception:  # noqa: BLE001 - the error page itself must never fail: fall back to plain text
        body = f"{status} {title}"
    return make_response(body, status)


def error_message(exc: EakteError) -> str:
    """A service's refusal in the user's language, to show at the form field it concerns."""
    return exc.detail_de if str(get_locale() or "de") == "de" and exc.detail_de else exc.detail
