"""The trade case type, built from its `[case_types.trade]` settings: the trade office's unit, the file plan
node, the recipients of the transmissions (GewAnzV §3), the permits an activity needs, the letterhead."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from workflows.definition import CaseType, Decision, DocumentKind, FieldGroup, Step
from workflows.fields import Field
from workflows.trade.permits import DEFAULT_PERMIT_RULES, checked_permit_rules
from workflows.trade.recipients import DEFAULT_RECIPIENTS, checked_recipients
from workflows.trade.terms import (BUSINESS_TYPES, NOTIFICATION_KIND, NOTIFICATION_LABELS, NOTIFICATIONS,
                                  RECEIPT_KIND, STATUSES, TRANSMISSION_KIND)

__all__ = ["BUSINESS_TYPES", "NOTIFICATION_KIND", "NOTIFICATION_LABELS", "NOTIFICATIONS", "RECEIPT_KIND",
           "STATUSES", "TRANSMISSION_KIND", "DEFAULTS", "FIELDS", "STEPS", "receipt_due", "trade_case_type"]
RECEIPT_DAYS = 3  # GewO §15(1): "innerhalb dreier Tage"

DEFAULTS: dict[str, Any] = {
    "unit": "32",                 # Gewerbeamt / Ordnungsamt: keeps the register
    "file_plan_code": "32.10",    # Gewerbeangelegenheiten
    # Neutral placeholders: every installation names its own town (no default is a real municipality's).
    "municipality": "Stadt Musterstadt",
    "municipality_key": "06438999",  # Amtlicher Gemeindeschlüssel, goes into every transmission
    # The letterhead of receipts and extracts: lines under the town's name.
    "letterhead": ["Der Magistrat", "Ordnungsamt – Gewerbeangelegenheiten", "Rathausplatz 1", "12345 Musterstadt"],
    "outbox_dir": "",             # where the directory-drop sender writes messages; "" = <data dir>/trade-outbox
    "sender": "directory",        # how transmissions go out: "directory" or a plug-in of eakte.trade_senders
    "send_attempts": 5,           # a failing recipient is retried this often, with growing pauses
    "retrieval_log_months": 6,    # GewO §14(10): retrieval logs are deleted after six months
    "recipients": DEFAULT_RECIPIENTS,
    "permits": DEFAULT_PERMIT_RULES,
}

# The case's metadata mirrors the current register entry (workflows.trade.entry.case_metadata) for search, lists
# and the case page. Every field is read-only: the entry changes only by a notification's Eintragung, which keeps
# the history (TradeEntry rows).
FIELDS = (
    Field("business_id", "Betriebsnummer", "Business ID", max_length=32, read_only=True),
    Field("registered_name", "Name des Betriebs", "Business name", max_length=300, read_only=True),
    Field("legal_form", "Rechtsform", "Legal form", max_length=64, read_only=True),
    Field("register_entry", "Registereintrag", "Register entry", max_length=200, read_only=True),
    Field("owners", "Inhaber/Beteiligte", "Owners and partners", max_length=1000, read_only=True),
    Field("business_address", "Betriebsanschrift", "Business address", max_length=300, read_only=True),
    Field("postal_code", "Postleitzahl", "Postal code", max_length=5, read_only=True),
    Field("activity", "Tätigkeit", "Activity", max_length=1000, read_only=True),
    Field("activity_key", "Tätigkeitsschlüssel", "Activity key", max_length=16, read_only=True),
    Field("business_type", "Art des Betriebs", "Type of business", "enum", choices=BUSINESS_TYPES,
          read_only=True),
    Field("part_time", "Nebenerwerb", "Part time", "boolean", read_only=True),
    Field("employees", "Beschäftigte", "Employees", "integer", read_only=True),
    Field("permits", "Erlaubnisse", "Permits", max_length=300, read_only=True),
    Field("handwerkskarte", "Handwerkskarte", "Craft card", "boolean", read_only=True),
    Field("status", "Status", "Status", "enum", choices=STATUSES, read_only=True),
    Field("started_on", "Beginn", "Start", "date", read_only=True),
    Field("closed_on", "Aufgabe", "Closure", "date", read_only=True),
)
FIELD_GROUPS = (
    FieldGroup("Betrieb", "Business", ("business_id", "registered_name", "legal_form", "register_entry", "status",
                                       "started_on", "closed_on")),
    FieldGroup("Personen", "Persons", ("owners",)),
    FieldGroup("Betriebsstätte", "Premises", ("business_address", "postal_code")),
    FieldGroup("Tätigkeit", "Activity", ("activity", "activity_key", "business_type", "part_time", "employees",
                                         "permits", "handwerkskarte")),
)


def receipt_due(metadata: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    """The receipt is due within three days of the notification's arrival (GewO §15(1)): by the end of the third
    day after `received_on` (a procedure's metadata), as naive UTC like every stored time."""
    received = metadata.get("received_on")
    day = dt.date.fromisoformat(str(received)) if received else now.date()
    return dt.datetime.combine(day + dt.timedelta(days=RECEIPT_DAYS + 1), dt.time()) - dt.timedelta(seconds=1)


STEPS = (
    Step("eingang", "Eingang", "Receipt of the notification", "clerk",
         decisions=(Decision("accept", "Angenommen, zur Prüfung", "Accepted for checking", "pruefung"),),
         due=receipt_due),
    Step("pruefung", "Prüfung", "Check", "clerk",
         decisions=(Decision("complete", "Vollständig, eintragen", "Complete, to registration", "eintragung"),
                    Decision("reject", "Zurückweisen (keine Gewerbeanzeige)", "Reject (not a trade notification)",
                             None, kind="reject")),
         due=receipt_due),
    Step("eintragung", "Eintragung", "Registration", "clerk",
         decisions=(Decision("register", "Ins Gewerberegister eintragen", "Enter in the trade register",
                             "empfangsbescheinigung"),
                    Decision("back", "Zurück zur Prüfung", "Back to checking", "pruefung", kind="return")),
         due=receipt_due),
    Step("empfangsbescheinigung", "Empfangsbescheinigung", "Receipt", "clerk",
         decisions=(Decision("issued", "Bescheinigung versandt/ausgehändigt", "Receipt sent or handed over",
                             "datenuebermittlung"),),
         due=receipt_due),
    Step("datenuebermittlung", "Datenübermittlung", "Transmission", "clerk",
         decisions=(Decision("transmitted", "Übermittlung abgeschlossen", "Transmission completed", None),)),
)


def trade_case_type(settings: Mapping[str, Any]) -> CaseType:
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(sorted(unknown))}")
    s = {**DEFAULTS, **settings}
    for key in ("send_attempts", "retrieval_log_months"):
        if not isinstance(s[key], int) or isinstance(s[key], bool) or s[key] < 1:
            raise ValueError(f"{key} must be a whole number of at least 1, got {s[key]!r}")
    if not isinstance(s["letterhead"], list) or not all(isinstance(x, str) for x in s["letterhead"]):
        raise ValueError("letterhead must be a list of lines")
    s["recipients"] = checked_recipients(s["recipients"])  # raises ValueError naming the entry
    s["permits"] = checked_permit_rules(s["permits"])
    kinds = (
        DocumentKind(NOTIFICATION_KIND, "Gewerbeanzeige", "Trade notification"),
        DocumentKind("document", "Dokument", "Document"),
        DocumentKind("evidence", "Nachweis (Erlaubnis, Handwerkskarte, Registerauszug)",
                     "Evidence (permit, craft card, register extract)"),
        DocumentKind("letter", "Schreiben", "Letter"),
        # Generated by the flow only: a receipt or a transmission typed in by hand would not be what was sent.
        DocumentKind(RECEIPT_KIND, "Empfangsbescheinigung", "Receipt", managed=True),
        DocumentKind(TRANSMISSION_KIND, "Datenübermittlung", "Transmission", managed=True),
    )
    return CaseType(
        key="trade", label_de="Gewerberegister", label_en="Trade register", fields=FIELDS, document_kinds=kinds,
        steps=STEPS, start="eingang", settings=s, home_unit=str(s["unit"]), field_groups=FIELD_GROUPS,
        unique_fields=("business_id",), title_template="Gewerbe {registered_name} ({business_id})",
        workflow_scope="procedure", created_by_intake=True, closed_by_workflow=True,
        unit_settings=(("unit", str(s["unit"])),),
    )
