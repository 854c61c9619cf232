"""German/English words for the system's keys (roles, statuses, steps) where the case type names none."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import format_decimal

ROLE_LABELS = {
    "clerk": lambda: _("Sachbearbeitung"),
    "approver": lambda: _("Freigabe"),
    "auditor": lambda: _("Revision"),
    "admin": lambda: _("Administration"),
    "head_of_unit": lambda: _("Amtsleitung"),
    "mayor": lambda: _("Bürgermeister/in"),
}
STATUS_LABELS = {
    "open": lambda: _("offen"),
    "closed": lambda: _("geschlossen (z.d.A.)"),
    "done": lambda: _("erledigt"),
    "cancelled": lambda: _("abgebrochen"),
}


def role_label(role: str) -> str:
    label = ROLE_LABELS.get(role)
    return label() if label else role


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return label() if label else status


def format_number(value: int | float) -> str:
    return format_decimal(value)
