"""German words (gettext msgids) for the keys of workflow history and audit trail entries on the case pages."""
from __future__ import annotations

from typing import Callable

from flask_babel import gettext as _

WORKFLOW_ACTIONS: dict[str, Callable[[], str]] = {
    "started": lambda: _("gestartet"),
    "entered": lambda: _("Schritt erreicht"),
    "claimed": lambda: _("übernommen"),
    "released": lambda: _("zurückgegeben"),
    "decided": lambda: _("entschieden"),
    "escalated": lambda: _("eskaliert"),
    "completed": lambda: _("abgeschlossen"),
    "rejected": lambda: _("abgelehnt"),
}
AUDIT_ACTIONS: dict[str, Callable[[], str]] = {
    "case.create": lambda: _("Akte angelegt"),
    "case.update": lambda: _("Akte geändert"),
    "case.close": lambda: _("Akte geschlossen (z.d.A.)"),
    "case.export": lambda: _("Akte exportiert"),
    "document.create": lambda: _("Dokument abgelegt"),
    "document.add_version": lambda: _("Neue Version abgelegt"),
    "document.download": lambda: _("Dokument heruntergeladen"),
    "document.checkout": lambda: _("Dokument ausgecheckt"),
    "document.checkin": lambda: _("Dokument eingecheckt"),
    "document.checkout_cancel": lambda: _("Auschecken abgebrochen"),
    "document.checkout_break": lambda: _("Sperre aufgehoben"),
    "invoice.intake": lambda: _("Rechnungseingang erfasst"),
    "workflow.start": lambda: _("Geschäftsgang gestartet"),
    "workflow.claim": lambda: _("Aufgabe übernommen"),
    "workflow.release": lambda: _("Aufgabe zurückgegeben"),
    "workflow.decide": lambda: _("Entscheidung getroffen"),
    "workflow.return": lambda: _("Zurückgegeben"),
    "workflow.escalate": lambda: _("Frist überschritten, eskaliert"),
    "followup.created": lambda: _("Wiedervorlage gesetzt"),
    "followup.done": lambda: _("Wiedervorlage erledigt"),
    "followup.postponed": lambda: _("Wiedervorlage verschoben"),
    "note.created": lambda: _("Vermerk angelegt"),
    "adverse.file": lambda: _("Nachteiliger Vorgang zur Anhörung abgelegt"),
    "adverse.hearing": lambda: _("Anhörung erfasst"),
    "adverse.filed": lambda: _("Nachteiliger Vorgang in die Akte aufgenommen"),
    "adverse.remove": lambda: _("Nachteiliger Vorgang entfernt"),
    "read.case": lambda: _("Akte geöffnet"),
    "read.procedure": lambda: _("Vorgang geöffnet"),
    "read.document": lambda: _("Dokument gelesen"),
    "read.search_hit": lambda: _("Als Suchtreffer angezeigt"),
    "read.export": lambda: _("Im Export enthalten"),
    "access.request": lambda: _("Einsicht beantragt"),
    "access.grant": lambda: _("Einsicht gewährt"),
    "access.refuse": lambda: _("Einsicht abgelehnt"),
    "access.withdraw": lambda: _("Antrag zurückgezogen"),
}
WORKFLOW_STATUSES: dict[str, Callable[[], str]] = {
    "running": lambda: _("läuft"),
    "completed": lambda: _("abgeschlossen"),
    "rejected": lambda: _("abgelehnt"),
}


def word(table: dict[str, Callable[[], str]], key: str | None) -> str:
    """The word for `key`, or the key itself for one this table does not know yet (a plugin's action)."""
    if not key:
        return ""
    label = table.get(key)
    return label() if label else key
